import Foundation
import Testing
import WebSocket

/// permessage-deflate (RFC 7692) against the real binary: negotiation, one compressed frame
/// shared by every deflate subscriber, plain frames for the others, the inflate bomb, the
/// echo endpoint, and `--no-deflate`.
@Suite struct DeflateTests {
    static let chromiumOffer = "permessage-deflate; client_max_window_bits"

    /// A `/ws` client that offered `extensions` (none when nil), subscribed to `channel`.
    private func subscriber(port: UInt16, token: String, extensions: String?, channel: String = "admin") throws
        -> (client: TestClient, extensionAnswer: String?) {
        let client = try TestClient(port: port, timeoutSeconds: 10)
        let headers = extensions.map { ["Sec-WebSocket-Extensions": $0] } ?? [:]
        guard let answer = client.upgrade("/ws?access_token=" + token, headers: headers), answer.status == 101 else {
            throw TestFailure("upgrade refused")
        }
        client.sendText(#"{"type":"subscribe","channel":"\#(channel)"}"#)
        guard let subscribed = client.readDataOrClose(), subscribed.text.contains("\"subscribed\"") else {
            throw TestFailure("no subscribed answer")
        }
        return (client, answer.header("Sec-WebSocket-Extensions"))
    }

    /// Inflates a server frame the way a client does (a reader fed the frame as a client would send it).
    private func inflated(_ frame: TestClient.Frame) -> [UInt8]? {
        var reader = WebSocketReader(maxMessageBytes: 1 << 24, inflation: InflateSettings())
        reader.feed(TestClient.frame(opcode: frame.opcode, payload: frame.payload, rsv: frame.compressed ? 4 : 0))
        if case .text(let bytes)? = reader.next() { return bytes }
        return nil
    }

    @Test func deflateSubscribersShareOneCompressedFrameAndOthersGetPlainOnes() throws {
        let server = try ServerProcess(arguments: ["--loops", "1"])
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let first = try subscriber(port: server.port, token: admin, extensions: Self.chromiumOffer)
        let second = try subscriber(port: server.port, token: admin,
                                    extensions: "permessage-deflate; client_no_context_takeover; client_max_window_bits=12")
        let plain = try subscriber(port: server.port, token: admin, extensions: nil)
        #expect(first.extensionAnswer == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        #expect(second.extensionAnswer == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=12")
        #expect(plain.extensionAnswer == nil)

        let note = String(repeating: "fragile, keep upright; ", count: 8)
        let order = try TestClient(port: server.port).createOrder(token: admin, body: OrderBody.simple(userId: "u1", note: note))
        let a = try #require(first.client.readDataOrClose())
        let b = try #require(second.client.readDataOrClose())
        let p = try #require(plain.client.readDataOrClose())
        #expect(a.compressed && b.compressed && !p.compressed)
        #expect(a.opcode == 1 && b.opcode == 1 && p.opcode == 1)
        #expect(a.payload == b.payload)   // the very same compressed bytes
        #expect(a.payload.count < p.payload.count)
        #expect(inflated(a) == p.payload)
        #expect(p.json?["seq"] as? Int == order.seq)
    }

    @Test func inflateBombIsClosedWith1009() throws {
        let server = try ServerProcess(arguments: ["--max-message-bytes", "65536"])
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let session = try subscriber(port: server.port, token: tokens.token(sub: "u1", role: "user"),
                                     extensions: Self.chromiumOffer, channel: "user:u1")
        // 16 MiB of spaces compress to ~16 KiB.
        let bomb = MessageDeflater().compress([UInt8](repeating: 0x20, count: 16 << 20))
        #expect(bomb.count < 32 * 1024)
        session.client.send(TestClient.frame(opcode: 1, payload: bomb, rsv: 4))
        let close = try #require(session.client.readDataOrClose())
        #expect(close.opcode == 8)
        #expect(close.closeCode == CloseCode.messageTooBig)
        #expect(session.client.waitForEOF())
    }

    @Test func compressedClientMessagesAreUnderstood() throws {
        let server = try ServerProcess(arguments: ["--loops", "1"])
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let client = try TestClient(port: server.port)
        let answer = try #require(client.upgrade("/ws?access_token=" + tokens.token(sub: "u7", role: "user"),
                                                 headers: ["Sec-WebSocket-Extensions": Self.chromiumOffer]))
        #expect(answer.status == 101)
        // A browser compresses what it sends too: the subscribe arrives as a compressed message.
        let subscribe = Array(#"{"type":"subscribe","channel":"user:u7"}"#.utf8)
        client.send(TestClient.frame(opcode: 1, payload: MessageDeflater().compress(subscribe), rsv: 4))
        let reply = try #require(client.readDataOrClose())
        let text = reply.compressed ? String(decoding: inflated(reply) ?? [], as: UTF8.self) : reply.text
        #expect(text.contains(#""type":"subscribed""#))
    }

    @Test func echoRepliesAreCompressedForDeflateClients() throws {
        let server = try ServerProcess(arguments: ["--echo"])
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        let answer = try #require(client.upgrade("/ws/echo", headers: ["Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=10"]))
        #expect(answer.header("Sec-WebSocket-Extensions") == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10")
        let message = Array(String(repeating: "echo me ", count: 64).utf8)
        client.send(TestClient.frame(opcode: 1, payload: MessageDeflater().compress(message), rsv: 4))
        let reply = try #require(client.readDataOrClose())
        #expect(reply.compressed)
        #expect(inflated(reply) == message)
        // Control frames are never compressed, and tiny messages go plain.
        client.send(TestClient.frame(opcode: 1, payload: Array("hi".utf8)))
        let tiny = try #require(client.readDataOrClose())
        #expect(!tiny.compressed && tiny.text == "hi")
    }

    @Test(arguments: [true, false])
    func noDeflateAnswersWithoutTheExtension(viaEnvironment: Bool) throws {
        let server = try ServerProcess(arguments: viaEnvironment ? ["--echo"] : ["--echo", "--no-deflate"],
                                       environment: viaEnvironment ? ["ORDERPUSH_NO_DEFLATE": "1"] : [:])
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        let answer = try #require(client.upgrade("/ws/echo", headers: ["Sec-WebSocket-Extensions": Self.chromiumOffer]))
        #expect(answer.status == 101)
        #expect(answer.header("Sec-WebSocket-Extensions") == nil)
        // RSV1 is then a protocol error.
        client.send(TestClient.frame(opcode: 1, payload: MessageDeflater().compress(Array("hello".utf8)), rsv: 4))
        let close = try #require(client.readDataOrClose())
        #expect(close.closeCode == CloseCode.protocolError)
    }
}
