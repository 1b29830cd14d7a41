/// One entry of the event history: what changed, for whom, and the order's JSON right
/// after the change (so a replay sends exactly the bytes live delivery sent).
public struct StoredEvent: Sendable, Equatable {
    /// `kind` of an event written when an order is created.
    public static let orderCreated = "order.created"
    /// `kind` of an event written when an order's tracking changes.
    public static let trackingUpdated = "tracking.updated"

    /// The global, strictly increasing event number (never reused).
    public let seq: Int64
    /// `order.created` or `tracking.updated`.
    public let kind: String
    public let orderId: String
    /// The order's owner: the event belongs on channel `user:<userId>`.
    public let userId: String
    /// Milliseconds since the Unix epoch.
    public let createdAtMs: Int64
    /// `Order.jsonBytes()` of the order after the change.
    public let orderJSON: [UInt8]

    public init(seq: Int64, kind: String, orderId: String, userId: String, createdAtMs: Int64, orderJSON: [UInt8]) {
        self.seq = seq
        self.kind = kind
        self.orderId = orderId
        self.userId = userId
        self.createdAtMs = createdAtMs
        self.orderJSON = orderJSON
    }
}
