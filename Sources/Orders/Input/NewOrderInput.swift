import JSON
/// A validated `POST /api/orders` body.
///
/// Fixed-shape objects (the body, each item) accept only their documented fields: an
/// unknown field is refused with "<field> is not a known field", so a misspelling is
/// caught rather than silently dropped. Free-form data belongs in `metadata` (any JSON)
/// or `shippingAddress` (any object). A field set to `null` counts as absent.
public struct NewOrderInput: Sendable, Equatable {
    /// One or more (up to `InputLimits.maxItems`).
    public var items: [OrderItem]
    public var paymentMethod: PaymentMethod
    /// A JSON object, or `.null`.
    public var shippingAddress: JSONValue
    /// The owner asked for in the body; only honoured for admin and service callers.
    public var userId: String?
    /// Any JSON value, stored and returned as given; `.null` when absent.
    public var metadata: JSONValue

    public init(items: [OrderItem], paymentMethod: PaymentMethod, shippingAddress: JSONValue = .null,
                userId: String? = nil, metadata: JSONValue = .null) {
        self.items = items
        self.paymentMethod = paymentMethod
        self.shippingAddress = shippingAddress
        self.userId = userId
        self.metadata = metadata
    }

    static let fields: Set<String> = ["items", "paymentMethod", "shippingAddress", "userId", "metadata"]
    static let itemFields: Set<String> = ["productId", "name", "quantity", "price"]

    /// Parses and validates a request body.
    ///
    /// - Throws: `OrderInputError` naming the first offending field; `.tooLarge` over
    ///   `InputLimits.maxBodyBytes`, `.malformedJSON` for bad JSON or nesting deeper than
    ///   `InputLimits.maxDepth`.
    public static func parse(_ body: [UInt8]) throws(OrderInputError) -> NewOrderInput {
        try NewOrderInput(json: try FieldReader.parseBody(body))
    }

    /// Validates an already parsed body; see `parse(_:)`.
    public init(json: JSONValue) throws(OrderInputError) {
        let body = try FieldReader(json, path: "")
        try body.refuseUnknown(Self.fields)

        guard case .array(let rawItems) = try body.required("items"), !rawItems.isEmpty else {
            throw .invalid("items", "must be a non-empty array")
        }
        guard rawItems.count <= InputLimits.maxItems else {
            throw .invalid("items", "must have at most \(InputLimits.maxItems) entries")
        }
        var items: [OrderItem] = []
        items.reserveCapacity(rawItems.count)
        for (i, raw) in rawItems.enumerated() {
            let item = try FieldReader(raw, path: "items[\(i)]")
            try item.refuseUnknown(Self.itemFields)
            items.append(OrderItem(
                productId: try item.string("productId", nonEmpty: true, maxLength: InputLimits.maxIdLength),
                name: try item.string("name", nonEmpty: false, maxLength: InputLimits.maxNameLength),
                quantity: try item.integer("quantity", in: 1...InputLimits.maxQuantity),
                price: try item.number("price", in: 0...InputLimits.maxPrice)))
        }

        let methodComplaint = "must be one of " + PaymentMethod.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        guard case .string(let methodName) = try body.required("paymentMethod"),
              let method = PaymentMethod(rawValue: methodName) else {
            throw .invalid("paymentMethod", methodComplaint)
        }

        var address = JSONValue.null
        if let value = body.optional("shippingAddress") {
            guard value.isObject else { throw .invalid("shippingAddress", "must be an object") }
            address = value
        }

        var owner: String?
        if let value = body.optional("userId") {
            owner = try FieldReader.string(value, field: "userId", nonEmpty: true, maxLength: InputLimits.maxIdLength)
        }

        self.init(items: items, paymentMethod: method, shippingAddress: address, userId: owner,
                  metadata: body.optional("metadata") ?? .null)
    }
}
