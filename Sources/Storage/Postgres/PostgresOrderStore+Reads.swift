import JSON
import Orders

extension PostgresOrderStore {
    static let orderColumns = """
        id, user_id, status, payment_method, total, items, shipping_address, metadata,
        location_lat, location_lng, partner_name, partner_phone, created_at, updated_at
        """

    public func order(id: String) throws -> Order? {
        try ensureConnected()
        return try loadOrder(id: id)
    }

    public func orders(ids: [String]) throws -> [Order] {
        guard !ids.isEmpty else { return [] }
        try ensureConnected()
        // Two queries for the whole list (orders, then all their history rows) rather than
        // two per order: a polling page of N orders costs two round trips, not 2N.
        let array = Self.textArray(ids)
        var byID: [String: Order] = [:]
        for order in try connection.executeCached("SELECT \(Self.orderColumns) FROM orders WHERE id = ANY($1::text[])",
                                                  params: [array]).map(Self.orderWithoutHistory) {
            byID[order.id] = order
        }
        guard !byID.isEmpty else { return [] }
        let rows = try connection.executeCached("""
            SELECT order_id, status, note, location_lat, location_lng, at FROM tracking_history
            WHERE order_id = ANY($1::text[]) ORDER BY order_id, position
            """, params: [array]).map { (row) throws(PostgresError) in (try row.string(0), try Self.historyEntry(row, from: 1)) }
        for (orderID, entry) in rows { byID[orderID]?.tracking.history.append(entry) }
        return ids.compactMap { byID[$0] }
    }

    /// `values` as a PostgreSQL array literal of text (`{"a","b"}`), every element quoted
    /// with `"` and `\` escaped, so any text is taken as one element.
    static func textArray(_ values: [String]) -> String {
        var out = "{"
        for (i, value) in values.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for c in value {
                if c == "\"" || c == "\\" { out += "\\" }
                out.append(c)
            }
            out += "\""
        }
        return out + "}"
    }

    public func orders(userId: String?, limit: Int) throws -> [Order] {
        guard limit > 0 else { return [] }
        try ensureConnected()
        // One query: the page of orders joined with their history rows, newest order first
        // and each order's history in order. An order's columns repeat on each of its
        // history rows; they are decoded once, on its first row.
        let qualified = Self.orderColumns.split(separator: ",").map { "o." + $0.filter { !$0.isWhitespace } }
        let page = userId == nil
            ? "SELECT \(Self.orderColumns), insertion FROM orders ORDER BY created_at DESC, insertion DESC LIMIT $1"
            : "SELECT \(Self.orderColumns), insertion FROM orders WHERE user_id = $2 ORDER BY created_at DESC, insertion DESC LIMIT $1"
        var params: [String?] = [String(limit)]
        if let userId { params.append(userId) }
        var orders: [Order] = []
        _ = try connection.executeCached("""
            SELECT \(qualified.joined(separator: ", ")), h.status, h.note, h.location_lat, h.location_lng, h.at
            FROM (\(page)) o LEFT JOIN tracking_history h ON h.order_id = o.id
            ORDER BY o.created_at DESC, o.insertion DESC, h.position
            """, params: params).map { (row) throws(PostgresError) in
            if try orders.last?.id != row.string(0) { orders.append(try Self.orderWithoutHistory(row)) }
            if !row.isNull(18) { orders[orders.count - 1].tracking.history.append(try Self.historyEntry(row, from: 14)) }
        }
        return orders
    }

    /// The order with its history, or `nil` if there is none with that id.
    func loadOrder(id: String) throws(PostgresError) -> Order? {
        guard var order = try connection.executeCached("SELECT \(Self.orderColumns) FROM orders WHERE id = $1", params: [id])
            .first(Self.orderWithoutHistory) else { return nil }
        order.tracking.history = try connection.executeCached("""
            SELECT status, note, location_lat, location_lng, at FROM tracking_history
            WHERE order_id = $1 ORDER BY position
            """, params: [id]).map { (row) throws(PostgresError) in try Self.historyEntry(row, from: 0) }
        return order
    }

    /// A history entry from columns status, note, location_lat, location_lng, at starting at `first`.
    static func historyEntry(_ row: PostgresRow, from first: Int) throws(PostgresError) -> TrackingEntry {
        TrackingEntry(status: try decode(OrderStatus.self, row.string(first), column: "tracking_history.status"),
                      note: row.optionalString(first + 1), location: try location(row, lat: first + 2, lng: first + 3),
                      atMs: try row.int64(first + 4))
    }

    static func orderWithoutHistory(_ row: PostgresRow) throws(PostgresError) -> Order {
        let id = try row.string(0)
        let items: [OrderItem]
        do {
            items = try OrderItem.decodeList(try parseJSON(row.bytes(5), column: "items"))
        } catch {
            throw PostgresError(kind: .unexpectedValue, message: "order \(id): stored items unreadable: \(error)")
        }
        var partner: DeliveryPartner?
        if let name = row.optionalString(10) { partner = DeliveryPartner(name: name, phone: row.optionalString(11) ?? "") }
        return Order(
            id: id, userId: try row.string(1), items: items, total: try row.double(4),
            paymentMethod: try decode(PaymentMethod.self, row.string(3), column: "orders.payment_method"),
            status: try decode(OrderStatus.self, row.string(2), column: "orders.status"),
            shippingAddress: try parseJSON(row.bytes(6), column: "shipping_address"),
            tracking: Tracking(location: try location(row, lat: 8, lng: 9), deliveryPartner: partner, history: []),
            metadata: try parseJSON(row.bytes(7), column: "metadata"),
            createdAtMs: try row.int64(12), updatedAtMs: try row.int64(13))
    }

    static func location(_ row: PostgresRow, lat: Int, lng: Int) throws(PostgresError) -> GeoPoint? {
        guard let la = try row.optionalDouble(lat), let ln = try row.optionalDouble(lng) else { return nil }
        return GeoPoint(lat: la, lng: ln)
    }

    static func parseJSON(_ bytes: [UInt8], column: String) throws(PostgresError) -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw PostgresError(kind: .unexpectedValue, message: "stored \(column) is not JSON: \(error)")
        }
    }

    static func decode<E: RawRepresentable>(_: E.Type, _ raw: String, column: String) throws(PostgresError) -> E
        where E.RawValue == String {
        guard let value = E(rawValue: raw) else {
            throw PostgresError(kind: .unexpectedValue, message: "stored \(column) has unknown value \"\(raw)\"")
        }
        return value
    }
}

// MARK: - Polling

extension PostgresOrderStore {
    /// The channel's newest retained seq, the head and the floor, as one row (part 2 of
    /// the polling query); `user` is the user's parameter, if any.
    private static func headsRow(user: String?) -> String {
        let channel = user.map { "(SELECT max(seq) FROM events WHERE user_id = \($0))" } ?? "l.head"
        return """
            SELECT 2, coalesce(\(channel), 0), NULL, NULL, NULL, l.head, NULL::bytea, l.pruned_through
            FROM event_log l
            """
    }

    /// One statement (one snapshot), three parts told apart by the first column: 0 the
    /// page's events, 1 the newest event of each order they touch (`events_by_order`, one
    /// index step per order), 2 the heads.
    private static func pollQuery(user: Bool) -> String {
        let (userParam, sinceParam, limitParam) = user ? ("$1", "$2", "$3") : ("", "$1", "$2")
        return """
            WITH page AS MATERIALIZED (
                SELECT seq, kind, order_id, user_id, created_at, order_json FROM events
                WHERE \(user ? "user_id = \(userParam) AND " : "")seq > \(sinceParam)::bigint
                ORDER BY seq LIMIT \(limitParam)::bigint)
            SELECT 0, seq, kind, order_id, user_id, created_at, order_json, NULL::bigint FROM page
            UNION ALL
            SELECT 1, e.seq, NULL, e.order_id, NULL, NULL, e.order_json, NULL
            FROM (SELECT DISTINCT order_id FROM page) d
            CROSS JOIN LATERAL (SELECT x.seq, x.order_id, x.order_json FROM events x
                                WHERE x.order_id = d.order_id ORDER BY x.seq DESC LIMIT 1) e
            UNION ALL
            \(headsRow(user: user ? userParam : nil))
            """
    }

    public func pollPage(after seq: Int64, userId: String?, limit: Int) throws -> PollPage {
        try ensureConnected()
        var params: [String?] = [String(seq), String(max(0, limit))]
        if let userId { params.insert(userId, at: 0) }
        var events: [StoredEvent] = []
        var newest: [String: [UInt8]] = [:]
        var heads = PollHeads(channel: 0, head: 0, retainedFloor: 0)
        _ = try connection.executeCached(Self.pollQuery(user: userId != nil), params: params).map { (row) throws(PostgresError) in
            switch try row.int64(0) {
            case 0:
                events.append(StoredEvent(seq: try row.int64(1), kind: try row.string(2), orderId: try row.string(3),
                                          userId: try row.string(4), createdAtMs: try row.int64(5), orderJSON: try row.bytes(6)))
            case 1:
                newest[try row.string(3)] = try row.bytes(6)
            default:
                heads = PollHeads(channel: try row.int64(1), head: try row.int64(5), retainedFloor: try row.int64(7))
            }
        }
        events.sort { $0.seq < $1.seq }
        return PollPage.assemble(events: events, newest: newest, heads: heads)
    }

    public func pollHeads(userId: String?) throws -> PollHeads {
        try ensureConnected()
        return try connection.executeCached(Self.headsRow(user: userId == nil ? nil : "$1"),
                                            params: userId.map { [$0] } ?? []).first { (row) throws(PostgresError) in
            PollHeads(channel: try row.int64(1), head: try row.int64(5), retainedFloor: try row.int64(7))
        } ?? PollHeads(channel: 0, head: 0, retainedFloor: 0)
    }
}
