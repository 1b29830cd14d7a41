import Orders

/// Search and paging over the orders (schema v2: `created_seq`, the per-filter indexes,
/// `order_id_search`, `order_item_search`, `order_status_counts`).
///
/// Cost: every branch below reads a range of an index (or an FTS5 doclist, in rowid =
/// creation order) from the cursor downwards and stops after `limit + 1` matches, so a
/// page costs the same with 10 or 10 M orders as long as matches are not rare within the
/// scanned range (a status filter combined with a text search walks the text matches
/// until enough have that status). FTS5 prefix queries are only lazy when the prefix
/// length has a prefix index (otherwise FTS5 first merges every matching term's whole
/// doclist), which is why query words are cut to the longest indexed length.
extension SQLiteOrderStore {
    public func searchOrders(_ search: OrderSearch) throws -> OrderPage {
        guard search.limit > 0 else { return OrderPage(orders: [], next: nil) }
        let want = search.limit + 1  // one more than the page tells whether a next page exists
        var seqs: [Int64]
        if let text = search.text, let terms = OrderSearch.terms(text) {
            // The three ways to match, each newest first, merged.
            var byItems: [Int64] = [], byID: [Int64] = [], byOwner: [Int64] = []
            if !terms.itemWords.isEmpty {
                byItems = try textSeqs(table: "order_item_search", match: terms.itemWords.map { "\"\($0)\"*" }
                    .joined(separator: " "), search, limit: want)
            }
            if let hex = terms.idPrefix {
                byID = try textSeqs(table: "order_id_search", match: "\"\(hex)\"*", search, limit: want)
            }
            if search.userId == nil || search.userId == terms.owner {
                byOwner = try filteredSeqs(status: search.status, userId: terms.owner, before: search.before, limit: want)
            }
            seqs = OrderSearch.mergeDescending(OrderSearch.mergeDescending(byItems, byID), byOwner)
        } else {
            seqs = try filteredSeqs(status: search.status, userId: search.userId, before: search.before, limit: want)
        }
        var next: Int64?
        if seqs.count > search.limit {
            seqs.removeLast(seqs.count - search.limit)
            next = seqs.last
        }
        return OrderPage(orders: try orders(createdSeqs: seqs), next: next)
    }

    /// Creation numbers of the orders an FTS5 query matches, with the search's other
    /// conditions, newest first. CROSS JOIN keeps the FTS table outside, walked in rowid
    /// (creation) order from the cursor down.
    private func textSeqs(table: String, match: String, _ search: OrderSearch, limit: Int)
        throws(StorageError) -> [Int64] {
        var sql = """
            SELECT o.created_seq FROM \(table) s CROSS JOIN orders o ON o.created_seq = s.rowid
            WHERE \(table) MATCH ?
            """
        var bindings: [SQLiteValue] = [.text(match)]
        if let before = search.before { sql += " AND s.rowid < ?"; bindings.append(.integer(before)) }
        if let status = search.status { sql += " AND o.status = ?"; bindings.append(.text(status.rawValue)) }
        if let userId = search.userId { sql += " AND o.user_id = ?"; bindings.append(.text(userId)) }
        sql += " ORDER BY s.rowid DESC LIMIT ?"
        bindings.append(.integer(Int64(limit)))
        return try db.query(sql, bindings) { $0.int64(0) }
    }

    public func statusCounts(userId: String?) throws -> StatusCounts {
        // One read transaction: the head and the counts from the same snapshot.
        try db.execute("BEGIN")
        do {
            let head = try self.head()
            let rows: [(String, Int64)]
            if let userId {
                rows = try db.query("SELECT status, count(*) FROM orders WHERE user_id = ? GROUP BY status",
                                    [.text(userId)]) { ($0.string(0), $0.int64(1)) }
            } else {
                rows = try db.query("SELECT status, n FROM order_status_counts WHERE n > 0") { ($0.string(0), $0.int64(1)) }
            }
            try db.execute("COMMIT")
            var counts: [OrderStatus: Int] = [:]
            for (raw, n) in rows {
                counts[try Self.decode(OrderStatus.self, raw, column: "orders.status")] = Int(n)
            }
            return StatusCounts(counts: counts, head: head)
        } catch {
            if !db.isAutocommit { try? db.execute("ROLLBACK") }
            throw error
        }
    }

    /// Creation numbers of the orders with the given status and owner (each optional)
    /// created before `before`, newest first. Each combination has an index ending in
    /// `created_seq` (owner and status: the owner's index, which also holds the status).
    private func filteredSeqs(status: OrderStatus?, userId: String?, before: Int64?, limit: Int)
        throws(StorageError) -> [Int64] {
        var conditions: [String] = []
        var bindings: [SQLiteValue] = []
        if let userId { conditions.append("user_id = ?"); bindings.append(.text(userId)) }
        if let status { conditions.append("status = ?"); bindings.append(.text(status.rawValue)) }
        if let before { conditions.append("created_seq < ?"); bindings.append(.integer(before)) }
        if conditions.isEmpty { conditions.append("created_seq IS NOT NULL") }
        bindings.append(.integer(Int64(limit)))
        // Named, not left to the planner: without ANALYZE statistics it may take the status
        // index for an owner's page and walk every order of that status.
        let index = userId != nil ? "orders_by_user_seq" : status != nil ? "orders_by_status_seq" : "orders_by_seq"
        return try db.query("""
            SELECT created_seq FROM orders INDEXED BY \(index) WHERE \(conditions.joined(separator: " AND "))
            ORDER BY created_seq DESC LIMIT ?
            """, bindings) { $0.int64(0) }
    }

    /// The orders with these creation numbers, with their history, in the order given.
    func orders(createdSeqs seqs: [Int64]) throws(StorageError) -> [Order] {
        guard !seqs.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: seqs.count).joined(separator: ",")
        let bindings = seqs.map { SQLiteValue.integer($0) }
        let rows = try db.query("SELECT \(Self.orderColumns), created_seq FROM orders WHERE created_seq IN (\(placeholders))",
                                bindings) { (row) throws(StorageError) in (row.int64(14), try Self.orderWithoutHistory(row)) }
        var bySeq: [Int64: Order] = [:]
        for (seq, order) in rows { bySeq[seq] = order }
        let history = try db.query("""
            SELECT h.order_id, h.status, h.note, h.location_lat, h.location_lng, h.at
            FROM orders o JOIN tracking_history h ON h.order_id = o.id
            WHERE o.created_seq IN (\(placeholders)) ORDER BY h.order_id, h.position
            """, bindings) { (row) throws(StorageError) in (row.string(0), try Self.historyEntry(row, from: 1)) }
        var histories: [String: [TrackingEntry]] = [:]
        for (orderId, entry) in history { histories[orderId, default: []].append(entry) }
        return seqs.compactMap { seq in
            guard var order = bySeq[seq] else { return nil }
            order.tracking.history = histories[order.id] ?? []
            return order
        }
    }
}
