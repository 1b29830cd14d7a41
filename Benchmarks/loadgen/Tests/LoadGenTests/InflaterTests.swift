import Testing
@testable import loadgen

/// The inflater behind `--extensions`: a message the server compressed must come back whole.
@Suite struct InflaterTests {
    @Test func rfc7692HelloInflates() {
        let hello: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]   // RFC 7692 §7.2.3.1
        let inflater = MessageInflater()
        for _ in 0..<3 {
            let message = hello.withUnsafeBytes { inflater.inflate($0) }
            #expect(message == Array("Hello".utf8))
        }
        #expect([UInt8]([0xFF, 0xFF, 0xFF]).withUnsafeBytes { inflater.inflate($0) } == nil)
    }
}
