import Foundation
import Testing

/// Resuming with `since` while orders keep being written (docs/PROTOCOL.md §3: "no gap or
/// duplicate at the seam"; the polling cursor likewise): a background thread writes
/// without pause while a client drops its connection and resumes several times.
@Suite(.sharedServer()) struct ResumeTests {
    @Test func theAdminChannelResumesWithNoGapAndNoDuplicate() throws { try ResumeScenarios().adminChannel() }
    @Test func aUserChannelResumesWithExactlyThatUsersEvents() throws { try ResumeScenarios().userChannel() }
    @Test func pollingWithTheCursorSkipsAndRepeatsNothing() throws { try ResumeScenarios().polling() }
}

/// The same with two event-loop threads: writes answered on one loop, subscribers on
/// either, each loop with its own seam between replay and live events.
@Suite(.sharedServer(["--loops", "2"])) struct ResumeOnTwoLoopsTests {
    @Test func theAdminChannelResumesWithNoGapAndNoDuplicate() throws { try ResumeScenarios().adminChannel() }
    @Test func aUserChannelResumesWithExactlyThatUsersEvents() throws { try ResumeScenarios().userChannel() }
    @Test func pollingWithTheCursorSkipsAndRepeatsNothing() throws { try ResumeScenarios().polling() }

    @Test func everySubscriberGetsEachEventWhicheverLoopServesIt() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let owner = uniqueID("spread")
        // Enough connections that both loops serve some.
        var sessions: [PushSession] = []
        for i in 0..<8 {
            let s = try PushSession(port: server.port, token: tokens.token(sub: i % 2 == 0 ? owner : "ops", role: i % 2 == 0 ? "user" : "admin"))
            try s.subscribed(i % 2 == 0 ? "user:\(owner)" : "admin")
            sessions.append(s)
        }
        let client = try TestClient(port: server.port)
        var created: [CreatedOrder] = []
        for _ in 0..<5 { created.append(try client.createOrder(token: tokens.token(sub: owner, role: "user"))) }
        for (i, s) in sessions.enumerated() {
            let channel = i % 2 == 0 ? "user:\(owner)" : "admin"
            var seqs: [Int] = []
            while seqs.count < created.count, let m = s.next() {
                if m.orderID.map({ id in created.contains { $0.id == id } }) == true { seqs.append(m.seq ?? -1) }
                #expect(m.channel == channel)
            }
            #expect(seqs == created.map(\.seq), "subscriber \(i)")
        }
    }
}

/// The resume scenarios, against the suite's shared server.
struct ResumeScenarios {
    let server: ServerProcess
    let tokens: TokenFactory
    let adminToken: String

    init() throws {
        server = try SharedServer.current()
        tokens = try TokenFactory(server: server)
        adminToken = tokens.token(sub: "ops", role: "admin")
    }

    /// Posts orders for `owners` (in turn) and a tracking update every fourth round, until
    /// stopped; returns the writer and the acknowledged `(owner, seq)` pairs.
    private func startWriter(owners: [String]) -> (BackgroundLoop, Locked<[(owner: String, seq: Int)]>) {
        let acked = Locked<[(owner: String, seq: Int)]>([])
        let port = server.port, admin = adminToken
        let writer = BackgroundLoop { shouldStop in
            guard let c = try? TestClient(port: port) else { return }
            var round = 0
            var lastID: String?
            while !shouldStop() {
                let owner = owners[round % owners.count]
                if round % 4 == 3, let id = lastID, let update = try? c.updateTracking(id, token: admin, body: #"{"status":"packed"}"#) {
                    acked.withLock { $0.append(((update.order["userId"] as? String) ?? "?", update.seq)) }
                } else if let created = try? c.createOrder(token: admin, body: OrderBody.simple(userId: owner)) {
                    lastID = created.id
                    acked.withLock { $0.append((owner, created.seq)) }
                }
                round += 1
            }
        }
        return (writer, acked)
    }

    /// Subscribes `channel` from `since` and reads `count` events, checking the protocol on
    /// the way; the connection is then dropped (closed abruptly, or with a close frame).
    private func readSome(_ channel: String, token: String, since: Int, count: Int, politely: Bool) throws -> [Int] {
        let s = try PushSession(port: server.port, token: token)
        try s.subscribed(channel, since: since)
        var seqs: [Int] = []
        while seqs.count < count, let m = s.next() {
            #expect(m.type == "event" && m.channel == channel, "\(m)")
            if let seq = m.seq { seqs.append(seq) }
        }
        if politely { s.client.send(TestClient.frame(opcode: 8, payload: [0x03, 0xE8])) }
        return seqs
    }

    /// Reads `channel` from `since` until an event with `seq >= last` arrived.
    private func readUntil(_ channel: String, token: String, since: Int, last: Int) throws -> [Int] {
        let s = try PushSession(port: server.port, token: token)
        try s.subscribed(channel, since: since)
        var seqs: [Int] = []
        while (seqs.last ?? since) < last, let m = s.next() {
            if let seq = m.seq { seqs.append(seq) }
        }
        return seqs
    }

    private func expectStrictlyIncreasing(_ seqs: [Int], after start: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let broken = zip([start] + seqs, seqs).first { $0 >= $1 }
        #expect(broken == nil, "out of order or duplicated at \(String(describing: broken))", sourceLocation: sourceLocation)
    }

    func adminChannel() throws {
        let start = try TestClient(port: server.port).head(adminToken: adminToken)
        let (writer, acked) = startWriter(owners: [uniqueID("r1"), uniqueID("r2")])
        var received: [Int] = []
        var cursor = start
        for round in 0..<6 {
            let got = try readSome("admin", token: adminToken, since: cursor, count: 5 + round * 4, politely: round % 2 == 0)
            received += got
            cursor = received.last ?? cursor
        }
        writer.stopAndJoin()
        let lastAcked = try #require(acked.current.map(\.seq).max())
        received += try readUntil("admin", token: adminToken, since: cursor, last: lastAcked)

        #expect(received.count >= 5 + 9 + 13 + 17 + 21 + 25)
        expectStrictlyIncreasing(received, after: start)
        let end = try #require(received.last)
        #expect(end >= lastAcked)
        // The admin channel sees every event: the seqs are exactly start+1...end.
        #expect(received == Array((start + 1)...end))
        #expect(Set(acked.current.map(\.seq)).isSubset(of: Set(received)))
    }

    func userChannel() throws {
        let me = uniqueID("resumer"), noise = uniqueID("noise")
        let token = tokens.token(sub: me, role: "user")
        let (writer, acked) = startWriter(owners: [me, noise, noise])
        var received: [Int] = []
        var cursor = 0
        for round in 0..<5 {
            received += try readSome("user:\(me)", token: token, since: cursor, count: 3 + round * 2, politely: round % 2 == 1)
            cursor = received.last ?? cursor
        }
        writer.stopAndJoin()
        let mine = acked.current.filter { $0.owner == me }.map(\.seq)
        let lastMine = try #require(mine.max())
        received += try readUntil("user:\(me)", token: token, since: cursor, last: lastMine)

        #expect(received.count >= 3 + 5 + 7 + 9 + 11)
        expectStrictlyIncreasing(received, after: 0)
        #expect(received == mine.sorted())
        // The log agrees.
        let polled = try TestClient(port: server.port).pollAll(token: token, since: 0)
        #expect(polled.compactMap(\.seq) == received)
    }

    func polling() throws {
        let start = try TestClient(port: server.port).head(adminToken: adminToken)
        let (writer, acked) = startWriter(owners: [uniqueID("p1")])
        let c = try TestClient(port: server.port)
        var received: [Int] = []
        var cursor = start
        for _ in 0..<25 {
            let page = try c.poll(token: adminToken, query: "since=\(cursor)&limit=7")
            #expect(page.events.count <= 7)
            #expect(page.events.allSatisfy { $0.channel == "admin" && $0.type == "event" })
            received += page.seqs
            #expect(page.cursor == (page.seqs.last ?? cursor))
            cursor = page.cursor
            usleep(10_000)
        }
        writer.stopAndJoin()
        let lastAcked = try #require(acked.current.map(\.seq).max())
        received += try c.pollAll(token: adminToken, since: cursor, limit: 7).compactMap(\.seq)
        expectStrictlyIncreasing(received, after: start)
        #expect(received.last.map { $0 >= lastAcked } == true)
        #expect(received == Array((start + 1)...(received.last ?? start)))
    }
}
