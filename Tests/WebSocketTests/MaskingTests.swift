import Testing
@testable import WebSocket

@Suite struct MaskingTests {
    @Test func matchesByteWiseXorForEveryPhaseAndLength() {
        let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        let packed = UInt32(key[0]) | UInt32(key[1]) << 8 | UInt32(key[2]) << 16 | UInt32(key[3]) << 24
        for length in [0, 1, 3, 7, 8, 9, 31, 32, 33, 67, 100] {
            for phase in 0..<4 {
                let original = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }
                var bytes = original
                bytes.withUnsafeMutableBytes { Masking.unmask($0, key: packed, phase: phase) }
                let expected = original.enumerated().map { $0.element ^ key[($0.offset + phase) & 3] }
                #expect(bytes == expected, "length \(length), phase \(phase)")
            }
        }
    }
}
