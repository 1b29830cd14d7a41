/// Header fields in the order received or added. Names compare ASCII case-insensitively
/// and keep the spelling they were given; repeated names are kept as separate entries.
public struct HTTPHeaders: Sequence, Sendable {
    public typealias Element = (name: String, value: String)

    private var fields: [Element]

    public init() { fields = [] }

    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { (name: $0.0, value: $0.1) }
    }

    public func makeIterator() -> IndexingIterator<[Element]> { fields.makeIterator() }

    /// Number of field lines (a repeated name counts each time).
    public var count: Int { fields.count }

    public var isEmpty: Bool { fields.isEmpty }

    /// The first value of `name`, or nil.
    public subscript(_ name: String) -> String? {
        fields.first { ASCII.equalsIgnoringCase($0.name, name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.compactMap { ASCII.equalsIgnoringCase($0.name, name) ? $0.value : nil }
    }

    /// Whether any field line named `name` exists.
    public func contains(_ name: String) -> Bool {
        fields.contains { ASCII.equalsIgnoringCase($0.name, name) }
    }

    /// Comma-separated token lists (e.g. `Connection: keep-alive, Upgrade`), case-insensitive
    /// match, across repeated headers. Elements are trimmed of whitespace; parameters are not
    /// stripped, so `gzip;q=1` does not match `gzip`.
    public func containsToken(_ token: String, in name: String) -> Bool {
        for field in fields where ASCII.equalsIgnoringCase(field.name, name) {
            for element in field.value.split(separator: ",", omittingEmptySubsequences: true)
            where ASCII.equalsIgnoringCase(ASCII.trimmingWhitespace(element), token) {
                return true
            }
        }
        return false
    }

    /// Appends a field line, keeping any existing ones of the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Sets the first field line of `name` to `value` and removes the others, or appends
    /// one if there is none.
    public mutating func replaceOrAdd(_ name: String, _ value: String) {
        guard let first = fields.firstIndex(where: { ASCII.equalsIgnoringCase($0.name, name) }) else {
            add(name, value)
            return
        }
        fields[first].value = value
        var i = fields.count - 1
        while i > first {
            if ASCII.equalsIgnoringCase(fields[i].name, name) { fields.remove(at: i) }
            i -= 1
        }
    }

    /// Removes every field line of `name`.
    public mutating func remove(_ name: String) {
        fields.removeAll { ASCII.equalsIgnoringCase($0.name, name) }
    }
}

extension HTTPHeaders: Equatable {
    /// Same field lines in the same order; names compared case-insensitively, values exactly.
    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy {
                ASCII.equalsIgnoringCase($0.name, $1.name) && $0.value == $1.value
            }
    }
}

extension HTTPHeaders: ExpressibleByDictionaryLiteral {
    /// `["Content-Type": "text/plain"]`, in literal order.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }
}
