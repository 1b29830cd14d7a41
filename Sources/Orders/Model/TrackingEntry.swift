/// One entry of `tracking.history`: what an update said, and when.
public struct TrackingEntry: Sendable, Equatable {
    /// The order's status after the update.
    public var status: OrderStatus
    public var note: String?
    /// The location sent with this update, if any.
    public var location: GeoPoint?
    /// Milliseconds since the Unix epoch (written as ISO-8601 `at`).
    public var atMs: Int64

    public init(status: OrderStatus, note: String?, location: GeoPoint?, atMs: Int64) {
        self.status = status
        self.note = note
        self.location = location
        self.atMs = atMs
    }
}
