extension Order {
    /// A fresh order id: `ord_` and 16 lowercase hex digits (64 random bits).
    public static func makeID<R: RandomNumberGenerator>(using generator: inout R) -> String {
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return "ord_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// A fresh order id from the system's secure random source.
    public static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        return makeID(using: &generator)
    }

    /// True when `id` has the shape `makeID` produces. Lets a caller answer 404 for
    /// malformed ids without a lookup.
    public static func isWellFormedID(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard utf8.count == 20, id.hasPrefix("ord_") else { return false }
        return utf8.dropFirst(4).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
