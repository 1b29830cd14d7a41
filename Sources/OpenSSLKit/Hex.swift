/// Lowercase hexadecimal text of bytes (two digits per byte): secrets, epochs, digests in
/// ETags. The one hex encoder of the project.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// The hex digits of `bytes` as ASCII bytes.
    public static func encodeToBytes<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }

    /// The hex digits of `bytes`.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: encodeToBytes(bytes), as: UTF8.self)
    }
}
