/// Appends compact JSON text to a byte buffer. Hand-rolled for the hot path: one
/// growing `[UInt8]`, no intermediate strings for keys, integers or plain text.
///
/// The caller writes punctuation (`{`, `,`, `:` …) itself with `append`; the writer
/// takes care of escaping strings and formatting numbers.
public struct JSONWriter: Sendable {
    /// The text written so far.
    public var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends one raw byte (punctuation).
    @inlinable public mutating func append(_ byte: UInt8) { bytes.append(byte) }

    /// Appends ASCII text verbatim (punctuation, a quoted key known to need no escaping).
    public mutating func appendRaw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends bytes that already are JSON text (a pre-encoded order, for example).
    public mutating func appendRaw(_ json: [UInt8]) { bytes.append(contentsOf: json) }

    /// Appends `"key":` for a key known to be plain ASCII needing no escapes.
    public mutating func appendKey(_ key: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes `null`.
    public mutating func writeNull() { appendRaw("null") }

    /// Writes `true` or `false`.
    public mutating func writeBool(_ value: Bool) { value ? appendRaw("true") : appendRaw("false") }

    /// Writes an integer in decimal.
    public mutating func writeInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // 20 digits hold UInt64.max; fill from the right, then append once.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var i = 24
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: buffer[i..<24])
        }
    }

    /// Writes a number: integral values below 2^53 without a fraction (`2`, not `2.0`),
    /// others in the shortest form that reads back as the same `Double`. JSON has no
    /// NaN or infinity, so those are written as `null`.
    public mutating func writeNumber(_ value: Double) {
        guard value.isFinite else { writeNull(); return }
        if value == value.rounded(.towardZero), value.magnitude < 9_007_199_254_740_992 {
            writeInteger(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// Writes a string with the escapes RFC 8259 requires (quote, backslash, control
    /// characters); everything else, including non-ASCII, is copied as UTF-8.
    public mutating func writeString(_ value: String) {
        var value = value
        bytes.append(UInt8(ascii: "\""))
        value.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                runStart = i + 1
                appendEscape(for: b)
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscape(for b: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch b {
        case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            let hex: StaticString = "0123456789abcdef"
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            hex.withUTF8Buffer { h in
                bytes.append(h[Int(b >> 4)])
                bytes.append(h[Int(b & 0xF)])
            }
        }
    }

    /// Writes any `JSONValue`, object members in their stored order.
    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: writeNull()
        case .bool(let b): writeBool(b)
        case .number(let n): writeNumber(n)
        case .string(let s): writeString(s)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                write(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(member.key)
                bytes.append(UInt8(ascii: ":"))
                write(member.value)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }
}
