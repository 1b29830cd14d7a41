import Testing
import WebSocket

/// Well-formed input: RFC 6455 §5.7 examples, fragmentation, control frames, lengths.
@Suite struct WebSocketReaderTests {
    @Test func maskedHelloFromRFC() {
        let wire: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(readAll(wire) == [.text(Array("Hello".utf8))])
    }

    @Test func maskedPongFromRFC() {
        let wire: [UInt8] = [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(readAll(wire) == [.pong(Array("Hello".utf8))])
    }

    @Test func fragmentedHelloFromRFC() {
        let wire = ClientFrame.make(.text, "Hel", fin: false) + ClientFrame.make(.continuation, "lo")
        #expect(readAll(wire) == [.text(Array("Hello".utf8))])
    }

    @Test func atRestOnlyBetweenMessagesWithNothingBuffered() {
        var reader = WebSocketReader(maxMessageBytes: 1 << 20)
        #expect(reader.isAtRest)
        let first = ClientFrame.make(.text, "Hel", fin: false)
        reader.feed(first)
        #expect(!reader.isAtRest, "bytes fed, not read yet")
        #expect(reader.next() == nil)
        #expect(!reader.isAtRest, "a fragmented message is open")
        let last = ClientFrame.make(.continuation, "lo")
        reader.feed(Array(last.prefix(3)))
        #expect(reader.next() == nil)
        #expect(!reader.isAtRest, "half a header")
        reader.feed(Array(last.dropFirst(3)))
        #expect(reader.next() == .text(Array("Hello".utf8)))
        #expect(reader.isAtRest)
        reader.feed(ClientFrame.make(.close, []))
        #expect(reader.next() == .close(code: nil, reason: []))
        #expect(!reader.isAtRest, "a stopped reader must be kept: it reads nothing more")
    }

    @Test func pingFromRFC() {
        #expect(readAll(ClientFrame.make(.ping, "Hello")) == [.ping(Array("Hello".utf8))])
    }

    @Test func binary256BytesAnd64KiBFromRFC() {
        let small = (0..<256).map { UInt8($0) }
        let smallWire = ClientFrame.make(.binary, small)
        #expect(Array(smallWire.prefix(4)) == [0x82, 0xFE, 0x01, 0x00])
        #expect(readAll(smallWire) == [.binary(small)])

        let large = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let largeWire = ClientFrame.make(.binary, large)
        #expect(Array(largeWire.prefix(10)) == [0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00])
        #expect(readAll(largeWire) == [.binary(large)])
    }

    @Test(arguments: [0, 1, 125, 126, 127, 128, 65535, 65536])
    func textLengthsLikeAutobahn1_1(length: Int) {
        let payload = [UInt8](repeating: 0x2A, count: length)
        #expect(readAll(ClientFrame.make(.text, payload)) == [.text(payload)])
        #expect(readAll(ClientFrame.make(.binary, payload)) == [.binary(payload)])
    }

    @Test func nonMinimalLengthEncodingsAreAccepted() {
        let payload = Array("short".utf8)
        for form in [ClientFrame.LengthForm.sixteenBit, .sixtyFourBit] {
            let wire = ClientFrame.make(opcode: 1, payload: payload, lengthForm: form)
            #expect(readAll(wire) == [.text(payload)])
        }
    }

    @Test func controlFramesInterleavedWithFragments() {
        let wire = ClientFrame.make(.text, "frag", fin: false)
            + ClientFrame.make(.ping, "p1")
            + ClientFrame.make(.continuation, "men", fin: false)
            + ClientFrame.make(.pong, "p2")
            + ClientFrame.make(.ping, [])
            + ClientFrame.make(.continuation, "ted")
            + ClientFrame.make(.binary, [1, 2, 3])
        #expect(readAll(wire) == [
            .ping(Array("p1".utf8)), .pong(Array("p2".utf8)), .ping([]),
            .text(Array("fragmented".utf8)), .binary([1, 2, 3]),
        ])
    }

    @Test func fragmentedBinaryWithEmptyFragments() {
        let wire = ClientFrame.make(.binary, [], fin: false)
            + ClientFrame.make(.continuation, [9], fin: false)
            + ClientFrame.make(.continuation, [], fin: false)
            + ClientFrame.make(.continuation, [])
        #expect(readAll(wire) == [.binary([9])])
    }

    @Test func textSplitInsideACodePointAcrossFragments() {
        let text = Array("κόσμε €uro 😀".utf8)
        for split in 1..<text.count {
            let wire = ClientFrame.make(.text, Array(text[..<split]), fin: false)
                + ClientFrame.make(.continuation, Array(text[split...]))
            #expect(readAll(wire) == [.text(text)], "split at \(split)")
        }
    }

    @Test func controlPayloadOf125IsAllowed() {
        let payload = [UInt8](repeating: 0x50, count: 125)
        #expect(readAll(ClientFrame.make(.ping, payload)) == [.ping(payload)])
        #expect(readAll(ClientFrame.make(.pong, payload)) == [.pong(payload)])
    }

    @Test func closeFrames() {
        #expect(readAll(ClientFrame.make(.close, [])) == [.close(code: nil, reason: [])])
        #expect(readAll(ClientFrame.close(code: 1000)) == [.close(code: 1000, reason: [])])
        let reason = Array("Gödel says bye".utf8)
        #expect(readAll(ClientFrame.close(code: 1001, reason: reason)) == [.close(code: 1001, reason: reason)])
        let longest = [UInt8](repeating: 0x2A, count: 123)
        #expect(readAll(ClientFrame.close(code: 3000, reason: longest)) == [.close(code: 3000, reason: longest)])
    }

    @Test(arguments: [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] as [UInt16])
    func validCloseCodesAreAccepted(code: UInt16) {
        #expect(CloseCode.isValidReceived(code))
        #expect(readAll(ClientFrame.close(code: code)) == [.close(code: code, reason: [])])
    }

    @Test func messagesAroundACloseAreCutAtTheClose() {
        // Autobahn 7.1.x: data after a close is never read.
        let wire = ClientFrame.make(.text, "before") + ClientFrame.close(code: 1000)
            + ClientFrame.make(.text, "after") + ClientFrame.make(.ping, [])
        #expect(readAll(wire) == [.text(Array("before".utf8)), .close(code: 1000, reason: [])])
    }

    @Test func closeInTheMiddleOfAFragmentedMessage() {
        // Autobahn 7.1.5: a close between fragments ends reading; the last fragment is ignored.
        let wire = ClientFrame.make(.text, "frag1", fin: false) + ClientFrame.close(code: 1000)
            + ClientFrame.make(.continuation, "frag2")
        #expect(readAll(wire) == [.close(code: 1000, reason: [])])
    }

    @Test func differentMaskKeysPerFrame() {
        let wire = ClientFrame.make(opcode: 2, payload: [1, 2, 3, 4, 5], mask: [0, 0, 0, 0])
            + ClientFrame.make(opcode: 2, payload: [1, 2, 3, 4, 5], mask: [0xFF, 0x00, 0xAA, 0x55])
        #expect(readAll(wire) == [.binary([1, 2, 3, 4, 5]), .binary([1, 2, 3, 4, 5])])
    }

    @Test func eachNextReturnsOneItemAndLeavesTheRestBuffered() {
        var reader = WebSocketReader(maxMessageBytes: 1024)
        reader.feed(ClientFrame.make(.text, "one") + ClientFrame.make(.text, "two"))
        #expect(reader.next() == .text(Array("one".utf8)))
        #expect(reader.bufferedByteCount == 6 + 3)
        #expect(reader.next() == .text(Array("two".utf8)))
        #expect(reader.next() == nil)
        #expect(reader.bufferedByteCount == 0)
    }
}
