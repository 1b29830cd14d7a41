/// The request-target of a request line (RFC 9112 §3.2), reduced to what routing needs.
struct RequestTarget: Equatable {
    /// Percent-decoded path; `*` for the asterisk-form.
    var path: String
    /// The query after `?`, still encoded; nil when there is no `?`.
    var rawQuery: String?

    /// Accepts origin-form (`/p?q`), absolute-form (`http://host/p?q`, whose path is used)
    /// and `*` for OPTIONS. Everything else, including authority-form, is a 400.
    ///
    /// Any visible ASCII except `#` is accepted in the target; RFC 3986 is stricter, but
    /// browsers send a few unescaped characters such as `|` in queries, and routing
    /// only looks at the decoded path.
    static func parse(_ bytes: ArraySlice<UInt8>, method: ArraySlice<UInt8>) throws(HTTPParseError) -> RequestTarget {
        guard !bytes.isEmpty else { throw .badRequest("empty request target") }
        for b in bytes where b <= 0x20 || b >= 0x7F || b == ASCII.hash {
            throw .badRequest("invalid character in request target")
        }
        if bytes.first == ASCII.slash {
            return try originForm(bytes)
        }
        if bytes.count == 1 && bytes.first == ASCII.asterisk {
            guard method.elementsEqual("OPTIONS".utf8) else {
                throw .badRequest("asterisk-form request target is only allowed for OPTIONS")
            }
            return RequestTarget(path: "*", rawQuery: nil)
        }
        return try absoluteForm(bytes)
    }

    private static func originForm(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> RequestTarget {
        let question = bytes.firstIndex(of: ASCII.question)
        let pathBytes = bytes[bytes.startIndex..<(question ?? bytes.endIndex)]
        guard let path = PercentDecoding.decodePath(pathBytes) else {
            throw .badRequest("invalid percent-encoding in path")
        }
        let rawQuery = question.map { String(decoding: bytes[($0 + 1)...], as: UTF8.self) }
        return RequestTarget(path: path, rawQuery: rawQuery)
    }

    /// `scheme "://" authority path-abempty [ "?" query ]`; an empty path means `/`.
    private static func absoluteForm(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> RequestTarget {
        var i = bytes.startIndex
        guard let first = bytes.first, isAlpha(first) else {
            throw .badRequest("invalid request target")
        }
        while i < bytes.endIndex, isSchemeChar(bytes[i]) { i += 1 }
        guard bytes[i...].starts(with: "://".utf8) else {
            throw .badRequest("invalid request target")
        }
        let authorityStart = i + 3
        var pathStart = authorityStart
        while pathStart < bytes.endIndex, bytes[pathStart] != ASCII.slash, bytes[pathStart] != ASCII.question {
            pathStart += 1
        }
        guard pathStart > authorityStart else { throw .badRequest("absolute-form target without authority") }
        if pathStart == bytes.endIndex {
            return RequestTarget(path: "/", rawQuery: nil)
        }
        if bytes[pathStart] == ASCII.question {
            let target = try originForm(bytes[pathStart...])
            return RequestTarget(path: "/", rawQuery: target.rawQuery)
        }
        return try originForm(bytes[pathStart...])
    }

    private static func isAlpha(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(ASCII.lowercased(b))
    }

    private static func isSchemeChar(_ b: UInt8) -> Bool {
        isAlpha(b) || ASCII.isDigit(b) || b == ASCII.plus || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
    }
}
