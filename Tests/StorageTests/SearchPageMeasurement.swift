import Foundation
import Orders
import Testing
@testable import Storage

/// Not a timed assertion: prints what one search page costs on a large database, read
/// the way an event loop reads it (a read-only store, the same call). Runs only when
/// `ORDERPUSH_SEARCH_DB` names a database, e.g. one filled by scripts/search-bench-db.py:
///
///     ORDERPUSH_SEARCH_DB=/tmp/sb/orders.sqlite swift test -c release --filter SearchPageMeasurement
@Suite(.enabled(if: ProcessInfo.processInfo.environment["ORDERPUSH_SEARCH_DB"] != nil))
struct SearchPageMeasurement {
    @Test func searchPageCost() throws {
        let path = try #require(ProcessInfo.processInfo.environment["ORDERPUSH_SEARCH_DB"])
        let store = try SQLiteOrderStore(path: path, readOnly: true)
        let total = try store.db.queryFirst("SELECT count(*) FROM orders") { $0.int64(0) } ?? 0
        let newest = try store.searchOrders(OrderSearch(limit: 1)).orders.first
        let someUser = newest?.userId ?? "u1"
        let idPrefix = String(newest?.id.prefix(8) ?? "ord_")      // ord_ + 4 hex digits
        let deep = try store.db.queryFirst("SELECT created_seq FROM orders ORDER BY created_seq LIMIT 1 OFFSET 1000") { $0.int64(0) }
        let cases: [(String, OrderSearch)] = [
            ("newest 50, no filter", OrderSearch(limit: 50)),
            ("50 after a cursor near the oldest", OrderSearch(before: deep, limit: 50)),
            ("status=delivered, 50", OrderSearch(status: .delivered, limit: 50)),
            ("userId (one customer's page)", OrderSearch(userId: someUser, limit: 50)),
            ("q=item word (\"chai\")", OrderSearch(text: "chai", limit: 50)),
            ("q=two item words (\"masala chai\")", OrderSearch(text: "masala chai", limit: 50)),
            ("q=customer id", OrderSearch(text: someUser, limit: 50)),
            ("q=id prefix (ord_ + 4 hex)", OrderSearch(text: idPrefix, limit: 50)),
            ("q=\"chai\" & status=shipped", OrderSearch(status: .shipped, text: "chai", limit: 50)),
            ("newest 200, no filter", OrderSearch(limit: 200)),
        ]
        let clock = ContinuousClock()
        print("search pages on \(total) orders (\(path)), median and max of 200 runs each:")
        for (name, search) in cases {
            var times: [Duration] = []
            var found = 0
            for _ in 0..<200 {
                var page: OrderPage?
                times.append(try clock.measure { page = try store.searchOrders(search) })
                found = page?.orders.count ?? 0
            }
            times.sort()
            print("  \(name): \(found) orders, median \(times[100]), max \(times[199])")
        }
        var countTimes: [Duration] = []
        for _ in 0..<200 { countTimes.append(try clock.measure { _ = try store.statusCounts(userId: nil) }) }
        countTimes.sort()
        print("  statusCounts (all): median \(countTimes[100]), max \(countTimes[199])")
    }
}
