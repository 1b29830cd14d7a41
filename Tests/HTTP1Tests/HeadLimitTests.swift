import Testing
import HTTP1

@Suite struct HeadLimitTests {
    /// A request head of exactly `size` bytes, terminating CRLFCRLF included.
    func head(size: Int) -> String {
        let base = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n"
        return "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + String(repeating: "p", count: size - base.utf8.count) + "\r\n\r\n"
    }

    @Test func headAtTheLimitIsAccepted() {
        let limits = HTTPParserLimits(maxHeaderBytes: 200)
        let input = head(size: 200)
        #expect(input.utf8.count == 200)
        #expect(parse(input, limits: limits).requests.count == 1)
        #expect(parse(input, limits: limits, pieceSize: 1).requests.count == 1)
        // Bytes right behind a head at the limit (a body, the next request) do not count.
        let twice = parse(input + input, limits: limits)
        #expect(twice.requests.count == 2)
        #expect(twice.error == nil)
    }

    @Test func headOneByteOverTheLimitIs431() {
        let limits = HTTPParserLimits(maxHeaderBytes: 200)
        #expect(parse(head(size: 201), limits: limits).error?.status == .requestHeaderFieldsTooLarge)
        #expect(parse(head(size: 201), limits: limits, pieceSize: 1).error?.status == .requestHeaderFieldsTooLarge)
    }

    @Test func oversizedHeadIsDetectedBeforeItEnds() throws {
        var parser = HTTPRequestParser(limits: HTTPParserLimits(maxHeaderBytes: 100))
        let start = bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Big: ")
        parser.feed(start)
        #expect(try parser.next() == nil)
        parser.feed(Array(repeating: UInt8(ascii: "b"), count: 100 - start.count))
        #expect(try parser.next() == nil)  // exactly 100 buffered: not over the limit yet
        parser.feed([UInt8(ascii: "b")])
        #expect(throws: HTTPParseError(status: .requestHeaderFieldsTooLarge, message: "request head exceeds 100 bytes")) {
            try parser.next()
        }
    }

    @Test func defaultLimitIs16KiB() {
        let ok = head(size: 16 * 1024)
        #expect(parse(ok).requests.count == 1)
        #expect(parse(head(size: 16 * 1024 + 1)).error?.status.code == 431)
        #expect(HTTPParserLimits().maxHeaderBytes == 16384)
        #expect(HTTPParserLimits().maxBodyBytes == 1_048_576)
    }

    /// Documented choice: a request line that alone passes the limit is 414.
    @Test func overlongRequestLineIs414() {
        let limits = HTTPParserLimits(maxHeaderBytes: 100)
        let line = "GET /" + String(repeating: "a", count: 120)
        #expect(parse(line, limits: limits).error?.status == .uriTooLong)
        #expect(parse(line + " HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits).error?.status == .uriTooLong)
        #expect(parse(line, limits: limits, pieceSize: 3).error?.status == .uriTooLong)
    }

    @Test func leadingEmptyLinesDoNotCountTowardsTheLimit() {
        let limits = HTTPParserLimits(maxHeaderBytes: 200)
        let input = String(repeating: "\r\n", count: 150) + head(size: 200)
        #expect(parse(input, limits: limits).requests.count == 1)
        #expect(parse(input, limits: limits, pieceSize: 1).requests.count == 1)
    }

    @Test func largeHeadFedByteByByteIsParsed() {
        // Guards the resumable scan: re-scanning from the start on every byte would make
        // this 16 KiB head take ~130 M steps.
        let input = head(size: 16 * 1024)
        let outcome = parse(input, pieceSize: 1)
        #expect(outcome.requests.count == 1)
        #expect(outcome.requests.first?.headers.count == 2)
    }
}
