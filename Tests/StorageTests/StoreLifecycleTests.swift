import Testing
import Glibc
import Orders
@testable import Storage

/// The tests taking a `StoreBackend` run against every backend with the same body; the
/// others are about SQLite's own settings.
@Suite struct StoreLifecycleTests {
    let dir = TemporaryDirectory()

    @Test(arguments: StoreBackend.underTest) func reopeningKeepsEpochDataAndSeqs(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir, name: "nested/deeper/orders")   // SQLite: parent folders are created
        var epoch = ""
        var orders: [Order] = []
        do {
            let store = try fixture.open()
            epoch = store.epoch
            let created = try store.create("u1", Fixtures.input(metadata: .array([.string("ü")])), key: Fixtures.key("u1", "k"))
            _ = try store.track(created.order.id, TrackingInput(status: .delivered, note: nil))
            orders = try store.orders(userId: nil, limit: 10)
        }
        let reopened = try fixture.open()
        #expect(reopened.epoch == epoch)
        #expect(try reopened.orders(userId: nil, limit: 10) == orders)
        #expect(try reopened.head() == 2)
        #expect(try reopened.create("u1").event.seq == 3)
        // Idempotency keys survive too.
        let retry = try reopened.create("u1", Fixtures.input(metadata: .array([.string("ü")])), key: Fixtures.key("u1", "k"))
        #expect(retry.replayed && retry.event.seq == 1)

        let other = try StoreFixture(backend, in: dir, name: "other").open()
        #expect(other.epoch != epoch)
    }

    @Test(arguments: StoreBackend.underTest) func pruningMovesTheFloorAndNeverReusesSeqs(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let store = try fixture.open()
        let a = try store.create("u1", key: Fixtures.key("u1", "old"), nowMs: 1_000).order   // seq 1
        _ = try store.track(a.id, TrackingInput(status: .packed), nowMs: 2_000)             // seq 2
        _ = try store.create("u2", nowMs: 3_000)                                            // seq 3

        #expect(try store.pruneEvents(olderThanMs: 500) == 0)
        #expect(try store.retainedFloor() == 0)
        #expect(try store.pruneEvents(olderThanMs: 2_500) == 2)
        #expect(try store.retainedFloor() == 2)
        #expect(try store.head() == 3)
        #expect(try store.allEvents().map(\.seq) == [3])
        #expect(try store.order(id: a.id)?.status == .packed)       // orders are kept
        #expect(try store.pruneEvents(olderThanMs: 2_500) == 0)     // idempotent

        // Pruning everything, the newest event included, still never reuses a seq.
        #expect(try store.pruneEvents(olderThanMs: 10_000) == 1)
        #expect(try store.retainedFloor() == 3)
        #expect(try store.head() == 3)
        #expect(try store.allEvents().isEmpty)
        let next = try store.create("u1", nowMs: 11_000)
        #expect(next.event.seq == 4)
        // The old idempotency key went with the retention window: a retry is a new order.
        let late = try store.create("u1", key: Fixtures.key("u1", "old"), nowMs: 12_000)
        #expect(!late.replayed && late.event.seq == 5)
        // After reopening, the floor and the sequence hold.
        let reopened = try fixture.open()
        #expect(try reopened.retainedFloor() == 3 && reopened.head() == 5)
    }

    @Test(arguments: StoreBackend.underTest) func pruningStopsAtTheFirstNewerEvent(_ backend: StoreBackend) throws {
        let store = try StoreFixture(backend, in: dir).open()
        _ = try store.create("u1", nowMs: 1_000)   // seq 1
        _ = try store.create("u1", nowMs: 5_000)   // seq 2
        _ = try store.create("u1", nowMs: 2_000)   // seq 3: the clock stepped back
        #expect(try store.pruneEvents(olderThanMs: 3_000) == 1)
        #expect(try store.retainedFloor() == 1)
        #expect(try store.allEvents().map(\.seq) == [2, 3])   // still contiguous above the floor
    }

    @Test(arguments: StoreBackend.underTest) func anotherStoreSeesCommits(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let writer = try fixture.open()
        let reader = try fixture.open()
        #expect(reader.epoch == writer.epoch)
        #expect(try reader.head() == 0)

        let created = try writer.create("u1", nowMs: 1_000)
        #expect(try reader.head() == 1)
        #expect(try reader.order(id: created.order.id) == created.order)
        #expect(try reader.events(after: 0, userId: "u1", limit: 10) == [created.event])

        let tracked = try writer.track(created.order.id, TrackingInput(status: .shipped), nowMs: 2_000)
        #expect(try reader.order(id: created.order.id) == tracked.order)
        #expect(try reader.events(after: 1, userId: nil, limit: 10) == [tracked.event])
        // Either store can write, and seqs go on from the shared head.
        #expect(try reader.create("u2", nowMs: 3_000).event.seq == 3)
        #expect(try writer.head() == 3)
    }

    @Test func readOnlyInstanceSeesWriterCommits() throws {
        let path = dir.file("shared.sqlite")
        let writer = try SQLiteOrderStore(path: path)
        let reader = try SQLiteOrderStore(path: path, readOnly: true)
        #expect(reader.epoch == writer.epoch)
        #expect(try reader.head() == 0)

        let created = try writer.create("u1", nowMs: 1_000)
        #expect(try reader.head() == 1)
        #expect(try reader.order(id: created.order.id) == created.order)
        #expect(try reader.events(after: 0, userId: "u1", limit: 10) == [created.event])

        let tracked = try writer.track(created.order.id, TrackingInput(status: .shipped), nowMs: 2_000)
        #expect(try reader.order(id: created.order.id) == tracked.order)
        #expect(try reader.events(after: 1, userId: nil, limit: 10) == [tracked.event])

        // The reader cannot write.
        let results = reader.apply([.create(Fixtures.input(), ownerId: "u1", idempotency: nil)], nowMs: 3_000)
        guard case .failure(.storage(let message)) = results[0] else {
            Issue.record("a read-only store accepted a write: \(results[0])")
            return
        }
        #expect(message.contains("readonly"))
        #expect(throws: StorageError.self) { try reader.pruneEvents(olderThanMs: 10_000) }
        #expect(try writer.head() == 2)
    }

    @Test func refusesUnusableDatabases() throws {
        // Read-only needs an existing database.
        #expect(throws: StorageError.self) { try SQLiteOrderStore(path: dir.file("missing.sqlite"), readOnly: true) }

        // A schema newer than this build is refused, writable or not.
        let newer = dir.file("newer.sqlite")
        do {
            let store = try SQLiteOrderStore(path: newer)
            try store.db.execute("PRAGMA user_version = 99")
        }
        #expect(throws: StorageError(code: nil, message: "\(newer) has schema version 99, newer than this build's \(Schema.currentVersion)")) {
            try SQLiteOrderStore(path: newer)
        }
        #expect(throws: StorageError.self) { try SQLiteOrderStore(path: newer, readOnly: true) }

        // A file that is not a database.
        let garbage = dir.file("garbage.sqlite")
        let fd = open(garbage, O_CREAT | O_WRONLY, 0o600)
        let text = Array(String(repeating: "not a database ", count: 100).utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(throws: StorageError.self) { try SQLiteOrderStore(path: garbage) }

        // A parent that is a file, not a folder.
        #expect(throws: StorageError.self) { try SQLiteOrderStore(path: garbage + "/inside.sqlite") }
    }

    @Test func usesWALAndFullSync() throws {
        let store = try SQLiteOrderStore(path: dir.file("pragmas.sqlite"))
        #expect(try store.db.queryFirst("PRAGMA journal_mode") { $0.string(0) } == "wal")
        #expect(try store.db.queryFirst("PRAGMA synchronous") { $0.int64(0) } == 2)   // FULL
        #expect(try store.db.queryFirst("PRAGMA foreign_keys") { $0.int64(0) } == 1)
        #expect(try store.db.queryFirst("PRAGMA user_version") { $0.int64(0) } == Int64(Schema.currentVersion))
        let indexes = try store.db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name") { $0.string(0) }
        #expect(indexes == ["events_by_order", "events_by_user", "orders_by_created", "orders_by_seq", "orders_by_status_seq", "orders_by_user", "orders_by_user_seq"])
    }
}
