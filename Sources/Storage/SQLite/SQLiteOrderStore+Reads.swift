import JSON
import Orders

extension SQLiteOrderStore {
    static let orderColumns = """
        id, user_id, status, payment_method, total, items, shipping_address, metadata,
        location_lat, location_lng, partner_name, partner_phone, created_at, updated_at
        """

    public func order(id: String) throws -> Order? {
        try loadOrder(id: id)
    }

    public func orders(ids: [String]) throws -> [Order] {
        var found: [Order] = []
        found.reserveCapacity(ids.count)
        for id in ids {
            if let order = try loadOrder(id: id) { found.append(order) }
        }
        return found
    }

    public func orders(userId: String?, limit: Int) throws -> [Order] {
        guard limit > 0 else { return [] }
        // One query: the page of orders joined with their history rows, newest order first
        // and each order's history in order. An order's columns repeat on each of its
        // history rows; they are decoded once, on its first row.
        let qualified = Self.orderColumns.split(separator: ",").map { "o." + $0.filter { !$0.isWhitespace } }
        let page = userId == nil
            ? "SELECT \(Self.orderColumns), rowid AS r FROM orders ORDER BY created_at DESC, rowid DESC LIMIT ?2"
            : "SELECT \(Self.orderColumns), rowid AS r FROM orders WHERE user_id = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2"
        var orders: [Order] = []
        _ = try db.query("""
            SELECT \(qualified.joined(separator: ", ")), h.status, h.note, h.location_lat, h.location_lng, h.at
            FROM (\(page)) o LEFT JOIN tracking_history h ON h.order_id = o.id
            ORDER BY o.created_at DESC, o.r DESC, h.position
            """, [.text(userId ?? ""), .integer(Int64(limit))]) { (row) throws(StorageError) in
            if orders.last?.id != row.string(0) { orders.append(try Self.orderWithoutHistory(row)) }
            if !row.isNull(18) { orders[orders.count - 1].tracking.history.append(try Self.historyEntry(row, from: 14)) }
        }
        return orders
    }

    /// The order with its history, or `nil` if there is none with that id.
    func loadOrder(id: String) throws(StorageError) -> Order? {
        guard var order = try db.queryFirst("SELECT \(Self.orderColumns) FROM orders WHERE id = ?", [.text(id)],
                                            row: Self.orderWithoutHistory) else { return nil }
        order.tracking.history = try history(orderId: id)
        return order
    }

    func history(orderId: String) throws(StorageError) -> [TrackingEntry] {
        try db.query("""
            SELECT status, note, location_lat, location_lng, at FROM tracking_history
            WHERE order_id = ? ORDER BY position
            """, [.text(orderId)]) { (row) throws(StorageError) in try Self.historyEntry(row, from: 0) }
    }

    /// A history entry from columns status, note, location_lat, location_lng, at starting at `first`.
    static func historyEntry(_ row: SQLiteRow, from first: Int32) throws(StorageError) -> TrackingEntry {
        TrackingEntry(status: try decode(OrderStatus.self, row.string(first), column: "tracking_history.status"),
                      note: row.optionalString(first + 1), location: location(row, lat: first + 2, lng: first + 3),
                      atMs: row.int64(first + 4))
    }

    static func orderWithoutHistory(_ row: SQLiteRow) throws(StorageError) -> Order {
        let id = row.string(0)
        let items: [OrderItem]
        do {
            items = try OrderItem.decodeList(try parseJSON(row.blob(5), column: "items"))
        } catch {
            throw StorageError(code: nil, message: "order \(id): stored items unreadable: \(error)")
        }
        var partner: DeliveryPartner?
        if let name = row.optionalString(10) { partner = DeliveryPartner(name: name, phone: row.optionalString(11) ?? "") }
        return Order(
            id: id, userId: row.string(1), items: items, total: row.double(4),
            paymentMethod: try decode(PaymentMethod.self, row.string(3), column: "orders.payment_method"),
            status: try decode(OrderStatus.self, row.string(2), column: "orders.status"),
            shippingAddress: try parseJSON(row.blob(6), column: "shipping_address"),
            tracking: Tracking(location: location(row, lat: 8, lng: 9), deliveryPartner: partner, history: []),
            metadata: try parseJSON(row.blob(7), column: "metadata"),
            createdAtMs: row.int64(12), updatedAtMs: row.int64(13))
    }

    static func location(_ row: SQLiteRow, lat: Int32, lng: Int32) -> GeoPoint? {
        guard let la = row.optionalDouble(lat), let ln = row.optionalDouble(lng) else { return nil }
        return GeoPoint(lat: la, lng: ln)
    }

    static func parseJSON(_ bytes: [UInt8], column: String) throws(StorageError) -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw StorageError(code: nil, message: "stored \(column) is not JSON: \(error)")
        }
    }

    static func decode<E: RawRepresentable>(_: E.Type, _ raw: String, column: String) throws(StorageError) -> E
        where E.RawValue == String {
        guard let value = E(rawValue: raw) else {
            throw StorageError(code: nil, message: "stored \(column) has unknown value \"\(raw)\"")
        }
        return value
    }
}

// MARK: - Polling

extension SQLiteOrderStore {
    /// The channel's newest retained seq, the head and the floor, as one row (part 2 of
    /// the polling query; `?1` is the user, if any).
    private static func headsRow(user: Bool) -> String {
        let channel = user ? "(SELECT max(seq) FROM events WHERE user_id = ?1)"
                           : "(SELECT seq FROM sqlite_sequence WHERE name = 'events')"
        return """
            SELECT 2, IFNULL(\(channel), 0), NULL, NULL, NULL,
                   IFNULL((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), NULL,
                   IFNULL((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'pruned_through'), 0)
            """
    }

    /// One statement (one read transaction, so one snapshot), three parts told apart by
    /// the first column: 0 the page's events, 1 the newest event of each order they touch
    /// (`events_by_order`), 2 the heads.
    private static func pollQuery(user: Bool) -> String {
        """
        WITH page AS MATERIALIZED (
            SELECT seq, kind, order_id, user_id, created_at, order_json FROM events
            WHERE \(user ? "user_id = ?1 AND " : "")seq > ?2 ORDER BY seq LIMIT ?3)
        SELECT 0, seq, kind, order_id, user_id, created_at, order_json, NULL FROM page
        UNION ALL
        SELECT 1, e.seq, NULL, e.order_id, NULL, NULL, e.order_json, NULL FROM events e
        WHERE e.seq IN (SELECT (SELECT max(x.seq) FROM events x WHERE x.order_id = d.order_id)
                        FROM (SELECT DISTINCT order_id FROM page) d)
        UNION ALL
        \(headsRow(user: user))
        """
    }

    public func pollPage(after seq: Int64, userId: String?, limit: Int) throws -> PollPage {
        // `?1` is bound for admin too (the statement has `?2` and `?3`, so it exists).
        let bindings: [SQLiteValue] = [.text(userId ?? ""), .integer(seq), .integer(Int64(max(0, limit)))]
        var events: [StoredEvent] = []
        var newest: [String: [UInt8]] = [:]
        var heads = PollHeads(channel: 0, head: 0, retainedFloor: 0)
        _ = try db.query(Self.pollQuery(user: userId != nil), bindings) { row in
            switch row.int64(0) {
            case 0:
                events.append(StoredEvent(seq: row.int64(1), kind: row.string(2), orderId: row.string(3),
                                          userId: row.string(4), createdAtMs: row.int64(5), orderJSON: row.blob(6)))
            case 1:
                newest[row.string(3)] = row.blob(6)
            default:
                heads = PollHeads(channel: row.int64(1), head: row.int64(5), retainedFloor: row.int64(7))
            }
        }
        events.sort { $0.seq < $1.seq }
        return PollPage.assemble(events: events, newest: newest, heads: heads)
    }

    public func pollHeads(userId: String?) throws -> PollHeads {
        try db.queryFirst(Self.headsRow(user: userId != nil), userId.map { [.text($0)] } ?? []) { row in
            PollHeads(channel: row.int64(1), head: row.int64(5), retainedFloor: row.int64(7))
        } ?? PollHeads(channel: 0, head: 0, retainedFloor: 0)
    }
}
