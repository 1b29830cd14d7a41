/// A strict RFC 8259 JSON parser over bytes: a plain value type, no I/O, so it can be
/// fed arbitrary input by tests and fuzzers.
///
/// Refused: trailing data, leading zeros, `NaN`/`Infinity`, numbers that overflow a
/// `Double`, bad escapes, unpaired surrogates in `\u` escapes, raw control characters
/// and invalid UTF-8 inside strings, duplicate object keys, a byte-order mark, and
/// nesting deeper than `maxDepth` (the recursion is bounded by it, so deep input cannot
/// exhaust the stack).
public struct JSONParser {
    /// Arrays and objects may nest this deep (the 65th level is refused).
    public static let defaultMaxDepth = 64

    private let bytes: [UInt8]
    private let maxDepth: Int
    private var index = 0
    private var depth = 0

    public init(bytes: [UInt8], maxDepth: Int = JSONParser.defaultMaxDepth) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Parses the whole input as one JSON text.
    public mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        if index == bytes.count {
            throw JSONParseError(bytes.isEmpty ? .emptyInput : .unexpectedEnd, at: index)
        }
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw JSONParseError(.trailingData, at: index) }
        return value
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case let b: throw JSONParseError(.unexpectedByte(b), at: index)
        }
    }

    private mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        for n in 0..<count {
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            let expected = word.withUTF8Buffer { $0[n] }
            guard bytes[index] == expected else { throw JSONParseError(.unexpectedByte(bytes[index]), at: index) }
            index += 1
        }
    }

    private mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth { throw JSONParseError(.tooDeep(limit: maxDepth), at: index) }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            let b = try peek()
            index += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "]") { break }
            throw JSONParseError(.unexpectedByte(b), at: index - 1)
        }
        depth -= 1
        return .array(elements)
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        index += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        // Small objects are checked for duplicates by a scan; larger ones by a set.
        var seen: Set<String> = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            let keyOffset = index
            let b = try peek()
            guard b == UInt8(ascii: "\"") else { throw JSONParseError(.unexpectedByte(b), at: index) }
            let key = try parseString()
            let duplicate: Bool
            if members.count < 16 {
                duplicate = members.contains(where: { $0.key == key })
            } else {
                if seen.isEmpty { seen = Set(members.map(\.key)) }
                duplicate = !seen.insert(key).inserted
            }
            if duplicate { throw JSONParseError(.duplicateKey(key), at: keyOffset) }
            skipWhitespace()
            let colon = try peek()
            guard colon == UInt8(ascii: ":") else { throw JSONParseError(.unexpectedByte(colon), at: index) }
            index += 1
            skipWhitespace()
            members.append((key: key, value: try parseValue()))
            skipWhitespace()
            let next = try peek()
            index += 1
            if next == UInt8(ascii: ",") { continue }
            if next == UInt8(ascii: "}") { break }
            throw JSONParseError(.unexpectedByte(next), at: index - 1)
        }
        depth -= 1
        return .object(members)
    }

    // MARK: - Strings

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes, so the string is a slice of the input.
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let s = try decodeUTF8(bytes[start..<index], at: start)
                index += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw JSONParseError(.controlCharacterInString, at: index) }
            index += 1
        }
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        // Slow path: copy what was scanned, then decode escapes.
        var buffer = Array(bytes[start..<index])
        while true {
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                let s = try decodeUTF8(buffer[...], at: start)
                index += 1
                return s
            case UInt8(ascii: "\\"):
                try parseEscape(into: &buffer)
            case 0..<0x20:
                throw JSONParseError(.controlCharacterInString, at: index)
            default:
                buffer.append(b)
                index += 1
            }
        }
    }

    private func decodeUTF8(_ slice: ArraySlice<UInt8>, at offset: Int) throws(JSONParseError) -> String {
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw JSONParseError(.invalidUTF8, at: offset)
        }
        return s
    }

    private mutating func parseEscape(into buffer: inout [UInt8]) throws(JSONParseError) {
        let escapeStart = index
        index += 1  // backslash
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        let c = bytes[index]
        index += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(c)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHex4()
            let scalarValue: UInt32
            switch unit {
            case 0xD800...0xDBFF:
                // A high surrogate must be followed at once by an escaped low surrogate.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                      bytes[index + 1] == UInt8(ascii: "u") else {
                    throw JSONParseError(.loneSurrogate, at: escapeStart)
                }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONParseError(.loneSurrogate, at: escapeStart)
                }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            case 0xDC00...0xDFFF:
                throw JSONParseError(.loneSurrogate, at: escapeStart)
            default:
                scalarValue = UInt32(unit)
            }
            // Every value left is a valid scalar: surrogates were handled above.
            buffer.append(contentsOf: Unicode.Scalar(scalarValue)!.utf8)
        default:
            throw JSONParseError(.invalidEscape, at: escapeStart)
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        guard bytes.count - index >= 4 else { throw JSONParseError(.invalidEscape, at: index) }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw JSONParseError(.invalidEscape, at: index)
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        // Integer part: "0" or a non-zero digit followed by digits (no leading zeros).
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        guard isDigit(bytes[index]) else { throw JSONParseError(.invalidNumber, at: start) }
        var integer: Int64 = 0
        var integerDigits = 0
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw JSONParseError(.invalidNumber, at: start) }
            integerDigits = 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                if integerDigits < 18 { integer = integer * 10 + Int64(bytes[index] - UInt8(ascii: "0")) }
                integerDigits += 1
                index += 1
            }
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw JSONParseError(.invalidNumber, at: start) }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw JSONParseError(.invalidNumber, at: start) }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        // Integers of up to 15 digits are exact in a Double: skip the text conversion.
        if isInteger, integerDigits <= 15 {
            let d = Double(integer)
            return negative ? -d : d
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONParseError(.numberOutOfRange, at: start)
        }
        return value
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    // MARK: - Helpers

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func peek() throws(JSONParseError) -> UInt8 {
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        return bytes[index]
    }
}
