import OpenSSLKit

/// Mints HS256 tokens that `JWTVerifier` with the same secret accepts.
public struct JWTSigner: Sendable {
    /// `{"alg":"HS256","typ":"JWT"}`, encoded once.
    private static let encodedHeader = Base64.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8), url: true, padding: false)

    private let secret: [UInt8]

    /// - Parameter secret: the HMAC key; must not be empty.
    public init(secret: [UInt8]) {
        precondition(!secret.isEmpty, "BUG DETECTED: JWTSigner needs a non-empty secret")
        self.secret = secret
    }

    /// Returns a compact JWS with header `{"alg":"HS256","typ":"JWT"}` and payload
    /// `{"sub":…,"role":…,"iat":…,"exp":…}`.
    /// - Parameters:
    ///   - sub: the subject; must not be empty (the verifier would refuse it).
    ///   - expiresAt: `exp`, seconds since the Unix epoch.
    ///   - issuedAt: `iat`, seconds since the Unix epoch.
    public func sign(sub: String, role: Role, expiresAt: Int64, issuedAt: Int64) -> String {
        precondition(!sub.isEmpty, "BUG DETECTED: JWT subject must not be empty")
        var payload = Array(#"{"sub":"#.utf8)
        Self.appendJSONString(sub, to: &payload)
        payload += Array(#","role":"\#(role.rawValue)","iat":\#(issuedAt),"exp":\#(expiresAt)}"#.utf8)
        let signingInput = Self.encodedHeader + "." + Base64.encode(payload, url: true, padding: false)
        let signature = Digest.hmacSHA256(key: secret, message: Array(signingInput.utf8))
        return signingInput + "." + Base64.encode(signature, url: true, padding: false)
    }

    /// Appends `text` as a JSON string literal: quotes, backslashes and control characters
    /// escaped, everything else as UTF-8.
    private static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\")); out.append(byte)
            case 0x00..<0x20:
                out += Array(#"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 0xF)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
