import JSON
import OpenSSLKit

/// Mints HS256 tokens that `JWTVerifier` with the same key accepts.
public struct JWTSigner: Sendable {
    /// The base64url header, encoded once: `{"alg":"HS256","typ":"JWT"}`, plus `"kid"` if given.
    private let encodedHeader: String
    private let secret: [UInt8]

    /// - Parameters:
    ///   - secret: the HMAC key; must not be empty.
    ///   - keyID: the key's id, written as the header's `kid`; nil for none (a single secret).
    public init(secret: [UInt8], keyID: String? = nil) {
        precondition(!secret.isEmpty, "BUG DETECTED: JWTSigner needs a non-empty secret")
        self.secret = secret
        var header = JSONWriter(reservingCapacity: 64)
        header.appendRaw(#"{"alg":"HS256","typ":"JWT""#)
        if let keyID {
            header.appendRaw(#","kid":"#)
            header.writeString(keyID)
        }
        header.append(UInt8(ascii: "}"))
        encodedHeader = Base64.encode(header.bytes, url: true, padding: false)
    }

    /// Returns a compact JWS with header `{"alg":"HS256","typ":"JWT"[,"kid":…]}` and payload
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
        let signingInput = encodedHeader + "." + Base64.encode(payload.bytes, url: true, padding: false)
        let signature = Digest.hmacSHA256(key: secret, message: Array(signingInput.utf8))
        return signingInput + "." + Base64.encode(signature, url: true, padding: false)
    }
}
