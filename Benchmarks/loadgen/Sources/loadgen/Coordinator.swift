import Glibc

/// Runs one load: starts the worker threads, waits until every connection is ready, gives
/// the go signal, samples the server process around the measured window, and reports.
struct Coordinator {
    var settings: RunSettings

    func run() throws(LoadError) {
        var settings = self.settings
        let limit = ClientSocket.raiseDescriptorLimit()
        if settings.processCount <= 0 {
            // Automatic: as many processes as the descriptor limit needs (1000 spare each).
            let needed = settings.clients + settings.publishers + 64
            settings.processCount = max(1, (needed + limit - 1001) / max(1, limit - 1000))
        }
        let needed = settings.localClients + (settings.runsPublishers ? settings.publishers : 0) + 32
        guard needed <= limit else {
            throw LoadError("\(needed) descriptors needed in one process, the limit is \(limit): use more --processes")
        }
        if settings.isChild {
            try runChild(settings)
            return
        }
        var children: [ChildProcess] = []
        for i in 1..<settings.processCount {
            children.append(try ChildProcess(index: i, count: settings.processCount,
                                             outputPath: "/tmp/loadgen-\(getpid())-\(i).counts"))
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

        let target = settings.localClients + (settings.runsPublishers ? settings.publishers : 0)
        let connectDeadline = t0 + Int64(settings.timeoutSeconds * 1e9)
        while (shared.ready.load(ordering: .acquiring) + shared.failed.load(ordering: .acquiring) < target
                || children.contains { !$0.opened.load(ordering: .acquiring) && !$0.done.load(ordering: .acquiring) })
                && Clock.nowNs() < connectDeadline {
            sleepSeconds(0.01)
        }
        let openSeconds = Double(Clock.nowNs() - t0) / 1e9
        let ready = shared.ready.load(ordering: .acquiring) + children.reduce(0) { $0 + $1.ready.load(ordering: .acquiring) }
        let failed = shared.failed.load(ordering: .acquiring) + children.reduce(0) { $0 + $1.failed.load(ordering: .acquiring) }
        let allTarget = settings.clients + (settings.hasPublisher ? settings.publishers : 0)
        var opened = JSONLine()
        opened.add("event", "all_open")
        opened.add("mode", settings.mode.rawValue)
        opened.add("label", settings.label)
        opened.add("ready", ready)
        opened.add("failed", failed)
        opened.add("seconds", openSeconds)
        opened.add("server_rss_kib", pid.flatMap(ServerSample.read)?.rssKiB)
        emit(opened)
        say("[\(settings.label)] \(ready)/\(allTarget) connections ready, \(failed) failed, in \(format3(openSeconds)) s"
            + (settings.processCount > 1 ? " (\(settings.processCount) processes)" : ""))

        var report = JSONLine()
        report.add("event", "result")
        report.add("mode", settings.mode.rawValue)
        report.add("label", settings.label)
        report.add("threads", settings.threads)
        report.add("processes", settings.processCount)
        report.add("clients", settings.clients)
        report.add("connect_seconds", openSeconds)

        if settings.mode == .idle {
            // Let the server settle (lazy allocations, first pings) before reading its memory.
            sleepSeconds(min(2, settings.holdSeconds))
            let settled = pid.flatMap(ServerSample.read)
            sleepSeconds(max(0, settings.holdSeconds - 2))
            let end = pid.flatMap(ServerSample.read)
            shared.stop.store(true, ordering: .releasing)
            for c in children { c.send("stop") }
            for t in threads { joinThread(t) }
            let total = merged(shared, children)
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
        for c in children { c.send("go \(go)") }
        // Forward the end of publishing to the children; follow the server's pid file
        // (storm: the server restarts, its pid changes).
        var endForwarded = false
        var pidSamples: [(ns: Int64, pid: Int32, sample: ServerSample)] = []
        var nextSampleNs: Int64 = 0
        while shared.results.withLock({ $0.count }) < threads.count {
            let now = Clock.nowNs()
            if !endForwarded, case let end = shared.publishEndNs.load(ordering: .acquiring), end > 0 {
                endForwarded = true
                for c in children { c.send("end \(end)") }
            }
            if let file = settings.serverPIDFile, now >= nextSampleNs {
                nextSampleNs = now + 100_000_000
                if let p = readPID(file), let sample = ServerSample.read(pid: p) { pidSamples.append((now, p, sample)) }
            }
            sleepSeconds(0.005)
        }
        for t in threads { joinThread(t) }
        if !endForwarded {
            let end = shared.publishEndNs.load(ordering: .acquiring)
            for c in children { c.send("end \(end > 0 ? end : Clock.nowNs())") }
        }
        let endNs = Clock.nowNs()
        var after = pid.flatMap(ServerSample.read)
        let ownCPU = ownCPUSeconds() - ownBefore
        var total = merged(shared, children)
        var cpuOverride: Double?
        if let first = pidSamples.first {
            // CPU of every server process seen: the first one from the window's start, the
            // restarted ones from their own start.
            var byPID: [Int32: (first: ServerSample, last: ServerSample)] = [:]
            for s in pidSamples { byPID[s.pid] = (byPID[s.pid]?.first ?? s.sample, s.sample) }
            var cpu = 0.0
            for (p, v) in byPID { cpu += v.last.cpuSeconds - (p == first.pid ? (before?.cpuSeconds ?? v.first.cpuSeconds) : 0) }
            cpuOverride = cpu
            after = pidSamples.last!.sample
            if total.lastCaughtUpNs > 0, let newPID = pidSamples.last?.pid, newPID != first.pid,
               let at = pidSamples.first(where: { $0.pid == newPID && $0.ns >= total.lastCaughtUpNs }) {
                report.add("storm_server_cpu_s", at.sample.cpuSeconds)
            }
        }
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
        let expected = settings.mode == .shop ? total.expectedTotal : settings.messages * total.clientsReady
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
        if settings.mode == .shop, let shop = settings.shop, total.publishAcked > 0, total.lastAckNs > total.firstSendNs {
            // Orders per second: POSTs answered until the last one was (updates ran beside them).
            _ = shop
            ordersPerSecond = Double(settings.messages) / (Double(total.lastAckNs - total.firstSendNs) / 1e9)
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
        let cpu = cpuOverride ?? after.flatMap { a in before.map { a.cpuSeconds - $0.cpuSeconds } }
        report.add("server_cpu_s", cpu)
        report.add("server_cpu_s_per_minute", cpu.map { window > 0 ? $0 / window * 60 : 0 })
        report.add("server_rss_kib", after?.rssKiB)
        if settings.mode == .shop { addShopFields(&report, &total, window: window) }
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

    private func merged(_ shared: Shared, _ children: [ChildProcess] = []) -> WorkerResult {
        var total = shared.results.withLock { results in
            var total = WorkerResult()
            for r in results { total.merge(r) }
            return total
        }
        let deadline = Clock.nowNs() + Int64(max(30, settings.idleTimeoutSeconds * 4) * 1e9)
        for c in children {
            if let r = c.collect(deadlineNs: deadline) {
                total.merge(r)
            } else {
                total.noteError("process \(c.index) gave no counts")
            }
        }
        return total
    }

    /// A child process: set up its connections, report, follow the parent's signals, and
    /// leave its counts in a file.
    private func runChild(_ settings: RunSettings) throws(LoadError) {
        let shared = Shared()
        let frozen = settings
        let threads = (0..<settings.threads).map { id in
            startThread { Worker(id: id, settings: frozen, shared: shared).run() }
        }
        ParentLink.listen(shared)
        let deadline = Clock.nowNs() + Int64(settings.timeoutSeconds * 1e9)
        while shared.ready.load(ordering: .acquiring) + shared.failed.load(ordering: .acquiring) < settings.localClients
                && Clock.nowNs() < deadline {
            sleepSeconds(0.01)
        }
        ParentLink.say("open \(shared.ready.load(ordering: .acquiring)) \(shared.failed.load(ordering: .acquiring))")
        for t in threads { joinThread(t) }
        let total = shared.results.withLock { results in
            var total = WorkerResult()
            for r in results { total.merge(r) }
            return total
        }
        WorkerResultFile.write(total, to: settings.childOutput!)
        ParentLink.say("done")
    }

    private func readPID(_ path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").first ?? "")
    }

    /// Shop and storm numbers: both latencies, staleness, the pollers' share of the bytes,
    /// and how the clients came back after a restart.
    private func addShopFields(_ report: inout JSONLine, _ total: inout WorkerResult, window: Double) {
        let putToCustomer = LatencySummary(&total.latencies2Ns)
        report.add("put_customer_p50_ms", putToCustomer?.p50)
        report.add("put_customer_p99_ms", putToCustomer?.p99)
        report.add("put_customer_max_ms", putToCustomer?.max)
        let stale = LatencySummary(&total.stalenessNs)
        report.add("staleness_p50_ms", stale?.p50)
        report.add("staleness_p99_ms", stale?.p99)
        report.add("staleness_max_ms", stale?.max)
        report.add("staleness_mean_ms", stale?.mean)
        report.add("poll_bytes_per_minute", window > 0 ? Double(total.pollBytesReceived + total.pollBytesSent) / window * 60 : nil)
        report.add("push_bytes_per_minute", window > 0
            ? Double(total.bytesReceived + total.bytesSent - total.pollBytesReceived - total.pollBytesSent) / window * 60 : nil)
        if let shop = settings.shop {
            report.add("admins", shop.admins)
            report.add("customers", shop.customers)
            report.add("second_tabs", shop.secondTabs)
            report.add("pollers", shop.allPoll ? shop.clientCount : shop.legacyPollers)
            report.add("all_poll", shop.allPoll)
            report.add("updates_per_order", shop.updates)
        }
        if settings.tls || total.tlsHandshakes > 0 {
            report.add("tls_handshakes", total.tlsHandshakes)
            report.add("tls_resumed", total.tlsResumed)
        }
        guard settings.shop?.storm == true else { return }
        report.add("downs", total.downs)
        report.add("resubscribed", total.resubscribed)
        report.add("not_resubscribed", total.downs - total.resubscribed)
        report.add("reconnect_attempts", total.reconnectAttempts)
        func since(_ t: Int64) -> Double? { t > 0 && total.firstDownNs > 0 ? Double(t - total.firstDownNs) / 1e9 : nil }
        report.add("first_reconnect_s", since(total.firstReconnectNs))
        report.add("all_resubscribed_s", since(total.lastResubscribeNs))
        report.add("all_caught_up_s", since(total.lastCaughtUpNs))
        if total.lastResubscribeNs > total.firstReconnectNs && total.firstReconnectNs > 0 {
            report.add("handshakes_per_s", Double(total.resubscribed) / (Double(total.lastResubscribeNs - total.firstReconnectNs) / 1e9))
        }
        say("  storm: \(total.downs) down, \(total.resubscribed) resubscribed (\(total.reconnectAttempts) attempts); "
            + "after the first close: reconnects from \(since(total.firstReconnectNs).map(format3) ?? "-") s, all resubscribed at "
            + "\(since(total.lastResubscribeNs).map(format3) ?? "-") s, all caught up at \(since(total.lastCaughtUpNs).map(format3) ?? "-") s"
            + (total.tlsHandshakes > 0 ? "; TLS handshakes \(total.tlsHandshakes), resumed \(total.tlsResumed)" : ""))
    }
}
