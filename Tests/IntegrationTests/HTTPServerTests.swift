import Foundation
import Testing

/// The HTTP/1.1 side of the real binary, over real sockets.
@Suite struct HTTPServerTests {
    @Test func healthzAnswersOK() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        let r = try #require(client.request("GET", "/healthz"))
        #expect(r.status == 200)
        #expect(r.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(r.json?["status"] as? String == "ok")
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        let missing = try #require(client.request("GET", "/api/nothing-here"))
        #expect(missing.status == 404)
        #expect(missing.errorCode == "not_found")
        let wrong = try #require(client.request("DELETE", "/healthz"))
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow")?.contains("GET") == true)
        #expect(wrong.errorCode == "method_not_allowed")
    }

    @Test func staticPagesHaveContentTypesAndNoTraversal() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        let index = try #require(client.request("GET", "/"))
        #expect(index.status == 200)
        #expect(index.header("Content-Type") == "text/html; charset=utf-8")
        for path in ["/../Package.swift", "/%2e%2e/Package.swift", "/..%2fPackage.swift", "/.git/config", "/%00"] {
            let r = try #require(client.request("GET", path), "\(path)")
            #expect(r.status == 404 || r.status == 400, "\(path) gave \(r.status)")
            #expect(!r.text.contains("PackageDescription"))
        }
    }

    @Test func keepAliveServesPipelinedRequestsInOrder() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        client.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(client.readResponse()?.status == 200)
        #expect(client.readResponse()?.status == 404)
        let head = try #require(client.readResponse(headRequest: true))
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        // Still open for a fourth request on the same connection.
        #expect(client.request("GET", "/healthz")?.status == 200)
    }

    @Test func http10KeepAliveIsAnsweredWithKeepAliveThenClosedWithout() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        client.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let first = try #require(client.readResponse())
        #expect(first.status == 200)
        #expect(first.header("Connection")?.lowercased() == "keep-alive")
        client.send("GET /healthz HTTP/1.0\r\n\r\n")
        let second = try #require(client.readResponse())
        #expect(second.status == 200)
        #expect(client.waitForEOF())
    }

    @Test func oversizedHeadersGet431() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        let big = String(repeating: "a", count: 17 * 1024)
        let r = try #require(client.request("GET", "/healthz", headers: ["X-Big": big]))
        #expect(r.status == 431)
        #expect(client.waitForEOF())
    }

    @Test func oversizedBodyGets413BeforeItIsSent() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        client.send("POST /api/orders HTTP/1.1\r\nHost: a\r\nContent-Length: \(1024 * 1024 + 1)\r\n\r\n")
        let r = try #require(client.readResponse())
        #expect(r.status == 413)
        #expect(r.json?["error"] != nil)
    }

    @Test(arguments: [
        "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
        "GET /healthz HTTP/1.1\r\nHost: a\r\n folded: header\r\n\r\n",
        "GET /healthz HTTP/1.1\r\n\r\n",
    ])
    func ambiguousFramingIsRefusedWith400(request: String) throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        client.send(request)
        let r = try #require(client.readResponse())
        #expect(r.status == 400)
        #expect(r.errorCode != nil)
        #expect(client.waitForEOF())
    }

    @Test func chunkedBodyIsAccepted() throws {
        let server = try ServerProcess(arguments: ["--bench"])
        let client = try TestClient(port: server.port)
        client.send("POST /publish HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(client.readResponse()?.status == 202)
    }

    @Test func headerDeadlineAnswers408AndCloses() throws {
        let server = try ServerProcess(arguments: ["--header-timeout", "1"])
        let client = try TestClient(port: server.port, timeoutSeconds: 5)
        let start = Date()
        client.send("GET /healthz HTTP/1.1\r\nHost: a\r\n")   // headers never finish
        let r = try #require(client.readResponse())
        #expect(r.status == 408)
        #expect(client.waitForEOF())
        #expect(Date().timeIntervalSince(start) < 4)
    }

    @Test func idleKeepAliveConnectionIsClosedAfterTheDeadline() throws {
        let server = try ServerProcess(arguments: ["--header-timeout", "1"])
        let client = try TestClient(port: server.port, timeoutSeconds: 5)
        #expect(client.request("GET", "/healthz")?.status == 200)
        #expect(client.waitForEOF())
    }

    @Test func badEnvironmentValueIsAClearError() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
        p.arguments = ["serve", "--port", "0"]
        p.environment = ["ORDERPUSH_PING_INTERVAL": "soon"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        #expect(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("PING_INTERVAL"))
    }
}
