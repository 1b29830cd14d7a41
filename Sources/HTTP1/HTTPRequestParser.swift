/// Incremental HTTP/1.1 request parser for one connection (RFC 9112); supports pipelining
/// (several requests in one read). Feed it bytes as they arrive and call `next()` until it
/// returns nil.
///
/// Limits are enforced while bytes arrive: a head over `maxHeaderBytes` is refused with 431
/// as soon as that many bytes are buffered without its end (414 when not even the request
/// line has ended by then), and a body over `maxBodyBytes` with 413, decided from
/// Content-Length before the body is read, or as soon as a chunk would pass the limit.
///
/// Framing is strict where lenient parsing enables request smuggling: bare CR is refused
/// everywhere; the head may use bare LF line ends, but chunked framing requires CRLF.
public struct HTTPRequestParser {
    private enum Stage {
        case head
        case fixedBody(remaining: Int)
        case chunkedBody(ChunkStage)
        case failed(HTTPParseError)
    }

    enum ChunkStage {
        /// Expecting `chunk-size [chunk-ext] CRLF`.
        case size
        /// Inside chunk data.
        case data(remaining: Int)
        /// Expecting the CRLF after chunk data.
        case dataEnd
        /// After the last chunk: trailer fields until an empty line.
        case trailers
    }

    /// Chunk-size lines are short; extensions are ignored, so a long one is only a nuisance.
    static let maxChunkLineBytes = 4096

    private let limits: HTTPParserLimits
    private var stage: Stage = .head
    private var buffer: [UInt8] = []
    /// Start of the unconsumed bytes; consumed bytes are dropped lazily in `compact()`.
    private var readIndex = 0

    // Where the search for the end of the head stopped, relative to `readIndex`, so that
    // bytes arriving one at a time are not re-scanned from the start.
    private var headScanOffset = 0
    private var headLineStartOffset = 0
    private var requestLineEnded = false

    // Chunked framing: LF search resume point, trailer bytes seen so far.
    private var lineScanOffset = 0
    private var trailerBytes = 0

    /// Head and decoded body of the request whose body is being read.
    private var pendingHead: RequestHead?
    private var body: [UInt8] = []

    public init(limits: HTTPParserLimits = .init()) {
        self.limits = limits
    }

    /// Appends received bytes. Ignored once the parser has failed.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = stage { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes. Ignored once the parser has failed.
    public mutating func feed(_ bytes: [UInt8]) {
        if case .failed = stage { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// The next event, or nil when more bytes are needed. After a thrown error the parser
    /// is dead and rethrows that error: the connection must close after the error response.
    public mutating func next() throws(HTTPParseError) -> HTTPParserEvent? {
        if case .failed(let error) = stage { throw error }
        do throws(HTTPParseError) {
            return try advance()
        } catch {
            stage = .failed(error)
            buffer = []
            readIndex = 0
            pendingHead = nil
            body = []
            throw error
        }
    }

    /// True when no partial request is buffered (between requests).
    public var isIdle: Bool {
        if case .head = stage { return readIndex == buffer.count }
        return false
    }

    /// For protocol upgrades: the bytes after the last returned request, removed from the
    /// parser, which then starts afresh as if at the beginning of a connection.
    public mutating func takeBufferedBytes() -> [UInt8] {
        let rest = Array(buffer[readIndex...])
        buffer = []
        readIndex = 0
        if case .failed = stage {} else { stage = .head }
        resetForNextRequest()
        return rest
    }

    private mutating func advance() throws(HTTPParseError) -> HTTPParserEvent? {
        while true {
            switch stage {
            case .failed(let error):
                throw error
            case .head:
                guard let head = try readHead() else { return nil }
                switch head.framing {
                case .none, .contentLength(0):
                    return .request(makeRequest(head, body: []))
                case .contentLength(let length):
                    stage = .fixedBody(remaining: length)
                case .chunked:
                    stage = .chunkedBody(.size)
                }
                pendingHead = head
                if head.expectsContinue { return .expectContinue }
            case .fixedBody(let remaining):
                let count = min(buffer.count - readIndex, remaining)
                guard count > 0 else { return nil }
                body.append(contentsOf: buffer[readIndex..<(readIndex + count)])
                readIndex += count
                guard count == remaining else {
                    stage = .fixedBody(remaining: remaining - count)
                    return nil
                }
                return .request(finishPendingRequest())
            case .chunkedBody(let chunkStage):
                guard let done = try readChunked(chunkStage), done else { return nil }
                return .request(finishPendingRequest())
            }
        }
    }

    // MARK: Head

    /// Finds and parses the next head, or returns nil when it is not complete yet.
    private mutating func readHead() throws(HTTPParseError) -> RequestHead? {
        if headScanOffset == 0 {
            guard try skipEmptyLines() else { return nil }
        }
        let start = readIndex
        // The head's final LF must lie within the first maxHeaderBytes bytes.
        let scanEnd = min(buffer.count, start + limits.maxHeaderBytes)
        var i = start + headScanOffset
        var lineStart = start + headLineStartOffset
        var headEnd: Int?
        while i < scanEnd {
            let b = buffer[i]
            if b == ASCII.cr {
                guard i + 1 < buffer.count else { break }  // decide when the next byte comes
                guard buffer[i + 1] == ASCII.lf else { throw .badRequest("bare CR in request head") }
            } else if b == ASCII.lf {
                requestLineEnded = true
                // The first line is never empty (empty lines were skipped), so the first
                // empty line ends the head.
                if i == lineStart || (i == lineStart + 1 && buffer[lineStart] == ASCII.cr) {
                    headEnd = i + 1
                    break
                }
                lineStart = i + 1
            }
            i += 1
        }
        guard let headEnd else {
            headScanOffset = i - start
            headLineStartOffset = lineStart - start
            if buffer.count - start > limits.maxHeaderBytes {
                if !requestLineEnded {
                    throw HTTPParseError(status: .uriTooLong, message: "request line exceeds \(limits.maxHeaderBytes) bytes")
                }
                throw HTTPParseError(status: .requestHeaderFieldsTooLarge, message: "request head exceeds \(limits.maxHeaderBytes) bytes")
            }
            return nil
        }
        let head = try RequestHead.parse(buffer[start..<headEnd], limits: limits)
        readIndex = headEnd
        headScanOffset = 0
        headLineStartOffset = 0
        requestLineEnded = false
        return head
    }

    /// Skips CRLF (or LF) lines before a request line (RFC 9112 §2.2). Returns false when
    /// the buffer ends before a request line starts.
    private mutating func skipEmptyLines() throws(HTTPParseError) -> Bool {
        while readIndex < buffer.count {
            switch buffer[readIndex] {
            case ASCII.lf:
                readIndex += 1
            case ASCII.cr:
                guard readIndex + 1 < buffer.count else { return false }
                guard buffer[readIndex + 1] == ASCII.lf else { throw .badRequest("bare CR before request line") }
                readIndex += 2
            default:
                return true
            }
        }
        return false
    }

    // MARK: Chunked body (RFC 9112 §7.1)

    /// Decodes as much chunked framing as is buffered. Returns true when the body is
    /// complete, false or nil when more bytes are needed.
    private mutating func readChunked(_ initial: ChunkStage) throws(HTTPParseError) -> Bool? {
        var chunkStage = initial
        defer { if case .chunkedBody = stage { stage = .chunkedBody(chunkStage) } }
        while true {
            switch chunkStage {
            case .size:
                guard let line = try takeCRLFLine(limit: Self.maxChunkLineBytes, tooLong: .badRequest("chunk size line too long")) else { return nil }
                let size = try Self.parseChunkSize(buffer[line])
                if size == 0 {
                    chunkStage = .trailers
                } else {
                    guard size <= limits.maxBodyBytes - body.count else {
                        throw HTTPParseError(status: .contentTooLarge, message: "body exceeds \(limits.maxBodyBytes) bytes")
                    }
                    chunkStage = .data(remaining: size)
                }
            case .data(let remaining):
                let count = min(buffer.count - readIndex, remaining)
                guard count > 0 else { return nil }
                body.append(contentsOf: buffer[readIndex..<(readIndex + count)])
                readIndex += count
                chunkStage = count == remaining ? .dataEnd : .data(remaining: remaining - count)
            case .dataEnd:
                let available = buffer.count - readIndex
                if available >= 1, buffer[readIndex] != ASCII.cr { throw .badRequest("missing CRLF after chunk data") }
                guard available >= 2 else { return nil }
                guard buffer[readIndex + 1] == ASCII.lf else { throw .badRequest("missing CRLF after chunk data") }
                readIndex += 2
                chunkStage = .size
            case .trailers:
                let tooLarge = HTTPParseError(status: .requestHeaderFieldsTooLarge, message: "trailer section too large")
                let remainingAllowance = limits.maxHeaderBytes - trailerBytes
                guard let line = try takeCRLFLine(limit: remainingAllowance, tooLong: tooLarge) else { return nil }
                trailerBytes += line.count + 2
                if line.isEmpty { return true }
                // Trailers are validated like header fields, then discarded: nothing here
                // needs them and merging them into the headers invites confusion.
                _ = try RequestHead.parseFieldLine(buffer[line])
            }
        }
    }

    /// The range of the next line without its CRLF, consuming it; nil when no complete
    /// line is buffered. A line end must be CRLF; a bare CR or LF is refused. The line,
    /// CRLF included, must fit in `limit` bytes.
    private mutating func takeCRLFLine(limit: Int, tooLong: HTTPParseError) throws(HTTPParseError) -> Range<Int>? {
        let start = readIndex
        // Only the first `limit` bytes are looked at, so the verdict on a too-long line
        // (bare CR or LF beyond the limit, or none) does not depend on how many bytes
        // happened to arrive in one read.
        let scanEnd = min(buffer.count, start + limit)
        var i = start + lineScanOffset
        while i < scanEnd {
            let b = buffer[i]
            if b == ASCII.lf {
                guard i > start, buffer[i - 1] == ASCII.cr else { throw .badRequest("bare LF in chunked framing") }
                lineScanOffset = 0
                readIndex = i + 1
                return start..<(i - 1)
            }
            if b == ASCII.cr, i + 1 < scanEnd, buffer[i + 1] != ASCII.lf {
                throw .badRequest("bare CR in chunked framing")
            }
            i += 1
        }
        guard i - start < limit else { throw tooLong }
        // Re-check the last byte next time: it may be the CR of a CRLF.
        lineScanOffset = max(0, i - start - 1)
        return nil
    }

    /// `1*HEXDIG [ BWS ";" ... ]`; extensions are checked for control characters only,
    /// then ignored.
    static func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var i = line.startIndex
        while i < line.endIndex, let digit = ASCII.hexValue(line[i]) {
            let (shifted, overflow) = size.multipliedReportingOverflow(by: 16)
            guard !overflow else { throw .badRequest("chunk size overflows") }
            size = shifted | Int(digit)
            i += 1
        }
        guard i > line.startIndex else { throw .badRequest("invalid chunk size") }
        while i < line.endIndex, ASCII.isWhitespace(line[i]) { i += 1 }
        if i < line.endIndex {
            guard line[i] == ASCII.semicolon,
                  !line[i...].contains(where: ASCII.isForbiddenInFieldValue) else {
                throw .badRequest("invalid chunk size")
            }
        }
        return size
    }

    // MARK: Completion

    private mutating func finishPendingRequest() -> HTTPRequest {
        guard let head = pendingHead else {
            preconditionFailure("BUG DETECTED: body finished without a pending head")
        }
        let request = makeRequest(head, body: body)
        resetForNextRequest()
        return request
    }

    private mutating func makeRequest(_ head: RequestHead, body: [UInt8]) -> HTTPRequest {
        stage = .head
        return HTTPRequest(
            method: head.method, target: head.target,
            path: head.requestTarget.path, rawQuery: head.requestTarget.rawQuery,
            version: head.version, headers: head.headers, body: body,
            keepAlive: HTTPRequest.keepAlive(version: head.version, headers: head.headers))
    }

    private mutating func resetForNextRequest() {
        pendingHead = nil
        body = []
        headScanOffset = 0
        headLineStartOffset = 0
        requestLineEnded = false
        lineScanOffset = 0
        trailerBytes = 0
    }

    /// Drops consumed bytes: all of them when everything was consumed (cheap), otherwise
    /// only once they are the larger half of a sizeable buffer, so the copy is amortised.
    private mutating func compact() {
        if readIndex == buffer.count {
            if buffer.capacity > 256 * 1024 {
                buffer = []  // do not keep a large body's memory for an idle connection
            } else {
                buffer.removeAll(keepingCapacity: true)
            }
            readIndex = 0
        } else if readIndex >= 4096 && readIndex >= buffer.count / 2 {
            buffer.removeSubrange(..<readIndex)
            readIndex = 0
        }
    }
}
