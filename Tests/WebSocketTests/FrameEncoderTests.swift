import Testing
@testable import WebSocket

@Suite struct FrameEncoderTests {
    /// The header `frame` writes for a payload of `length` bytes (without building a
    /// 4 GiB payload to see it).
    private func header(opcode: WebSocketOpcode, length: Int, fin: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        FrameEncoder.appendHeader(to: &out, opcode: opcode, length: length, fin: fin)
        return out
    }

    @Test func unmaskedHelloFromRFC() {
        // RFC 6455 §5.7: a single-frame unmasked text message.
        #expect(FrameEncoder.frame(opcode: .text, payload: Array("Hello".utf8)) == [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
    }

    @Test func fragmentedHelloFromRFC() {
        #expect(FrameEncoder.frame(opcode: .text, payload: Array("Hel".utf8), fin: false) == [0x01, 0x03, 0x48, 0x65, 0x6C])
        #expect(FrameEncoder.frame(opcode: .continuation, payload: Array("lo".utf8)) == [0x80, 0x02, 0x6C, 0x6F])
    }

    @Test func unmaskedPingFromRFC() {
        #expect(FrameEncoder.frame(opcode: .ping, payload: Array("Hello".utf8)) == [0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
    }

    @Test func binary256And64KiBFromRFC() {
        let small = FrameEncoder.frame(opcode: .binary, payload: [UInt8](repeating: 0xAB, count: 256))
        #expect(Array(small.prefix(4)) == [0x82, 0x7E, 0x01, 0x00])
        #expect(small.count == 4 + 256)
        #expect(small.dropFirst(4).allSatisfy { $0 == 0xAB })

        let large = FrameEncoder.frame(opcode: .binary, payload: [UInt8](repeating: 7, count: 65536))
        #expect(Array(large.prefix(10)) == [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00])
        #expect(large.count == 10 + 65536)
    }

    @Test(arguments: [
        (0, [0x81, 0x00] as [UInt8]),
        (1, [0x81, 0x01]),
        (125, [0x81, 0x7D]),
        (126, [0x81, 0x7E, 0x00, 0x7E]),
        (127, [0x81, 0x7E, 0x00, 0x7F]),
        (65535, [0x81, 0x7E, 0xFF, 0xFF]),
        (65536, [0x81, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]),
        (16 << 20, [0x81, 0x7F, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x00]),
        (0x1_0000_0000, [0x81, 0x7F, 0, 0, 0, 0x01, 0, 0, 0, 0]),
    ])
    func headerLengthBoundaries(length: Int, expected: [UInt8]) {
        #expect(header(opcode: .text, length: length) == expected)
    }

    @Test func headerMatchesFrameAtBoundaries() {
        for length in [0, 125, 126, 65535, 65536] {
            let payload = [UInt8](repeating: 0x61, count: length)
            let frame = FrameEncoder.frame(opcode: .binary, payload: payload)
            let head = header(opcode: .binary, length: length)
            #expect(Array(frame.prefix(head.count)) == head)
            #expect(frame.count == head.count + length)
        }
    }

    @Test func finBitAndOpcodes() {
        #expect(header(opcode: .binary, length: 0, fin: false) == [0x02, 0x00])
        #expect(header(opcode: .continuation, length: 0, fin: false) == [0x00, 0x00])
        #expect(header(opcode: .continuation, length: 0) == [0x80, 0x00])
        #expect(header(opcode: .close, length: 0) == [0x88, 0x00])
        #expect(header(opcode: .ping, length: 0) == [0x89, 0x00])
        #expect(header(opcode: .pong, length: 3) == [0x8A, 0x03])
    }

    @Test func payloadFromAnyCollection() {
        let frame = FrameEncoder.frame(opcode: .text, payload: "héllo".utf8)
        #expect(frame == [0x81, 0x06] + Array("héllo".utf8))
        #expect(FrameEncoder.frame(opcode: .binary, payload: [1, 2, 3, 4][1...]) == [0x82, 0x03, 2, 3, 4])
    }

    @Test func closeFrames() {
        #expect(FrameEncoder.closeFrame(code: CloseCode.normal) == [0x88, 0x02, 0x03, 0xE8])
        #expect(FrameEncoder.closeFrame(code: CloseCode.messageTooBig) == [0x88, 0x02, 0x03, 0xF1])
        #expect(FrameEncoder.closeFrame(code: CloseCode.goingAway, reason: "bye") == [0x88, 0x05, 0x03, 0xE9, 0x62, 0x79, 0x65])
        #expect(FrameEncoder.closeFrame(code: 4999) == [0x88, 0x02, 0x13, 0x87])
    }

    @Test func closeReasonIsCutTo123BytesAtACodePointBoundary() {
        let ascii = String(repeating: "a", count: 200)
        let frame = FrameEncoder.closeFrame(code: 1000, reason: ascii)
        #expect(frame[1] == 125)
        #expect(frame.count == 2 + 125)

        // 61 two-byte characters = 122 bytes, then a 3-byte one that would cross 123.
        let mixed = String(repeating: "é", count: 61) + "€" + "tail"
        let cut = FrameEncoder.closeFrame(code: 1000, reason: mixed)
        #expect(cut[1] == 2 + 122)
        #expect(Array(cut[4...]) == Array(String(repeating: "é", count: 61).utf8))
        #expect(UTF8Validator.isValid(Array(cut[4...])))

        let exact = String(repeating: "b", count: 123)
        #expect(FrameEncoder.closeFrame(code: 1000, reason: exact).count == 2 + 125)
    }

    @Test func encodedFramesRoundTripThroughTheReader() {
        let messages: [(WebSocketOpcode, [UInt8])] = [
            (.text, Array("hello".utf8)),
            (.binary, [UInt8](repeating: 0xFF, count: 126)),
            (.text, Array(String(repeating: "ü", count: 40000).utf8)),
            (.binary, []),
        ]
        for (opcode, payload) in messages {
            let wire = ClientFrame.masked(serverFrame: FrameEncoder.frame(opcode: opcode, payload: payload))
            let expected: WebSocketInbound = opcode == .text ? .text(payload) : .binary(payload)
            #expect(readAll(wire) == [expected])
        }
        let close = ClientFrame.masked(serverFrame: FrameEncoder.closeFrame(code: 1001, reason: "away"))
        #expect(readAll(close) == [.close(code: 1001, reason: Array("away".utf8))])
    }
}
