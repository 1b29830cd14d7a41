import Testing
import JSON
import Orders
@testable import Storage

/// The polling page, one query per backend: the same body runs on SQLite and PostgreSQL.
@Suite struct PollPageTests {
    let dir = TemporaryDirectory()

    @Test(arguments: StoreBackend.underTest) func pageHoldsEventsCurrentOrdersAndHeads(_ backend: StoreBackend) throws {
        let store = try StoreFixture(backend, in: dir).open()
        let a = try store.create("alice", nowMs: 10).order                                 // seq 1
        let b = try store.create("bob", nowMs: 11).order                                   // seq 2
        _ = try store.track(a.id, TrackingInput(status: .confirmed), nowMs: 12)             // seq 3
        let c = try store.create("alice", Fixtures.input(metadata: .object([(key: "gift", value: .bool(true))])), nowMs: 13).order // seq 4
        _ = try store.track(b.id, TrackingInput(status: .packed), nowMs: 14)                // seq 5
        let aNow = try store.track(a.id, TrackingInput(note: "at the door"), nowMs: 15).order // seq 6

        // Alice from the start: her events, and each of her orders once, as it is now.
        let alice = try store.pollPage(after: 0, userId: "alice", limit: 100)
        #expect(alice.events == (try store.events(after: 0, userId: "alice", limit: 100)))
        #expect(alice.events.map(\.seq) == [1, 3, 4, 6])
        #expect(alice.orders == [aNow.jsonBytes(), c.jsonBytes()])
        #expect(alice.heads == PollHeads(channel: 6, head: 6, retainedFloor: 0))

        // The stored JSON is what a read of the order encodes, byte for byte.
        for (json, id) in zip(alice.orders, [a.id, c.id]) {
            #expect(json == (try store.order(id: id))?.jsonBytes())
        }

        // A page cut by the limit still lists the orders' current state, not the state as
        // of the page's last event.
        let cut = try store.pollPage(after: 0, userId: "alice", limit: 1)
        #expect(cut.events.map(\.seq) == [1])
        #expect(cut.orders == [aNow.jsonBytes()])
        #expect(cut.heads.channel == 6)

        // Bob's channel head is his newest event, not the log's.
        let bob = try store.pollPage(after: 2, userId: "bob", limit: 100)
        #expect(bob.events.map(\.seq) == [5])
        #expect(bob.orders.count == 1)
        #expect(try Order(json: JSONValue.parse(bob.orders[0])).tracking.history.count == 2)
        #expect(bob.heads == PollHeads(channel: 5, head: 6, retainedFloor: 0))

        // Admin: every event, the channel head is the log's head.
        let admin = try store.pollPage(after: 1, userId: nil, limit: 3)
        #expect(admin.events.map(\.seq) == [2, 3, 4])
        #expect(admin.orders == [try #require(try store.order(id: b.id)).jsonBytes(), aNow.jsonBytes(), c.jsonBytes()])
        #expect(admin.heads == PollHeads(channel: 6, head: 6, retainedFloor: 0))

        // Nothing new, and nobody's channel.
        let none = try store.pollPage(after: 6, userId: "alice", limit: 100)
        #expect(none.events.isEmpty && none.orders.isEmpty)
        #expect(none.heads == PollHeads(channel: 6, head: 6, retainedFloor: 0))
        #expect(try store.pollPage(after: 0, userId: "carol", limit: 100).heads == PollHeads(channel: 0, head: 6, retainedFloor: 0))
        #expect(try store.pollPage(after: 0, userId: nil, limit: 0).events.isEmpty)

        // The heads alone agree with the page's.
        #expect(try store.pollHeads(userId: "alice") == alice.heads)
        #expect(try store.pollHeads(userId: "bob") == PollHeads(channel: 5, head: 6, retainedFloor: 0))
        #expect(try store.pollHeads(userId: nil) == PollHeads(channel: 6, head: 6, retainedFloor: 0))
        #expect(try store.pollHeads(userId: "carol") == PollHeads(channel: 0, head: 6, retainedFloor: 0))
    }

    @Test(arguments: StoreBackend.underTest) func pageAfterPruningReportsTheFloor(_ backend: StoreBackend) throws {
        let store = try StoreFixture(backend, in: dir).open()
        let a = try store.create("alice", nowMs: 10).order     // seq 1, pruned below
        _ = try store.create("bob", nowMs: 20)                 // seq 2, pruned below
        let aNow = try store.track(a.id, TrackingInput(status: .shipped), nowMs: 30).order  // seq 3
        #expect(try store.pruneEvents(olderThanMs: 25) == 2)

        let page = try store.pollPage(after: 2, userId: "alice", limit: 10)
        #expect(page.events.map(\.seq) == [3])
        #expect(page.orders == [aNow.jsonBytes()])
        #expect(page.heads == PollHeads(channel: 3, head: 3, retainedFloor: 2))
        // Bob's only event is gone: his channel has no retained seq.
        #expect(try store.pollHeads(userId: "bob") == PollHeads(channel: 0, head: 3, retainedFloor: 2))
    }

    /// User ids are data, never SQL: quotes and the like go through as parameters.
    @Test(arguments: StoreBackend.underTest) func oddUserIdsAreParameters(_ backend: StoreBackend) throws {
        let store = try StoreFixture(backend, in: dir).open()
        let odd = "o'neil \"x\" ; DROP TABLE events; --"
        let order = try store.create(odd, nowMs: 10).order
        let page = try store.pollPage(after: 0, userId: odd, limit: 10)
        #expect(page.orders == [order.jsonBytes()])
        #expect(page.heads.channel == 1)
    }
}
