import Orders
import Testing
@testable import Storage

/// `searchOrders` and `statusCounts` on every backend (filters, text, keyset pages), and
/// the SQLite schema v1 -> v2 migration of an existing database.
@Suite struct OrderSearchTests {
    let dir = TemporaryDirectory()

    func item(_ name: String) -> NewOrderInput {
        NewOrderInput(items: [OrderItem(productId: "p", name: name, quantity: 1, price: 10)], paymentMethod: .cashOnDelivery,
                      shippingAddress: .null, metadata: .null)
    }

    func ids(_ page: OrderPage) -> [String] { page.orders.map(\.id) }

    @Test(arguments: StoreBackend.underTest) func filtersTextAndPagesNewestFirst(_ backend: StoreBackend) throws {
        let store = try StoreFixture(backend, in: dir, name: "search").open()
        let a = try store.create("alice", item("Masala Chai")).order
        let b = try store.create("bob", item("Green Tea")).order
        let c = try store.create("alice", item("Filter Coffee")).order
        _ = try store.track(b.id, TrackingInput(status: .shipped, location: nil, deliveryPartner: nil, note: nil))

        #expect(ids(try store.searchOrders(OrderSearch(limit: 10))) == [c.id, b.id, a.id])
        #expect(ids(try store.searchOrders(OrderSearch(status: .shipped, limit: 10))) == [b.id])
        #expect(ids(try store.searchOrders(OrderSearch(userId: "alice", limit: 10))) == [c.id, a.id])
        #expect(ids(try store.searchOrders(OrderSearch(status: .placed, userId: "alice", limit: 10))) == [c.id, a.id])
        // Text: an item word (any case, a word's prefix), the owner exactly, an id prefix.
        #expect(ids(try store.searchOrders(OrderSearch(text: "CHAI", limit: 10))) == [a.id])
        #expect(ids(try store.searchOrders(OrderSearch(text: "te", limit: 10))) == [b.id])
        #expect(ids(try store.searchOrders(OrderSearch(text: "masala chai", limit: 10))) == [a.id])
        #expect(ids(try store.searchOrders(OrderSearch(text: "mas ch", limit: 10))) == [a.id])
        #expect(ids(try store.searchOrders(OrderSearch(text: "masala coffee", limit: 10))).isEmpty)
        #expect(ids(try store.searchOrders(OrderSearch(text: "alice", limit: 10))) == [c.id, a.id])
        #expect(ids(try store.searchOrders(OrderSearch(text: "ali", limit: 10))).isEmpty)
        #expect(ids(try store.searchOrders(OrderSearch(text: String(b.id.prefix(9)), limit: 10))).contains(b.id))
        #expect(ids(try store.searchOrders(OrderSearch(text: b.id, limit: 10))) == [b.id])
        #expect(ids(try store.searchOrders(OrderSearch(text: "ord_", limit: 10))) == [c.id, b.id, a.id])
        #expect(ids(try store.searchOrders(OrderSearch(userId: "bob", text: "coffee", limit: 10))).isEmpty)
        #expect(ids(try store.searchOrders(OrderSearch(status: .shipped, text: "tea", limit: 10))) == [b.id])
        #expect(try store.searchOrders(OrderSearch(text: "tea", limit: 10)).orders.first?.tracking.history.count == 2)

        // Pages of 2: the cursor is the last order's creation number.
        let first = try store.searchOrders(OrderSearch(limit: 2))
        #expect(ids(first) == [c.id, b.id])
        let next = try #require(first.next)
        let second = try store.searchOrders(OrderSearch(before: next, limit: 2))
        #expect(ids(second) == [a.id])
        #expect(second.next == nil)

        #expect(try store.statusCounts(userId: nil) == StatusCounts(counts: [.placed: 2, .shipped: 1], head: 4))
        #expect(try store.statusCounts(userId: "alice") == StatusCounts(counts: [.placed: 2], head: 4))
        #expect(try store.statusCounts(userId: "nobody").counts == [:])
    }

    @Test(arguments: StoreBackend.underTest) func pagesNeitherRepeatNorSkipWhileOrdersArrive(_ backend: StoreBackend) throws {
        let store = try StoreFixture(backend, in: dir, name: "paging").open()
        var created: [String] = []
        for i in 0..<25 { created.append(try store.create("u\(i % 3)", item("Thing \(i)")).order.id) }
        var seen: [String] = []
        var before: Int64?
        var arrived = 0
        repeat {
            let page = try store.searchOrders(OrderSearch(before: before, limit: 4))
            seen += ids(page)
            // New orders between pages: newer than every cursor, so never on a later page.
            _ = try store.create("late", item("Late \(arrived)"))
            arrived += 1
            before = page.next
        } while before != nil
        #expect(seen == Array(created.reversed()))
        // Text pages too.
        var texts: [String] = []
        before = nil
        repeat {
            let page = try store.searchOrders(OrderSearch(text: "thing", before: before, limit: 7))
            texts += ids(page)
            _ = try store.create("late", item("Thing late"))
            before = page.next
        } while before != nil
        #expect(texts == Array(created.reversed()))
    }

    @Test func migratesAVersion1Database() throws {
        let path = dir.file("v1.sqlite")
        do {
            // A database as the previous build left it, with orders in it.
            let db = try SQLiteDatabase(path: path, readOnly: false)
            try db.execute("PRAGMA journal_mode = WAL")
            try db.execute(Schema.v1)
            try db.run("INSERT INTO meta (key, value) VALUES ('epoch', 'e1'), ('pruned_through', '0')")
            try db.execute("PRAGMA user_version = 1")
            for (i, (id, status, name)) in [("ord_00000000000000a1", "placed", "Old Chai"),
                                            ("ord_00000000000000b2", "delivered", "Old Tea")].enumerated() {
                try db.run("""
                    INSERT INTO orders (id, user_id, status, payment_method, total, items, shipping_address, metadata,
                                        created_at, updated_at) VALUES (?, 'old', ?, 'cod', 10, ?, 'null', 'null', ?, ?)
                    """, [.text(id), .text(status),
                          .blob(Array(#"[{"productId":"p","name":"\#(name)","quantity":1,"price":10}]"#.utf8)),
                          .integer(Int64(i)), .integer(Int64(i))])
                try db.run("INSERT INTO tracking_history (order_id, position, status, at) VALUES (?, 0, 'placed', 0)",
                           [.text(id)])
            }
        }
        let store = try SQLiteOrderStore(path: path)
        #expect(store.epoch == "e1")
        #expect(ids(try store.searchOrders(OrderSearch(limit: 10))) == ["ord_00000000000000b2", "ord_00000000000000a1"])
        #expect(ids(try store.searchOrders(OrderSearch(text: "chai", limit: 10))) == ["ord_00000000000000a1"])
        #expect(ids(try store.searchOrders(OrderSearch(text: "ord_00000000000000b", limit: 10))) == ["ord_00000000000000b2"])
        #expect(try store.statusCounts(userId: nil).counts == [.placed: 1, .delivered: 1])
        let new = try store.create("old", item("New Chai")).order
        #expect(ids(try store.searchOrders(OrderSearch(text: "chai", limit: 10))) == [new.id, "ord_00000000000000a1"])
        #expect(try store.statusCounts(userId: "old").counts == [.placed: 2, .delivered: 1])
    }

    @Test func searchTermsAndMerge() {
        typealias Terms = OrderSearch.Terms
        #expect(OrderSearch.terms("  Ord_3F ") == Terms(owner: "Ord_3F", idPrefix: "3f", itemWords: ["ord", "3f"]))
        #expect(OrderSearch.terms("ord_") == nil)
        #expect(OrderSearch.terms("   ") == nil)
        #expect(OrderSearch.terms("\"*)") == Terms(owner: "\"*)", idPrefix: nil, itemWords: []))
        #expect(OrderSearch.terms("Masala-Chai x\"y")?.itemWords == ["masala", "chai", "x", "y"])
        #expect(OrderSearch.terms("Chocolatechip")?.itemWords == ["chocolat"])
        #expect(OrderSearch.terms("ord_0123456789abcdef0")?.idPrefix == nil)
        #expect(OrderSearch.mergeDescending([9, 7, 3], [8, 7, 1]) == [9, 8, 7, 3, 1])
        #expect(OrderSearch.mergeDescending([], [2]) == [2])
    }
}
