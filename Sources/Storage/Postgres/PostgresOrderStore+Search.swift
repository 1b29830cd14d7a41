import Orders

/// Search and paging (schema v2: the `insertion` indexes, `order_item_words`,
/// `order_status_counts`). One query per page: the orders matching every condition, newest
/// first by creation number (`insertion`) from the cursor down, `limit + 1` of them (the
/// extra one tells whether a next page exists). A filtered page without text is one index
/// range scan; a text condition is checked row by row along that scan, so a page costs
/// more when matches are rare among the newest orders (SQLite reads its FTS5 index
/// instead; see docs/BENCHMARKS.md).
extension PostgresOrderStore {
    public func searchOrders(_ search: OrderSearch) throws -> OrderPage {
        guard search.limit > 0 else { return OrderPage(orders: [], next: nil) }
        try ensureConnected()
        var conditions: [String] = []
        var params: [String?] = []
        func param(_ value: String) -> String {
            params.append(value)
            return "$\(params.count)"
        }
        if let status = search.status { conditions.append("o.status = \(param(status.rawValue))") }
        if let userId = search.userId { conditions.append("o.user_id = \(param(userId))") }
        if let before = search.before { conditions.append("o.insertion < \(param(String(before)))") }
        if let text = search.text, let terms = OrderSearch.terms(text) {
            var alternatives = ["o.user_id = \(param(terms.owner))"]
            // Hex digits only, so no LIKE wildcard can come from the client's text.
            if let hex = terms.idPrefix { alternatives.append("o.id LIKE \(param("ord_" + hex + "%"))") }
            if !terms.itemWords.isEmpty {
                // Every query word starts one of the order's item words (letters and
                // digits only, so again no wildcard).
                let words = terms.itemWords.map { param($0 + "%") }
                alternatives.append("(" + words.map {
                    "EXISTS (SELECT 1 FROM order_item_words w WHERE w.insertion = o.insertion AND w.word LIKE \($0))"
                }.joined(separator: " AND ") + ")")
            }
            conditions.append("(" + alternatives.joined(separator: " OR ") + ")")
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let limit = param(String(search.limit + 1))
        var rows = try connection.execute("""
            SELECT \(Self.orderColumns), o.insertion FROM orders o \(whereClause)
            ORDER BY o.insertion DESC LIMIT \(limit)
            """, params: params).map { (row) throws(PostgresError) in (try row.int64(14), try Self.orderWithoutHistory(row)) }
        var next: Int64?
        if rows.count > search.limit {
            rows.removeLast(rows.count - search.limit)
            next = rows.last?.0
        }
        var orders = rows.map(\.1)
        try attachHistories(&orders)
        return OrderPage(orders: orders, next: next)
    }

    public func statusCounts(userId: String?) throws -> StatusCounts {
        try ensureConnected()
        // One snapshot for the head and the counts.
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        do {
            let head = try connection.executeCached("SELECT head FROM event_log").first { try $0.int64(0) } ?? 0
            let rows = try (userId.map {
                try connection.executeCached("SELECT status, count(*) FROM orders WHERE user_id = $1 GROUP BY status",
                                             params: [$0])
            } ?? connection.executeCached("SELECT status, n FROM order_status_counts WHERE n > 0"))
                .map { (row) throws(PostgresError) in (try row.string(0), try row.int64(1)) }
            try connection.execute("COMMIT")
            var counts: [OrderStatus: Int] = [:]
            for (raw, n) in rows {
                counts[try Self.decode(OrderStatus.self, raw, column: "orders.status")] = Int(n)
            }
            return StatusCounts(counts: counts, head: head)
        } catch {
            if connection.isConnected { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// Reads the history of every order in `orders` in one query.
    func attachHistories(_ orders: inout [Order]) throws(PostgresError) {
        guard !orders.isEmpty else { return }
        let ids = "{" + orders.map { "\"" + $0.id + "\"" }.joined(separator: ",") + "}"
        let rows = try connection.executeCached("""
            SELECT order_id, status, note, location_lat, location_lng, at FROM tracking_history
            WHERE order_id = ANY($1::text[]) ORDER BY order_id, position
            """, params: [ids]).map { (row) throws(PostgresError) in (try row.string(0), try Self.historyEntry(row, from: 1)) }
        var histories: [String: [TrackingEntry]] = [:]
        for (orderId, entry) in rows { histories[orderId, default: []].append(entry) }
        for i in orders.indices { orders[i].tracking.history = histories[orders[i].id] ?? [] }
    }
}
