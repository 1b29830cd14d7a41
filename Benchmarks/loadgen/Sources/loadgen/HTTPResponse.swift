import CEpoll

/// One complete HTTP/1.1 response found at the start of a buffer.
struct HTTPResponse {
    var status: Int
    /// Bytes of head + body, i.e. how much of the buffer this response used.
    var length: Int
    var etag: String?
    /// The body (decoded if chunked); only kept when asked for.
    var body: [UInt8]
}

/// What the scanner found at the start of an inbox.
enum ScanResult {
    case incomplete
    case response(HTTPResponse)
    case invalid(String)
}

/// Finds complete responses in a connection's inbox. Re-scans from the start when more bytes
/// arrive, which is fine for the small answers benchmarks get.
enum HTTPResponseScanner {
    private static let headEnd: [UInt8] = Array("\r\n\r\n".utf8)

    /// The response at the start of `buffer`, if complete.
    static func next(in buffer: UnsafeRawBufferPointer, keepBody: Bool) -> ScanResult {
        guard let base = buffer.baseAddress, buffer.count >= 12 else { return .incomplete }
        guard let end = headEnd.withUnsafeBytes({ memmem(base, buffer.count, $0.baseAddress, 4) }) else {
            return buffer.count > 65536 ? .invalid("response head over 64 KiB") : .incomplete
        }
        let headLength = base.distance(to: UnsafeRawPointer(end)) + 4
        let head = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<headLength]), as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { return .invalid("empty response head") }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            return .invalid("bad status line: \(head.prefix(80))")
        }
        var contentLength = 0
        var chunked = false
        var etag: String?
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingPrefix(" ")
            switch name {
            case "content-length": contentLength = Int(value) ?? 0
            case "transfer-encoding": chunked = value.lowercased().contains("chunked")
            case "etag": etag = String(value)
            default: break
            }
        }
        if status == 304 || status == 204 || status == 101 || (100..<200).contains(status) {
            return .response(HTTPResponse(status: status, length: headLength, etag: etag, body: []))
        }
        if !chunked {
            guard buffer.count >= headLength + contentLength else { return .incomplete }
            let body = keepBody ? Array(buffer[headLength..<(headLength + contentLength)]) : []
            return .response(HTTPResponse(status: status, length: headLength + contentLength, etag: etag, body: body))
        }
        // Chunked: size line, data, CRLF ... "0\r\n\r\n" (no trailers expected).
        var body: [UInt8] = []
        var offset = headLength
        while true {
            var size = 0
            var i = offset
            while i < buffer.count, let digit = hexValue(buffer[i]) { size = size * 16 + digit; i += 1 }
            while i + 1 < buffer.count, !(buffer[i] == 13 && buffer[i + 1] == 10) { i += 1 }   // chunk extensions
            guard i + 1 < buffer.count else { return .incomplete }
            i += 2
            if size == 0 {
                guard i + 1 < buffer.count else { return .incomplete }
                return .response(HTTPResponse(status: status, length: i + 2, etag: etag, body: body))
            }
            guard i + size + 2 <= buffer.count else { return .incomplete }
            if keepBody { body.append(contentsOf: buffer[i..<(i + size)]) }
            offset = i + size + 2
        }
    }

    private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: return Int(c - 48)
        case 97...102: return Int(c - 87)
        case 65...70: return Int(c - 55)
        default: return nil
        }
    }
}
