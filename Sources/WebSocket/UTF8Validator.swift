/// An incremental UTF-8 validator following the well-formed byte sequences of
/// Unicode Table 3-7: it rejects overlong forms, surrogates (U+D800-DFFF), code points
/// above U+10FFFF and stray continuation bytes at the first byte that makes the input
/// impossible, so a caller can fail fast in the middle of a message.
///
/// Feed chunks split anywhere (even inside a code point); ask `isComplete` at the end
/// of a message to also reject a truncated final sequence.
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected for the current code point.
    private var needed: UInt8 = 0
    /// Allowed range for the next continuation byte; narrower than 80-BF right after
    /// E0/ED/F0/F4, which is how overlongs, surrogates and > U+10FFFF are excluded.
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF
    private var failed = false

    public init() {}

    /// Validates the next chunk. Returns false as soon as the bytes seen so far cannot be the
    /// prefix of valid UTF-8; after that it keeps returning false until `reset()`.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if failed { return false }
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var needed = self.needed, lower = self.lower, upper = self.upper
        var i = 0
        while i < count {
            if needed == 0 {
                // ASCII fast path: eight bytes at a time while none has the high bit set.
                while i &+ 8 <= count,
                      base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i &+= 8
                }
                if i == count { break }
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                i &+= 1
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: needed = 1; lower = 0x80; upper = 0xBF
                case 0xE0: needed = 2; lower = 0xA0; upper = 0xBF          // no overlong 3-byte forms
                case 0xE1...0xEC, 0xEE...0xEF: needed = 2; lower = 0x80; upper = 0xBF
                case 0xED: needed = 2; lower = 0x80; upper = 0x9F          // no surrogates
                case 0xF0: needed = 3; lower = 0x90; upper = 0xBF          // no overlong 4-byte forms
                case 0xF1...0xF3: needed = 3; lower = 0x80; upper = 0xBF
                case 0xF4: needed = 3; lower = 0x80; upper = 0x8F          // nothing above U+10FFFF
                default:                                                   // 80-C1, F5-FF
                    failed = true
                    return false
                }
            } else {
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                i &+= 1
                guard byte >= lower && byte <= upper else {
                    failed = true
                    return false
                }
                needed &-= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        self.needed = needed
        self.lower = lower
        self.upper = upper
        return true
    }

    /// Convenience for arrays and other contiguous byte collections.
    public mutating func feed(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// True when everything fed so far is valid and ends on a code point boundary.
    public var isComplete: Bool { !failed && needed == 0 }

    /// Forgets all input, ready for the next message.
    public mutating func reset() { self = UTF8Validator() }

    /// Validates one complete byte string.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.feed(bytes) && validator.isComplete
    }

    /// Validates one complete byte string.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { isValid($0) }
    }
}
