/// One complete request as the parser delivers it.
public struct HTTPRequest: Sendable {
    /// The method as sent; methods are case-sensitive tokens (RFC 9110 §9.1).
    public var method: String
    /// The raw request-target from the request line.
    public var target: String
    /// The percent-decoded path of the target, without the query; `*` for `OPTIONS *`.
    /// For an absolute-form target, the path part of it (`/` when it has none).
    public var path: String
    /// The query after `?`, still percent-encoded; nil when the target has no `?`.
    public var rawQuery: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// The decoded body (chunked framing removed); empty when the request has none.
    public var body: [UInt8]
    /// Whether the connection may carry another request after this one: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool

    public init(method: String, target: String, path: String, rawQuery: String? = nil,
                version: HTTPVersion = .http11, headers: HTTPHeaders = HTTPHeaders(),
                body: [UInt8] = [], keepAlive: Bool? = nil) {
        self.method = method
        self.target = target
        self.path = path
        self.rawQuery = rawQuery
        self.version = version
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive ?? HTTPRequest.keepAlive(version: version, headers: headers)
    }

    /// The first value of query parameter `name`, percent-decoded with `+` as a space, or
    /// nil when absent. A parameter without `=` has the value "". Names are compared after
    /// decoding, case-sensitively. Malformed `%` escapes are kept as written.
    public func queryValue(_ name: String) -> String? {
        guard let rawQuery else { return nil }
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: "=")
            let rawName = pair[pair.startIndex..<(equals ?? pair.endIndex)]
            guard PercentDecoding.decodeQueryComponent(rawName) == name else { continue }
            guard let equals else { return "" }
            return PercentDecoding.decodeQueryComponent(pair[pair.index(after: equals)...])
        }
        return nil
    }

    /// Connection persistence per RFC 9112 §9.3.
    static func keepAlive(version: HTTPVersion, headers: HTTPHeaders) -> Bool {
        if headers.containsToken("close", in: "Connection") { return false }
        if version == .http10 { return headers.containsToken("keep-alive", in: "Connection") }
        return true
    }
}
