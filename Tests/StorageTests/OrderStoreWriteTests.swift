import JSON
import Testing
import Orders
@testable import Storage

/// Runs against every backend: one body, one case per `StoreBackend`.
@Suite struct OrderStoreWriteTests {
    let dir = TemporaryDirectory()

    @Test(arguments: StoreBackend.underTest) func createThenTrackAppendsEvents(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let store = try fixture.open()
        #expect(try store.head() == 0)
        #expect(store.epoch.utf8.count == 32 && store.epoch.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })

        let metadata = JSONValue.object([("z", .number(1)), ("a", .string("é 😀 \"q\"")), ("n", .null)])
        let address = JSONValue.object([("city", .string("Pune"))])
        let created = try store.create("u42", Fixtures.input([("p1", 2, 120), ("p2", 3, 0.1)], payment: .razorpay,
                                                            metadata: metadata, address: address), nowMs: 1_000)
        #expect(!created.replayed)
        #expect(created.event.seq == 1)
        #expect(created.event.kind == "order.created")
        #expect(created.event.userId == "u42" && created.event.orderId == created.order.id && created.event.createdAtMs == 1_000)
        #expect(Order.isWellFormedID(created.order.id))
        #expect(created.order.total == 240.3)
        #expect(created.event.orderJSON == created.order.jsonBytes())
        #expect(try store.order(id: created.order.id) == created.order)
        #expect(try store.head() == 1)

        let update = TrackingInput(status: .shipped, location: GeoPoint(lat: 12.5, lng: 77.25),
                                   deliveryPartner: DeliveryPartner(name: "Ravi", phone: "+91 1"), note: "left the hub")
        let tracked = try store.track(created.order.id, update, nowMs: 2_000)
        #expect(tracked.event.seq == 2)
        #expect(tracked.event.kind == "tracking.updated")
        #expect(tracked.order.status == .shipped)
        #expect(tracked.order.updatedAtMs == 2_000 && tracked.order.createdAtMs == 1_000)
        #expect(tracked.order.tracking.history == [
            TrackingEntry(status: .placed, note: nil, location: nil, atMs: 1_000),
            TrackingEntry(status: .shipped, note: "left the hub", location: GeoPoint(lat: 12.5, lng: 77.25), atMs: 2_000),
        ])
        #expect(tracked.order == created.order.applying(update, atMs: 2_000))
        // The stored snapshot is the order right after the change, and reads back as it.
        let snapshot = try Order(json: JSONValue.parse(tracked.event.orderJSON))
        #expect(snapshot == tracked.order)
        #expect(try store.order(id: created.order.id) == tracked.order)

        let events = try store.allEvents()
        #expect(events == [created.event, tracked.event])
        #expect(try Order(json: JSONValue.parse(events[0].orderJSON)) == created.order)   // the first snapshot is unchanged
        #expect(try store.head() == 2)
        #expect(try store.retainedFloor() == 0)
    }

    @Test(arguments: StoreBackend.underTest) func unknownOrderIsNotFound(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let store = try fixture.open()
        let results = store.apply([.updateTracking(orderId: "ord_0000000000000000", TrackingInput(note: "x"))], nowMs: 5)
        #expect(results.count == 1)
        #expect(throws: WriteError.orderNotFound("ord_0000000000000000")) { try results[0].get() }
        #expect(try store.head() == 0)
        #expect(try store.order(id: "ord_0000000000000000") == nil)
        #expect(store.apply([], nowMs: 5).isEmpty)
    }

    @Test(arguments: StoreBackend.underTest) func idempotentRetryReplays(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let store = try fixture.open()
        let first = try store.create("u1", key: Fixtures.key("u1", "k1"), nowMs: 1_000)
        let retry = try store.create("u1", key: Fixtures.key("u1", "k1"), nowMs: 5_000)
        #expect(retry.replayed)
        #expect(!first.replayed)
        #expect(retry.order == first.order)
        #expect(retry.event == first.event)
        #expect(try store.head() == 1)
        #expect(try store.allEvents().count == 1)
        #expect(try store.orders(userId: nil, limit: 10).count == 1)

        // After a tracking change a retry still names the same order and creation event,
        // with the order as it is now.
        let tracked = try store.track(first.order.id, TrackingInput(status: .packed), nowMs: 6_000)
        let later = try store.create("u1", key: Fixtures.key("u1", "k1"), nowMs: 7_000)
        #expect(later.replayed && later.event.seq == 1 && later.order == tracked.order)
        #expect(try store.head() == 2)
    }

    @Test(arguments: StoreBackend.underTest) func sameKeyDifferentBodyConflicts(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let store = try fixture.open()
        _ = try store.create("u1", key: Fixtures.key("u1", "k1", body: "A"))
        let results = store.apply([.create(Fixtures.input(), ownerId: "u1", idempotency: Fixtures.key("u1", "k1", body: "B"))], nowMs: 2_000)
        #expect(throws: WriteError.idempotencyConflict) { try results[0].get() }
        #expect(try store.head() == 1)
        #expect(try store.orders(userId: nil, limit: 10).count == 1)
    }

    @Test(arguments: StoreBackend.underTest) func sameKeyDifferentSubCreatesSeparateOrders(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let store = try fixture.open()
        let a = try store.create("u1", key: Fixtures.key("u1", "shared"))
        let b = try store.create("u2", key: Fixtures.key("u2", "shared"))
        #expect(!a.replayed && !b.replayed)
        #expect(a.order.id != b.order.id)
        #expect([a.event.seq, b.event.seq] == [1, 2])
        // A caller without a key never replays.
        let c = try store.create("u1")
        let d = try store.create("u1")
        #expect(c.order.id != d.order.id)
    }

    @Test(arguments: StoreBackend.underTest) func oneFailingWriteDoesNotUndoTheBatch(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let store = try fixture.open()
        let existing = try store.create("u1", nowMs: 1_000)
        let results = store.apply([
            .create(Fixtures.input([("x", 1, 5)]), ownerId: "u2", idempotency: nil),
            .updateTracking(orderId: "ord_ffffffffffffffff", TrackingInput(status: .shipped)),
            .updateTracking(orderId: existing.order.id, TrackingInput(status: .confirmed)),
            .create(Fixtures.input(), ownerId: "u1", idempotency: Fixtures.key("u1", "k")),
            .create(Fixtures.input(), ownerId: "u1", idempotency: Fixtures.key("u1", "k")),   // retry within the batch
        ], nowMs: 2_000)
        #expect(results.count == 5)
        let created = try results[0].get()
        #expect(created.event.seq == 2 && created.order.userId == "u2")
        #expect(throws: WriteError.orderNotFound("ord_ffffffffffffffff")) { try results[1].get() }
        let confirmed = try results[2].get()
        #expect(confirmed.event.seq == 3 && confirmed.order.status == .confirmed)
        let keyed = try results[3].get()
        let keyedRetry = try results[4].get()
        #expect(keyed.event.seq == 4 && !keyed.replayed)
        #expect(keyedRetry.replayed && keyedRetry.event == keyed.event && keyedRetry.order == keyed.order)
        #expect(try store.allEvents().map(\.seq) == [1, 2, 3, 4])
        #expect(try store.order(id: existing.order.id)?.status == .confirmed)
    }

    @Test(arguments: StoreBackend.underTest) func aWriteFailingHalfwayIsRolledBackAlone(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let store = try fixture.open()
        let order = try store.create("u1", nowMs: 1_000).order
        // Make the history insert fail after the orders row was already updated.
        try fixture.failHistoryInserts(withNote: "boom", on: store)
        let results = store.apply([
            .updateTracking(orderId: order.id, TrackingInput(status: .cancelled, note: "boom")),
            .updateTracking(orderId: order.id, TrackingInput(status: .packed, note: "fine")),
        ], nowMs: 2_000)
        guard case .failure(.storage(let message)) = results[0] else {
            Issue.record("expected a storage failure, got \(results[0])")
            return
        }
        #expect(message.contains("boom refused"))
        let packed = try results[1].get()
        #expect(packed.event.seq == 2)
        #expect(packed.order.tracking.history.map(\.status) == [.placed, .packed])
        let stored = try #require(try store.order(id: order.id))
        #expect(stored == packed.order)   // nothing of the cancelled update survived
        #expect(try store.allEvents().map(\.kind) == ["order.created", "tracking.updated"])
    }

    @Test(arguments: StoreBackend.underTest) func aFailedCommitFailsEveryWrite(_ backend: StoreBackend) throws {
        let fixture = try StoreFixture(backend, in: dir)
        let store = try fixture.open()
        // A deferred foreign key violation is only detected at COMMIT.
        try fixture.failCommits(withEventFor: "u2", on: store)
        let results = store.apply([.create(Fixtures.input(), ownerId: "u1", idempotency: nil),
                                   .create(Fixtures.input(), ownerId: "u2", idempotency: nil)], nowMs: 1)
        #expect(results.count == 2)
        for result in results {
            guard case .failure(.storage(let message)) = result else {
                Issue.record("expected a storage failure, got \(result)")
                continue
            }
            #expect(message.lowercased().contains("foreign key"))
        }
        try fixture.stopFailingCommits(on: store)
        #expect(try store.head() == 0)
        #expect(try store.orders(userId: nil, limit: 10).isEmpty)
        #expect(try store.create("u1").event.seq == 1)
    }
}
