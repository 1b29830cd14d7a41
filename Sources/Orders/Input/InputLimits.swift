import JSON
/// Size limits for order and tracking bodies. They keep one order's snapshot, which is
/// stored with every event and sent to every subscriber, to a sensible size.
public enum InputLimits {
    /// Largest accepted body, in bytes (the HTTP layer's default body limit).
    public static let maxBodyBytes = 1 << 20
    /// Arrays and objects may nest this deep in a body (metadata included).
    public static let maxDepth = JSONParser.defaultMaxDepth
    public static let maxItems = 1000
    public static let maxQuantity = 10_000
    public static let maxPrice = 1_000_000_000.0
    /// For ids (`productId`, `userId`) and names, in characters.
    public static let maxIdLength = 200
    public static let maxNameLength = 500
    public static let maxPhoneLength = 50
    public static let maxNoteLength = 1000
}
