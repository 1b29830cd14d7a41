import Foundation
import Testing

/// The process-wide output bound (docs/PROTOCOL.md §10, `--max-total-output-bytes`): many
/// subscribers that replay a large backlog and never read cannot make the server hold more
/// than the budget; those holding the most are closed with 1013 (they resume with `since`),
/// and a subscriber that reads still receives every event, without a gap.
@Suite struct OutputBudgetTests {
    static let totalBudget = 4 * 1024 * 1024
    static let perConnectionCap = 2 * 1024 * 1024

    @Test func subscribersThatNeverReadStayWithinTheBudgetAndAReaderMissesNothing() throws {
        let server = try ServerProcess(arguments: ["--max-total-output-bytes", "\(Self.totalBudget)",
                                                   "--max-output-bytes", "\(Self.perConnectionCap)",
                                                   // A closed silent subscriber keeps its close frame queued (behind
                                                   // the frame it was receiving) until the test reads it.
                                                   "--close-timeout", "300"])
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let client = try TestClient(port: server.port, timeoutSeconds: 30)
        let start = try client.head(adminToken: admin)

        // A backlog of 100 orders of ~30 KB: ~3 MB of events to replay, from an admin token
        // (user tokens are rate-limited).
        let metadata = #""metadata":{"blob":"\#(String(repeating: "x", count: 30_000))"}"#
        var created: [Int] = []
        for _ in 0..<100 {
            created.append(try client.createOrder(token: admin, body: OrderBody.simple(userId: "bulk", extra: metadata)).seq)
        }
        let rssBeforeKiB = try #require(server.memoryKiB("VmRSS"))

        // 40 subscribers replay it all and never read (tiny receive buffers). Each may queue up
        // to half its own cap (1 MiB) while replaying: 40 MiB in all without a process bound.
        let silent = 40
        var stalled: [PushSession] = []
        for _ in 0..<silent {
            let session = try PushSession(port: server.port, token: admin, receiveBufferBytes: 4096)
            session.subscribe("admin", since: start)
            stalled.append(session)
        }
        // A subscriber that reads, replaying the same backlog, and then live events.
        let reader = try PushSession(port: server.port, token: admin, timeoutSeconds: 30)
        try reader.subscribed("admin", since: start)
        let fastReader = FastReader(reader)
        for _ in 0..<10 {
            created.append(try client.createOrder(token: admin, body: OrderBody.simple(userId: "bulk", extra: metadata)).seq)
        }
        let last = try #require(created.last)
        let everything = Array((start + 1)...last)

        let seqs = fastReader.finish(expecting: last)
        #expect(fastReader.closeCode == nil, "the reading subscriber was closed \(fastReader.closeCode ?? 0)")
        #expect(seqs == everything, "the reading subscriber got \(seqs.count) of \(everything.count) events (first missing: \(everything.first { !seqs.contains($0) } ?? -1))")

        // Memory: the budget (4 MiB) plus slack (log pages read for the replays, allocator),
        // well below what the replays queue without it. Measured on the development machine
        // (debug build): +19 MiB with this budget, +44 MiB with a 1 GiB one (no bound in
        // effect). VmHWM is the peak of the whole run.
        let peakKiB = try #require(server.memoryKiB("VmHWM"))
        print("output budget: RSS \(rssBeforeKiB) KiB before the subscribers, peak \(peakKiB) KiB")
        #expect(peakKiB - rssBeforeKiB < 32 * 1024, "peak RSS grew by \((peakKiB - rssBeforeKiB) / 1024) MiB from \(rssBeforeKiB / 1024) MiB")

        // /metrics shows the budget's closes and the queued total.
        // A new connection: the first one idled past the keep-alive limit meanwhile.
        let metrics = try TestClient(port: server.port, timeoutSeconds: 10).request("GET", "/metrics")?.text ?? ""
        func value(_ name: String) -> Int? { TestClient.metric(name, in: metrics) }
        var budgetCloses = try #require(value("orderpush_output_budget_closed_total"))
        // The loops shed stalled queues on their ticks: on a busy machine the first close can
        // come after the reader is done. Wait for it (generously; nothing is timed).
        let metricsClient = try TestClient(port: server.port, timeoutSeconds: 10)
        for _ in 0..<600 where budgetCloses < 1 {
            usleep(50_000)
            budgetCloses = metricsClient.metric("orderpush_output_budget_closed_total") ?? budgetCloses
        }
        #expect(budgetCloses >= 1)
        let queued = try #require(value("orderpush_output_queued_bytes"))
        #expect(queued >= 0 && queued <= Self.totalBudget + Self.perConnectionCap)

        // The budget closed silent subscribers (which ones depends on how the two loops took
        // their subscribes, so they are looked for among all of them): what reached each
        // silent subscriber is the start of the sequence (no gap), and the budget's closes say
        // 1013. A subscriber still open has its queue read and then goes quiet (2 s).
        var closes1013 = 0, checked = 0
        for session in stalled where checked < 5 || closes1013 < min(budgetCloses, silent) {
            session.client.setReceiveTimeout(milliseconds: 2_000)
            _ = session.next()   // the `subscribed` answer
            let got = session.eventsUntilClose().compactMap(\.seq)
            #expect(got == Array(everything.prefix(got.count)))
            if session.closeFrame?.closeCode == 1013 { closes1013 += 1 }
            checked += 1
        }
        print("output budget: \(budgetCloses) budget closes, \(queued) bytes queued at the end, \(closes1013) of \(checked) silent subscribers read were closed 1013")
        #expect(closes1013 >= 1, "none of the silent subscribers was closed with 1013")
        #expect(server.stderrText.contains("output budget: "), "no log line for the budget's closes")
    }

    /// Replies to a flood of bad subscribes stay small: an invalid channel is echoed cut to
    /// 256 bytes, so a 100 KB request gets a reply of well under 1 KB (and the message rate,
    /// 1008, bounds how many replies there are).
    @Test func anInvalidChannelIsEchoedCutShort() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let session = try PushSession(port: server.port, token: tokens.token(sub: "flooder", role: "user"))
        let channel = "bogus:" + String(repeating: "y", count: 100_000)
        session.subscribe(channel)
        let frame = try #require(session.client.readDataOrClose())
        #expect(frame.opcode == 1)
        #expect(frame.payload.count < 1024, "a reply of \(frame.payload.count) bytes")
        let reply = try #require(frame.json)
        #expect(reply.type == "error" && reply.code == "bad_request")
        #expect((reply.channel ?? "").hasPrefix("bogus:yyy") && (reply.channel ?? "").utf8.count == 256)
    }
}
