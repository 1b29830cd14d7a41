import OpenSSLKit
import Testing

/// `Hex`, the one hex encoder (signing secrets, epochs).
@Suite struct HexTests {
    @Test func twoLowercaseDigitsPerByteInOrder() {
        #expect(Hex.encode([UInt8]()) == "")
        #expect(Hex.encode([0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0xab, 0xff]) == "00010f107f80abff")
        #expect(Hex.encodeToBytes([0xde, 0xad]) == Array("dead".utf8))
    }

    @Test func everyByteValueRoundTrips() {
        let all = (0...255).map { UInt8($0) }
        let text = Hex.encode(all)
        #expect(text.count == 512)
        var back: [UInt8] = []
        var i = text.startIndex
        while i < text.endIndex {
            let j = text.index(i, offsetBy: 2)
            back.append(UInt8(text[i..<j], radix: 16)!)
            i = j
        }
        #expect(back == all)
    }
}
