import CSSL

/// Message digests and MACs from OpenSSL's libcrypto, behind plain `[UInt8]` values.
public enum Digest {
    /// SHA-1 of `bytes` (20 bytes). Used only for the WebSocket handshake, where RFC 6455 fixes it.
    public static func sha1<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        digest(Array(bytes), EVP_sha1(), length: 20)
    }

    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        digest(Array(bytes), EVP_sha256(), length: 32)
    }

    /// HMAC-SHA256 of `message` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let ok = key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    // A zero-length key still needs a non-nil pointer for OpenSSL.
                    HMAC(EVP_sha256(), k.baseAddress ?? UnsafePointer(o.baseAddress!), Int32(k.count),
                         m.baseAddress, m.count, o.baseAddress, &outLength)
                }
            }
        }
        precondition(ok != nil && outLength == 32, "BUG DETECTED: HMAC-SHA256 failed in OpenSSL")
        return Array(out.prefix(Int(outLength)))
    }

    private static func digest(_ bytes: [UInt8], _ md: OpaquePointer?, length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let ok = bytes.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in
                EVP_Digest(b.baseAddress, b.count, o.baseAddress, &outLength, md, nil)
            }
        }
        precondition(ok == 1 && Int(outLength) == length, "BUG DETECTED: EVP_Digest failed in OpenSSL")
        return Array(out.prefix(length))
    }

    /// Compares two byte strings in time that depends only on their lengths, so a MAC
    /// check does not leak how many leading bytes matched.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
        }
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "BUG DETECTED: RAND_bytes failed")
        return out
    }
}
