import Testing
import JSON
import Orders
@testable import Storage

/// Runs against every backend: one body, one case per `StoreBackend`.
@Suite struct EventLogTests {
    let dir = TemporaryDirectory()

    @Test(arguments: StoreBackend.underTest) func filtersByUserAndLimits(_ backend: StoreBackend) throws {
        let store = try StoreFixture(backend, in: dir).open()
        let a = try store.create("alice", nowMs: 10).order          // seq 1
        let b = try store.create("bob", nowMs: 11).order            // seq 2
        _ = try store.track(a.id, TrackingInput(status: .confirmed), nowMs: 12)   // seq 3
        _ = try store.track(b.id, TrackingInput(status: .packed), nowMs: 13)      // seq 4
        _ = try store.create("alice", nowMs: 14)                    // seq 5

        #expect(try store.events(after: 0, userId: nil, limit: 100).map(\.seq) == [1, 2, 3, 4, 5])
        #expect(try store.events(after: 0, userId: "alice", limit: 100).map(\.seq) == [1, 3, 5])
        #expect(try store.events(after: 0, userId: "bob", limit: 100).map(\.seq) == [2, 4])
        #expect(try store.events(after: 3, userId: "alice", limit: 100).map(\.seq) == [5])
        #expect(try store.events(after: 1, userId: nil, limit: 2).map(\.seq) == [2, 3])
        #expect(try store.events(after: 0, userId: "alice", limit: 2).map(\.seq) == [1, 3])
        #expect(try store.events(after: 5, userId: nil, limit: 100).isEmpty)
        #expect(try store.events(after: 0, userId: "carol", limit: 100).isEmpty)
        #expect(try store.events(after: 0, userId: nil, limit: 0).isEmpty)
        #expect(try store.events(after: -7, userId: nil, limit: 1).map(\.seq) == [1])
        for event in try store.events(after: 0, userId: "alice", limit: 100) {
            #expect(event.userId == "alice")
            #expect(try Order(json: JSONValue.parse(event.orderJSON)).userId == "alice")
        }
    }

    @Test(arguments: StoreBackend.underTest) func readsOrdersNewestFirst(_ backend: StoreBackend) throws {
        let store = try StoreFixture(backend, in: dir).open()
        let first = try store.create("alice", nowMs: 100).order
        let second = try store.create("bob", nowMs: 200).order
        // Same timestamp in one batch: insertion order breaks the tie.
        let batch = store.apply([.create(Fixtures.input(), ownerId: "alice", idempotency: nil),
                                 .create(Fixtures.input(), ownerId: "alice", idempotency: nil)], nowMs: 300)
        let third = try batch[0].get().order, fourth = try batch[1].get().order
        let tracked = try store.track(first.id, TrackingInput(note: "n"), nowMs: 400).order

        #expect(try store.orders(userId: nil, limit: 10).map(\.id) == [fourth.id, third.id, second.id, first.id])
        #expect(try store.orders(userId: "alice", limit: 10) == [fourth, third, tracked])
        #expect(try store.orders(userId: "alice", limit: 2).map(\.id) == [fourth.id, third.id])
        #expect(try store.orders(userId: "nobody", limit: 10).isEmpty)
        #expect(try store.orders(userId: nil, limit: 0).isEmpty)
        #expect(try store.orders(ids: [second.id, "ord_0000000000000000", first.id]) == [second, tracked])
        #expect(try store.orders(ids: []).isEmpty)
    }
}
