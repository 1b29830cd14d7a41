import Foundation
import Testing

/// Several real nodes on one real PostgreSQL (`--database-url`): fan-out across nodes in
/// `seq` order, resume and polling on any node, one gap-free log under concurrent writers on
/// every node, kill -9 of a node, and the database going away and coming back under load.
@Suite(.serialized, .disabled(if: PostgresCluster.isSkipped, "ORDERPUSH_SKIP_POSTGRES=1"))
struct ClusterTests {
    /// A PostgreSQL cluster and `count` nodes sharing it and one secret.
    final class Nodes: @unchecked Sendable {
        let database: PostgresCluster
        let folder: TemporaryFolder
        var nodes: [ServerProcess] = []
        let tokens: TokenFactory
        let admin: String

        init(count: Int, database: PostgresCluster? = nil) throws {
            self.database = try database ?? PostgresCluster()
            folder = try TemporaryFolder(prefix: "orderpush-cluster")
            for i in 0..<count { nodes.append(try Self.start(i, url: self.database.url, folder: folder)) }
            tokens = try TokenFactory(server: nodes[0])
            admin = tokens.token(sub: "ops", role: "admin")
        }

        static func start(_ i: Int, url: String, folder: TemporaryFolder) throws -> ServerProcess {
            try ServerProcess(arguments: ["--database-url", url, "--node-name", "node\(i)", "--loops", "1"], dataFolder: folder)
        }

        func client(_ i: Int, timeout: Int = 10) throws -> TestClient { try TestClient(port: nodes[i].port, timeoutSeconds: timeout) }

        func stopAll() { for node in nodes { node.stop() } }
    }

    /// Reads `count` events from `session`, answering pings; their seqs in arrival order.
    static func seqs(_ session: PushSession, count: Int) -> [Int] {
        var seqs: [Int] = []
        while seqs.count < count, let message = session.next() {
            if message.type == "event", let seq = message.seq { seqs.append(seq) }
        }
        return seqs
    }

    /// What the server printed when it refused to start with `arguments`.
    static func startFailure(_ arguments: [String]) -> String? {
        do {
            let server = try ServerProcess(arguments: arguments)
            server.stop()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func bothDatabasesOrABadURLStopTheStartWithTheReason() throws {
        let both = Self.startFailure(["--database-url", "postgresql://u@127.0.0.1:1/db", "--db", "/tmp/nowhere.sqlite"])
        #expect(both?.contains("exclude each other") == true, "\(both ?? "started")")
        let badScheme = Self.startFailure(["--database-url", "mysql://u@h/db"])
        #expect(badScheme?.contains("not postgresql") == true, "\(badScheme ?? "started")")
    }

    @Test func eventsReachEveryNodeInSeqOrderAndResumeAndPollingWorkOnAnyNode() throws {
        let cluster = try Nodes(count: 3)
        defer { cluster.stopAll() }
        let admin = cluster.admin
        let onFirst = try PushSession(port: cluster.nodes[0].port, token: admin, timeoutSeconds: 10)
        let onLast = try PushSession(port: cluster.nodes[2].port, token: admin, timeoutSeconds: 10)
        let subscribed = try onFirst.subscribed("admin", since: 0)
        try onLast.subscribed("admin", since: 0)
        let epoch = try #require(subscribed["epoch"] as? String)

        // Creates and updates on the middle node only.
        let writer = try cluster.client(1)
        var written: [Int] = []
        for i in 0..<5 {
            let created = try writer.createOrder(token: admin, body: OrderBody.simple(userId: "buyer-\(i)"))
            written.append(created.seq)
            if i % 2 == 0 {
                written.append(try writer.updateTracking(created.id, token: admin, body: #"{"status":"confirmed"}"#).seq)
            }
        }
        #expect(written == Array(1...8))
        #expect(Self.seqs(onFirst, count: 8) == written)
        #expect(Self.seqs(onLast, count: 8) == written)

        // Resume on another node with since + epoch: the rest, no gap, no duplicate.
        let resumed = try PushSession(port: cluster.nodes[2].port, token: admin, timeoutSeconds: 10)
        let answer = try resumed.subscribed("admin", since: 3, epoch: epoch)
        #expect(answer["epoch"] as? String == epoch)
        #expect(Self.seqs(resumed, count: 5) == Array(4...8))
        #expect(resumed.next(within: 300) == nil)

        // One history: the same epoch, cursor and ETag on every node.
        let polls = try (0..<3).map { try cluster.client($0).poll(token: admin, query: "since=2") }
        #expect(Set(polls.map(\.epoch)).count == 1 && polls[0].epoch == epoch)
        #expect(polls.allSatisfy { $0.seqs == Array(3...8) && $0.cursor == 8 })
        let etag = try #require(polls[0].etag)
        #expect(polls.allSatisfy { $0.etag == etag })
        let revalidated = try #require(try cluster.client(2).call("GET", "/api/orders?since=2", token: admin,
                                                                   headers: ["If-None-Match": etag]))
        #expect(revalidated.status == 304)

        // A user's ETag from one node is valid on every node, and a new event of that user,
        // written on another node, ends the 304s everywhere.
        let buyer = cluster.tokens.token(sub: "buyer-0", role: "user")
        let mine = "/api/orders?since=8"
        let userETag = try #require(try cluster.client(0).call("GET", mine, token: buyer)?.header("ETag"))
        for i in 0..<3 {
            #expect(try cluster.client(i).call("GET", mine, token: buyer, headers: ["If-None-Match": userETag])?.status == 304)
        }
        let fresh = try writer.createOrder(token: buyer)
        for i in 0..<3 {
            var status = 0
            for _ in 0..<200 {
                status = try cluster.client(i).call("GET", mine, token: buyer, headers: ["If-None-Match": userETag])?.status ?? 0
                if status != 304 { break }
                usleep(50_000)
            }
            #expect(status == 200, "node\(i) kept answering 304 after seq \(fresh.seq)")
        }

        // The nodes say who they are and that their database is up.
        for i in 0..<3 {
            let health = try #require(try cluster.client(i).request("GET", "/healthz"))
            #expect(health.status == 200)
            #expect(health.json?["node"] as? String == "node\(i)")
            #expect((health.json?["database"] as? [String: Any])?["up"] as? Bool == true)
            let metrics = try #require(try cluster.client(i).request("GET", "/metrics"))
            #expect(metrics.text.contains(#"orderpush_node_info{node="node\#(i)",backend="postgresql"} 1"#))
            #expect(metrics.text.contains("orderpush_database_up 1"))
        }
    }

    @Test func concurrentWritersOnEveryNodeMakeOneGapFreeLog() throws {
        let cluster = try Nodes(count: 3)
        defer { cluster.stopAll() }
        let admin = cluster.admin
        let sessions = try (0..<3).map { i -> PushSession in
            let s = try PushSession(port: cluster.nodes[i].port, token: admin, timeoutSeconds: 15)
            try s.subscribed("admin", since: 0)
            return s
        }
        let perWriter = 25
        let acks = Locked<[Int]>([])
        let ports = cluster.nodes.map(\.port)
        // Two writers per node, all at once.
        concurrently(6) { writer in
            guard let c = try? TestClient(port: ports[writer % 3], timeoutSeconds: 15) else { return }
            for _ in 0..<perWriter {
                guard let created = try? c.createOrder(token: admin, body: OrderBody.simple(userId: "w\(writer)")) else { return }
                acks.withLock { $0.append(created.seq) }
            }
        }
        let acknowledged = acks.current.sorted()
        #expect(acknowledged == Array(1...(6 * perWriter)))
        for (i, session) in sessions.enumerated() {
            #expect(Self.seqs(session, count: acknowledged.count) == acknowledged, "live on node\(i)")
            let polled = try cluster.client(i).pollAll(token: admin, since: 0, limit: 37).compactMap(\.seq)
            #expect(polled == acknowledged, "polled on node\(i)")
        }
    }

    @Test func killingANodeMidLoadLosesNothing() throws {
        let cluster = try Nodes(count: 3)
        defer { cluster.stopAll() }
        let admin = cluster.admin
        let victim = cluster.nodes[2]
        let watcher = try PushSession(port: victim.port, token: admin, timeoutSeconds: 10)
        let epoch = try #require(try watcher.subscribed("admin", since: 0)["epoch"] as? String)
        let acks = Locked<[Int]>([])
        let ports = cluster.nodes.map(\.port)
        let target = 60
        concurrently(3) { writer in
            guard var c = try? TestClient(port: ports[writer], timeoutSeconds: 10) else { return }
            var survivor = writer
            while acks.current.count < target * 2 {
                if let created = try? c.createOrder(token: admin, body: OrderBody.simple(userId: "k\(writer)")) {
                    let count = acks.withLock { list -> Int in list.append(created.seq); return list.count }
                    if count == target { victim.signal(SIGKILL) }
                } else {
                    // The writer of the killed node goes elsewhere, as a balancer would send it.
                    survivor = (survivor + 1) % 2
                    guard let next = try? TestClient(port: ports[survivor], timeoutSeconds: 10) else { return }
                    c = next
                }
            }
        }
        #expect(victim.waitForExit(timeout: 10) != nil)
        // The watcher had what the killed node delivered; it resumes on another node.
        var seen: [Int] = []
        while let message = watcher.next(within: 500) {
            if message.type == "event", let seq = message.seq { seen.append(seq) }
        }
        let head = try cluster.client(0).head(adminToken: admin)
        let resumed = try PushSession(port: cluster.nodes[0].port, token: admin, timeoutSeconds: 10)
        let since = seen.last ?? 0
        try resumed.subscribed("admin", since: since, epoch: epoch)
        seen += Self.seqs(resumed, count: head - since)
        #expect(seen == Array(1...head))
        #expect(Set(acks.current).isSubset(of: Set(seen)))
        #expect(acks.current.count >= target * 2)
    }

    @Test func theDatabaseGoingAwayAndComingBackUnderLoadLosesNothing() throws {
        let cluster = try Nodes(count: 2)
        defer { cluster.stopAll() }
        let admin = cluster.admin
        let sessions = try (0..<2).map { i -> PushSession in
            let s = try PushSession(port: cluster.nodes[i].port, token: admin, timeoutSeconds: 20)
            try s.subscribed("admin", since: 0)
            return s
        }
        let acks = Locked<[Int]>([])
        let refused = Locked<[Int]>([])
        let stop = Locked(false)
        let ports = cluster.nodes.map(\.port)
        let load = Thread {
            concurrently(2) { writer in
                guard let c = try? TestClient(port: ports[writer], timeoutSeconds: 20) else { return }
                while !stop.current {
                    guard let r = c.call("POST", "/api/orders", token: admin, json: OrderBody.simple(userId: "d\(writer)")) else { return }
                    if r.status == 201, let seq = r.json?["seq"] as? Int {
                        acks.withLock { $0.append(seq) }
                    } else {
                        refused.withLock { $0.append(r.status) }
                        usleep(20_000)
                    }
                }
            }
            stop.withLock { $0 = false }   // tells the test the writers have finished
        }
        load.start()
        func waitUntil(_ condition: () -> Bool) -> Bool {
            for _ in 0..<600 where !condition() { usleep(50_000) }
            return condition()
        }
        #expect(waitUntil { acks.current.count >= 30 })
        try cluster.database.stop()
        // Both nodes notice and say why; writes are refused with 503, not left hanging.
        for i in 0..<2 {
            #expect(waitUntil { (try? cluster.client(i).request("GET", "/healthz"))??.status == 503 })
            let health = try #require(try cluster.client(i).request("GET", "/healthz"))
            #expect((health.json?["database"] as? [String: Any])?["reason"] as? String != nil)
        }
        let answer = try #require(try cluster.client(0).call("POST", "/api/orders", token: admin, json: OrderBody.simple(userId: "x")))
        #expect(answer.status == 503)
        #expect(waitUntil { refused.current.count >= 4 })
        try cluster.database.start()
        for i in 0..<2 {
            #expect(waitUntil { (try? cluster.client(i).request("GET", "/healthz"))??.status == 200 })
        }
        let before = acks.current.count
        #expect(waitUntil { acks.current.count >= before + 30 })
        stop.withLock { $0 = true }
        #expect(waitUntil { !stop.current })

        let acknowledged = acks.current.sorted()
        let head = try cluster.client(1).head(adminToken: admin)
        let log = try cluster.client(1).pollAll(token: admin, since: 0).compactMap(\.seq)
        #expect(log == Array(1...head))
        #expect(Set(acknowledged).isSubset(of: Set(log)))
        // The WebSockets stayed open through the outage and caught up, in order.
        for (i, session) in sessions.enumerated() {
            #expect(Self.seqs(session, count: head) == Array(1...head), "subscriber on node\(i)")
        }
    }

    /// A read stuck in PostgreSQL (a table locked by another session, from outside the
    /// server) holds a reader thread, never the loop: on a node with one loop, while
    /// `GET /api/orders/{id}` waits for the lock, `/healthz`, a WebSocket ping, a live
    /// subscribe and a subscribe that replays from the log are all answered; and once the
    /// lock is released the stuck GET is answered, correctly, on its own connection, with the
    /// request pipelined behind it answered after it.
    @Test func aReadStuckInTheDatabaseDoesNotHoldUpTheLoop() throws {
        let cluster = try Nodes(count: 1)
        defer { cluster.stopAll() }
        let admin = cluster.admin
        let created = try cluster.client(0).createOrder(token: admin, body: OrderBody.simple(userId: "held"))

        let lock = try cluster.database.openTransaction("LOCK TABLE tracking_history IN ACCESS EXCLUSIVE MODE")
        defer { lock.finish() }
        // Two pipelined requests: the GET that reads the locked table, then a health check
        // that must be answered after it, on this connection.
        let stuck = try cluster.client(0, timeout: 30)
        stuck.send("GET /api/orders/\(created.id) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(admin)\r\n\r\n"
                   + "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        // The server's read is waiting for the lock (seen from PostgreSQL, not timed).
        #expect(try lock.waitForLockWaiters(), "the GET never waited for the lock")

        // The loop serves everyone else meanwhile.
        let health = try #require(try cluster.client(0).request("GET", "/healthz"))
        #expect(health.status == 200)
        let live = try PushSession(port: cluster.nodes[0].port, token: admin, timeoutSeconds: 20)
        try live.subscribed("admin")
        live.client.send(TestClient.frame(opcode: 0x9, payload: Array("still-here".utf8)))
        let pong = live.client.readFrame()
        #expect(pong?.opcode == 0xA && pong?.text == "still-here")
        // A replay reads the events table (not locked), on another reader thread.
        let replaying = try PushSession(port: cluster.nodes[0].port, token: admin, timeoutSeconds: 20)
        try replaying.subscribed("admin", since: 0)
        #expect(Self.seqs(replaying, count: 1) == [created.seq])

        lock.finish()
        let answer = try #require(stuck.readResponse(), "no answer to the stuck GET once the lock was released")
        #expect(answer.status == 200)
        #expect((answer.json?["order"] as? [String: Any])?["id"] as? String == created.id)
        let next = try #require(stuck.readResponse())
        #expect(next.status == 200 && next.json?["status"] as? String == "ok")
    }

    /// A subscribe whose cursor check waits for the database (the log's row locked by
    /// another session) holds the messages sent after it: they are answered after it, in
    /// order, and the replay it started, cancelled by the unsubscribe that followed, sends
    /// nothing once its page arrives.
    @Test func messagesSentWhileASubscribeWaitsForTheDatabaseAreAnsweredInOrder() throws {
        let cluster = try Nodes(count: 1)
        defer { cluster.stopAll() }
        let admin = cluster.admin
        _ = try cluster.client(0).createOrder(token: admin, body: OrderBody.simple(userId: "early"))
        let lock = try cluster.database.openTransaction("LOCK TABLE event_log IN ACCESS EXCLUSIVE MODE")
        defer { lock.finish() }
        let session = try PushSession(port: cluster.nodes[0].port, token: admin, timeoutSeconds: 20)
        session.subscribe("admin", since: 0)
        session.send(#"{"type":"unsubscribe","channel":"admin"}"#)
        session.send(#"{"type":"no-such-type"}"#)
        #expect(try lock.waitForLockWaiters(), "the subscribe never waited for the lock")
        lock.finish()
        var types: [String] = []
        while types.count < 3, let message = session.next() {
            if let type = message["type"] as? String, type != "event" { types.append(type) }
        }
        #expect(types == ["subscribed", "unsubscribed", "error"])
        // Nothing follows: no event of the cancelled replay, no second answer.
        #expect(session.next(within: 500) == nil)
    }

    @Test func aNodeStartsWithTheDatabaseDownAndConnectsWhenItIsBack() throws {
        let database = try PostgresCluster()
        try database.stop()
        let folder = try TemporaryFolder(prefix: "orderpush-cluster")
        let node = try Nodes.start(0, url: database.url, folder: folder)
        defer { node.stop() }
        let admin = try TokenFactory(server: node).token(sub: "ops", role: "admin")
        let health = try #require(try TestClient(port: node.port).request("GET", "/healthz"))
        #expect(health.status == 503)
        #expect(health.json?["status"] as? String == "unavailable")
        #expect(((health.json?["database"] as? [String: Any])?["reason"] as? String)?.isEmpty == false)
        let write = try #require(try TestClient(port: node.port, timeoutSeconds: 20)
            .call("POST", "/api/orders", token: admin, json: OrderBody.simple(userId: "early")))
        #expect(write.status == 503)
        // A WebSocket opens and stays open; subscribing says the log is unavailable.
        let session = try PushSession(port: node.port, token: admin, timeoutSeconds: 10)
        session.subscribe("admin")
        #expect(session.next()?.code == "unavailable")

        try database.start()
        var up = false
        for _ in 0..<600 where !up {
            up = (try? TestClient(port: node.port).request("GET", "/healthz"))??.status == 200
            if !up { usleep(50_000) }
        }
        #expect(up)
        try session.subscribed("admin")
        let created = try TestClient(port: node.port, timeoutSeconds: 20).createOrder(token: admin, body: OrderBody.simple(userId: "late"))
        #expect(session.event(for: created.id, kind: "order.created", channel: "admin")?.seq == created.seq)
    }
}
