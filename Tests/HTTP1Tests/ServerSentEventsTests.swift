import HTTP1
import Testing

/// The `text/event-stream` encoder: what a browser's `EventSource` parser would read back.
@Suite struct ServerSentEventsTests {
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func anEventHasItsIdNameAndDataThenABlankLine() {
        let bytes = ServerSentEvents.event(id: "42", name: "order.created", data: Array(#"{"seq":42}"#.utf8))
        #expect(text(bytes) == "id: 42\nevent: order.created\ndata: {\"seq\":42}\n\n")
    }

    @Test func withoutIdAndNameOnlyDataIsWritten() {
        #expect(text(ServerSentEvents.event(data: Array("hi".utf8))) == "data: hi\n\n")
    }

    @Test func multiLineDataBecomesOneDataLinePerLine() {
        let bytes = ServerSentEvents.event(name: "note", data: Array("one\ntwo\r\nthree\rfour".utf8))
        #expect(text(bytes) == "event: note\ndata: one\ndata: two\ndata: three\ndata: four\n\n")
    }

    @Test func emptyLinesInDataAreKept() {
        #expect(text(ServerSentEvents.event(data: Array("a\n\nb\n".utf8))) == "data: a\ndata: \ndata: b\ndata: \n\n")
        #expect(text(ServerSentEvents.event(data: [])) == "data: \n\n")
    }

    @Test func aLeadingSpaceInDataSurvivesTheParserDroppingOne() {
        #expect(text(ServerSentEvents.event(data: Array(" x".utf8))) == "data:  x\n\n")
    }

    @Test func lineBreaksCannotInjectFieldsThroughIdOrName() {
        let bytes = ServerSentEvents.event(id: "7\ndata: evil\0", name: "a\r\nretry: 1", data: Array("ok".utf8))
        #expect(text(bytes) == "id: 7data: evil\nevent: aretry: 1\ndata: ok\n\n")
        #expect(text(bytes).split(separator: "\n").count == 3)
    }

    @Test func commentsAreColonLinesThenABlankLine() {
        #expect(text(ServerSentEvents.comment("keepalive")) == ": keepalive\n\n")
        #expect(text(ServerSentEvents.comment("a\nb")) == ": a\n: b\n\n")
        #expect(text(ServerSentEvents.comment("")) == ":\n\n")
    }

    @Test func retryIsMilliseconds() {
        #expect(text(ServerSentEvents.retry(milliseconds: 2500)) == "retry: 2500\n\n")
        #expect(text(ServerSentEvents.retry(milliseconds: -1)) == "retry: 0\n\n")
    }

    @Test func aCloseDelimitedHeadHasNoLengthAndClosesTheConnection() {
        var headers = HTTPHeaders([("Content-Type", "text/event-stream")])
        headers.add("X-Evil", "a\r\nSet-Cookie: b")
        let head = HTTPResponse(status: .ok, headers: headers, body: Array("ignored".utf8)).serializeCloseDelimitedHead()
        #expect(text(head) == "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Evil: a  Set-Cookie: b\r\nConnection: close\r\n\r\n")
    }
}
