import Testing
import WebSocket

/// Every protocol violation, with the close code the server must send.
@Suite struct WebSocketReaderViolationTests {
    /// The single item `bytes` produce, which must be a violation; returns its code.
    private func violationCode(_ bytes: [UInt8], maxMessageBytes: Int = 1 << 20) -> UInt16? {
        let items = readAll(bytes, maxMessageBytes: maxMessageBytes)
        guard let last = items.last, case .violation(let code, let reason) = last else { return nil }
        #expect(!reason.isEmpty)
        return code
    }

    @Test func unmaskedFrameFromRFCIs1002() {
        #expect(violationCode([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]) == 1002)
        #expect(violationCode(ClientFrame.make(opcode: 9, payload: [], mask: nil)) == 1002)
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7] as [UInt8])
    func reservedBitsAre1002(rsv: UInt8) {
        #expect(violationCode(ClientFrame.make(opcode: 1, payload: Array("x".utf8), rsv: rsv)) == 1002)
        #expect(violationCode(ClientFrame.make(opcode: 9, payload: [], rsv: rsv)) == 1002)
    }

    @Test(arguments: [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] as [UInt8])
    func reservedOpcodesAre1002(opcode: UInt8) {
        #expect(violationCode(ClientFrame.make(opcode: opcode, payload: [])) == 1002)
        #expect(violationCode(ClientFrame.make(opcode: opcode, payload: [1, 2, 3], fin: false)) == 1002)
    }

    @Test func sixtyFourBitLengthWithTopBitIs1002BeforeTheMaskKeyArrives() {
        var reader = WebSocketReader(maxMessageBytes: Int.max)
        reader.feed([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x05])
        #expect(reader.next() == .violation(code: 1002, reason: "64-bit length with the top bit set"))
    }

    @Test(arguments: [8, 9, 10] as [UInt8])
    func fragmentedControlFramesAre1002(opcode: UInt8) {
        #expect(violationCode(ClientFrame.make(opcode: opcode, payload: Array("ab".utf8), fin: false)) == 1002)
    }

    @Test(arguments: [8, 9, 10] as [UInt8])
    func controlPayloadOver125Is1002(opcode: UInt8) {
        #expect(violationCode(ClientFrame.make(opcode: opcode, payload: [UInt8](repeating: 0x30, count: 126))) == 1002)
        // Also when the length is written in the 16-bit form, even if it is small.
        #expect(violationCode(ClientFrame.make(opcode: opcode, payload: [0x03, 0xE8], lengthForm: .sixteenBit)) == 1002)
        // And detected from the first two header bytes alone.
        var reader = WebSocketReader(maxMessageBytes: 1 << 20)
        reader.feed([0x80 | opcode, 0xFE])
        #expect(reader.next() == .violation(code: 1002, reason: "control frame payload over 125 bytes"))
    }

    @Test func continuationWithoutAMessageIs1002() {
        #expect(violationCode(ClientFrame.make(.continuation, "lo")) == 1002)
        #expect(violationCode(ClientFrame.make(.continuation, "lo", fin: false)) == 1002)
        // After a complete message, there is again nothing to continue.
        #expect(violationCode(ClientFrame.make(.text, "Hel") + ClientFrame.make(.continuation, "lo")) == 1002)
    }

    @Test func newDataFrameDuringAFragmentedMessageIs1002() {
        #expect(violationCode(ClientFrame.make(.text, "a", fin: false) + ClientFrame.make(.text, "b")) == 1002)
        #expect(violationCode(ClientFrame.make(.text, "a", fin: false) + ClientFrame.make(.binary, [1])) == 1002)
        #expect(violationCode(ClientFrame.make(.binary, [1], fin: false) + ClientFrame.make(.text, "b", fin: false)) == 1002)
    }

    @Test func closeWithOneBytePayloadIs1002() {
        #expect(violationCode(ClientFrame.make(.close, [0x03])) == 1002)
    }

    @Test(arguments: [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] as [UInt16])
    func invalidCloseCodesAre1002(code: UInt16) {
        #expect(!CloseCode.isValidReceived(code))
        #expect(violationCode(ClientFrame.close(code: code)) == 1002)
        #expect(violationCode(ClientFrame.close(code: code, reason: Array("why".utf8))) == 1002)
    }

    @Test func closeReasonThatIsNotUTF8Is1007() {
        // Autobahn 7.5.1: κόσμε, a surrogate, "edited".
        let reason = [UInt8](hex: "CE BA E1 BD B9 CF 83 CE BC CE B5 ED A0 80 65 64 69 74 65 64")
        #expect(violationCode(ClientFrame.close(code: 1000, reason: reason)) == 1007)
        #expect(violationCode(ClientFrame.close(code: 1000, reason: [0xC3])) == 1007)
    }

    @Test func invalidTextIs1007() {
        #expect(violationCode(ClientFrame.make(.text, [0x61, 0xFF, 0x62])) == 1007)
        #expect(violationCode(ClientFrame.make(.text, [0xED, 0xA0, 0x80])) == 1007)
        // Valid until the last byte, which leaves a code point unfinished.
        #expect(violationCode(ClientFrame.make(.text, [0x61, 0xE2, 0x82])) == 1007)
        #expect(violationCode(ClientFrame.make(.text, [0x61, 0xE2], fin: false) + ClientFrame.make(.continuation, [0x82])) == 1007)
    }

    @Test func binaryIsNeverUTF8Checked() {
        #expect(readAll(ClientFrame.make(.binary, [0xFF, 0xED, 0xA0, 0x80])) == [.binary([0xFF, 0xED, 0xA0, 0x80])])
    }

    @Test func pingPayloadIsNotUTF8Checked() {
        #expect(readAll(ClientFrame.make(.ping, [0xFF])) == [.ping([0xFF])])
    }

    @Test func messageOverTheLimitIs1009FromTheHeaderAlone() {
        var reader = WebSocketReader(maxMessageBytes: 1000)
        // Header of a masked binary frame claiming 1001 bytes; no mask key or payload yet.
        reader.feed([0x82, 0xFE, 0x03, 0xE9])
        #expect(reader.next() == .violation(code: 1009, reason: "message over 1000 bytes"))
        #expect(reader.bufferedByteCount == 0)
    }

    @Test func messageOfExactlyTheLimitIsAccepted() {
        let payload = [UInt8](repeating: 0x41, count: 1000)
        #expect(readAll(ClientFrame.make(.text, payload), maxMessageBytes: 1000) == [.text(payload)])
        #expect(readAll(ClientFrame.make(.text, []), maxMessageBytes: 0) == [.text([])])
    }

    @Test func fragmentsAddUpTowardsTheLimit() {
        let part = [UInt8](repeating: 0x41, count: 400)
        let fits = ClientFrame.make(.text, part, fin: false) + ClientFrame.make(.continuation, part, fin: false)
            + ClientFrame.make(.continuation, [UInt8](repeating: 0x41, count: 200))
        #expect(readAll(fits, maxMessageBytes: 1000) == [.text([UInt8](repeating: 0x41, count: 1000))])

        let tooBig = ClientFrame.make(.text, part, fin: false) + ClientFrame.make(.continuation, part, fin: false)
            + ClientFrame.make(.continuation, [UInt8](repeating: 0x41, count: 201))
        #expect(readAll(tooBig, maxMessageBytes: 1000) == [.violation(code: 1009, reason: "message over 1000 bytes")])
    }

    @Test func controlFramesDoNotCountTowardsTheLimit() {
        let wire = ClientFrame.make(.binary, [1, 2], fin: false) + ClientFrame.make(.ping, [UInt8](repeating: 0, count: 100))
            + ClientFrame.make(.continuation, [3])
        #expect(readAll(wire, maxMessageBytes: 3) == [.ping([UInt8](repeating: 0, count: 100)), .binary([1, 2, 3])])
    }

    @Test func huge64BitLengthIs1009() {
        var reader = WebSocketReader(maxMessageBytes: 16 << 20)
        reader.feed([0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(reader.next() == .violation(code: 1009, reason: "message over 16777216 bytes"))
    }

    @Test func itemsBeforeAViolationAreStillDelivered() {
        // Autobahn 3.2: a good message, then one with RSV set, then a ping that must be ignored.
        let wire = ClientFrame.make(.text, "Hello")
            + ClientFrame.make(opcode: 1, payload: Array("Hello".utf8), rsv: 2)
            + ClientFrame.make(.ping, "Hello")
        let items = readAll(wire)
        #expect(items.count == 2)
        #expect(items.first == .text(Array("Hello".utf8)))
        #expect(items.last.map { if case .violation(1002, _) = $0 { true } else { false } } == true)
    }

    @Test func nothingIsReadAfterAViolation() {
        var reader = WebSocketReader(maxMessageBytes: 1024)
        reader.feed(ClientFrame.make(opcode: 1, payload: [0x61], mask: nil))
        #expect(reader.next() == .violation(code: 1002, reason: "client frame not masked"))
        #expect(reader.isStopped)
        reader.feed(ClientFrame.make(.text, "ok"))
        #expect(reader.next() == nil)
        #expect(reader.next() == nil)
        #expect(reader.bufferedByteCount == 0)
    }

    @Test func nothingIsReadAfterAClose() {
        var reader = WebSocketReader(maxMessageBytes: 1024)
        reader.feed(ClientFrame.close(code: 1000))
        #expect(!reader.isStopped)
        #expect(reader.next() == .close(code: 1000, reason: []))
        #expect(reader.isStopped)
        reader.feed(ClientFrame.make(.ping, "p"))
        #expect(reader.next() == nil)
        #expect(reader.bufferedByteCount == 0)
    }
}
