import Testing
@testable import HTTP1

@Suite struct RequestLineTests {
    @Test func parsesSimpleGet() throws {
        let r = try #require(parseOne("GET /healthz HTTP/1.1\r\nHost: example.com\r\n\r\n"))
        #expect(r.method == "GET")
        #expect(r.target == "/healthz")
        #expect(r.path == "/healthz")
        #expect(r.rawQuery == nil)
        #expect(r.version == .http11)
        #expect(r.headers["host"] == "example.com")
        #expect(r.body.isEmpty)
        #expect(r.keepAlive)
    }

    @Test func keepsMethodCaseAndAcceptsExtensionMethods() throws {
        #expect(parseOne("get / HTTP/1.1\r\nHost: a\r\n\r\n")?.method == "get")
        #expect(parseOne("M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n") == nil)  // * only for OPTIONS
        #expect(parseOne("PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n")?.method == "PURGE")
    }

    @Test(arguments: [
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",       // separator in method
        " / HTTP/1.1\r\nHost: a\r\n\r\n",          // empty method
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",      // double space
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",      // trailing space
        "GET /\r\nHost: a\r\n\r\n",                // HTTP/0.9 style
        "GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
        "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / http/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/11\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.10\r\nHost: a\r\n\r\n",
        "GET / FTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.x\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\rHost: a\r\n\r\n",        // bare CR
        "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",     // bare CR before the request line
    ])
    func malformedRequestLineIs400(_ input: String) {
        #expect(errorStatus(input) == 400)
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0", "HTTP/9.9"])
    func otherVersionsAre505(_ version: String) {
        #expect(errorStatus("GET / \(version)\r\nHost: a\r\n\r\n") == 505)
    }

    @Test func acceptsHTTP10WithoutHost() throws {
        let r = try #require(parseOne("GET / HTTP/1.0\r\n\r\n"))
        #expect(r.version == .http10)
        #expect(!r.keepAlive)
    }

    @Test func ignoresEmptyLinesBeforeTheRequestLine() throws {
        let r = try #require(parseOne("\r\n\r\n\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(r.path == "/a")
    }

    @Test func acceptsBareLFLineEnds() throws {
        let r = try #require(parseOne("GET /lf HTTP/1.1\nHost: a\nX-A: 1\n\n"))
        #expect(r.path == "/lf")
        #expect(r.headers["X-A"] == "1")
        let mixed = try #require(parseOne("GET /m HTTP/1.1\r\nHost: a\n\r\n"))
        #expect(mixed.path == "/m")
    }

    @Test func splitsPathAndQuery() throws {
        let r = try #require(parseOne("GET /api/orders?since=41&epoch=7f HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(r.path == "/api/orders")
        #expect(r.rawQuery == "since=41&epoch=7f")
        #expect(r.queryValue("since") == "41")
        #expect(r.queryValue("epoch") == "7f")
        #expect(r.queryValue("limit") == nil)
        let empty = try #require(parseOne("GET /x? HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(empty.rawQuery == "")
        #expect(empty.queryValue("x") == nil)
    }

    @Test func percentDecodesThePath() throws {
        #expect(parseOne("GET /a%20b/%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n")?.path == "/a b/é")
        #expect(parseOne("GET /%2e%2E/x HTTP/1.1\r\nHost: a\r\n\r\n")?.path == "/../x")
        // '+' is literal in a path.
        #expect(parseOne("GET /a+b HTTP/1.1\r\nHost: a\r\n\r\n")?.path == "/a+b")
        // The raw target stays as sent.
        #expect(parseOne("GET /a%20b?q=1 HTTP/1.1\r\nHost: a\r\n\r\n")?.target == "/a%20b?q=1")
    }

    @Test(arguments: [
        "/a%zz", "/a%2", "/a%", "/%G0",
        "/%FF",        // not UTF-8
        "/%C3",        // truncated UTF-8
        "/a%00b",      // NUL
    ])
    func invalidPercentEncodingIs400(_ path: String) {
        #expect(errorStatus("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
    }

    @Test func invalidEncodingInTheQueryIsNotAnError() throws {
        let r = try #require(parseOne("GET /p?a=%zz&b=%41 HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(r.queryValue("a") == "%zz")
        #expect(r.queryValue("b") == "A")
    }

    @Test func decodesQueryValues() throws {
        let r = try #require(parseOne(
            "GET /p?access_token=a.b-c_d&msg=hello+world%21&flag&e=&n%61me=%E2%82%AC&dup=1&dup=2&eq=a=b HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(r.queryValue("access_token") == "a.b-c_d")
        #expect(r.queryValue("msg") == "hello world!")
        #expect(r.queryValue("flag") == "")
        #expect(r.queryValue("e") == "")
        #expect(r.queryValue("name") == "€")
        #expect(r.queryValue("dup") == "1")
        #expect(r.queryValue("eq") == "a=b")
        #expect(r.queryValue("Msg") == nil)
    }

    @Test func asteriskFormOnlyForOptions() throws {
        let r = try #require(parseOne("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(r.path == "*")
        #expect(r.target == "*")
        #expect(errorStatus("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
    }

    @Test func absoluteFormUsesItsPath() throws {
        let r = try #require(parseOne("GET http://example.com:8080/api/x%20y?since=3 HTTP/1.1\r\nHost: example.com\r\n\r\n"))
        #expect(r.path == "/api/x y")
        #expect(r.rawQuery == "since=3")
        #expect(r.target == "http://example.com:8080/api/x%20y?since=3")
        #expect(parseOne("GET https://example.com HTTP/1.1\r\nHost: a\r\n\r\n")?.path == "/")
        let queryOnly = try #require(parseOne("GET http://example.com?a=1 HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(queryOnly.path == "/")
        #expect(queryOnly.queryValue("a") == "1")
    }

    @Test(arguments: [
        "example.com:443",       // authority-form (CONNECT) is not served
        "a/b",                   // relative
        "http:/x",               // no authority
        "http:///x",             // empty authority
        "1http://a/",            // scheme must start with a letter
        "/a#frag",               // fragments are never sent
        "/a\u{7F}",              // DEL
        "/caf\u{E9}",            // raw non-ASCII
    ])
    func otherTargetFormsAre400(_ target: String) {
        #expect(errorStatus("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
    }
}
