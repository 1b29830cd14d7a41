/// The parsed request line and header section of one request, before its body.
struct RequestHead {
    var method: String
    var target: String
    var requestTarget: RequestTarget
    var version: HTTPVersion
    var headers: HTTPHeaders
    var framing: BodyFraming

    /// HTTP/1.1 with `Expect: 100-continue` and a body that may be non-empty. HTTP/1.0
    /// expectations are ignored (RFC 9110 §10.1.1).
    var expectsContinue: Bool {
        guard version == .http11, headers.containsToken("100-continue", in: "Expect") else { return false }
        switch framing {
        case .none, .contentLength(0): return false
        case .contentLength, .chunked: return true
        }
    }

    /// Parses a complete head: the request line, field lines and the terminating empty
    /// line, each ended by LF with an optional CR before it. The caller has already checked
    /// that no CR stands anywhere but before an LF.
    static func parse(_ bytes: ArraySlice<UInt8>, limits: HTTPParserLimits) throws(HTTPParseError) -> RequestHead {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = bytes.startIndex
        for i in bytes.indices where bytes[i] == ASCII.lf {
            var end = i
            if end > lineStart, bytes[end - 1] == ASCII.cr { end -= 1 }
            lines.append(bytes[lineStart..<end])
            lineStart = i + 1
        }
        // The scanner hands over exactly one head, so the last line is the empty one.
        guard lines.count >= 2, let terminator = lines.last, terminator.isEmpty else {
            throw .badRequest("incomplete request head")
        }
        var head = try parseRequestLine(lines[0])
        for line in lines[1..<(lines.count - 1)] {
            let (name, value) = try parseFieldLine(line)
            head.headers.add(name, value)
        }
        try checkHost(head.headers, version: head.version)
        head.framing = try BodyFraming.determine(head.headers, version: head.version, maxBodyBytes: limits.maxBodyBytes)
        return head
    }

    /// `method SP request-target SP HTTP-version`, single spaces as RFC 9112 §3 specifies.
    private static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> RequestHead {
        let parts = line.split(separator: ASCII.space, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .badRequest("malformed request line") }
        let method = parts[0], targetBytes = parts[1], versionBytes = parts[2]
        guard ASCII.isToken(method) else { throw .badRequest("invalid method") }
        let version = try parseVersion(versionBytes)
        let target = try RequestTarget.parse(targetBytes, method: method)
        return RequestHead(
            method: String(decoding: method, as: UTF8.self),
            target: String(decoding: targetBytes, as: UTF8.self),
            requestTarget: target, version: version, headers: HTTPHeaders(), framing: .none)
    }

    /// `HTTP/DIGIT.DIGIT`: 1.0 and 1.1 are served, any other version of that shape is 505,
    /// anything else is not a request line (400).
    private static func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        let b = Array(bytes)
        guard b.count == 8, b[0..<5].elementsEqual("HTTP/".utf8),
              ASCII.isDigit(b[5]), b[6] == UInt8(ascii: "."), ASCII.isDigit(b[7]) else {
            throw .badRequest("malformed HTTP version")
        }
        let version = HTTPVersion(major: Int(b[5] - UInt8(ascii: "0")), minor: Int(b[7] - UInt8(ascii: "0")))
        guard version == .http11 || version == .http10 else {
            throw HTTPParseError(status: .httpVersionNotSupported, message: "HTTP version not supported")
        }
        return version
    }

    /// `field-name ":" OWS field-value OWS` (RFC 9112 §5). Line folding is refused
    /// (§5.2 allows that) and no whitespace may precede the colon (§5.1 requires 400).
    static func parseFieldLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (String, String) {
        if let first = line.first, ASCII.isWhitespace(first) {  // checked first for a clearer message
            throw .badRequest("obsolete line folding")
        }
        guard let colon = line.firstIndex(of: ASCII.colon) else {
            throw .badRequest("header line without colon")
        }
        let name = line[line.startIndex..<colon]
        guard ASCII.isToken(name) else { throw .badRequest("invalid header name") }
        let value = ASCII.trimmingWhitespace(line[(colon + 1)...])
        guard !value.contains(where: ASCII.isForbiddenInFieldValue) else {
            throw .badRequest("control character in header value")
        }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    /// RFC 9112 §3.2: HTTP/1.1 requires exactly one Host; no version may send two; the value
    /// must be a plausible `uri-host [":" port]` (empty is allowed).
    private static func checkHost(_ headers: HTTPHeaders, version: HTTPVersion) throws(HTTPParseError) {
        let hosts = headers.values("Host")
        if hosts.count > 1 { throw .badRequest("more than one Host header") }
        guard let host = hosts.first else {
            if version == .http11 { throw .badRequest("missing Host header") }
            return
        }
        for b in host.utf8 where !isHostChar(b) {
            throw .badRequest("invalid Host header")
        }
    }

    /// unreserved / sub-delims / pct-encoded / ":" and brackets for IP literals.
    private static func isHostChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~!$&'()*+,;=%:[]".utf8.contains(b)
        }
    }
}
