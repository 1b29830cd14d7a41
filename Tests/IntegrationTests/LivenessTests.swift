import Foundation
import Testing

/// WebSocket liveness (docs/PROTOCOL.md §3): the server pings idle connections every
/// `--ping-interval` and closes those that have not answered by the next ping.
///
/// Event-driven: the tests wait for frames (with a generous receive timeout), never for a
/// time to pass. With a 1 s interval a client that did not answer would be closed at the
/// second ping, so answering three pings and still being served proves the answers count.
@Suite(.sharedServer(["--ping-interval", "1"])) struct LivenessTests {
    /// Far longer than any interval in these tests: only a broken server runs into it.
    static let generousTimeoutMs = 15_000

    @Test func aClientThatAnswersPingsStaysConnected() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let s = try PushSession(port: server.port, token: tokens.token(sub: "alive", role: "user"))
        try s.subscribed("user:alive")
        s.client.setReceiveTimeout(milliseconds: Self.generousTimeoutMs)
        for ping in 1...3 {
            let frame = try #require(s.client.readFrame(), "no frame while waiting for ping \(ping)")
            try #require(frame.opcode == 9, "expected ping \(ping), got opcode \(frame.opcode)")
            s.client.send(TestClient.frame(opcode: 0xA, payload: frame.payload))
        }
        // Still open and serving after three ping intervals.
        try s.subscribed("user:alive")
    }

    @Test func aClientThatNeverAnswersIsClosedWith1001() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let client = try TestClient(port: server.port, timeoutSeconds: Self.generousTimeoutMs / 1000)
        #expect(client.upgrade("/ws?access_token=" + tokens.token(sub: "silent", role: "user"))?.status == 101)
        var pingsBeforeClose = 0
        var close: TestClient.Frame?
        while close == nil {
            let frame = try #require(client.readFrame(), "connection ended without a close frame")
            switch frame.opcode {
            case 9: pingsBeforeClose += 1
            case 8: close = frame
            default: Issue.record("unexpected frame \(frame.opcode)")
            }
        }
        // The close comes only after a ping went unanswered, and says "going away".
        #expect(pingsBeforeClose >= 1)
        #expect(close?.closeCode == 1001)
    }
}
