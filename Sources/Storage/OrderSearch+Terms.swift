import Orders

/// How a search text is read, the same for every backend (docs/PROTOCOL.md, search).
extension OrderSearch {
    /// Item-name words are matched on at most this many leading characters (the longest
    /// prefix index SQLite keeps; PostgreSQL stores words cut to the same length).
    static let indexedPrefixLength = 8

    /// What a search text asks for. An order matches when its owner is `owner`, or its
    /// id's hex digits start with `idPrefix`, or every one of `itemWords` starts a word
    /// of its item names.
    struct Terms: Equatable {
        var owner: String
        /// The text without a leading `ord_`, when that is 1-16 hex digits.
        var idPrefix: String?
        /// Lowercased runs of letters and digits, each cut to `indexedPrefixLength`.
        var itemWords: [String]
    }

    /// Nil when the text sets no condition: empty, or only `ord_` (every id starts so).
    static func terms(_ text: String) -> Terms? {
        let owner = trimmed(text)
        let lowered = owner.lowercased()
        if lowered.isEmpty || lowered == "ord_" { return nil }
        let hex = lowered.hasPrefix("ord_") ? String(lowered.dropFirst(4)) : lowered
        let isHex = !hex.isEmpty && hex.utf8.count <= 16 && hex.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        var words: [String] = []
        var current = ""
        for c in lowered {
            if c.isLetter || c.isNumber {
                current.append(c)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return Terms(owner: owner, idPrefix: isHex ? hex : nil,
                           itemWords: words.map { String($0.prefix(indexedPrefixLength)) })
    }

    /// The text without surrounding white space (what must equal an owner's id).
    static func trimmed(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    /// Two newest-first lists of distinct numbers merged into one, without repeats.
    static func mergeDescending(_ a: [Int64], _ b: [Int64]) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] > b[j]) {
                out.append(a[i]); i += 1
            } else if i == a.count || b[j] > a[i] {
                out.append(b[j]); j += 1
            } else {
                out.append(a[i]); i += 1; j += 1
            }
        }
        return out
    }
}
