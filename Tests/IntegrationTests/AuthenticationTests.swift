import Foundation
import Testing

/// docs/PROTOCOL.md §1 on the real binary: every refused token on every authenticated HTTP route
/// and on the `/ws` handshake, the 60 s leeway, and tokens minted by `orderpush token`.
/// No test here creates anything, so the log stays empty throughout.
@Suite(.sharedServer()) struct AuthenticationTests {
    /// Every route that needs a token, with a body where it takes one.
    static let protectedRequests: [(method: String, path: String, body: String?)] = [
        ("POST", "/api/orders", OrderBody.simple(userId: "mallory")),
        ("PUT", "/api/orders/ord_0000000000000000/tracking", #"{"status":"shipped"}"#),
        ("GET", "/api/orders/ord_0000000000000000", nil),
        ("GET", "/api/orders?since=0", nil),
        ("GET", "/api/orders", nil),
        ("GET", "/api/orders/manage", nil),
    ]

    private func expectUnauthorized(_ r: TestClient.Response?, _ what: String,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
        guard let r else {
            Issue.record("\(what): no answer", sourceLocation: sourceLocation)
            return
        }
        #expect(r.status == 401, "\(what): \(r.status) \(r.text)", sourceLocation: sourceLocation)
        #expect(r.header("WWW-Authenticate")?.hasPrefix("Bearer") == true, "\(what)", sourceLocation: sourceLocation)
        #expect(r.errorCode == "unauthorized", "\(what): \(r.text)", sourceLocation: sourceLocation)
        #expect(r.header("Upgrade") == nil && r.header("Sec-WebSocket-Accept") == nil, "\(what)",
                sourceLocation: sourceLocation)
    }

    @Test func everyBadTokenIsRefusedOnEveryRouteAndNothingIsCreated() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let client = try TestClient(port: server.port)
        for bad in tokens.badTokens() {
            for (method, path, body) in Self.protectedRequests {
                expectUnauthorized(client.call(method, path, token: bad.token, json: body), "\(bad) on \(method) \(path)")
            }
        }
        let admin = tokens.token(sub: "auditor", role: "admin")
        let state = try client.poll(token: admin)
        #expect(state.cursor == 0)
        #expect(state.orders.isEmpty)
    }

    @Test func missingOrMisspeltAuthorizationIsRefused() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let valid = tokens.token(sub: "u-auth", role: "user")
        let client = try TestClient(port: server.port)
        let variants: [(String, [String: String])] = [
            ("no Authorization header", [:]),
            ("empty bearer", ["Authorization": "Bearer "]),
            ("Basic scheme", ["Authorization": "Basic dXNlcjpwYXNz"]),
            ("token without scheme", ["Authorization": valid]),
        ]
        for (name, headers) in variants {
            for (method, path, body) in Self.protectedRequests {
                expectUnauthorized(client.call(method, path, token: nil, json: body, headers: headers),
                                   "\(name) on \(method) \(path)")
            }
        }
        // The query parameter is for WebSocket handshakes only (browsers cannot set headers
        // there); HTTP API calls must not put tokens in URLs.
        expectUnauthorized(client.call("GET", "/api/orders/manage?access_token=" + valid, token: nil), "query token on HTTP")
    }

    @Test func everyBadTokenIsRefusedAtTheWebSocketHandshake() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        var cases = tokens.badTokens().map { ($0.description, $0.token) }
        cases.append(("empty", ""))
        for (name, token) in cases {
            let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-_."))) ?? token
            let viaQuery = try TestClient(port: server.port)
            expectUnauthorized(viaQuery.upgrade("/ws?access_token=" + encoded), "\(name) in access_token")
            let viaHeader = try TestClient(port: server.port)
            expectUnauthorized(viaHeader.upgrade("/ws", headers: ["Authorization": "Bearer " + token]), "\(name) in header")
        }
        let none = try TestClient(port: server.port)
        expectUnauthorized(none.upgrade("/ws"), "no token")
    }

    @Test func aRefusedHandshakeIsNotAWebSocket() throws {
        let server = try SharedServer.current()
        let client = try TestClient(port: server.port)
        expectUnauthorized(client.upgrade("/ws?access_token=nope"), "bad token")
        // Whatever follows is read as HTTP, never as WebSocket frames: a subscribe frame
        // gets no `subscribed` answer (the server answers 400 or closes).
        client.sendText(#"{"type":"subscribe","channel":"admin"}"#)
        client.setReceiveTimeout(milliseconds: 1500)
        let frame = client.readFrame()
        #expect(frame.map { $0.json?["type"] as? String } != .some("subscribed"))
    }

    @Test func tokensExpiredWithinTheLeewayAreAccepted() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let late = tokens.token(sub: "u-late", role: "user", expiresIn: -30)
        let client = try TestClient(port: server.port)
        #expect(client.call("GET", "/api/orders/manage", token: late)?.status == 200)
        let push = try PushSession(port: server.port, token: late)
        try push.subscribed("user:u-late")
    }

    @Test func bothWebSocketTokenPlacesAreAccepted() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let token = tokens.token(sub: "u-places", role: "user")
        let viaQuery = try PushSession(port: server.port, token: token)
        try viaQuery.subscribed("user:u-places")
        let viaHeader = try PushSession(port: server.port, token: token, viaHeader: true)
        try viaHeader.subscribed("user:u-places")
    }

    @Test func tokenCommandMintsTokensTheServerAccepts() throws {
        let server = try SharedServer.current()
        let db = server.dataDir.appendingPathComponent("orderpush.sqlite").path
        for role in ["admin", "user", "service"] {
            let (status, out, _) = try runOrderpush(["token", "--sub", "cli-\(role)", "--role", role, "--db", db])
            #expect(status == 0)
            let token = out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.split(separator: ".").count == 3)
            let client = try TestClient(port: server.port)
            #expect(client.call("GET", "/api/orders/manage", token: token)?.status == 200, "\(role)")
        }
        let (status, out, err) = try runOrderpush(["token", "--sub", "x", "--role", "root", "--db", db])
        #expect(status != 0)
        #expect(out.isEmpty)
        #expect(err.contains("role"))
    }

    /// Its own server: the test stops it to read the complete log.
    @Test func tokensNeverAppearInTheLog() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let valid = tokens.token(sub: "u-logged", role: "user")
        let forged = tokens.signed(payload: #"{"sub":"x","role":"admin","exp":\#(TokenFactory.now + 60)}"#, key: Array("k".utf8))
        let client = try TestClient(port: server.port)
        _ = client.call("GET", "/api/orders/manage", token: valid)
        _ = client.call("GET", "/api/orders/manage", token: forged)
        _ = try TestClient(port: server.port).upgrade("/ws?access_token=" + forged)
        let push = try PushSession(port: server.port, token: valid)
        try push.subscribed("user:u-logged")
        // Stop the server and wait for the last line it logs: then the log is complete.
        server.signal(SIGTERM)
        push.client.shutdownWrite()
        #expect(server.waitForExit(timeout: 20) == 0)
        try #require(server.waitForLog(containing: "stopped cleanly"), "the log never ended: \(server.stderrText)")
        let log = server.stderrText
        for token in [valid, forged] {
            let signature = String(token.split(separator: ".")[2])
            #expect(!log.contains(signature))
            #expect(!log.contains(String(token.split(separator: ".")[1])))
        }
    }
}

/// Runs the `orderpush` binary to completion; returns its status, stdout and stderr.
func runOrderpush(_ arguments: [String]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
