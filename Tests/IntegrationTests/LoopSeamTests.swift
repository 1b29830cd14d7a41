import Foundation
import Testing

/// With several event loops, each loop learns of a committed event from its own mailbox,
/// a moment apart. A client that saw event N on one loop and resumes with `since: N` on
/// another must still be accepted (N is committed history), and must not get N again.
@Suite(.sharedServer(["--loops", "2"])) struct LoopSeamTests {
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
        // A fixed number of rounds, each waiting for its events (no clock): every round must
        // see a live event and get an answer to every resume.
        let rounds = 60
        for round in 0..<rounds {
            let watcher = watchers[round % watchers.count]
            try watcher.subscribed("admin")
            let seen = try #require(watcher.next()?.seq, "round \(round): no live event while orders are written")
            for r in resumers { r.subscribe("admin", since: seen) }
            for r in resumers {
                let answer = try #require(r.next(), "round \(round): no answer to a resume from \(seen)")
                if answer.type == "subscribed" {
                    if let first = r.next()?.seq, first <= seen { duplicates.append(first) }
                } else {
                    refusals.append("since \(seen): \(answer)")
                }
                r.send(#"{"type":"unsubscribe","channel":"admin"}"#)
                _ = try #require(r.next(where: { $0.type == "unsubscribed" }), "round \(round): no unsubscribed")
            }
            watcher.send(#"{"type":"unsubscribe","channel":"admin"}"#)
            _ = try #require(watcher.next(where: { $0.type == "unsubscribed" }), "round \(round): no unsubscribed")
        }
        #expect(refusals.isEmpty, "\(refusals.count) of \(rounds * resumers.count) resumes refused, e.g. \(refusals.first ?? "")")
        #expect(duplicates.isEmpty, "events at or before since delivered again: \(duplicates.prefix(5))")
    }
}
