import Foundation
import Testing

/// RFC 6455 on the real binary's `/ws/echo`, over real sockets.
@Suite struct WebSocketEndpointTests {
    private func connectEcho(_ server: ServerProcess, timeout: Int = 5) throws -> TestClient {
        let client = try TestClient(port: server.port, timeoutSeconds: timeout)
        let r = try #require(client.upgrade("/ws/echo"))
        #expect(r.status == 101)
        #expect(r.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        return client
    }

    @Test func echoIsOffByDefault() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        #expect(client.upgrade("/ws/echo")?.status == 404)
    }

    @Test func echoesTextAndBinaryUpToTheLimit() throws {
        let limit = 256 * 1024
        let server = try ServerProcess(arguments: ["--echo", "--echo-max-message-bytes", "\(limit)"])
        let client = try connectEcho(server)
        client.sendText("héllo 🌍")
        let text = try #require(client.readFrame())
        #expect(text.opcode == 1 && text.text == "héllo 🌍")
        let binary = (0..<limit).map { UInt8(truncatingIfNeeded: $0 * 7) }
        client.send(TestClient.frame(opcode: 2, payload: binary))
        let echoed = try #require(client.readFrame())
        #expect(echoed.opcode == 2)
        #expect(echoed.payload == binary)
        // Fragmented text with a ping in the middle: the pong comes first, then the whole message.
        client.send(TestClient.frame(opcode: 1, payload: Array("frag".utf8), fin: false))
        client.send(TestClient.frame(opcode: 9, payload: Array("p".utf8)))
        client.send(TestClient.frame(opcode: 0, payload: Array("ment".utf8), fin: true))
        let pong = try #require(client.readFrame())
        #expect(pong.opcode == 10 && pong.text == "p")
        let joined = try #require(client.readFrame())
        #expect(joined.opcode == 1 && joined.text == "fragment")
        // One byte over the limit: 1009.
        client.send(TestClient.frame(opcode: 2, payload: [UInt8](repeating: 1, count: limit + 1)))
        let close = try #require(client.readFrame())
        #expect(close.opcode == 8 && close.closeCode == 1009)
    }

    @Test(arguments: [
        ("unmasked frame", TestClient.frame(opcode: 1, payload: Array("hi".utf8), mask: false), UInt16(1002)),
        ("reserved bit", TestClient.frame(opcode: 1, payload: Array("hi".utf8), rsv: 4), UInt16(1002)),
        ("reserved opcode", TestClient.frame(opcode: 3, payload: []), UInt16(1002)),
        ("continuation first", TestClient.frame(opcode: 0, payload: Array("x".utf8)), UInt16(1002)),
        ("fragmented ping", TestClient.frame(opcode: 9, payload: [], fin: false), UInt16(1002)),
        ("ping over 125", TestClient.frame(opcode: 9, payload: [UInt8](repeating: 0, count: 126)), UInt16(1002)),
        ("bad utf-8", TestClient.frame(opcode: 1, payload: [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80]), UInt16(1007)),
        ("close code 999", TestClient.frame(opcode: 8, payload: [0x03, 0xe7]), UInt16(1002)),
        ("close one byte", TestClient.frame(opcode: 8, payload: [0x03]), UInt16(1002)),
        ("close reason not utf-8", TestClient.frame(opcode: 8, payload: [0x03, 0xe8, 0xff]), UInt16(1007)),
    ])
    func protocolViolationsCloseWithTheirCode(_ name: String, _ bytes: [UInt8], _ code: UInt16) throws {
        let server = try ServerProcess(arguments: ["--echo"])
        let client = try connectEcho(server)
        client.send(bytes)
        let close = try #require(client.readFrame(), "\(name)")
        #expect(close.opcode == 8, "\(name)")
        #expect(close.closeCode == code, "\(name): got \(close.closeCode.map(String.init) ?? "none")")
        #expect(client.waitForEOF(), "\(name)")
    }

    @Test func badUTF8FailsFastBeforeTheMessageEnds() throws {
        let server = try ServerProcess(arguments: ["--echo"])
        let client = try connectEcho(server)
        // First fragment already invalid; the rest never comes.
        client.send(TestClient.frame(opcode: 1, payload: [0x61, 0xff], fin: false))
        let close = try #require(client.readFrame())
        #expect(close.closeCode == 1007)
    }

    @Test func closeHandshakeEchoesTheCodeAndClosesTCP() throws {
        let server = try ServerProcess(arguments: ["--echo"])
        let client = try connectEcho(server)
        client.send(TestClient.frame(opcode: 8, payload: [0x03, 0xe8] + Array("bye".utf8)))
        let close = try #require(client.readFrame())
        #expect(close.opcode == 8 && close.closeCode == 1000)
        #expect(client.waitForEOF())
    }

    @Test(arguments: [
        (["Sec-WebSocket-Version": "12"], 426),
        (["Sec-WebSocket-Key": "short"], 400),
        (["Sec-WebSocket-Key": ""], 400),
        (["Upgrade": "h2c"], 426),
        (["Connection": "keep-alive"], 400),
    ])
    func badHandshakesAreRefused(_ headers: [String: String], _ status: Int) throws {
        let server = try ServerProcess(arguments: ["--echo"])
        let client = try TestClient(port: server.port)
        let r = try #require(client.upgrade("/ws/echo", headers: headers))
        #expect(r.status == status)
        if status == 426, headers["Sec-WebSocket-Version"] != nil { #expect(r.header("Sec-WebSocket-Version") == "13") }
        #expect(r.errorCode != nil)
    }

    @Test func handshakeWithPOSTIs405() throws {
        let server = try ServerProcess(arguments: ["--echo"])
        let client = try TestClient(port: server.port)
        client.send("POST /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 0\r\n\r\n")
        #expect(client.readResponse()?.status == 405)
    }

    @Test func serverPingsAndClosesAClientThatNeverAnswers() throws {
        let server = try ServerProcess(arguments: ["--echo", "--ping-interval", "1"])
        let client = try connectEcho(server, timeout: 6)
        let ping = try #require(client.readFrame())
        #expect(ping.opcode == 9)
        // No pong: by the next interval the server gives up.
        let close = try #require(client.readFrame())
        #expect(close.opcode == 8 && close.closeCode == 1001)
    }

    @Test func answeredPingsKeepTheConnection() throws {
        let server = try ServerProcess(arguments: ["--echo", "--ping-interval", "1"])
        let client = try connectEcho(server, timeout: 6)
        for _ in 0..<3 {
            let ping = try #require(client.readFrame())
            #expect(ping.opcode == 9)
            client.send(TestClient.frame(opcode: 10, payload: ping.payload))
        }
        client.sendText("still here")
        var frame = try #require(client.readFrame())
        while frame.opcode == 9 { frame = try #require(client.readFrame()) }
        #expect(frame.text == "still here")
    }

    @Test func sigtermClosesWebSocketsWith1001AndExitsZero() throws {
        let server = try ServerProcess(arguments: ["--echo"])
        let a = try connectEcho(server)
        let b = try connectEcho(server)
        server.signal(SIGTERM)
        for client in [a, b] {
            let close = try #require(client.readDataOrClose())
            #expect(close.opcode == 8 && close.closeCode == 1001)
            client.send(TestClient.frame(opcode: 8, payload: [0x03, 0xe9]))
            #expect(client.waitForEOF())
        }
        #expect(server.waitForExit(timeout: 10) == 0)
    }

    @Test func sigintShutsDownLikeSigterm() throws {
        let server = try ServerProcess(arguments: ["--echo"])
        let client = try connectEcho(server)
        server.signal(SIGINT)
        let close = try #require(client.readDataOrClose())
        #expect(close.opcode == 8 && close.closeCode == 1001)
        client.send(TestClient.frame(opcode: 8, payload: [0x03, 0xe9]))
        #expect(client.waitForEOF())
        #expect(server.waitForExit(timeout: 10) == 0)
        // Stopped accepting: a new connection is refused.
        #expect(throws: (any Error).self) { _ = try TestClient(port: server.port) }
    }

    @Test func sigtermExitsZeroEvenWhenClientsNeverAnswerTheClose() throws {
        let server = try ServerProcess(arguments: ["--echo", "--shutdown-grace", "1"])
        let client = try connectEcho(server)
        server.signal(SIGTERM)
        #expect(client.readDataOrClose()?.closeCode == 1001)
        #expect(server.waitForExit(timeout: 10) == 0)
    }
}
