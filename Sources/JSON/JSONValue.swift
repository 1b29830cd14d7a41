/// A JSON value (RFC 8259) as parsed from or written to bytes.
///
/// Objects keep their members in document order, so a value that is parsed and written
/// again comes out with its keys in the order the client sent them. Duplicate keys are
/// refused by the parser, so member lookup by key is unambiguous.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// Every JSON number is held as a `Double`; integers are exact up to 2^53.
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in document order.
    case object([(key: String, value: JSONValue)])
}

extension JSONValue: Equatable {
    /// Structural equality; object members are compared in order (key order is part of
    /// the value, since it is preserved on output).
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where x.key != y.key || x.value != y.value { return false }
            return true
        default: return false
        }
    }
}

extension JSONValue {
    /// The member named `key` when this is an object, else `nil`.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    /// The string payload, or `nil` for any other kind of value.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number payload, or `nil` for any other kind of value.
    public var numberValue: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The number as an integer when it is integral and exactly representable (|n| < 2^53),
    /// else `nil`. For cursors such as `since`.
    public var int64Value: Int64? {
        guard case .number(let n) = self, n.rounded(.towardZero) == n, n.magnitude < 9_007_199_254_740_992 else { return nil }
        return Int64(n)
    }

    /// The bool payload, or `nil` for any other kind of value.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// True for `.object`.
    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// Parses one JSON text (RFC 8259, strict) from `bytes`.
    ///
    /// - Throws: `JSONParseError` for anything that is not exactly one valid JSON value
    ///   surrounded by optional whitespace, or that nests deeper than `maxDepth`.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = JSONParser.defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    /// Parses the UTF-8 of `text`; see `parse(_:maxDepth:)`.
    public static func parse(_ text: String, maxDepth: Int = JSONParser.defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// The compact JSON text of this value.
    public func serialized() -> [UInt8] {
        var writer = JSONWriter()
        writer.write(self)
        return writer.bytes
    }

    /// `serialized()` as a `String`.
    public var jsonText: String { String(decoding: serialized(), as: UTF8.self) }
}
