import Testing
import HTTP1

/// Inputs that exercise every parser state; each must give the same result however it is cut.
let feedingCorpus: [String] = [
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\r\n\r\nGET /x?y=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "GET /lf HTTP/1.1\nHost: a\n\n",
    "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\nhello, world",
    "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n",
    "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    // Pipelined: CL, chunked, plain, with a stray CRLF between requests.
    "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi" +
        "POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nyo\r\n0\r\n\r\n\r\n" +
        "GET /3 HTTP/1.0\r\n\r\n",
    // Errors must be found at the same point too.
    "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
    "GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGET /bad HTTP/1.1\r\n\r\n",
]

@Suite struct FeedingTests {
    @Test(arguments: feedingCorpus)
    func byteAtATimeEqualsAllAtOnce(_ input: String) {
        let whole = parse(input)
        #expect(!whole.events.isEmpty || whole.error != nil)
        #expect(parse(input, pieceSize: 1) == whole)
        #expect(parse(input, pieceSize: 2) == whole)
        #expect(parse(input, pieceSize: 5) == whole)
    }

    @Test func corpusResultsAreWhatTheyShouldBe() {
        #expect(parse(feedingCorpus[6]).requests.map(\.path) == ["/1", "/2", "/3"])
        #expect(parse(feedingCorpus[7]).error?.status.code == 400)
        #expect(parse(feedingCorpus[8]).error?.status.code == 505)
        #expect(parse(feedingCorpus[9]).error?.status.code == 400)
        let partial = parse(feedingCorpus[10])
        #expect(partial.requests.map(\.path) == ["/ok"])
        #expect(partial.error?.status.code == 400)
    }

    @Test func acceptsUnsafeRawBufferPointers() throws {
        var parser = HTTPRequestParser()
        let input = bytes("GET /raw HTTP/1.1\r\nHost: a\r\n\r\n")
        input.withUnsafeBytes { parser.feed($0) }
        guard case .request(let r)? = try parser.next() else { Issue.record("no request"); return }
        #expect(r.path == "/raw")
    }

    @Test func compactsWithoutLosingBytes() throws {
        // Many pipelined requests fed in uneven pieces push the read index past the
        // compaction threshold repeatedly.
        var input: [UInt8] = []
        for i in 0..<300 {
            input += bytes("POST /\(i) HTTP/1.1\r\nHost: a\r\nContent-Length: \(String(i).utf8.count)\r\n\r\n\(i)")
        }
        let outcome = parse(input, pieceSize: 1000)
        #expect(outcome.error == nil)
        #expect(outcome.requests.map(\.path) == (0..<300).map { "/\($0)" })
        #expect(outcome.requests.map { String(decoding: $0.body, as: UTF8.self) } == (0..<300).map { "\($0)" })
    }
}

@Suite struct PipeliningTests {
    @Test func threeRequestsInOneFeed() throws {
        var parser = HTTPRequestParser()
        parser.feed(bytes(
            "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
            "PUT /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n2\r\nyz\r\n0\r\n\r\n" +
            "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))
        var requests: [HTTPRequest] = []
        while let event = try parser.next() {
            guard case .request(let r) = event else { Issue.record("unexpected event"); continue }
            requests.append(r)
        }
        #expect(requests.map(\.method) == ["POST", "PUT", "GET"])
        #expect(requests.map(\.path) == ["/a", "/b", "/c"])
        #expect(requests.map(\.body) == [bytes("abc"), bytes("xyz"), []])
        #expect(requests.map(\.keepAlive) == [true, true, false])
        #expect(parser.isIdle)
    }

    @Test func returnsOneRequestPerCall() throws {
        var parser = HTTPRequestParser()
        parser.feed(bytes("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHo"))
        guard case .request(let r1)? = try parser.next() else { Issue.record("no request"); return }
        #expect(r1.path == "/1")
        #expect(!parser.isIdle)
        guard case .request(let r2)? = try parser.next() else { Issue.record("no request"); return }
        #expect(r2.path == "/2")
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle)
        parser.feed(bytes("st: h\r\n\r\n"))
        guard case .request(let r3)? = try parser.next() else { Issue.record("no request"); return }
        #expect(r3.path == "/3")
        #expect(parser.isIdle)
    }

    @Test func isIdleTracksPartialRequests() throws {
        var parser = HTTPRequestParser()
        #expect(parser.isIdle)
        parser.feed(bytes("G"))
        #expect(!parser.isIdle)
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle)
        parser.feed(bytes("ET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n"))
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle)  // waiting for the body
        parser.feed(bytes("x\r\n"))
        #expect(try parser.next() != nil)
        #expect(!parser.isIdle)  // a stray CRLF is buffered...
        #expect(try parser.next() == nil)
        #expect(parser.isIdle)   // ...and skipped as an empty line before the next request
    }

    @Test func takeBufferedBytesAfterAnUpgradeRequest() throws {
        var parser = HTTPRequestParser()
        let frame: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        parser.feed(bytes("GET /ws?access_token=t HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n") + frame)
        guard case .request(let r)? = try parser.next() else { Issue.record("no request"); return }
        #expect(r.headers.containsToken("upgrade", in: "Connection"))
        #expect(r.headers["upgrade"] == "websocket")
        #expect(r.queryValue("access_token") == "t")
        #expect(parser.takeBufferedBytes() == frame)
        #expect(parser.takeBufferedBytes() == [])
        #expect(parser.isIdle)
    }

    @Test func takeBufferedBytesWhenNothingFollows() throws {
        var parser = HTTPRequestParser()
        parser.feed(bytes("GET /ws HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(try parser.next() != nil)
        #expect(parser.takeBufferedBytes() == [])
    }
}

@Suite struct ExpectContinueTests {
    @Test func announcedOnceBeforeTheBody() throws {
        var parser = HTTPRequestParser()
        parser.feed(bytes("POST /o HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n"))
        #expect(try parser.next()?.isExpectContinue == true)
        #expect(try parser.next() == nil)
        #expect(try parser.next() == nil)
        parser.feed(bytes("body"))
        guard case .request(let r)? = try parser.next() else { Issue.record("no request"); return }
        #expect(r.body == bytes("body"))
        #expect(try parser.next() == nil)
    }

    @Test func announcedForChunkedBodies() {
        let events = parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n").events
        #expect(events.count == 2)
        #expect(events.first == .expectContinue)
    }

    @Test func notAnnouncedWithoutABodyOrForHTTP10() {
        let noBody = parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n").events
        #expect(noBody.count == 1)
        #expect(noBody.first != .expectContinue)
        let get = parse("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n").events
        #expect(get.count == 1)
        let http10 = parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx").events
        #expect(http10.count == 1)
        #expect(http10.first != .expectContinue)
        let other = parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx").events
        #expect(other.count == 1)
    }

    @Test func oversizedBodyIsRefusedInsteadOfContinued() {
        let outcome = parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n")
        #expect(outcome.events.isEmpty)
        #expect(outcome.error?.status == .contentTooLarge)
    }
}

@Suite struct KeepAliveTests {
    @Test(arguments: [
        ("HTTP/1.1", "", true),
        ("HTTP/1.1", "Connection: close\r\n", false),
        ("HTTP/1.1", "Connection: Keep-Alive, CLOSE\r\n", false),
        ("HTTP/1.1", "Connection: keep-alive\r\n", true),
        ("HTTP/1.1", "Connection: upgrade\r\nConnection: close\r\n", false),
        ("HTTP/1.0", "", false),
        ("HTTP/1.0", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "Connection: Keep-Alive\r\n", true),
        ("HTTP/1.0", "Connection: keep-alive, close\r\n", false),
        ("HTTP/1.0", "Connection: close\r\n", false),
    ])
    func keepAliveRules(_ version: String, _ fields: String, _ expected: Bool) throws {
        let r = try #require(parseOne("GET / \(version)\r\nHost: h\r\n\(fields)\r\n"))
        #expect(r.keepAlive == expected)
    }
}

@Suite struct FailedParserTests {
    @Test func rethrowsTheSameErrorAndIgnoresNewBytes() {
        var parser = HTTPRequestParser()
        parser.feed(bytes("GET / HTTP/9.0\r\nHost: h\r\n\r\n"))
        var first: HTTPParseError?
        do { _ = try parser.next() } catch { first = error }
        #expect(first?.status == .httpVersionNotSupported)
        #expect(!parser.isIdle)
        parser.feed(bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        var second: HTTPParseError?
        do { _ = try parser.next() } catch { second = error }
        #expect(second == first)
        #expect(parser.takeBufferedBytes() == [])
    }

    @Test func errorsCarryAClientSafeMessage() {
        let error = parse("GET / HTTP/1.1\r\n\r\n").error
        #expect(error?.status == .badRequest)
        #expect(error?.message == "missing Host header")
    }
}
