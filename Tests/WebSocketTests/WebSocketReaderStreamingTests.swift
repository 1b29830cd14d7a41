import Testing
import WebSocket

/// How the reader behaves as bytes trickle in: chunking must not change results, and
/// invalid text must fail before the message (or even the frame) is complete.
@Suite struct WebSocketReaderStreamingTests {
    /// A conversation touching every frame kind, fragmentation and all length forms.
    private static let conversation: [UInt8] = {
        var wire: [UInt8] = []
        wire += ClientFrame.make(.text, "Hello")
        wire += ClientFrame.make(.binary, (0..<300).map { UInt8(truncatingIfNeeded: $0) })
        wire += ClientFrame.make(.text, "κόσ", fin: false)
        wire += ClientFrame.make(.ping, "mid")
        wire += ClientFrame.make(.continuation, [0xCE], fin: false)   // half of μ
        wire += ClientFrame.make(.continuation, [0xBC] + Array("ε".utf8))
        wire += ClientFrame.make(opcode: 2, payload: [UInt8](repeating: 0x5A, count: 70000))
        wire += ClientFrame.make(opcode: 1, payload: Array("nonminimal".utf8), lengthForm: .sixtyFourBit)
        wire += ClientFrame.make(.pong, [])
        wire += ClientFrame.make(.text, [])
        wire += ClientFrame.close(code: 1000, reason: Array("done".utf8))
        return wire
    }()

    private static let expectedConversation: [WebSocketInbound] = [
        .text(Array("Hello".utf8)),
        .binary((0..<300).map { UInt8(truncatingIfNeeded: $0) }),
        .ping(Array("mid".utf8)),
        .text(Array("κόσμε".utf8)),
        .binary([UInt8](repeating: 0x5A, count: 70000)),
        .text(Array("nonminimal".utf8)),
        .pong([]),
        .text([]),
        .close(code: 1000, reason: Array("done".utf8)),
    ]

    @Test func allAtOnce() {
        #expect(readAll(Self.conversation) == Self.expectedConversation)
    }

    @Test(arguments: [1, 2, 3, 5, 7, 13, 997, 4096])
    func chunkedFeedingGivesTheSameResult(chunk: Int) {
        #expect(readAll(Self.conversation, chunk: chunk) == Self.expectedConversation)
    }

    @Test func byteAtATimeMatchesAllAtOnceForViolations() {
        let cases: [[UInt8]] = [
            ClientFrame.make(.text, "ok") + ClientFrame.make(opcode: 1, payload: [0x61], rsv: 4),
            ClientFrame.make(.text, "a", fin: false) + ClientFrame.make(.text, "b"),
            ClientFrame.make(.text, [0x61, 0x62, 0xC0, 0xAF, 0x63]),
            ClientFrame.make(.text, "κό", fin: false) + ClientFrame.make(.continuation, [0xED, 0xA0, 0x80]),
            ClientFrame.close(code: 1005),
            ClientFrame.make(.close, [0x03]),
            ClientFrame.make(.binary, [UInt8](repeating: 1, count: 600)),
            [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0],
        ]
        for wire in cases {
            let whole = readAll(wire, maxMessageBytes: 512)
            #expect(whole.last.map { if case .violation = $0 { true } else { false } } == true)
            #expect(readAll(wire, maxMessageBytes: 512, chunk: 1) == whole)
        }
    }

    @Test func invalidUTF8InAFirstFragmentFailsBeforeTheMessageEnds() {
        // Autobahn 6.4.1/6.4.2: the later fragments never arrive, yet the verdict is immediate.
        var reader = WebSocketReader(maxMessageBytes: 1 << 20)
        reader.feed(ClientFrame.make(.text, [UInt8](hex: "CE BA E1 BD B9 CF 83 CE BC CE B5"), fin: false))
        #expect(reader.next() == nil)
        reader.feed(ClientFrame.make(.continuation, [0xF4], fin: false))
        #expect(reader.next() == nil, "F4 can still start a valid code point")
        reader.feed(ClientFrame.make(.continuation, [0x90], fin: false))
        #expect(reader.next() == .violation(code: 1007, reason: "text is not valid UTF-8"))
        #expect(reader.next() == nil)
    }

    @Test func invalidUTF8InTheFirstFragmentFailsRightAway() {
        var reader = WebSocketReader(maxMessageBytes: 1 << 20)
        reader.feed(ClientFrame.make(.text, [0x61, 0xFF], fin: false))
        #expect(reader.next() == .violation(code: 1007, reason: "text is not valid UTF-8"))
    }

    @Test func invalidUTF8FailsBeforeTheFrameIsComplete() {
        // Autobahn 6.4.3/6.4.4: one frame of 21 bytes, sent in chops; the surrogate is caught
        // as soon as its second byte arrives, with the rest of the frame still missing.
        let payload = [UInt8](hex: "CE BA E1 BD B9 CF 83 CE BC CE B5 ED A0 80 65 64 69 74 65 64")
        let wire = ClientFrame.make(.text, payload)
        let headerLength = 6
        var reader = WebSocketReader(maxMessageBytes: 1 << 20)
        reader.feed(Array(wire[..<(headerLength + 12)]))   // up to and including ED
        #expect(reader.next() == nil)
        reader.feed([wire[headerLength + 12]])               // A0
        #expect(reader.next() == .violation(code: 1007, reason: "text is not valid UTF-8"))
        reader.feed(Array(wire[(headerLength + 13)...]))
        #expect(reader.next() == nil)
    }

    @Test func invalidUTF8InTheSameChunkAsTheHeaderFailsBeforeTheFrameIsComplete() {
        let wire = ClientFrame.make(.text, [0x61, 0x62, 0xC0] + [UInt8](repeating: 0x61, count: 200))
        var reader = WebSocketReader(maxMessageBytes: 1 << 20)
        reader.feed(Array(wire.prefix(4 + 4 + 3)))
        #expect(reader.next() == .violation(code: 1007, reason: "text is not valid UTF-8"))
    }

    @Test func headerViolationsNeedOnlyTheirOwnBytes() {
        var reader = WebSocketReader(maxMessageBytes: 1 << 20)
        reader.feed([0x81])
        #expect(reader.next() == nil)
        reader.feed([0x05])   // mask bit clear
        #expect(reader.next() == .violation(code: 1002, reason: "client frame not masked"))
    }

    @Test func partialHeadersWaitForMoreBytes() {
        let wire = ClientFrame.make(.binary, [UInt8](repeating: 3, count: 70000))
        var reader = WebSocketReader(maxMessageBytes: 1 << 20)
        for end in 1..<14 {
            reader.feed([wire[end - 1]])
            #expect(reader.next() == nil)
            #expect(reader.bufferedByteCount == end)
        }
        reader.feed(Array(wire[13...]))
        #expect(reader.next() == .binary([UInt8](repeating: 3, count: 70000)))
        #expect(reader.bufferedByteCount == 0)
    }

    @Test func bufferedByteCountTracksThePartialMessage() {
        var reader = WebSocketReader(maxMessageBytes: 1 << 20)
        reader.feed(ClientFrame.make(.binary, [UInt8](repeating: 1, count: 100), fin: false))
        #expect(reader.next() == nil)
        #expect(reader.bufferedByteCount == 100)
        let next = ClientFrame.make(.continuation, [UInt8](repeating: 2, count: 50))
        reader.feed(Array(next.prefix(30)))
        #expect(reader.next() == nil)
        #expect(reader.bufferedByteCount == 100 + 30 - 6)
        reader.feed(Array(next.dropFirst(30)))
        #expect(reader.next() == .binary([UInt8](repeating: 1, count: 100) + [UInt8](repeating: 2, count: 50)))
        #expect(reader.bufferedByteCount == 0)
    }

    @Test func sixteenMebibyteMessagesWork() {
        // Autobahn 9.1.6/9.2.6: one 16 MiB frame, arriving in 64 KiB reads.
        let size = 16 << 20
        var payload = [UInt8](repeating: 0x2A, count: size)
        payload[0] = 0x41
        payload[size - 1] = 0x5A
        let wire = ClientFrame.make(opcode: 1, payload: payload, mask: [0, 0, 0, 0])
        var reader = WebSocketReader(maxMessageBytes: size)
        var items: [WebSocketInbound] = []
        wire.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let end = min(offset + 65536, raw.count)
                reader.feed(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
                while let item = reader.next() { items.append(item) }
                if offset > 0 && end < raw.count {
                    #expect(reader.bufferedByteCount == end - 14)
                }
                offset = end
            }
        }
        #expect(items.count == 1)
        #expect(items.first == .text(payload))
    }

    @Test func manySmallFragmentsMakeOneMessage() {
        // Autobahn 9.3.1-style: a 1 MiB text message in 64-byte fragments.
        let fragment = [UInt8](repeating: 0x62, count: 64)
        let count = (1 << 20) / 64
        var wire: [UInt8] = []
        wire.reserveCapacity(count * 70)
        for index in 0..<count {
            wire += ClientFrame.make(opcode: index == 0 ? 1 : 0, payload: fragment, fin: index == count - 1)
        }
        let items = readAll(wire, maxMessageBytes: 1 << 20, chunk: 4096)
        #expect(items == [.text([UInt8](repeating: 0x62, count: 1 << 20))])
    }
}
