import Foundation
import Testing

/// WebSocket liveness (docs/PROTOCOL.md §3): the server pings idle connections every
/// `--ping-interval` and closes those that have not answered by the next ping.
@Suite(.sharedServer(["--ping-interval", "1"])) struct LivenessTests {
    @Test func aClientThatAnswersPingsStaysConnected() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let s = try PushSession(port: server.port, token: tokens.token(sub: "alive", role: "user"))
        try s.subscribed("user:alive")
        var pings = 0
        let until = Date().addingTimeInterval(3.5)
        s.client.setReceiveTimeout(milliseconds: 500)
        while Date() < until {
            guard let frame = s.client.readFrame() else { continue }
            #expect(frame.opcode == 9, "unexpected frame \(frame.opcode)")
            if frame.opcode == 9 {
                pings += 1
                s.client.send(TestClient.frame(opcode: 0xA, payload: frame.payload))
            }
        }
        #expect(pings >= 2)
        // Still open and serving.
        s.client.setReceiveTimeout(milliseconds: 5000)
        try s.subscribed("user:alive")
    }

    @Test func aClientThatNeverAnswersIsClosed() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let client = try TestClient(port: server.port, timeoutSeconds: 6)
        #expect(client.upgrade("/ws?access_token=" + tokens.token(sub: "silent", role: "user"))?.status == 101)
        let start = Date()
        var sawPing = false
        var closeCode: UInt16?
        var closedAt: Date?
        while closedAt == nil, Date().timeIntervalSince(start) < 6 {
            guard let frame = client.readFrame() else { closedAt = Date(); break }   // EOF
            if frame.opcode == 9 { sawPing = true }
            if frame.opcode == 8 { closeCode = frame.closeCode; closedAt = Date() }
        }
        #expect(sawPing)
        let after = try #require(closedAt).timeIntervalSince(start)
        // A ping at ~1 s, unanswered at the next one (~2 s): closed then, not much later.
        #expect(after < 3.5, "closed after \(after) s")
        #expect(after > 1.5, "closed after \(after) s, before a ping could have been answered")
        if let closeCode { #expect(closeCode == 1001 || closeCode == 1002 || closeCode == 1008 || closeCode == 1011, "\(closeCode)") }
    }
}
