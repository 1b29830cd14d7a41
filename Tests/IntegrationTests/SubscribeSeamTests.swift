import Foundation
import Testing

/// A subscription that starts while the loop is handing out a batch of its mailbox must not
/// disturb the subscribers it already has. The sharpest way to start one there: write, in
/// ONE send(), a POST + a WebSocket upgrade + a subscribe frame. The POST is answered from
/// the loop's mailbox (write completion), and the rest of the pipeline (upgrade, subscribe)
/// runs right then, in the middle of that mailbox batch.
/// When a subscribe took the loop's mailbox itself, the events it pulled ahead were
/// delivered first and the rest of the outer batch was then dropped as already delivered:
/// this test failed every run (90-171 of ~9-10k events missing) before that was fixed.
@Suite struct SubscribeSeamTests {
    @Test func existingSubscribersMissNothingWhileOthersSubscribeMidBatch() throws {
        let server = try ServerProcess(arguments: ["--loops", "1"])
        defer { server.stop(); try? FileManager.default.removeItem(at: server.dataDir) }
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let port = server.port

        // The long-lived subscriber, read on its own thread so it never falls behind.
        let watcher = try PushSession(port: port, token: admin, timeoutSeconds: 10)
        try watcher.subscribed("admin")
        let seen = Locked<[Int]>([])
        let watcherBox = Unchecked(watcher)
        let watching = BackgroundLoop { shouldStop in
            while !shouldStop() {
                guard let m = watcherBox.value.next(within: 500, restoreSeconds: 10) else { continue }
                if m.type == "event", let s = m.seq { seen.withLock { $0.append(s) } }
            }
        }

        var loops: [BackgroundLoop] = []
        for i in 0..<8 {
            loops.append(BackgroundLoop { shouldStop in
                guard let c = try? TestClient(port: port) else { return }
                while !shouldStop() { _ = try? c.createOrder(token: admin, body: OrderBody.simple(userId: "seam-\(i)")) }
            })
        }
        let pipelinedRounds = Locked(0)
        for i in 0..<4 {
            loops.append(BackgroundLoop { shouldStop in
                let body = Array(OrderBody.simple(userId: "pipe-\(i)").utf8)
                let post = "POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(admin)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
                let upgrade = "GET /ws?access_token=\(admin) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                let subscribe = TestClient.frame(opcode: 1, payload: Array(#"{"type":"subscribe","channel":"admin"}"#.utf8))
                let bytes = Array(post.utf8) + body + Array(upgrade.utf8) + subscribe
                while !shouldStop() {
                    guard let c = try? TestClient(port: port) else { continue }
                    c.send(bytes)
                    guard c.readResponse()?.status == 201, c.readResponse()?.status == 101 else { continue }
                    _ = c.readFrame()
                    pipelinedRounds.withLock { $0 += 1 }
                }
            })
        }
        Thread.sleep(forTimeInterval: 12)
        for l in loops { l.stopAndJoin() }

        let client = try TestClient(port: port)
        let head = try client.head(adminToken: admin)
        // Wait (generously) for the watcher to be told of everything committed.
        let deadline = Date().addingTimeInterval(15)
        while (seen.current.last ?? 0) < head && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        watching.stopAndJoin()

        let seqs = seen.current
        #expect(pipelinedRounds.current > 20, "too few pipelined subscribes to test anything")
        guard let first = seqs.first else {
            Issue.record("the watcher got no event")
            return
        }
        // Every event committed from the first the watcher saw, as the log itself lists them.
        let expected = try client.pollAll(token: admin, since: first - 1).compactMap { $0.seq }.filter { $0 <= head }
        #expect(expected.first == first && expected.last == head, "the log's events do not span \(first)...\(head)")
        var missing: [Int] = []
        var duplicates: [Int] = []
        var counts: [Int: Int] = [:]
        for s in seqs { counts[s, default: 0] += 1 }
        for s in expected where counts[s] == nil { missing.append(s) }
        for (s, n) in counts where n > 1 { duplicates.append(s) }
        #expect(missing.isEmpty, "the watcher missed \(missing.count) of \(expected.count) events, e.g. \(missing.prefix(10))")
        #expect(duplicates.isEmpty, "the watcher got \(duplicates.count) events twice, e.g. \(duplicates.sorted().prefix(10))")
        #expect(seqs == seqs.sorted(), "events out of order")
    }
}

/// Hands a non-Sendable test object to the one thread that uses it.
final class Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
