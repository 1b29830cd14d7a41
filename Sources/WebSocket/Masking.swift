/// Client-to-server masking (RFC 6455 §5.3): payload byte i is XORed with key byte i mod 4.
enum Masking {
    /// XORs `bytes` in place with `key`, whose first wire byte sits in the low 8 bits.
    /// `phase` is the payload offset (mod 4) of `bytes[0]`, so a frame can be unmasked
    /// in pieces as it arrives.
    static func unmask(_ bytes: UnsafeMutableRawBufferPointer, key: UInt32, phase: Int) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        let shift = UInt32(phase & 3) &* 8
        // Rotate so that the key byte for bytes[0] is in the low 8 bits.
        let rotated = key >> shift | key << (32 &- shift)
        let word = UInt64(littleEndian: UInt64(rotated) | UInt64(rotated) << 32)
        var i = 0
        // Eight bytes per step; the loads are unaligned because frames start anywhere.
        while i &+ 32 <= count {
            for offset in stride(from: i, to: i &+ 32, by: 8) {
                let value = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                base.storeBytes(of: value ^ word, toByteOffset: offset, as: UInt64.self)
            }
            i &+= 32
        }
        while i &+ 8 <= count {
            let value = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            base.storeBytes(of: value ^ word, toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        while i < count {
            let keyByte = UInt8(truncatingIfNeeded: rotated >> (UInt32(i & 3) &* 8))
            base.storeBytes(of: base.load(fromByteOffset: i, as: UInt8.self) ^ keyByte,
                            toByteOffset: i, as: UInt8.self)
            i &+= 1
        }
    }
}
