import Foundation
import Testing

/// With several event loops, each loop learns of a committed event from its own mailbox,
/// a moment apart. A client that saw event N on one loop and resumes with `since: N` on
/// another must still be accepted (N is committed history), and must not get N again.
///
/// Every round sends a subscribe and an unsubscribe on each resumer, as fast as answers come:
/// hundreds of messages per second per connection, so the `/ws` message rate is off here.
@Suite(.sharedServer(["--loops", "2", "--ws-message-rate", "0"])) struct LoopSeamTests {
    @Test func resumingOnAnotherLoopRightAfterALiveEventIsAccepted() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let port = server.port
        let writer = BackgroundLoop { shouldStop in
            guard let c = try? TestClient(port: port) else { return }
            while !shouldStop() { _ = try? c.createOrder(token: admin, body: OrderBody.simple(userId: "seam")) }
        }
        defer { writer.stopAndJoin() }
        var refusals: [String] = []
        var duplicates: [Int] = []
        // Each round: see one live event, then at once resume from it on connections that
        // are already open. Which loop serves a connection is the kernel's choice, so use
        // several watchers and resumers: then almost surely some watcher sits on the loop
        // that hears of events first and some resumer on the other.
        var watchers: [PushSession] = []
        var resumers: [PushSession] = []
        for _ in 0..<6 { watchers.append(try PushSession(port: port, token: admin)) }
        for _ in 0..<6 { resumers.append(try PushSession(port: port, token: admin)) }
        let deadline = Date().addingTimeInterval(3)
        var rounds = 0
        while Date() < deadline {
            let watcher = watchers[rounds % watchers.count]
            rounds += 1
            try watcher.subscribed("admin")
            guard let seen = watcher.next()?.seq else { continue }
            for r in resumers { r.subscribe("admin", since: seen) }
            for r in resumers {
                guard let answer = r.next() else { continue }
                if answer.type == "subscribed" {
                    if let first = r.next()?.seq, first <= seen { duplicates.append(first) }
                } else {
                    refusals.append("since \(seen): \(answer)")
                }
                r.send(#"{"type":"unsubscribe","channel":"admin"}"#)
                _ = r.next(where: { $0.type == "unsubscribed" })
            }
            watcher.send(#"{"type":"unsubscribe","channel":"admin"}"#)
            _ = watcher.next(where: { $0.type == "unsubscribed" })
        }
        #expect(rounds > 50)
        #expect(refusals.isEmpty, "\(refusals.count) of \(rounds * 2) resumes refused, e.g. \(refusals.first ?? "")")
        #expect(duplicates.isEmpty, "events at or before since delivered again: \(duplicates.prefix(5))")
    }
}
