import Glibc

/// Runs one load: starts the worker threads, waits until every connection is ready, gives
/// the go signal, samples the server process around the measured window, and reports.
struct Coordinator {
    var settings: RunSettings

    func run() throws(LoadError) {
        var settings = self.settings
        let limit = ClientSocket.raiseDescriptorLimit()
        let needed = settings.clients + settings.publishers + 32
        guard needed <= limit else {
            throw LoadError("\(needed) descriptors needed, the limit is \(limit): split the clients over several processes")
        }
        if settings.sources.count == 0 && settings.clients > 28_000 {
            // Past ~28k connections one source address runs out of ephemeral ports.
            settings.sources = SourceAddresses(first: settings.sources.first, count: settings.clients / 20_000 + 1)
        }
        let shared = Shared()
        let pid = settings.serverPID
        let baseline = pid.flatMap(ServerSample.read)
        let t0 = Clock.nowNs()
        let frozen = settings
        let threads = (0..<settings.threads).map { id in
            startThread { Worker(id: id, settings: frozen, shared: shared).run() }
        }

        let target = settings.clients + (settings.hasPublisher ? settings.publishers : 0)
        let connectDeadline = t0 + Int64(settings.timeoutSeconds * 1e9)
        while shared.ready.load(ordering: .acquiring) + shared.failed.load(ordering: .acquiring) < target
                && Clock.nowNs() < connectDeadline {
            sleepSeconds(0.01)
        }
        let openSeconds = Double(Clock.nowNs() - t0) / 1e9
        let ready = shared.ready.load(ordering: .acquiring)
        let failed = shared.failed.load(ordering: .acquiring)
        var opened = JSONLine()
        opened.add("event", "all_open")
        opened.add("mode", settings.mode.rawValue)
        opened.add("label", settings.label)
        opened.add("ready", ready)
        opened.add("failed", failed)
        opened.add("seconds", openSeconds)
        opened.add("server_rss_kib", pid.flatMap(ServerSample.read)?.rssKiB)
        emit(opened)
        say("[\(settings.label)] \(ready)/\(target) connections ready, \(failed) failed, in \(format3(openSeconds)) s")

        var report = JSONLine()
        report.add("event", "result")
        report.add("mode", settings.mode.rawValue)
        report.add("label", settings.label)
        report.add("threads", settings.threads)
        report.add("clients", settings.clients)
        report.add("connect_seconds", openSeconds)

        if settings.mode == .idle {
            // Let the server settle (lazy allocations, first pings) before reading its memory.
            sleepSeconds(min(2, settings.holdSeconds))
            let settled = pid.flatMap(ServerSample.read)
            sleepSeconds(max(0, settings.holdSeconds - 2))
            let end = pid.flatMap(ServerSample.read)
            shared.stop.store(true, ordering: .releasing)
            for t in threads { joinThread(t) }
            let total = merged(shared)
            report.add("ready", total.clientsReady)
            report.add("connect_failures", total.connectFailures)
            report.add("first_error", total.firstError)
            report.add("closed_by_server", total.closedByServer)
            report.add("hold_seconds", settings.holdSeconds)
            report.add("server_rss_before_kib", baseline?.rssKiB)
            report.add("server_rss_open_kib", settled?.rssKiB)
            report.add("server_rss_end_kib", end?.rssKiB)
            var perConnection: Double?
            if let b = baseline, let s = settled, total.clientsReady > 0 {
                perConnection = Double(s.rssKiB - b.rssKiB) / Double(total.clientsReady)
            }
            report.add("server_kib_per_connection", perConnection)
            report.add("server_cpu_s", end.flatMap { e in baseline.map { e.cpuSeconds - $0.cpuSeconds } })
            emit(report)
            say("[\(settings.label)] idle: \(total.clientsReady) open, server RSS \(baseline?.rssKiB ?? -1) → \(settled?.rssKiB ?? -1) KiB"
                + (perConnection.map { ", \(format3($0)) KiB per connection" } ?? ""))
            if let e = total.firstError { say("  first error: \(e)") }
            return
        }

        let before = pid.flatMap(ServerSample.read)
        let ownBefore = ownCPUSeconds()
        let go = Clock.nowNs() + 20_000_000
        shared.goNs.store(go, ordering: .releasing)
        for t in threads { joinThread(t) }
        let endNs = Clock.nowNs()
        let after = pid.flatMap(ServerSample.read)
        let ownCPU = ownCPUSeconds() - ownBefore
        var total = merged(shared)
        let window = Double(endNs - go) / 1e9

        report.add("ready", total.clientsReady)
        report.add("connect_failures", total.connectFailures)
        report.add("first_error", total.firstError)
        report.add("closed_by_server", total.closedByServer)
        report.addRaw("close_codes", "{" + total.closeCodes.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}")
        report.add("messages", settings.messages)
        report.add("rate", settings.rate)
        report.add("published", total.published)
        report.add("publish_acked", total.publishAcked)
        report.add("publish_rejected", total.publishRejected)
        report.add("first_rejection", total.firstRejection)
        let expected = settings.messages * total.clientsReady
        report.add("expected", expected)
        report.add("delivered", total.delivered)
        report.add("missing", expected - total.delivered)
        report.add("duplicates", total.duplicates)
        report.add("out_of_order", total.outOfOrder)
        if settings.mode == .orders { report.add("creation_order_inversions", total.creationOrderInversions) }
        report.add("foreign", total.foreign)
        report.add("server_errors", total.serverErrors)
        report.add("first_server_error", total.firstServerError)
        let latency = LatencySummary(&total.latenciesNs)
        report.add("p50_ms", latency?.p50)
        report.add("p90_ms", latency?.p90)
        report.add("p99_ms", latency?.p99)
        report.add("p999_ms", latency?.p999)
        report.add("max_ms", latency?.max)
        report.add("mean_ms", latency?.mean)
        let publishSeconds = Double(total.lastSendNs - total.firstSendNs) / 1e9
        report.add("publish_seconds", publishSeconds)
        var deliveriesPerSecond: Double?
        if total.delivered > 0 && total.lastReceiveNs > total.firstSendNs {
            deliveriesPerSecond = Double(total.delivered) / (Double(total.lastReceiveNs - total.firstSendNs) / 1e9)
        }
        report.add("deliveries_per_s", deliveriesPerSecond)
        var ordersPerSecond: Double?
        if settings.mode == .orders && total.publishAcked > 0 && total.lastAckNs > total.firstSendNs {
            ordersPerSecond = Double(total.publishAcked) / (Double(total.lastAckNs - total.firstSendNs) / 1e9)
        }
        report.add("orders_per_s", ordersPerSecond)
        report.add("poll_requests", total.pollRequests)
        report.add("poll_200", total.poll200)
        report.add("poll_304", total.poll304)
        report.add("poll_other", total.pollOther)
        report.add("poll_late", total.pollLate)
        report.add("window_s", window)
        report.add("bytes_received", total.bytesReceived)
        report.add("bytes_sent", total.bytesSent)
        report.add("bytes_per_minute", window > 0 ? Double(total.bytesReceived + total.bytesSent) / window * 60 : nil)
        let cpu = after.flatMap { a in before.map { a.cpuSeconds - $0.cpuSeconds } }
        report.add("server_cpu_s", cpu)
        report.add("server_cpu_s_per_minute", cpu.map { window > 0 ? $0 / window * 60 : 0 })
        report.add("server_rss_kib", after?.rssKiB)
        report.add("loadgen_cpu_s", ownCPU)
        report.add("loadgen_cpu_share", window > 0 ? ownCPU / window / Double(settings.threads) : nil)
        emit(report)

        var line = "[\(settings.label)] \(settings.mode.rawValue): \(total.clientsReady) clients, published \(total.published)"
        if total.publishRejected > 0 { line += " (\(total.publishRejected) rejected)" }
        line += ", delivered \(total.delivered)/\(expected), missing \(expected - total.delivered)"
        line += ", dup \(total.duplicates), out-of-order \(total.outOfOrder)"
        say(line)
        if let l = latency {
            say("  latency ms: p50 \(format3(l.p50))  p90 \(format3(l.p90))  p99 \(format3(l.p99))  max \(format3(l.max))  mean \(format3(l.mean))")
        }
        if let d = deliveriesPerSecond { say("  deliveries/s: \(Int(d))") }
        if let o = ordersPerSecond { say("  orders/s: \(format3(o))") }
        if settings.mode == .poll {
            say("  polls: \(total.pollRequests) sent, \(total.poll200) × 200, \(total.poll304) × 304, \(total.pollOther) other, \(total.pollLate) late")
        }
        say("  window \(format3(window)) s, client bytes in \(total.bytesReceived) out \(total.bytesSent)"
            + (cpu.map { ", server CPU \(format3($0)) s" } ?? "") + ", loadgen CPU \(format3(ownCPU)) s")
        if let e = total.firstError { say("  first error: \(e)") }
        if let e = total.firstRejection { say("  first rejection: \(e)") }
        if let e = total.firstServerError { say("  first server error: \(e)") }
    }

    private func merged(_ shared: Shared) -> WorkerResult {
        shared.results.withLock { results in
            var total = WorkerResult()
            for r in results { total.merge(r) }
            return total
        }
    }
}
