import JSON
/// Reads the members of one JSON object whose fields are fixed, keeping the field path
/// (`items[1]`) so every complaint names the exact field.
struct FieldReader {
    let path: String
    let members: [(key: String, value: JSONValue)]

    /// - Parameter path: the object's own path; empty for the top-level body.
    init(_ value: JSONValue, path: String) throws(OrderInputError) {
        guard case .object(let members) = value else {
            if path.isEmpty {
                throw OrderInputError(kind: .invalidField, field: nil, message: "body must be a JSON object")
            }
            throw .invalid(path, "must be an object")
        }
        self.path = path
        self.members = members
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Refuses members other than `allowed`, so a misspelt field is reported instead of
    /// silently dropped.
    func refuseUnknown(_ allowed: Set<String>) throws(OrderInputError) {
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            throw .invalid(name(unknown.key), "is not a known field")
        }
    }

    /// The member's value; absent and `null` both read as `nil`.
    func optional(_ key: String) -> JSONValue? {
        guard let value = members.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    func required(_ key: String) throws(OrderInputError) -> JSONValue {
        guard let value = optional(key) else { throw .invalid(name(key), "is required") }
        return value
    }

    func string(_ key: String, nonEmpty: Bool, maxLength: Int) throws(OrderInputError) -> String {
        try Self.string(try required(key), field: name(key), nonEmpty: nonEmpty, maxLength: maxLength)
    }

    static func string(_ value: JSONValue, field: String, nonEmpty: Bool, maxLength: Int) throws(OrderInputError) -> String {
        let complaint = nonEmpty ? "must be a non-empty string" : "must be a string"
        guard case .string(let s) = value, !(nonEmpty && s.isEmpty) else { throw .invalid(field, complaint) }
        guard s.count <= maxLength else { throw .invalid(field, "must be at most \(maxLength) characters") }
        return s
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(OrderInputError) -> Double {
        let field = name(key)
        let complaint = "must be a number from \(Self.plain(range.lowerBound)) to \(Self.plain(range.upperBound))"
        guard case .number(let n) = try required(key), range.contains(n) else { throw .invalid(field, complaint) }
        return n
    }

    /// Integral JSON numbers only (`2` and `2.0` are both the integer 2).
    func integer(_ key: String, in range: ClosedRange<Int>) throws(OrderInputError) -> Int {
        let field = name(key)
        let complaint = "must be an integer from \(range.lowerBound) to \(range.upperBound)"
        guard case .number(let n) = try required(key), n.rounded(.towardZero) == n,
              n >= Double(range.lowerBound), n <= Double(range.upperBound) else { throw .invalid(field, complaint) }
        return Int(n)
    }

    private static func plain(_ d: Double) -> String {
        d.rounded(.towardZero) == d && d.magnitude < 1e15 ? String(Int64(d)) : String(d)
    }

    /// Parses a body within the size and depth limits, mapping parse errors to
    /// `OrderInputError`.
    static func parseBody(_ body: [UInt8]) throws(OrderInputError) -> JSONValue {
        guard body.count <= InputLimits.maxBodyBytes else {
            throw OrderInputError(kind: .tooLarge, field: nil,
                                  message: "body must be at most \(InputLimits.maxBodyBytes) bytes")
        }
        do {
            return try JSONValue.parse(body, maxDepth: InputLimits.maxDepth)
        } catch {
            throw OrderInputError(kind: .malformedJSON, field: nil, message: "body is not valid JSON: \(error)")
        }
    }
}
