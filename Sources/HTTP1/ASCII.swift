/// Byte classes from RFC 9110 §5.6 used by the parser. Kept as plain functions on bytes
/// so the hot loops need no String work.
enum ASCII {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let semicolon = UInt8(ascii: ";")
    static let comma = UInt8(ascii: ",")
    static let percent = UInt8(ascii: "%")
    static let plus = UInt8(ascii: "+")
    static let slash = UInt8(ascii: "/")
    static let question = UInt8(ascii: "?")
    static let hash = UInt8(ascii: "#")
    static let asterisk = UInt8(ascii: "*")

    /// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"),
             UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func isToken(_ bytes: some Collection<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy(isTokenChar)
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    static func isWhitespace(_ b: UInt8) -> Bool { b == space || b == tab }

    /// CTL characters that may not appear in a field value (everything below SP except
    /// HTAB, and DEL). obs-text (0x80–0xFF) is allowed, as RFC 9110 §5.5 permits.
    static func isForbiddenInFieldValue(_ b: UInt8) -> Bool { (b < 0x20 && b != tab) || b == 0x7F }

    /// Value of a hexadecimal digit, or nil.
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func lowercased(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
    }

    /// ASCII case-insensitive equality; field names and tokens are compared this way.
    static func equalsIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        return zip(x, y).allSatisfy { lowercased($0) == lowercased($1) }
    }

    /// Removes leading and trailing SP/HTAB (OWS).
    static func trimmingWhitespace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lo = bytes.startIndex, hi = bytes.endIndex
        while lo < hi, isWhitespace(bytes[lo]) { lo += 1 }
        while hi > lo, isWhitespace(bytes[hi - 1]) { hi -= 1 }
        return bytes[lo..<hi]
    }

    static func trimmingWhitespace(_ s: Substring) -> Substring {
        var u = s.utf8[...]
        while let f = u.first, isWhitespace(f) { u = u.dropFirst() }
        while let l = u.last, isWhitespace(l) { u = u.dropLast() }
        return Substring(u)
    }
}
