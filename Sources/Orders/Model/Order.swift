import JSON
/// An order as stored and as sent to clients (see `jsonBytes()` for its JSON shape).
public struct Order: Sendable, Equatable {
    /// `ord_` followed by 16 lowercase hex digits.
    public var id: String
    /// The owner: the `sub` of the user the order belongs to.
    public var userId: String
    public var items: [OrderItem]
    /// Sum of `quantity × price`, rounded to cents.
    public var total: Double
    public var paymentMethod: PaymentMethod
    public var status: OrderStatus
    /// A JSON object, or `.null` when none was given.
    public var shippingAddress: JSONValue
    public var tracking: Tracking
    /// Any JSON value the client sent, returned as given; `.null` when none.
    public var metadata: JSONValue
    /// Milliseconds since the Unix epoch.
    public var createdAtMs: Int64
    public var updatedAtMs: Int64

    public init(id: String, userId: String, items: [OrderItem], total: Double, paymentMethod: PaymentMethod,
                status: OrderStatus, shippingAddress: JSONValue, tracking: Tracking, metadata: JSONValue,
                createdAtMs: Int64, updatedAtMs: Int64) {
        self.id = id
        self.userId = userId
        self.items = items
        self.total = total
        self.paymentMethod = paymentMethod
        self.status = status
        self.shippingAddress = shippingAddress
        self.tracking = tracking
        self.metadata = metadata
        self.createdAtMs = createdAtMs
        self.updatedAtMs = updatedAtMs
    }

    /// A new order from validated input: status `placed`, the total computed, and one
    /// `placed` history entry at `nowMs`.
    ///
    /// - Parameter userId: the owner decided by the caller from the authenticated
    ///   identity; `input.userId` is not consulted here.
    public init(id: String, userId: String, input: NewOrderInput, nowMs: Int64) {
        self.init(id: id, userId: userId, items: input.items, total: Order.total(of: input.items),
                  paymentMethod: input.paymentMethod, status: .placed, shippingAddress: input.shippingAddress,
                  tracking: Tracking(history: [TrackingEntry(status: .placed, note: nil, location: nil, atMs: nowMs)]),
                  metadata: input.metadata, createdAtMs: nowMs, updatedAtMs: nowMs)
    }

    /// The sum of `quantity × price` over `items`, rounded to cents (half away from zero).
    public static func total(of items: [OrderItem]) -> Double {
        let sum = items.reduce(0.0) { $0 + Double($1.quantity) * $1.price }
        return (sum * 100).rounded() / 100
    }

    /// This order after a tracking update at `atMs`: the given fields replace the
    /// current ones, and one history entry records the update (its status is the
    /// status after the update; its location is the one sent with it, if any).
    ///
    /// Any status may follow any other: operators correct mistakes this way.
    public func applying(_ update: TrackingInput, atMs: Int64) -> Order {
        var next = self
        if let status = update.status { next.status = status }
        if let location = update.location { next.tracking.location = location }
        if let partner = update.deliveryPartner { next.tracking.deliveryPartner = partner }
        next.tracking.history.append(TrackingEntry(status: next.status, note: update.note,
                                                   location: update.location, atMs: atMs))
        next.updatedAtMs = atMs
        return next
    }
}
