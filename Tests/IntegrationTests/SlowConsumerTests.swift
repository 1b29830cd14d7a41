import Foundation
import Testing

/// A subscriber that cannot keep up (docs/PROTOCOL.md §3): once its outbound buffer passes
/// `--max-output-bytes` it is closed with 1013, others are not held back, and it resumes
/// with `since` without a gap.
@Suite(.sharedServer(["--max-output-bytes", "65536"])) struct SlowConsumerTests {
    @Test func aSlowSubscriberIsClosed1013AndResumesWithoutAGap() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let client = try TestClient(port: server.port, timeoutSeconds: 20)
        let start = try client.head(adminToken: admin)

        // The slow one: a tiny receive buffer, and it never reads.
        let slow = try PushSession(port: server.port, token: admin, receiveBufferBytes: 4096)
        try slow.subscribed("admin", since: start)
        // A fast one on the same channel must get everything and stay open.
        let fast = try PushSession(port: server.port, token: admin)
        try fast.subscribed("admin", since: start)
        let fastReader = FastReader(fast)

        // Orders of ~30 KB each (under the cap: one event alone must fit) until the server
        // gives up on the slow subscriber, whose kernel buffers fill first.
        let metadata = #""metadata":{"blob":"\#(String(repeating: "x", count: 30_000))"}"#
        var created: [Int] = []
        func slowConsumersClosed() -> Int { client.metric("orderpush_slow_consumers_closed_total") ?? -1 }
        while created.count < 1000, created.count % 10 != 0 || slowConsumersClosed() == 0 {
            created.append(try client.createOrder(token: admin, body: OrderBody.simple(userId: "bulk", extra: metadata)).seq)
            // In step with the fast reader: it never has more than one event outstanding, so
            // only the slow one can pass the cap, however busy the machine is (a reader
            // thread starved for a moment must not be what the test measures).
            fastReader.waitUntilRead(created.last!)
        }
        #expect(slowConsumersClosed() == 1)
        #expect(server.waitForLog(containing: "slow consumer: a WebSocket passed --max-output-bytes"))
        let last = try #require(created.last)
        let everything = Array((start + 1)...last)

        // The slow client drains what reached it, then finds the close: 1013.
        slow.client.setReceiveTimeout(milliseconds: 10_000)
        let drained = slow.eventsUntilClose().compactMap(\.seq)
        #expect(slow.closeFrame?.closeCode == 1013)
        #expect(drained == Array(everything.prefix(drained.count)))
        #expect(drained.count < created.count)

        // The fast subscriber was neither held back nor cut off.
        let fastSeqs = fastReader.finish(expecting: last)
        #expect(fastReader.closeCode == nil)
        #expect(fastSeqs == everything)

        // Resuming from the last event it saw gives exactly the rest.
        let resumed = try PushSession(port: server.port, token: admin)
        resumed.subscribe("admin", since: drained.last ?? start)
        let answer = resumed.next()
        #expect(answer?.type == "subscribed",
                "resume after 1013 answered \(answer.map { "\($0)" } ?? "nothing"), close \(resumed.closeFrame?.closeCode.map { "\($0)" } ?? "none")")
        var rest: [Int] = []
        while (rest.last ?? drained.last ?? start) < last, let m = resumed.next() {
            if let seq = m.seq { rest.append(seq) }
        }
        #expect(resumed.closeFrame == nil, "the resumed subscriber was closed \(resumed.closeFrame?.closeCode ?? 0) during its replay")
        #expect(drained + rest == everything)
    }
}

/// Reads a session on its own thread until told the last seq to expect (or it closes).
/// The session is used by that thread only, from `init` on.
final class FastReader: @unchecked Sendable {
    private let session: PushSession
    private let seqs = Locked<[Int]>([])
    private let expected = Locked<Int?>(nil)
    private let done = DispatchSemaphore(value: 0)
    /// Set by the reading thread when it stops (closed, or told the last seq).
    private let stopped = Locked<Bool>(false)
    private(set) var closeCode: UInt16?

    init(_ session: PushSession) {
        self.session = session
        Thread { [self] in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if let m = self.session.next(within: 200) {
                    if let seq = m.seq { seqs.withLock { $0.append(seq) } }
                } else if self.session.closeFrame != nil {
                    break
                }
                if let last = expected.current, (seqs.current.last ?? 0) >= last { break }
            }
            closeCode = self.session.closeFrame?.closeCode
            stopped.withLock { $0 = true }
            done.signal()
        }.start()
    }

    /// Waits until `seq` was read, the reader stopped, or 20 s passed.
    func waitUntilRead(_ seq: Int) {
        let deadline = Date().addingTimeInterval(20)
        while (seqs.current.last ?? 0) < seq, !stopped.current, Date() < deadline {
            usleep(1_000)
        }
    }

    /// Waits until `last` was read (or the reader gave up); returns the seqs read.
    func finish(expecting last: Int) -> [Int] {
        expected.withLock { $0 = last }
        done.wait()
        return seqs.current
    }
}
