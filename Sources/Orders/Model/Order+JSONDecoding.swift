import JSON
/// Why a JSON text is not an order in the shape `Order.jsonBytes()` writes.
public struct OrderDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Order {
    /// Reads an order from its parsed JSON; every field of the shape must be present.
    /// Field ranges are not re-validated: this reads what was valid when written.
    public init(json: JSONValue) throws(OrderDecodingError) {
        do throws(OrderInputError) {
            let o = try FieldReader(json, path: "order")
            let status = try o.decodeEnum("status", OrderStatus.self)
            let tracking = try FieldReader(try o.required("tracking"), path: "order.tracking")
            guard try tracking.decodeEnum("status", OrderStatus.self) == status else {
                throw OrderInputError.invalid("order.tracking.status", "must equal order.status")
            }
            guard case .array(let rawHistory) = try tracking.required("history") else {
                throw OrderInputError.invalid("order.tracking.history", "must be an array")
            }
            var history: [TrackingEntry] = []
            for (i, raw) in rawHistory.enumerated() {
                let entry = try FieldReader(raw, path: "order.tracking.history[\(i)]")
                history.append(TrackingEntry(
                    status: try entry.decodeEnum("status", OrderStatus.self),
                    note: try entry.optional("note").map { v throws(OrderInputError) in
                        try FieldReader.string(v, field: entry.name("note"), nonEmpty: false, maxLength: .max)
                    },
                    location: try entry.decodeLocation("location"),
                    atMs: try entry.decodeTimestamp("at")))
            }
            var partner: DeliveryPartner?
            if let raw = tracking.optional("deliveryPartner") {
                let p = try FieldReader(raw, path: "order.tracking.deliveryPartner")
                partner = DeliveryPartner(name: try p.string("name", nonEmpty: false, maxLength: .max),
                                          phone: try p.string("phone", nonEmpty: false, maxLength: .max))
            }
            let address = o.optional("shippingAddress") ?? .null
            guard address.isNull || address.isObject else {
                throw OrderInputError.invalid("order.shippingAddress", "must be an object or null")
            }
            self.init(
                id: try o.string("id", nonEmpty: true, maxLength: .max),
                userId: try o.string("userId", nonEmpty: false, maxLength: .max),
                items: try OrderItem.decodeList(try o.required("items"), path: "order.items"),
                total: try o.number("total", in: -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude),
                paymentMethod: try o.decodeEnum("paymentMethod", PaymentMethod.self),
                status: status,
                shippingAddress: address,
                tracking: Tracking(location: try tracking.decodeLocation("location"), deliveryPartner: partner,
                                   history: history),
                metadata: o.optional("metadata") ?? .null,
                createdAtMs: try o.decodeTimestamp("createdAt"),
                updatedAtMs: try o.decodeTimestamp("updatedAt"))
        } catch {
            throw OrderDecodingError(error.message)
        }
    }
}

extension OrderItem {
    /// Reads a JSON array of items as `Order.jsonBytes()` writes them.
    public static func decodeList(_ json: JSONValue) throws(OrderDecodingError) -> [OrderItem] {
        do { return try decodeList(json, path: "items") } catch { throw OrderDecodingError(error.message) }
    }

    static func decodeList(_ json: JSONValue, path: String) throws(OrderInputError) -> [OrderItem] {
        guard case .array(let raw) = json else { throw OrderInputError.invalid(path, "must be an array") }
        var items: [OrderItem] = []
        items.reserveCapacity(raw.count)
        for (i, element) in raw.enumerated() {
            let item = try FieldReader(element, path: "\(path)[\(i)]")
            items.append(OrderItem(
                productId: try item.string("productId", nonEmpty: false, maxLength: .max),
                name: try item.string("name", nonEmpty: false, maxLength: .max),
                quantity: try item.integer("quantity", in: Int(Int32.min)...Int(Int32.max)),
                price: try item.number("price", in: -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude)))
        }
        return items
    }
}

extension FieldReader {
    func decodeEnum<E: RawRepresentable>(_ key: String, _: E.Type) throws(OrderInputError) -> E where E.RawValue == String {
        guard case .string(let raw) = try required(key), let value = E(rawValue: raw) else {
            throw .invalid(name(key), "must be a known \(key) value")
        }
        return value
    }

    func decodeLocation(_ key: String) throws(OrderInputError) -> GeoPoint? {
        guard let raw = optional(key) else { return nil }
        let p = try FieldReader(raw, path: name(key))
        return GeoPoint(lat: try p.number("lat", in: -90...90), lng: try p.number("lng", in: -180...180))
    }

    func decodeTimestamp(_ key: String) throws(OrderInputError) -> Int64 {
        guard case .string(let text) = try required(key), let ms = Timestamp.parseISO8601(text) else {
            throw .invalid(name(key), "must be an ISO-8601 UTC timestamp with milliseconds")
        }
        return ms
    }
}
