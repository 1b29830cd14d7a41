/// How the body of a request is delimited (RFC 9112 §6.3).
enum BodyFraming: Equatable {
    /// No Content-Length and no Transfer-Encoding: the body is empty.
    case none
    case contentLength(Int)
    case chunked

    /// Decides the framing from the header fields, refusing every ambiguous combination
    /// because front-end proxies may read them differently (request smuggling).
    static func determine(_ headers: HTTPHeaders, version: HTTPVersion, maxBodyBytes: Int) throws(HTTPParseError) -> BodyFraming {
        let transferEncodings = headers.values("Transfer-Encoding")
        let contentLengths = headers.values("Content-Length")
        if !transferEncodings.isEmpty {
            guard version != .http10 else {
                throw .badRequest("Transfer-Encoding is not allowed in HTTP/1.0")
            }
            guard contentLengths.isEmpty else {
                throw .badRequest("both Content-Length and Transfer-Encoding")
            }
            try checkTransferCodings(transferEncodings)
            return .chunked
        }
        guard let first = contentLengths.first else { return .none }
        guard contentLengths.count == 1 else {
            throw .badRequest("more than one Content-Length")
        }
        let length = try parseContentLength(first)
        guard length <= maxBodyBytes else {
            throw HTTPParseError(status: .contentTooLarge, message: "body exceeds \(maxBodyBytes) bytes")
        }
        return .contentLength(length)
    }

    /// Only `chunked`, once, as the final coding is supported. RFC 9112 §6.3: chunked not
    /// final means the length is unknowable (400); §6.1: a coding we do not implement is 501.
    private static func checkTransferCodings(_ values: [String]) throws(HTTPParseError) {
        var codings: [Substring] = []
        for value in values {
            for element in value.split(separator: ",", omittingEmptySubsequences: true) {
                let coding = ASCII.trimmingWhitespace(element)
                if !coding.isEmpty { codings.append(coding) }
            }
        }
        guard let last = codings.last, ASCII.equalsIgnoringCase(last, "chunked") else {
            throw .badRequest("chunked must be the final transfer coding")
        }
        for coding in codings.dropLast() {
            if ASCII.equalsIgnoringCase(coding, "chunked") {
                throw .badRequest("chunked applied more than once")
            }
        }
        if codings.count > 1 {
            throw HTTPParseError(status: .notImplemented, message: "unsupported transfer coding")
        }
    }

    /// `1*DIGIT`. A number too large for Int is a valid length that is simply over the
    /// limit, so it is 413 rather than 400.
    private static func parseContentLength(_ value: String) throws(HTTPParseError) -> Int {
        guard !value.isEmpty, value.utf8.allSatisfy(ASCII.isDigit) else {
            throw .badRequest("invalid Content-Length")
        }
        var length = 0
        for digit in value.utf8 {
            let (times10, o1) = length.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            if o1 || o2 {
                throw HTTPParseError(status: .contentTooLarge, message: "Content-Length too large")
            }
            length = sum
        }
        return length
    }
}
