import Synchronization
import Testing
import Orders
@testable import Storage

/// What only the shared PostgreSQL store must do: several nodes on one database. The
/// behaviour it shares with SQLite is tested by the suites that take a `StoreBackend`.
@Suite(.enabled(if: !TestPostgres.isSkipped, "ORDERPUSH_SKIP_POSTGRES=1"))
struct PostgresStoreTests {
    @Test func nodesStartingAtOnceCreateTheSchemaOnce() throws {
        let url = try TestPostgres.shared().createDatabase()
        let nodes = 3
        let line = StartingLine(parties: nodes)
        let outcomes = Mutex<[Result<String, PostgresError>]>([])
        runOnThreads(nodes) { _ in
            let outcome: Result<String, PostgresError>
            do {
                let connection = try PostgresConnection(url: url)
                line.wait()   // connected: now all migrate at the same moment
                outcome = .success(try PostgresOrderStore(connection: connection).epoch)
            } catch let error as PostgresError {
                outcome = .failure(error)
            } catch {
                outcome = .failure(PostgresError(kind: .unexpectedValue, message: "\(error)"))
            }
            outcomes.withLock { $0.append(outcome) }
        }
        let epochs = try outcomes.withLock { try $0.map { try $0.get() } }
        #expect(epochs.count == nodes)
        #expect(Set(epochs).count == 1)   // one history, one epoch

        let db = try PostgresConnection(url: url)
        #expect(try db.execute("SELECT version FROM schema_version").map { try $0.int64(0) } == [Int64(PostgresSchema.currentVersion)])
        #expect(try db.execute("SELECT epoch, head, pruned_through FROM event_log").map {
            try "\($0.string(0)) \($0.int64(1)) \($0.int64(2))"
        } == ["\(epochs[0]) 0 0"])
        let tables = try db.execute("""
            SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename
            """).map { try $0.string(0) }
        #expect(tables == ["event_log", "events", "idempotency_keys", "order_item_words", "order_status_counts", "orders",
                          "schema_version", "tracking_history"])
        let indexes = try db.execute("""
            SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%pkey' ORDER BY indexname
            """).map { try $0.string(0) }
        #expect(indexes == ["events_by_order", "events_by_user", "order_item_words_by_word", "orders_by_created", "orders_by_id_pattern",
                           "orders_by_insertion", "orders_by_status_insertion", "orders_by_user", "orders_by_user_insertion"])
    }

    /// The seq-order proof: two nodes append concurrently while a reader follows the log
    /// with a cursor, as a polling client or another node does, and a listener collects
    /// the NOTIFY payloads. If seq N+1 could become visible before N, the reader would at
    /// some point read N+1 right after N-1: a hole its cursor would skip forever.
    @Test func concurrentNodesCommitInSeqOrder() throws {
        let url = try TestPostgres.shared().createDatabase()
        _ = try PostgresOrderStore(url: url)   // the schema first, so the threads below only append and read
        let writers = 2, batches = 40, batchSize = 5
        let total = Int64(writers * batches * batchSize)   // every write appends one event
        let finishedWriters = Atomic<Int>(0)
        let line = StartingLine(parties: writers + 2)
        let problems = Mutex<[String]>([])
        let readerSaw = Mutex<[Int64]>([])
        let userReaderSaw = Mutex<[Int64]>([])
        let heads = Mutex<[Int64]>([])
        let senders = Mutex<[Int32]>([])
        @Sendable func record(_ problem: String) { problems.withLock { $0.append(problem) } }

        runOnThreads(writers + 2) { index in
            do {
                switch index {
                case 0..<writers:   // a node appending batches
                    defer { finishedWriters.add(1, ordering: .sequentiallyConsistent) }
                    let node = try PostgresOrderStore(url: url)
                    line.wait()
                    for batch in 0..<batches {
                        var writes: [OrderWrite] = (0..<batchSize - 1).map { i in
                            .create(Fixtures.input(), ownerId: "u\(i % 3)", idempotency: nil)
                        }
                        if let mine = try node.orders(userId: "u0", limit: 1).first {
                            writes.append(.updateTracking(orderId: mine.id, TrackingInput(note: "node \(index) batch \(batch)")))
                        } else {
                            writes.append(.create(Fixtures.input(), ownerId: "u0", idempotency: nil))
                        }
                        let seqs = try node.apply(writes, nowMs: Int64(batch)).map { try $0.get().event.seq }
                        // One group commit holds the lock throughout: its seqs are consecutive.
                        if seqs != Array(seqs[0]..<seqs[0] + Int64(batchSize)) { record("batch seqs \(seqs)") }
                    }
                case writers:   // a reader following the whole log, and one user's events
                    let reader = try PostgresOrderStore(url: url)
                    line.wait()
                    var cursor: Int64 = 0, userCursor: Int64 = 0
                    var saw: [Int64] = [], userSaw: [Int64] = []
                    while true {
                        // Read the flag first: a read that starts after the writers are
                        // done sees everything, so the loop ends with nothing missed.
                        let writersDone = finishedWriters.load(ordering: .sequentiallyConsistent) == writers
                        let page = try reader.events(after: cursor, userId: nil, limit: 7)
                        for event in page {
                            if event.seq != cursor + 1 { record("after seq \(cursor) the reader got \(event.seq)") }
                            cursor = event.seq
                            saw.append(event.seq)
                        }
                        for event in try reader.events(after: userCursor, userId: "u1", limit: 3) {
                            if event.seq <= userCursor || event.userId != "u1" { record("user cursor \(userCursor) got \(event.seq)") }
                            userCursor = event.seq
                            userSaw.append(event.seq)
                        }
                        if page.isEmpty && writersDone { break }
                    }
                    while true {   // the user's cursor catches up with the end
                        let page = try reader.events(after: userCursor, userId: "u1", limit: 3)
                        if page.isEmpty { break }
                        userSaw += page.map(\.seq)
                        userCursor = page.last!.seq
                    }
                    readerSaw.withLock { $0 = saw }
                    userReaderSaw.withLock { $0 = userSaw }
                default:   // a node listening for commits
                    let listener = try PostgresConnection(url: url)
                    try listener.listen(PostgresOrderStore.notificationChannel)
                    line.wait()
                    var received: [Int64] = []
                    while received.last != total {
                        let batch = try listener.notifications(timeoutMs: 30_000)
                        if batch.isEmpty { record("no notification for 30 s after head \(received.last ?? 0)"); break }
                        received += batch.map { Int64($0.payload) ?? -1 }
                        senders.withLock { $0 += batch.map(\.senderPID) }
                    }
                    heads.withLock { $0 = received }
                }
            } catch {
                record("thread \(index): \(error)")
            }
        }

        #expect(problems.withLock { $0 } == [])
        #expect(readerSaw.withLock { $0 } == Array(1...total))
        let check = try PostgresOrderStore(url: url)
        #expect(try check.head() == total)
        let userEvents = try check.events(after: 0, userId: "u1", limit: .max).map(\.seq)
        #expect(!userEvents.isEmpty && userReaderSaw.withLock { $0 } == userEvents)
        // One NOTIFY per commit, delivered in commit order, each carrying its head.
        let notified = heads.withLock { $0 }
        #expect(notified.count == writers * batches)
        #expect(notified == notified.sorted() && Set(notified).count == notified.count)
        #expect(notified.allSatisfy { $0 % Int64(batchSize) == 0 } && notified.last == total)
        // Both nodes committed; how often the committing node changed says how much the
        // two interleaved (printed, not asserted: scheduling decides).
        let pids = senders.withLock { $0 }
        #expect(Set(pids).count == writers)
        print("concurrentNodesCommitInSeqOrder: \(total) events, \(notified.count) commits, the committing node changed \(zip(pids, pids.dropFirst()).filter { $0 != $1 }.count) times")
    }

    @Test func aCommitNotifiesTheNewHead() throws {
        let url = try TestPostgres.shared().createDatabase()
        let store = try PostgresOrderStore(url: url)
        let listener = try PostgresConnection(url: url)
        try listener.listen(PostgresOrderStore.notificationChannel)

        let created = try store.create("u1", key: Fixtures.key("u1", "k"))
        _ = store.apply([.create(Fixtures.input(), ownerId: "u1", idempotency: nil),
                         .updateTracking(orderId: created.order.id, TrackingInput(status: .packed))], nowMs: 2_000)
        var payloads: [String] = []
        while payloads.count < 2 {
            let batch = try listener.notifications(timeoutMs: 10_000)
            if batch.isEmpty { break }
            payloads += batch.map(\.payload)
        }
        #expect(payloads == ["1", "3"])

        // A batch that appends nothing (a replay, a refused write) notifies nothing: the
        // next notification is the next append's.
        #expect(try store.create("u1", key: Fixtures.key("u1", "k")).replayed)
        _ = store.apply([.updateTracking(orderId: "ord_0000000000000000", TrackingInput(note: "x"))], nowMs: 3_000)
        _ = try store.create("u2")
        #expect(try listener.notifications(timeoutMs: 10_000).map(\.payload) == ["4"])
    }

    @Test func idempotencyKeysAreUniqueAcrossNodes() throws {
        let url = try TestPostgres.shared().createDatabase()
        _ = try PostgresOrderStore(url: url)
        let nodes = 3
        let line = StartingLine(parties: nodes)
        let outcomes = Mutex<[String]>([])
        runOnThreads(nodes) { _ in
            do {
                let node = try PostgresOrderStore(url: url)
                line.wait()
                let outcome = try node.create("u1", key: Fixtures.key("u1", "same"))
                outcomes.withLock { $0.append("\(outcome.order.id) \(outcome.event.seq) \(outcome.replayed)") }
            } catch {
                outcomes.withLock { $0.append("\(error)") }
            }
        }
        let lines = outcomes.withLock { $0 }.sorted()
        #expect(lines.count == nodes)
        // Exactly one node created the order (seq 1); the others replayed it.
        let created = lines.filter { $0.hasSuffix(" 1 false") }
        #expect(created.count == 1)
        let orderId = created.first.map { String($0.prefix { $0 != " " }) } ?? "?"
        #expect(lines.filter { $0 == "\(orderId) 1 true" }.count == nodes - 1)
        #expect(try PostgresOrderStore(url: url).head() == 1)
    }

    @Test func synchronousCommitIsNeverWeakerThanOn() throws {
        let url = try TestPostgres.shared().createDatabase()
        let admin = try PostgresConnection(url: url)
        try admin.executeScript("ALTER DATABASE \(url.database) SET synchronous_commit = off")
        let plain = try PostgresConnection(url: url)
        #expect(try plain.execute("SHOW synchronous_commit").first { try $0.string(0) } == "off")
        let store = try PostgresOrderStore(url: url)
        #expect(try store.connection.execute("SHOW synchronous_commit").first { try $0.string(0) } == "on")
    }

    @Test func refusesASchemaNewerThanThisBuild() throws {
        let url = try TestPostgres.shared().createDatabase()
        let store = try PostgresOrderStore(url: url)
        try store.connection.execute("UPDATE schema_version SET version = 99")
        #expect(throws: PostgresError(kind: .unexpectedValue, message: "\(url.redacted) has schema version 99, newer than this build's \(PostgresSchema.currentVersion)")) {
            try PostgresOrderStore(url: url)
        }
    }

    @Test func aStoreReconnectsAfterLosingItsConnection() throws {
        let url = try TestPostgres.shared().createDatabase()
        let store = try PostgresOrderStore(url: url)
        let first = try store.create("u1")
        let admin = try PostgresConnection(url: url)
        try admin.execute("SELECT pg_terminate_backend($1)", params: [String(store.connection.backendPID)])

        // The call that meets the dead connection fails (before COMMIT: nothing was kept)...
        let results = store.apply([.create(Fixtures.input(), ownerId: "u1", idempotency: nil)], nowMs: 2_000)
        guard case .failure(.storage(let message)) = results[0] else {
            Issue.record("a write on a terminated connection succeeded: \(results[0])")
            return
        }
        #expect(message.hasPrefix("PostgreSQL connection failed: server closed the connection unexpectedly"))
        #expect(!message.contains("may or may not"))
        // ...and the next one reconnects, with the session settings restored.
        #expect(try store.order(id: first.order.id) == first.order)
        #expect(try store.create("u1").event.seq == 2)
        #expect(try store.connection.execute("SHOW bytea_output").first { try $0.string(0) } == "hex")
    }
}
