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
        // The same selection twice: once for the orders, once (as a subquery) for all
        // their history rows, so a page costs two queries rather than one per order.
        func selection(_ columns: String) -> String {
            userId == nil
                ? "SELECT \(columns) FROM orders ORDER BY created_at DESC, rowid DESC LIMIT ?"
                : "SELECT \(columns) FROM orders WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?"
        }
        var bindings: [SQLiteValue] = [.integer(Int64(limit))]
        if let userId { bindings.insert(.text(userId), at: 0) }
        var orders = try db.query(selection(Self.orderColumns), bindings, row: Self.orderWithoutHistory)
        guard !orders.isEmpty else { return [] }
        let rows = try db.query("""
            SELECT order_id, status, note, location_lat, location_lng, at FROM tracking_history
            WHERE order_id IN (\(selection("id"))) ORDER BY order_id, position
            """, bindings) { (row) throws(StorageError) in (row.string(0), try Self.historyEntry(row, from: 1)) }
        var histories: [String: [TrackingEntry]] = [:]
        for (orderId, entry) in rows { histories[orderId, default: []].append(entry) }
        for i in orders.indices { orders[i].tracking.history = histories[orders[i].id] ?? [] }
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
