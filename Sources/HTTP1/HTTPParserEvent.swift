/// What `HTTPRequestParser.next()` produced.
public enum HTTPParserEvent: Sendable {
    /// A complete request, body included.
    case request(HTTPRequest)
    /// The head of an HTTP/1.1 request with `Expect: 100-continue` and a body (non-zero
    /// Content-Length or chunked) was parsed; the caller should send `100 Continue` and keep
    /// calling `next()` for the request itself. Sent once per request, right after the head,
    /// even when some of the body has already arrived (RFC 9110 §10.1.1 allows that).
    case expectContinue
}
