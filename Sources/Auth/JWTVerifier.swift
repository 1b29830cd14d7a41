import JSON
import OpenSSLKit

/// Verifies HS256 JSON Web Tokens (RFC 7519, JWS compact serialisation of RFC 7515).
///
/// Order of checks, so nothing in the payload is trusted before the MAC:
/// 1. shape: at most `maxTokenLength` bytes, exactly three parts separated by `.`;
/// 2. header: base64url JSON object, `alg` exactly `"HS256"`, `typ` absent or `"JWT"`,
///    no `crit` (we implement no extensions, RFC 7515 §4.1.11), `kid` absent or a string
///    naming one of the keys (absent: the primary key; ignored with a single secret);
/// 3. signature: base64url, compared in constant time with HMAC-SHA256 of `header.payload`
///    under the key `kid` chose;
/// 4. payload: base64url JSON object with `sub` (non-empty string), `role` (`admin`, `user`
///    or `service`), `exp` (an integral number), optional `nbf` (integral); other claims are
///    ignored.
///
/// Base64url parts must be unpadded: RFC 7515 §2 forbids `=`, and accepting it would let
/// one token have several spellings. Duplicate JSON keys are refused.
public struct JWTVerifier: Sendable {
    /// Tokens longer than this are refused unread; ours are about 200 bytes.
    public static let maxTokenLength = 8192

    public let keys: JWTKeySet
    private let leewaySeconds: Int64

    /// - Parameters:
    ///   - keys: the keys tokens may be signed with.
    ///   - leewaySeconds: clock skew tolerated on `exp` and `nbf` (docs/PROTOCOL.md §1: at most 60).
    public init(keys: JWTKeySet, leewaySeconds: Int64 = 60) {
        precondition(leewaySeconds >= 0, "BUG DETECTED: negative JWT leeway")
        self.keys = keys
        self.leewaySeconds = leewaySeconds
    }

    /// One secret, no key ids (a token's `kid` is ignored).
    /// - Parameter secret: the HMAC key; must not be empty.
    public init(secret: [UInt8], leewaySeconds: Int64 = 60) {
        precondition(!secret.isEmpty, "BUG DETECTED: JWTVerifier needs a non-empty secret")
        self.init(keys: JWTKeySet(singleSecret: secret), leewaySeconds: leewaySeconds)
    }

    /// Checks `token` and returns its claims.
    /// - Parameters:
    ///   - token: the compact JWS, without any `Bearer ` prefix or surrounding whitespace.
    ///   - now: the current time in seconds since the Unix epoch.
    /// - Throws: `JWTError` for any malformed, forged, unsupported or expired token.
    public func verify(_ token: String, now: Int64) throws(JWTError) -> Claims {
        try verifiedToken(token, now: now).claims
    }

    /// What `verify` found in a valid token, with its `nbf`, so a cache can repeat the time
    /// checks (`checkTimes`) without the decoding and the MAC.
    public struct VerifiedToken: Sendable, Equatable {
        public let claims: Claims
        public let notBefore: Int64?
    }

    /// `verify`, keeping the token's `nbf`.
    public func verifiedToken(_ token: String, now: Int64) throws(JWTError) -> VerifiedToken {
        let bytes = Array(token.utf8)
        guard !bytes.isEmpty else { throw .malformed("empty token") }
        guard bytes.count <= Self.maxTokenLength else { throw .malformed("token longer than \(Self.maxTokenLength) bytes") }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected 3 dot-separated parts, found \(parts.count)") }

        let header = try Self.jsonObject(parts[0], part: "header")
        try Self.checkHeader(header)
        var keyID: String?
        if let kid = header["kid"] {
            guard case .string(let name) = kid else { throw .malformed("header \"kid\" is not a string") }
            keyID = name
        }
        guard let secret = keys.key(forKeyID: keyID) else { throw .unknownKeyID }

        guard let signature = Self.base64url(parts[2]) else { throw .malformed("signature is not unpadded base64url") }
        let signingInput = Array(bytes[..<parts[1].endIndex])  // "header.payload", as sent
        let expected = Digest.hmacSHA256(key: secret, message: signingInput)
        guard Digest.constantTimeEquals(expected, signature) else { throw .badSignature }

        let payload = try Self.jsonObject(parts[1], part: "payload")
        return try verifiedClaims(from: payload, now: now)
    }

    private static func checkHeader(_ header: [String: JSONValue]) throws(JWTError) {
        guard let alg = header["alg"] else { throw .malformed("header has no \"alg\"") }
        guard case .string(let name) = alg else { throw .malformed("header \"alg\" is not a string") }
        // Exact, case-sensitive match: "none", "hs256", "HS512", "RS256"... are all refused.
        guard name == "HS256" else { throw .unsupportedAlgorithm(JWTError.sanitisedAlgorithm(name)) }
        if let typ = header["typ"] {
            guard case .string("JWT") = typ else { throw .malformed("header \"typ\" is not \"JWT\"") }
        }
        guard header["crit"] == nil else { throw .malformed("header has \"crit\" extensions, none are supported") }
    }

    private func verifiedClaims(from payload: [String: JSONValue], now: Int64) throws(JWTError) -> VerifiedToken {
        guard let subValue = payload["sub"] else { throw .missingClaim("sub") }
        guard case .string(let sub) = subValue, !sub.isEmpty else { throw .invalidClaim("sub") }

        guard let roleValue = payload["role"] else { throw .missingClaim("role") }
        guard case .string(let roleName) = roleValue, let role = Role(rawValue: roleName) else {
            throw .invalidClaim("role")
        }

        guard let expValue = payload["exp"] else { throw .missingClaim("exp") }
        guard let exp = expValue.int64Value else { throw .invalidClaim("exp") }
        var notBefore: Int64?
        if let nbfValue = payload["nbf"] {
            guard let nbf = nbfValue.int64Value else { throw .invalidClaim("nbf") }
            notBefore = nbf
        }
        let verified = VerifiedToken(claims: Claims(sub: sub, role: role, exp: exp), notBefore: notBefore)
        try checkTimes(verified, now: now)
        return verified
    }

    /// The time checks of `verify` alone: `exp` and `nbf` against `now`, with the leeway.
    public func checkTimes(_ token: VerifiedToken, now: Int64) throws(JWTError) {
        // Int128 so that exp or nbf near Int64's limits cannot overflow the comparison.
        let now128 = Int128(now), leeway = Int128(leewaySeconds)
        guard now128 <= Int128(token.claims.exp) + leeway else { throw .expired }
        if let nbf = token.notBefore {
            guard now128 + leeway >= Int128(nbf) else { throw .notYetValid }
        }
    }

    private static func jsonObject(_ part: ArraySlice<UInt8>, part name: String) throws(JWTError) -> [String: JSONValue] {
        guard let decoded = base64url(part) else { throw .malformed("\(name) is not unpadded base64url") }
        // Depth 16: a token's header and claims are flat; anything deeper is not ours.
        guard let value = try? JSONValue.parse(decoded, maxDepth: 16) else { throw .malformed("\(name) is not valid JSON") }
        guard case .object(let members) = value else { throw .malformed("\(name) is not a JSON object") }
        // The parser refuses duplicate keys, so this dictionary loses nothing.
        return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// Strict unpadded base64url; OpenSSLKit's decoder would otherwise tolerate trailing `=`.
    private static func base64url(_ part: ArraySlice<UInt8>) -> [UInt8]? {
        guard !part.isEmpty, !part.contains(UInt8(ascii: "=")) else { return nil }
        return Base64.decode(String(decoding: part, as: UTF8.self), url: true)
    }
}
