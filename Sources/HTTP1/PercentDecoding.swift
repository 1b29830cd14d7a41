/// Percent-decoding (RFC 3986 §2.1) for paths and query strings.
enum PercentDecoding {
    /// Strict decoding for the path: nil if a `%` is not followed by two hex digits, if
    /// the result is not valid UTF-8, or if it contains NUL (which no file name or route
    /// can legitimately hold, and which C APIs would truncate at).
    static func decodePath(_ bytes: ArraySlice<UInt8>) -> String? {
        guard let decoded = decode(bytes, plusAsSpace: false, strict: true),
              !decoded.contains(0) else { return nil }
        return String(validating: decoded, as: UTF8.self)
    }

    /// Lenient decoding for query components (`application/x-www-form-urlencoded` style):
    /// `+` is a space, a malformed `%` escape stays as written, and invalid UTF-8 becomes
    /// U+FFFD, because a query value is application data, not a routing decision.
    static func decodeQueryComponent(_ s: Substring) -> String {
        let decoded = decode(ArraySlice(s.utf8), plusAsSpace: true, strict: false) ?? []
        return String(decoding: decoded, as: UTF8.self)
    }

    private static func decode(_ bytes: ArraySlice<UInt8>, plusAsSpace: Bool, strict: Bool) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == ASCII.percent {
                if i + 2 < bytes.endIndex,
                   let hi = ASCII.hexValue(bytes[i + 1]), let lo = ASCII.hexValue(bytes[i + 2]) {
                    out.append(hi << 4 | lo)
                    i += 3
                    continue
                }
                if strict { return nil }
                out.append(b)
            } else if b == ASCII.plus && plusAsSpace {
                out.append(ASCII.space)
            } else {
                out.append(b)
            }
            i += 1
        }
        return out
    }
}
