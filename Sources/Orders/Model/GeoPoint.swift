/// A position in degrees (WGS 84), as sent by delivery tracking.
public struct GeoPoint: Sendable, Equatable {
    /// -90...90
    public var lat: Double
    /// -180...180
    public var lng: Double

    public init(lat: Double, lng: Double) {
        self.lat = lat
        self.lng = lng
    }
}
