import Foundation
import Testing

/// The database reader's bounded queue (docs/PROTOCOL.md: `--max-queued-reads`, 503
/// `storage_busy`) on the real binary and a real PostgreSQL, where every read goes through
/// it. Another `psql` session locks a table the reads need, so the reader threads wait in
/// the database (seen in `pg_stat_activity`) and the next reads stay in the queue (seen in
/// `/metrics`); with a small bound the queue is then full, and what the server answers is
/// looked at, then what happens once the lock goes.
@Suite(.serialized, .disabled(if: PostgresCluster.isSkipped, "ORDERPUSH_SKIP_POSTGRES=1"))
struct ReadQueueTests {
    /// With `--loops 1` the server runs two reader threads ("one per loop, at least two",
    /// `OrderPushServer.run`): two reads stuck in the database hold them all.
    static let readerThreads = 2

    /// One node with one loop on a PostgreSQL cluster of its own.
    final class Node {
        let database: PostgresCluster
        let server: ServerProcess
        let admin: String

        init(arguments: [String]) throws {
            database = try PostgresCluster()
            server = try ServerProcess(arguments: ["--database-url", database.url, "--loops", "1"] + arguments)
            admin = try TokenFactory(server: server).token(sub: "ops", role: "admin")
        }

        /// A new connection (a kept-alive one would be closed after `--header-timeout` idle).
        func client() throws -> TestClient { try TestClient(port: server.port, timeoutSeconds: 60) }

        /// A sample of `/metrics` without labels.
        func metric(_ name: String) throws -> Int? { try client().metric(name) }

        /// Waits (generously; nothing is timed) until `/metrics` shows `name` satisfying `condition`.
        func waitForMetric(_ name: String, _ condition: (Int) -> Bool) throws -> Bool {
            for _ in 0..<1200 {
                if let value = try metric(name), condition(value) { return true }
                usleep(50_000)
            }
            return false
        }

        /// `GET /api/orders/{id}` sent on a connection of its own, the answer left to read.
        func sendGet(_ id: String) throws -> TestClient {
            let c = try client()
            c.send("GET /api/orders/\(id) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(admin)\r\n\r\n")
            return c
        }

        deinit { server.stop() }   // before the cluster goes
    }

    /// Waits until a replay is held by its subscriber, who reads nothing: output is queued
    /// (the kernel took no more), no read is running in the database, and the queued figure
    /// has not moved since (a page in flight would have added to it). Generous; nothing is
    /// timed.
    static func waitUntilTheReplayWaitsForTheSubscriber(_ node: Node) throws -> Bool {
        let psql = try node.database.openTransaction("SELECT 1")
        defer { psql.finish() }
        for _ in 0..<600 {
            if let queued = try node.metric("orderpush_output_queued_bytes"), queued > 0 {
                let answer = try psql.query("SELECT pg_stat_clear_snapshot(); SELECT 'active=' || count(*) || ';' FROM pg_stat_activity "
                                            + "WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid();",
                                            until: ";")
                if answer.contains("active=0;"), try node.metric("orderpush_output_queued_bytes") == queued { return true }
            }
            usleep(100_000)
        }
        return false
    }

    /// Holds every reader thread in the database (a GET each, one at a time so each thread
    /// takes one) and then fills the queue with `bound` more GETs. Returns the connections
    /// whose GETs wait, threads' first.
    static func fillTheReader(_ node: Node, lock: PsqlTransaction, orderID: String, bound: Int) throws -> [TestClient] {
        var waiting: [TestClient] = []
        for n in 1...readerThreads {
            waiting.append(try node.sendGet(orderID))
            try #require(try lock.waitForLockWaiters(atLeast: n), "reader thread \(n) never waited for the lock")
        }
        for n in 1...bound {
            waiting.append(try node.sendGet(orderID))
            try #require(try node.waitForMetric("orderpush_reads_queued") { $0 == n }, "read \(n) never queued")
        }
        return waiting
    }

    /// With the reader's threads stuck and its queue full: a GET of an order gets 503
    /// `storage_busy` with `Retry-After`, a subscribe with `since` gets `unavailable`,
    /// `/healthz` answers, and nothing is queued for the refusals. Once the lock goes, every
    /// queued GET is answered with the order, the queue empties, and the refused requests
    /// succeed when tried again.
    @Test func aFullReadQueueRefusesWith503AndEveryQueuedReadIsAnsweredOnceTheDatabaseMoves() throws {
        let bound = 2
        let node = try Node(arguments: ["--max-queued-reads", "\(bound)"])
        let admin = node.admin
        let created = try node.client().createOrder(token: admin, body: OrderBody.simple(userId: "held"))
        #expect(try node.metric("orderpush_reads_refused_total") == 0)

        let lock = try node.database.openTransaction("LOCK TABLE tracking_history IN ACCESS EXCLUSIVE MODE")
        defer { lock.finish() }
        let waiting = try Self.fillTheReader(node, lock: lock, orderID: created.id, bound: bound)

        let refused = try #require(try node.client().call("GET", "/api/orders/\(created.id)", token: admin))
        #expect(refused.status == 503, "\(refused.status) \(refused.text)")
        #expect(refused.errorCode == "storage_busy", "\(refused.text)")
        #expect(refused.header("Retry-After") == "1")

        let session = try PushSession(port: node.server.port, token: admin, timeoutSeconds: 60)
        session.subscribe("admin", since: 0)
        let answer = try #require(session.next(), "no answer to the subscribe")
        #expect(answer.type == "error" && answer.code == "unavailable" && answer.channel == "admin", "\(answer)")

        let health = try #require(try node.client().request("GET", "/healthz"))
        #expect(health.status == 200, "\(health.text)")
        // The refusals queued nothing: still `bound` waiting, and two refused.
        #expect(try node.metric("orderpush_reads_queued") == bound)
        #expect(try node.metric("orderpush_reads_refused_total") == 2)

        lock.finish()
        for (i, client) in waiting.enumerated() {
            let answer = try #require(client.readResponse(), "no answer to waiting GET \(i) once the lock was released")
            #expect(answer.status == 200, "GET \(i): \(answer.status) \(answer.text)")
            #expect((answer.json?["order"] as? [String: Any])?["id"] as? String == created.id, "GET \(i)")
        }
        #expect(try node.waitForMetric("orderpush_reads_queued") { $0 == 0 })

        let retried = try #require(try node.client().call("GET", "/api/orders/\(created.id)", token: admin))
        #expect(retried.status == 200, "\(retried.status) \(retried.text)")
        #expect((retried.json?["order"] as? [String: Any])?["id"] as? String == created.id)
        try session.subscribed("admin", since: 0)
        #expect(ClusterTests.seqs(session, count: 1) == [created.seq])
    }

    /// A replay in progress whose next page meets a full queue retries on the loop's tick
    /// (`orderpush_reads_refused_total` climbs while nothing else asks) and, once the
    /// database moves, goes on where it was: the subscriber gets every event of a ~10 MB
    /// backlog exactly once, in order, then live events.
    @Test func aReplayThatMeetsAFullQueueRetriesOnTheTickAndMissesNothing() throws {
        let node = try Node(arguments: ["--max-queued-reads", "1", "--max-output-bytes", "\(2 * 1024 * 1024)",
                                        // The subscriber reads nothing for a while: no ping timeout meanwhile.
                                        "--ping-interval", "600"])
        let admin = node.admin
        // 1,000 orders of ~10 KB: more than the kernel's socket buffers plus the half of the
        // output cap a replay queues, so the replay must stop and wait for the subscriber.
        let metadata = #""metadata":{"blob":"\#(String(repeating: "x", count: 10_000))"}"#
        let first = try node.client().createOrder(token: admin, body: OrderBody.simple(userId: "bulk", extra: metadata))
        let failures = Locked(0)
        let port = node.server.port
        concurrently(9) { _ in   // 9 × 111 more: 1,000 in all
            let count = 111
            guard let client = try? TestClient(port: port, timeoutSeconds: 60) else {
                return failures.withLock { $0 += count }
            }
            for _ in 0..<count {
                let body = OrderBody.simple(userId: "bulk", extra: metadata)
                if (try? client.createOrder(token: admin, body: body)) == nil { failures.withLock { $0 += 1 } }
            }
        }
        try #require(failures.current == 0, "\(failures.current) orders not created")
        let head = try node.client().head(adminToken: admin)
        try #require(head == 1000)

        // The subscriber replays from 0 and reads nothing yet: once the kernel's buffers are
        // full the replay queues up to half the output cap and waits for it to drain.
        let replaying = try PushSession(port: node.server.port, token: admin, timeoutSeconds: 60, receiveBufferBytes: 4096)
        replaying.subscribe("admin", since: 0)
        try #require(try Self.waitUntilTheReplayWaitsForTheSubscriber(node), "the replay never waited for the subscriber")

        let lock = try node.database.openTransaction("LOCK TABLE tracking_history IN ACCESS EXCLUSIVE MODE")
        defer { lock.finish() }
        let waiting = try Self.fillTheReader(node, lock: lock, orderID: first.id, bound: 1)
        let refusedBefore = try #require(try node.metric("orderpush_reads_refused_total"))

        // The subscriber reads what was queued; the replay then asks for its next page, is
        // refused, and asks again on every tick: the refusals climb while the test sends
        // nothing that reads.
        var seqs: [Int] = []
        func readAvailable(within milliseconds: Int) {
            while seqs.count < head, let message = replaying.next(within: milliseconds, restoreSeconds: 60) {
                if message.type == "event", let seq = message.seq { seqs.append(seq) }
                #expect(message.type != "error", "\(message)")
            }
        }
        var refusedNow = refusedBefore
        for _ in 0..<240 where refusedNow < refusedBefore + 2 {
            readAvailable(within: 500)
            refusedNow = try #require(try node.metric("orderpush_reads_refused_total"))
        }
        #expect(refusedNow >= refusedBefore + 2, "the replay never met the full queue (\(seqs.count) events read)")
        #expect(seqs.count < head, "the replay finished before the queue was full: nothing was tested")
        #expect(try node.metric("orderpush_reads_queued") == 1)

        lock.finish()
        for (i, client) in waiting.enumerated() {
            let answer = try #require(client.readResponse(), "no answer to waiting GET \(i) once the lock was released")
            #expect(answer.status == 200, "GET \(i): \(answer.status) \(answer.text)")
        }
        while seqs.count < head, let message = replaying.next() {
            if message.type == "event", let seq = message.seq { seqs.append(seq) }
        }
        #expect(seqs == Array(1...head), "got \(seqs.count) of \(head) events; first out of place at index \(Array(zip(seqs, 1...head)).firstIndex { $0 != $1 } ?? -1)")

        // Live from there: the next event once, nothing replayed twice.
        let live = try node.client().createOrder(token: admin, body: OrderBody.simple(userId: "after"))
        #expect(ClusterTests.seqs(replaying, count: 1) == [live.seq])
        #expect(live.seq == head + 1)
    }
}

/// `--max-queued-reads` is validated at start like the other options (SQLite: no cluster
/// needed).
@Suite struct MaxQueuedReadsOptionTests {
    /// What the server printed when it refused to start, or nil if it started.
    static func startFailure(_ arguments: [String], environment: [String: String] = [:]) -> String? {
        do {
            let server = try ServerProcess(arguments: arguments, environment: environment)
            server.stop()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func zeroNegativeAndNonNumbersAreRefusedWithTheReason() {
        for bad in ["0", "-1"] {
            let failure = Self.startFailure(["--max-queued-reads=\(bad)"])
            #expect(failure?.contains("--max-queued-reads must be a positive integer") == true, "\(bad): \(failure ?? "started")")
        }
        let word = Self.startFailure(["--max-queued-reads", "many"])
        #expect(word?.contains("--max-queued-reads") == true && word?.contains("many") == true, "\(word ?? "started")")
        let viaEnvironment = Self.startFailure([], environment: ["ORDERPUSH_MAX_QUEUED_READS": "0"])
        #expect(viaEnvironment?.contains("--max-queued-reads must be a positive integer") == true, "\(viaEnvironment ?? "started")")
        let badVariable = Self.startFailure([], environment: ["ORDERPUSH_MAX_QUEUED_READS": "lots"])
        #expect(badVariable?.contains("ORDERPUSH_MAX_QUEUED_READS is not a valid value: lots") == true, "\(badVariable ?? "started")")
    }

    @Test func aPositiveBoundStartsAndServes() throws {
        let server = try ServerProcess(arguments: ["--max-queued-reads", "1"])
        defer { server.stop() }
        let admin = try TokenFactory(server: server).token(sub: "ops", role: "admin")
        let client = try TestClient(port: server.port, timeoutSeconds: 30)
        let created = try client.createOrder(token: admin, body: OrderBody.simple(userId: "searched"))
        // A search runs on the reader with SQLite too.
        let search = try #require(client.call("GET", "/api/orders/search?q=Tea", token: admin))
        #expect(search.status == 200, "\(search.status) \(search.text)")
        let found = (search.json?["orders"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(found == [created.id], "\(search.text)")
        let metrics = try #require(try TestClient(port: server.port).request("GET", "/metrics")).text
        #expect(metrics.contains("\norderpush_reads_queued 0\n"), "\(metrics)")
        #expect(metrics.contains("\norderpush_reads_refused_total 0\n"), "\(metrics)")
    }
}
