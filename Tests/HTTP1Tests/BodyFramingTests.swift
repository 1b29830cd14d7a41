import Testing
@testable import HTTP1

@Suite struct ContentLengthTests {
    @Test func readsAContentLengthBody() throws {
        let r = try #require(parseOne("POST /api/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"))
        #expect(r.body == bytes("hello world"))
        #expect(r.method == "POST")
    }

    @Test func zeroLengthAndNoFramingGiveAnEmptyBody() throws {
        #expect(parseOne("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")?.body == [])
        #expect(parseOne("POST / HTTP/1.1\r\nHost: a\r\n\r\n")?.body == [])
        #expect(parseOne("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n")?.body == [])
        #expect(parseOne("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n1234567")?.body == bytes("1234567"))
    }

    @Test func waitsForTheWholeBody() throws {
        var parser = HTTPRequestParser()
        parser.feed(bytes("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345"))
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle)
        parser.feed(bytes("6789"))
        #expect(try parser.next() == nil)
        parser.feed(bytes("0GET"))
        guard case .request(let r)? = try parser.next() else { Issue.record("no request"); return }
        #expect(r.body == bytes("1234567890"))
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle)  // "GET" of the next request is buffered
    }

    @Test(arguments: ["abc", "-1", "+5", "5 5", "0x10", "1.0", "5,5", "5, 5", "５"])
    func invalidContentLengthIs400(_ value: String) {
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(value)\r\n\r\n12345") == 400)
    }

    @Test func emptyContentLengthIs400() {
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n") == 400)
    }

    @Test func duplicateContentLengthIs400EvenWhenEqual() {
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n12345") == 400)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n123456") == 400)
    }

    @Test func contentLengthOverTheLimitIs413BeforeTheBodyArrives() {
        let limits = HTTPParserLimits(maxBodyBytes: 100)
        var parser = HTTPRequestParser(limits: limits)
        parser.feed(bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n"))
        #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", limits: limits).error?.status == .contentTooLarge)
        let atLimit = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + String(repeating: "x", count: 100)
        #expect(parse(atLimit, limits: limits).requests.first?.body.count == 100)
        // Larger than any Int: still a valid number, just too large.
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 413)
    }
}

@Suite struct TransferEncodingTests {
    @Test func decodesChunkedBodies() throws {
        let input = "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "5\r\nhello\r\n" +
            "1;name=value;flag\r\n \r\n" +          // extensions are ignored
            "A \t; ext=\"q\"\r\n0123456789\r\n" +  // BWS before ';', upper-case hex
            "0\r\n\r\n"
        let r = try #require(parseOne(input))
        #expect(r.body == bytes("hello 0123456789"))
        #expect(r.headers["transfer-encoding"] == "chunked")
    }

    @Test func acceptsChunkedInAnyCaseAndEmptyListElements() throws {
        #expect(parseOne("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n")?.body == [])
        #expect(parseOne("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,\r\n\r\n1\r\nx\r\n0\r\n\r\n")?.body == bytes("x"))
    }

    @Test func parsesAndDiscardsTrailers() throws {
        let r = try #require(parseOne("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "3\r\nabc\r\n0\r\nX-Checksum: 42\r\nX-Other: y\r\n\r\n"))
        #expect(r.body == bytes("abc"))
        #expect(r.headers["X-Checksum"] == nil)
    }

    @Test(arguments: [
        "zz\r\nab\r\n0\r\n\r\n",               // bad hex
        "\r\n",                                 // missing size
        "-1\r\nab\r\n0\r\n\r\n",
        "0x2\r\nab\r\n0\r\n\r\n",
        "2 x\r\nab\r\n0\r\n\r\n",               // junk after size
        "2;a\u{01}\r\nab\r\n0\r\n\r\n",         // control char in extension
        "10000000000000000\r\n",                // overflows 64 bits
        "FFFFFFFFFFFFFFFFFFFF\r\n",
        "2\r\nabc\r\n0\r\n\r\n",                // data longer than its size
        "2\r\nab0\r\n\r\n",                     // missing CRLF after data
        "2\r\nab\n0\r\n\r\n",                   // LF alone after data
        "2\nab\r\n0\r\n\r\n",                   // bare LF after size
        "2\rab\r\n0\r\n\r\n",                   // bare CR after size
        "0\r\nX-T: a\n\r\n",                    // bare LF in trailers
        "0\r\nBad Trailer: a\r\n\r\n",          // invalid trailer name
        "0\r\nNoColon\r\n\r\n",
        "0\r\n folded\r\n\r\n",
        "0\r\nX-T: a\u{01}\r\n\r\n",
    ])
    func malformedChunkedFramingIs400(_ chunked: String) {
        let input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
        #expect(errorStatus(input) == 400)
    }

    @Test func chunkedBodyOverTheLimitIs413AsSoonAsExceeded() {
        let limits = HTTPParserLimits(maxBodyBytes: 10)
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        // The second chunk's size line alone shows the total would be 11: no data needed.
        #expect(parse(head + "5\r\nhello\r\n6\r\n", limits: limits).error?.status == .contentTooLarge)
        #expect(parse(head + "FFFFFFFF\r\n", limits: limits).error?.status == .contentTooLarge)
        #expect(parse(head + "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", limits: limits).requests.first?.body == bytes("helloworld"))
    }

    @Test func oversizedTrailersAre431() {
        let limits = HTTPParserLimits(maxHeaderBytes: 100)
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        let trailers = String(repeating: "X-Trailer: 0123456789\r\n", count: 5) + "\r\n"
        #expect(parse(head + trailers, limits: limits).error?.status == .requestHeaderFieldsTooLarge)
        // Detected without waiting for the line end.
        #expect(parse(head + String(repeating: "x", count: 101), limits: limits).error?.status == .requestHeaderFieldsTooLarge)
        #expect(parse(head + "X-T: 1\r\n\r\n", limits: limits).requests.count == 1)
    }

    @Test func overlongChunkSizeLineIs400() {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let ext = String(repeating: "e", count: HTTPRequestParser.maxChunkLineBytes)
        #expect(parse(head + "1;" + ext).error?.status == .badRequest)
        #expect(parse(head + "1;" + ext, pieceSize: 7).error?.status == .badRequest)
    }

    @Test func bothContentLengthAndTransferEncodingIs400() {
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n") == 400)
    }

    @Test func transferEncodingInHTTP10Is400() {
        #expect(errorStatus("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400)
    }

    @Test(arguments: [
        ("gzip, chunked", 501),
        ("deflate, chunked", 501),
        ("identity, chunked", 501),
        ("chunked, gzip", 400),       // chunked not final
        ("gzip", 400),
        ("identity", 400),
        ("chunked, chunked", 400),
        ("", 400),
        (" , ", 400),
    ])
    func transferCodingRules(_ value: String, _ status: Int) {
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \(value)\r\n\r\n0\r\n\r\n") == status)
    }

    @Test func transferCodingsAcrossRepeatedFields() {
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 501)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n") == 400)
    }
}
