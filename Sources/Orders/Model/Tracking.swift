/// The delivery side of an order. Its JSON `status` is the order's own `status` (one
/// source of truth), so it is not repeated here.
public struct Tracking: Sendable, Equatable {
    /// Last known position, or `nil` until one is sent.
    public var location: GeoPoint?
    public var deliveryPartner: DeliveryPartner?
    /// Oldest first; the first entry is the `placed` entry written at creation.
    public var history: [TrackingEntry]

    public init(location: GeoPoint? = nil, deliveryPartner: DeliveryPartner? = nil, history: [TrackingEntry]) {
        self.location = location
        self.deliveryPartner = deliveryPartner
        self.history = history
    }
}
