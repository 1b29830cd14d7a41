import Foundation
import Testing

/// What survives a restart, and cursors older than what is retained: graceful SIGTERM
/// (docs/PROTOCOL.md §10), the epoch staying the same for the life of the database (§2), and
/// `cursor_expired` below the retention floor on `/ws` and over HTTP (§3, §5).
@Suite struct RestartTests {
    @Test func sigtermClosesSocketsWith1001AndKeepsTheHistory() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let client = try TestClient(port: server.port)
        let created = try client.createOrder(token: admin, body: OrderBody.simple(userId: "kept"))
        let epoch = try client.poll(token: admin).epoch

        let s = try PushSession(port: server.port, token: admin)
        try s.subscribed("admin")
        server.signal(SIGTERM)
        #expect(s.next() == nil)
        #expect(s.closeFrame?.closeCode == 1001)
        s.client.shutdownWrite()   // as a browser would, so the server need not linger
        #expect(server.waitForExit(timeout: 10) == 0)

        let again = try ServerProcess(dataFolder: server.dataFolder)
        defer { again.stop() }
        let c2 = try TestClient(port: again.port)
        let state = try c2.poll(token: admin, query: "since=0")
        #expect(state.epoch == epoch)
        #expect(state.seqs == [created.seq])
        #expect(state.orders.first?["id"] as? String == created.id)
        // A cursor from before the restart still resumes.
        let resumed = try PushSession(port: again.port, token: admin)
        let answer = try resumed.subscribed("admin", since: 0, epoch: epoch)
        #expect(answer["epoch"] as? String == epoch)
        #expect(resumed.next()?.seq == created.seq)
        // The start-up lines offer the two links, and no longer the "database is empty" help.
        #expect(again.startupLines.contains { $0.contains("/admin?token=") })
        #expect(again.startupLines.contains { $0.contains("/track?token=") })
        #expect(!again.startupLines.contains { $0.contains("database is empty") })
        #expect(server.startupLines.contains { $0.contains("database is empty") })
    }

    /// A polling ETag names epoch and seqs, nothing of the process: it still answers 304
    /// after a restart, until the caller's channel gets a new event.
    @Test func pollingETagsOutliveARestart() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let user = tokens.token(sub: "returning", role: "user")
        let client = try TestClient(port: server.port)
        _ = try client.createOrder(token: user)
        let path = "/api/orders?since=0&limit=50"
        let etag = try #require(client.call("GET", path, token: user)?.header("ETag"))
        let listETag = try #require(client.call("GET", "/api/orders", token: user)?.header("ETag"))
        server.signal(SIGTERM)
        #expect(server.waitForExit(timeout: 10) == 0)

        let again = try ServerProcess(dataFolder: server.dataFolder)
        defer { again.stop() }
        let c2 = try TestClient(port: again.port)
        #expect(c2.call("GET", path, token: user, headers: ["If-None-Match": etag])?.status == 304)
        #expect(c2.call("GET", "/api/orders", token: user, headers: ["If-None-Match": listETag])?.status == 304)
        // Learned from storage after the restart, then kept up to date in memory.
        #expect(c2.call("GET", path, token: user, headers: ["If-None-Match": etag])?.status == 304)
        let created = try c2.createOrder(token: user)
        let changed = try #require(c2.call("GET", path, token: user, headers: ["If-None-Match": etag]))
        #expect(changed.status == 200)
        #expect(PollAnswer(json: changed.json ?? [:], etag: nil).seqs.last == created.seq)
        #expect(c2.call("GET", "/api/orders", token: user, headers: ["If-None-Match": listETag])?.status == 200)
    }

    static let sqlite3 = "/usr/bin/sqlite3"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: sqlite3), "needs the sqlite3 command to age events"))
    func cursorsBelowTheRetainedFloorAreExpired() throws {
        let server = try ServerProcess(arguments: ["--retention-days", "1"])
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let user = tokens.token(sub: "old-timer", role: "user")
        let client = try TestClient(port: server.port)
        var seqs: [Int] = []
        for _ in 0..<5 { seqs.append(try client.createOrder(token: user).seq) }
        let epoch = try #require(try client.poll(token: admin).epoch)
        server.signal(SIGTERM)
        #expect(server.waitForExit(timeout: 10) == 0)

        // Make the first three events two days old; the restart prunes them.
        let db = server.dataDir.appendingPathComponent("orderpush.sqlite").path
        let age = Process()
        age.executableURL = URL(fileURLWithPath: Self.sqlite3)
        age.arguments = [db, "UPDATE events SET created_at = created_at - 2 * 86400000 WHERE seq <= \(seqs[2]);"]
        try age.run()
        age.waitUntilExit()
        #expect(age.terminationStatus == 0)

        let again = try ServerProcess(arguments: ["--retention-days", "1"], dataFolder: server.dataFolder)
        defer { again.stop() }
        let c2 = try TestClient(port: again.port)
        // Pruning runs on start, beside serving: wait for it to show.
        var status = 0
        for _ in 0..<100 {
            status = c2.call("GET", "/api/orders?since=\(seqs[1])", token: user)?.status ?? 0
            if status == 410 { break }
            usleep(50_000)
        }
        #expect(status == 410)
        for since in [0, seqs[0], seqs[1]] {
            for token in [admin, user] {
                let r = try #require(c2.call("GET", "/api/orders?since=\(since)", token: token))
                #expect(r.status == 410, "since=\(since)")
                #expect(r.errorCode == "cursor_expired")
            }
        }
        // From the floor on, the retained events are all there.
        #expect(try c2.poll(token: user, query: "since=\(seqs[2])").seqs == [seqs[3], seqs[4]])
        #expect(try c2.poll(token: user, query: "since=\(seqs[2])&epoch=\(epoch)").seqs == [seqs[3], seqs[4]])
        // The pruned orders themselves are still listed.
        #expect(try c2.poll(token: user).orders.count == 5)

        let s = try PushSession(port: again.port, token: user)
        for since in [0, seqs[1]] {
            s.subscribe("user:old-timer", since: since, epoch: epoch)
            let answer = try #require(s.next())
            #expect(answer.type == "error")
            #expect(answer.code == "cursor_expired")
            #expect(answer.channel == "user:old-timer")
        }
        try s.subscribed("user:old-timer", since: seqs[2], epoch: epoch)
        #expect([s.next()?.seq, s.next()?.seq] == [seqs[3], seqs[4]])
        // The log goes on from the highest seq ever used.
        #expect(try c2.createOrder(token: user).seq == seqs[4] + 1)
    }
}
