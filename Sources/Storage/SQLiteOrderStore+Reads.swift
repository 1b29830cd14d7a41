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
        var orders: [Order]
        if let userId {
            orders = try db.query("""
                SELECT \(Self.orderColumns) FROM orders WHERE user_id = ?
                ORDER BY created_at DESC, rowid DESC LIMIT ?
                """, [.text(userId), .integer(Int64(limit))], row: Self.orderWithoutHistory)
        } else {
            orders = try db.query("""
                SELECT \(Self.orderColumns) FROM orders ORDER BY created_at DESC, rowid DESC LIMIT ?
                """, [.integer(Int64(limit))], row: Self.orderWithoutHistory)
        }
        for i in orders.indices {
            orders[i].tracking.history = try history(orderId: orders[i].id)
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
            """, [.text(orderId)]) { (row) throws(StorageError) in
            TrackingEntry(status: try Self.decode(OrderStatus.self, row.string(0), column: "tracking_history.status"),
                          note: row.optionalString(1), location: Self.location(row, lat: 2, lng: 3), atMs: row.int64(4))
        }
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
