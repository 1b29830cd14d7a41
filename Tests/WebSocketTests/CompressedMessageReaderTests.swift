import Testing
import WebSocket

/// Compressed client messages (RFC 7692 §6, §7.2): the RFC's own examples, fragmentation,
/// context takeover on and off, the inflated-size limit and the RSV1 rules.
@Suite struct CompressedMessageReaderTests {
    /// "Hello" compressed (RFC 7692 §7.2.3.1), sync-flush tail stripped.
    static let helloDeflated: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
    /// The second "Hello" of a compressor that kept its context (§7.2.3.2).
    static let helloAgainWithContext: [UInt8] = [0xF2, 0x00, 0x11, 0x00, 0x00]

    private static func compressed(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        ClientFrame.make(opcode: opcode.rawValue, payload: payload, fin: fin, rsv: 0b100)
    }

    /// Read with permessage-deflate negotiated unless `inflation` says otherwise.
    private func read(_ bytes: [UInt8], inflation: InflateSettings? = InflateSettings(), maxMessageBytes: Int = 1 << 20,
                      chunk: Int? = nil) -> (items: [WebSocketInbound], reader: WebSocketReader) {
        readWithReader(bytes, inflation: inflation, maxMessageBytes: maxMessageBytes, chunk: chunk)
    }

    @Test func rfcHelloInOneFrame() {
        #expect(read(Self.compressed(.text, Self.helloDeflated)).items == [.text(Array("Hello".utf8))])
    }

    @Test func rfcHelloFragmentedWithRSV1OnlyOnTheFirstFrame() {
        let wire = Self.compressed(.text, Array(Self.helloDeflated[..<3]), fin: false)
            + ClientFrame.make(opcode: 0, payload: Array(Self.helloDeflated[3...]))
        for chunk in [nil, 1, 5] as [Int?] {
            #expect(read(wire, chunk: chunk).items == [.text(Array("Hello".utf8))])
        }
    }

    @Test func controlFrameBetweenCompressedFragments() {
        let wire = Self.compressed(.binary, Array(Self.helloDeflated[..<2]), fin: false)
            + ClientFrame.make(.ping, "p")
            + ClientFrame.make(opcode: 0, payload: Array(Self.helloDeflated[2...]))
        #expect(read(wire).items == [.ping(Array("p".utf8)), .binary(Array("Hello".utf8))])
    }

    @Test func rfcStoredBlockAndBFINALBlock() {
        // §7.2.3.3: a non-compressed block; §7.2.3.4: a block with BFINAL set.
        let stored: [UInt8] = [0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00]
        let final: [UInt8] = [0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00]
        let wire = Self.compressed(.text, stored) + Self.compressed(.text, final) + Self.compressed(.text, Self.helloDeflated)
        #expect(read(wire).items == Array(repeating: .text(Array("Hello".utf8)), count: 3))
    }

    @Test func contextTakeoverKeepsTheWindowAcrossMessages() {
        let wire = Self.compressed(.text, Self.helloDeflated) + Self.compressed(.text, Self.helloAgainWithContext)
        let (items, reader) = read(wire)
        #expect(items == [.text(Array("Hello".utf8)), .text(Array("Hello".utf8))])
        #expect(reader.holdsInflater)
    }

    @Test func withoutContextTakeoverEachMessageStandsAloneAndTheInflaterIsFreed() {
        let settings = InflateSettings(windowBits: 15, noContextTakeover: true)
        let (items, reader) = read(Self.compressed(.text, Self.helloDeflated) + Self.compressed(.text, Self.helloDeflated), inflation: settings)
        #expect(items == [.text(Array("Hello".utf8)), .text(Array("Hello".utf8))])
        #expect(!reader.holdsInflater)
        // A back-reference into the previous message cannot be resolved without its window.
        let broken = read(Self.compressed(.text, Self.helloDeflated) + Self.compressed(.text, Self.helloAgainWithContext), inflation: settings)
        #expect(broken.items.first == .text(Array("Hello".utf8)))
        #expect(broken.items.last == .violation(code: CloseCode.invalidPayload, reason: "compressed message is not valid deflate data"))
    }

    @Test func noInflaterUntilACompressedMessageArrives() {
        let (items, reader) = read(ClientFrame.make(.text, "plain") + ClientFrame.make(.ping, "x"))
        #expect(items == [.text(Array("plain".utf8)), .ping(Array("x".utf8))])
        #expect(!reader.holdsInflater)
    }

    @Test func uncompressedMessagesStillWorkWhenNegotiated() {
        let wire = ClientFrame.make(.text, "a") + Self.compressed(.text, Self.helloDeflated) + ClientFrame.make(.binary, [1, 2])
        #expect(read(wire).items == [.text(Array("a".utf8)), .text(Array("Hello".utf8)), .binary([1, 2])])
    }

    @Test func serverCompressorOutputRoundTrips() {
        let text = Array(String(repeating: "{\"type\":\"event\",\"seq\":42,\"status\":\"shipped\"} ", count: 500).utf8)
        let deflated = MessageDeflater().compress(text)
        #expect(deflated.count < text.count / 10)
        // In 1000-byte fragments, fed 333 bytes at a time.
        var wire: [UInt8] = []
        var start = 0
        while start < deflated.count {
            let end = min(start + 1000, deflated.count)
            let piece = Array(deflated[start..<end])
            wire += start == 0 ? Self.compressed(.text, piece, fin: end == deflated.count)
                               : ClientFrame.make(opcode: 0, payload: piece, fin: end == deflated.count)
            start = end
        }
        #expect(read(wire, chunk: 333).items == [.text(text)])
    }

    @Test func inflateBombIsClosedWith1009WithoutGrowingPastTheLimit() {
        let bomb = MessageDeflater().compress([UInt8](repeating: 0x61, count: 8 << 20))
        #expect(bomb.count < 16 * 1024)
        let limit = 64 * 1024
        var reader = WebSocketReader(maxMessageBytes: limit, inflation: InflateSettings())
        var items: [WebSocketInbound] = []
        var peak = 0
        let wire = Self.compressed(.text, bomb)
        var start = 0
        while start < wire.count {
            let end = min(start + 512, wire.count)
            reader.feed(Array(wire[start..<end]))
            peak = max(peak, reader.bufferedByteCount)
            while let item = reader.next() { items.append(item) }
            peak = max(peak, reader.bufferedByteCount)
            start = end
        }
        #expect(items == [.violation(code: CloseCode.messageTooBig, reason: "message over \(limit) bytes once inflated")])
        #expect(peak <= limit + 1024)
        #expect(reader.isStopped && !reader.holdsInflater)
    }

    /// Found by the `websocket` fuzz target: a compressed text message that is both invalid
    /// UTF-8 and over the limit got 1009 when it arrived whole and 1007 in pieces (the check
    /// of the size came before the check of the bytes within it). Now the first bad byte
    /// decides, however the message is split.
    @Test func tooBigAndInvalidTextGetsTheErrorOfItsFirstBadByteHoweverSplit() {
        let limit = 64
        var invalidEarly = [UInt8](repeating: 0x61, count: 4 * limit)
        invalidEarly[10] = 0xFF
        var invalidLate = [UInt8](repeating: 0x61, count: 4 * limit)
        invalidLate[limit + 10] = 0xFF
        let cases: [([UInt8], WebSocketInbound)] = [
            (invalidEarly, .violation(code: CloseCode.invalidPayload, reason: "text is not valid UTF-8")),
            (invalidLate, .violation(code: CloseCode.messageTooBig, reason: "message over \(limit) bytes once inflated")),
        ]
        for (text, expected) in cases {
            let wire = Self.compressed(.text, MessageDeflater().compress(text))
            for chunk in [nil, 1, 3, 7] as [Int?] {
                #expect(read(wire, maxMessageBytes: limit, chunk: chunk).items == [expected], "chunk \(String(describing: chunk))")
            }
        }
    }

    @Test func inflatedTextIsCheckedForUTF8() {
        let invalid = MessageDeflater().compress([0x48, 0xC3, 0x28, 0x48])
        #expect(read(Self.compressed(.text, invalid)).items == [.violation(code: CloseCode.invalidPayload, reason: "text is not valid UTF-8")])
        let truncated = MessageDeflater().compress([0x48, 0xE2, 0x82])
        #expect(read(Self.compressed(.text, truncated)).items == [.violation(code: CloseCode.invalidPayload, reason: "text is not valid UTF-8")])
        let binary = MessageDeflater().compress([0xC3, 0x28])
        #expect(read(Self.compressed(.binary, binary)).items == [.binary([0xC3, 0x28])])
    }

    @Test func garbageIsNotDeflateData() {
        #expect(read(Self.compressed(.binary, [0xFF, 0xFF, 0xFF, 0xFF])).items
                == [.violation(code: CloseCode.invalidPayload, reason: "compressed message is not valid deflate data")])
    }

    @Test func rsv1WithoutNegotiationIsAProtocolError() {
        #expect(read(Self.compressed(.text, Self.helloDeflated), inflation: nil).items
                == [.violation(code: CloseCode.protocolError, reason: "reserved bits set without an extension")])
    }

    @Test func rsv1OnControlOrContinuationFramesIsAProtocolError() {
        let expected: [WebSocketInbound] = [.violation(code: CloseCode.protocolError, reason: "RSV1 set on a control or continuation frame")]
        #expect(read(Self.compressed(.ping, [1])).items == expected)
        let continuation = Self.compressed(.text, Array(Self.helloDeflated[..<3]), fin: false)
            + Self.compressed(.continuation, Array(Self.helloDeflated[3...]))
        #expect(read(continuation).items == expected)
        let plainThenRSV1 = ClientFrame.make(.text, "a", fin: false) + Self.compressed(.continuation, [0x00])
        #expect(read(plainThenRSV1).items == expected)
    }

    @Test func rsv2AndRsv3StayProtocolErrors() {
        for rsv: UInt8 in [0b010, 0b001, 0b110] {
            #expect(read(ClientFrame.make(opcode: 1, payload: [0x61], rsv: rsv)).items
                    == [.violation(code: CloseCode.protocolError, reason: "reserved bits set without an extension")])
        }
    }
}

@Suite struct MessageCompressorTests {
    @Test func compressedFramesSetRSV1AndInflateBack() throws {
        let payload = Array(String(repeating: "order shipped ", count: 20).utf8)
        let frame = try #require(MessageCompressor().compressedFrame(opcode: .text, payload: payload, windowBits: 15))
        #expect(frame[0] == 0xC1)   // FIN + RSV1 + text
        // A reader without the extension refuses RSV1.
        #expect(readAll(ClientFrame.masked(serverFrame: frame))
                == [.violation(code: CloseCode.protocolError, reason: "reserved bits set without an extension")])
        var reader = WebSocketReader(maxMessageBytes: 1 << 20, inflation: InflateSettings())
        reader.feed(ClientFrame.masked(serverFrame: frame))
        #expect(reader.next() == .text(payload))
    }

    @Test func everyMessageStartsFromAFreshStateSoFramesAreIdentical() throws {
        let compressor = MessageCompressor()
        let payload = Array(String(repeating: "status=delivered;", count: 10).utf8)
        let first = try #require(compressor.compressedFrame(opcode: .text, payload: payload, windowBits: 15))
        _ = compressor.compressedFrame(opcode: .text, payload: Array(payload.reversed()), windowBits: 15)
        #expect(compressor.compressedFrame(opcode: .text, payload: payload, windowBits: 15) == first)
        let small = try #require(compressor.compressedFrame(opcode: .text, payload: payload, windowBits: 9))
        var reader = WebSocketReader(maxMessageBytes: 1 << 20, inflation: InflateSettings())
        reader.feed(ClientFrame.masked(serverFrame: small))
        #expect(reader.next() == .text(payload))
    }

    @Test func tinyOrIncompressibleMessagesStayPlain() {
        let compressor = MessageCompressor()
        #expect(compressor.compressedFrame(opcode: .text, payload: Array("{\"type\":\"ack\"}".utf8), windowBits: 15) == nil)
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(compressor.compressedFrame(opcode: .binary, payload: noise, windowBits: 15) == nil)
    }
}
