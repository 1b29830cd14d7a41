import HTTP1
import Testing
import WebSocket
@testable import OrderPushServer

/// permessage-deflate in the handshake and the connection's state machine: what the 101
/// answers, and a compressed message reaching the application inflated.
@Suite struct DeflateHandshakeTests {
    typealias Machine = ConnectionStateMachine

    static let offer = "permessage-deflate; client_max_window_bits"

    func request(extensions: [String]) throws -> HTTPRequest {
        var parser = HTTPRequestParser(limits: HTTPParserLimits())
        var text = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        for value in extensions { text += "Sec-WebSocket-Extensions: \(value)\r\n" }
        Array((text + "\r\n").utf8).withUnsafeBytes { parser.feed($0) }
        guard case .request(let request)? = try parser.next() else { throw HandshakeTestFailure("no request parsed") }
        return request
    }

    @Test func anOfferIsAnsweredWhenEnabled() throws {
        let accepted = try WebSocketUpgrade.validate(request(extensions: [Self.offer]), negotiateDeflate: true).get()
        #expect(accepted.deflate == DeflateParameters(serverWindowBits: 15, clientWindowBits: 15, clientNoContextTakeover: true))
        #expect(accepted.response.headers.values("Sec-WebSocket-Extensions")
                == ["permessage-deflate; server_no_context_takeover; client_no_context_takeover"])
    }

    @Test func noAnswerWhenDisabledOrNothingAcceptable() throws {
        let disabled = try WebSocketUpgrade.validate(request(extensions: [Self.offer]), negotiateDeflate: false).get()
        #expect(disabled.deflate == nil)
        #expect(disabled.response.headers.values("Sec-WebSocket-Extensions").isEmpty)
        let unacceptable = try WebSocketUpgrade.validate(request(extensions: ["permessage-deflate; x=1", "foo"]), negotiateDeflate: true).get()
        #expect(unacceptable.deflate == nil)
        #expect(unacceptable.response.headers.values("Sec-WebSocket-Extensions").isEmpty)
        let none = try WebSocketUpgrade.validate(request(extensions: []), negotiateDeflate: true).get()
        #expect(none.deflate == nil)
    }

    @Test func theMachineInflatesCompressedMessagesOnlyWhenNegotiated() throws {
        let hello: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]   // RFC 7692 §7.2.3.1
        var frame: [UInt8] = [0xC1, 0x80 | UInt8(hello.count), 0, 0, 0, 0]   // zero mask key
        frame += hello
        for deflate in [DeflateParameters(), nil] {
            var m = Machine(settings: Machine.Settings(), nowMs: 0)
            Array(("GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
                .withUnsafeBytes { m.received($0) }
            guard case .handleRequest = m.nextInput(nowMs: 0, queuedOutputBytes: 0, shuttingDown: false) else {
                throw HandshakeTestFailure("no request")
            }
            let session = WebSocketSession(endpoint: .echo, maxMessageBytes: 1 << 20, maxOutputBytes: 1 << 20, deflate: deflate)
            _ = m.requestHandled(.upgrade(HTTPResponse(status: HTTPStatus(code: 101, reason: "Switching Protocols")), session), nowMs: 0)
            #expect(m.webSocketStatus?.deflate == deflate)
            frame.withUnsafeBytes { m.received($0) }
            let action = m.nextInput(nowMs: 0, queuedOutputBytes: 0, shuttingDown: false)
            if deflate != nil {
                guard case .handleMessage(.text(let text)) = action else { throw HandshakeTestFailure("expected a message, got \(action)") }
                #expect(text == Array("Hello".utf8))
            } else {
                guard case .send(let close) = action else { throw HandshakeTestFailure("expected a close frame, got \(action)") }
                #expect(Array(close.prefix(4)) == [0x88, close[1], 0x03, 0xEA])   // close 1002
            }
        }
    }
}

private struct HandshakeTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
