/// Why a token was refused. Every case maps to HTTP 401; the distinction is for logs and tests.
public enum JWTError: Error, Equatable, Sendable {
    /// Not three base64url parts, bad base64url, JSON that is not an object, or a header
    /// this verifier does not understand. The text is fixed by the verifier, never token content.
    case malformed(String)
    /// The HMAC-SHA256 signature does not match (or has the wrong length).
    case badSignature
    /// The header's `kid` names no key the server has (a rotated-out key, or another
    /// issuer's). The id itself is not kept: it is attacker content.
    case unknownKeyID
    /// The header's `alg` is not `HS256` (`none` included). The name is kept only if it is
    /// short printable ASCII, otherwise replaced, so logging it is safe.
    case unsupportedAlgorithm(String)
    /// `exp` is more than the leeway in the past.
    case expired
    /// `nbf` is more than the leeway in the future.
    case notYetValid
    /// A required claim (`sub`, `role`, `exp`) is absent.
    case missingClaim(String)
    /// A claim has the wrong type or value (e.g. `exp` as a string, an unknown `role`).
    case invalidClaim(String)

    /// A human-readable reason, safe to log and to send to the client: it never contains
    /// the token or any of its content except a sanitised algorithm name.
    public var message: String {
        switch self {
        case .malformed(let why): return "malformed token: \(why)"
        case .badSignature: return "token signature does not match"
        case .unknownKeyID: return "token key id (kid) is not one of the server's keys"
        case .unsupportedAlgorithm(let alg): return "token algorithm \"\(alg)\" is not accepted (only HS256)"
        case .expired: return "token has expired"
        case .notYetValid: return "token is not valid yet (nbf)"
        case .missingClaim(let name): return "token lacks the required claim \"\(name)\""
        case .invalidClaim(let name): return "token claim \"\(name)\" has an invalid type or value"
        }
    }

    /// `alg` values come from the attacker; keep them only if they cannot corrupt a log line.
    static func sanitisedAlgorithm(_ alg: String) -> String {
        let printable = alg.utf8.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        return printable && alg.utf8.count <= 32 ? alg : "(unprintable)"
    }
}
