import Foundation
import Testing

/// `--ws-message-rate`: a `/ws` client sending more data messages than the rate (bursts of
/// twice the rate) is closed with 1008; `/ws/echo` is exempt.
@Suite(.sharedServer(["--echo"])) struct MessageRateTests {
    @Test func aClientBlastingMessagesIsClosedWith1008() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let s = try PushSession(port: server.port, token: tokens.token(sub: "blaster", role: "user"))
        var blast: [UInt8] = []
        let subscribe = #"{"type":"subscribe","channel":"user:blaster"}"#
        for _ in 0..<300 { blast += TestClient.frame(opcode: 1, payload: Array(subscribe.utf8)) }
        s.client.send(blast)
        var answers = 0
        var closeCode: UInt16?
        while let frame = s.client.readDataOrClose() {
            if frame.opcode == 8 { closeCode = frame.closeCode; break }
            answers += 1
        }
        #expect(closeCode == 1008)
        // The default burst (100) was served before the close; the rest was not.
        #expect(answers >= 100 && answers < 300, "\(answers) answers")
    }

    @Test func aClientAtAModestRateIsNotClosed() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let s = try PushSession(port: server.port, token: tokens.token(sub: "modest", role: "user"))
        // 150 messages at ~20 per second (more than the burst of 100, under the rate of 50).
        for _ in 0..<150 {
            try s.subscribed("user:modest")
            usleep(50_000)
        }
        #expect(s.closeFrame == nil)
    }

    @Test func theEchoEndpointIsExempt() throws {
        let server = try SharedServer.current()
        let client = try TestClient(port: server.port)
        #expect(client.upgrade("/ws/echo")?.status == 101)
        var blast: [UInt8] = []
        for i in 0..<500 { blast += TestClient.frame(opcode: 1, payload: Array("m\(i)".utf8)) }
        client.send(blast)
        for i in 0..<500 {
            let frame = try #require(client.readDataOrClose())
            #expect(frame.opcode == 1 && frame.text == "m\(i)", "frame \(i): opcode \(frame.opcode)")
            if frame.opcode != 1 { return }
        }
    }
}

/// `--max-connections` counts the whole process (both loops here); past it a new
/// connection is answered 503 with Retry-After and closed.
@Suite(.sharedServer(["--max-connections", "5", "--loops", "2", "--header-timeout", "120"]))
struct ConnectionCapTests {
    @Test func theConnectionPastTheCapGets503UntilPlacesFreeUp() throws {
        let server = try SharedServer.current()
        var held: [TestClient] = []
        for _ in 0..<5 {
            let client = try TestClient(port: server.port)
            // An answer proves the server adopted (and counted) this connection.
            #expect(client.request("GET", "/healthz")?.status == 200)
            held.append(client)
        }
        let refused = try TestClient(port: server.port)
        let answer = try #require(refused.request("GET", "/healthz"))
        #expect(answer.status == 503)
        #expect(answer.header("Retry-After") != nil)
        #expect(answer.errorCode == "over_capacity")
        #expect(answer.header("Connection")?.lowercased() == "close")
        #expect(refused.waitForEOF())
        #expect(server.waitForLog(containing: "connection limit: 5 connections open"))

        held.removeLast(2)   // closes two connections
        // The server notices the closes on its next turn: retry until a request gets through.
        var status: Int?
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            status = try TestClient(port: server.port).request("GET", "/healthz")?.status
            if status == 200 { break }
            usleep(50_000)
        }
        #expect(status == 200)
        #expect(held.count == 3)
    }
}
