import JSON
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
        var payload = JSONWriter(reservingCapacity: 96 + sub.utf8.count)
        payload.appendRaw(#"{"sub":"#)
        payload.writeString(sub)
        payload.appendRaw(#","role":"#)
        payload.writeString(role.rawValue)
        payload.appendRaw(#","iat":"#)
        payload.writeInteger(issuedAt)
        payload.appendRaw(#","exp":"#)
        payload.writeInteger(expiresAt)
        payload.append(UInt8(ascii: "}"))
        let signingInput = Self.encodedHeader + "." + Base64.encode(payload.bytes, url: true, padding: false)
        let signature = Digest.hmacSHA256(key: secret, message: Array(signingInput.utf8))
        return signingInput + "." + Base64.encode(signature, url: true, padding: false)
    }
}
