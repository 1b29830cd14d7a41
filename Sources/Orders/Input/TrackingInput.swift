import JSON
/// A validated `PUT /api/orders/{id}/tracking` body: at least one of the fields.
///
/// As with `NewOrderInput`, unknown fields are refused and `null` counts as absent.
public struct TrackingInput: Sendable, Equatable {
    public var status: OrderStatus?
    public var location: GeoPoint?
    public var deliveryPartner: DeliveryPartner?
    /// Up to `InputLimits.maxNoteLength` characters; kept in the history entry only.
    public var note: String?

    public init(status: OrderStatus? = nil, location: GeoPoint? = nil,
                deliveryPartner: DeliveryPartner? = nil, note: String? = nil) {
        self.status = status
        self.location = location
        self.deliveryPartner = deliveryPartner
        self.note = note
    }

    static let fields: Set<String> = ["status", "location", "deliveryPartner", "note"]

    /// Parses and validates a request body.
    ///
    /// - Throws: `OrderInputError` naming the offending field, or saying that none of
    ///   `status`, `location`, `deliveryPartner`, `note` was given.
    public static func parse(_ body: [UInt8]) throws(OrderInputError) -> TrackingInput {
        try TrackingInput(json: try FieldReader.parseBody(body))
    }

    /// Validates an already parsed body; see `parse(_:)`.
    public init(json: JSONValue) throws(OrderInputError) {
        let body = try FieldReader(json, path: "")
        try body.refuseUnknown(Self.fields)
        self.init()

        if let value = body.optional("status") {
            guard case .string(let name) = value, let status = OrderStatus(rawValue: name) else {
                throw .invalid("status", "must be one of " + OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))
            }
            self.status = status
        }
        if let value = body.optional("location") {
            self.location = try GeoPoint(input: value, path: "location")
        }
        if let value = body.optional("deliveryPartner") {
            let partner = try FieldReader(value, path: "deliveryPartner")
            try partner.refuseUnknown(["name", "phone"])
            self.deliveryPartner = DeliveryPartner(
                name: try partner.string("name", nonEmpty: true, maxLength: InputLimits.maxNameLength),
                phone: try partner.string("phone", nonEmpty: false, maxLength: InputLimits.maxPhoneLength))
        }
        if let value = body.optional("note") {
            self.note = try FieldReader.string(value, field: "note", nonEmpty: false, maxLength: InputLimits.maxNoteLength)
        }
        guard status != nil || location != nil || deliveryPartner != nil || note != nil else {
            throw OrderInputError(kind: .invalidField, field: nil,
                                  message: "body must contain at least one of status, location, deliveryPartner, note")
        }
    }
}

extension GeoPoint {
    /// Validates `{"lat": -90...90, "lng": -180...180}`.
    init(input: JSONValue, path: String) throws(OrderInputError) {
        let point = try FieldReader(input, path: path)
        try point.refuseUnknown(["lat", "lng"])
        self.init(lat: try point.number("lat", in: -90...90), lng: try point.number("lng", in: -180...180))
    }
}
