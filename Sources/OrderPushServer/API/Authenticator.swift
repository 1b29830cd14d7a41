import Auth
import HTTP1
import Reactor

/// Who is calling: the claims of the bearer token in `Authorization`, or (for WebSocket
/// handshakes, which browsers cannot give headers) in the `access_token` query parameter.
/// Tokens already verified are answered from a per-loop `VerifiedTokenCache` (time checks
/// repeated); a new verifier (SIGHUP reload) comes with a new, empty cache.
struct Authenticator {
    private let tokens: VerifiedTokenCache

    init(verifier: JWTVerifier) { tokens = VerifiedTokenCache(verifier: verifier) }

    func claims(of request: HTTPRequest, allowQueryToken: Bool) -> Result<Claims, HTTPResponseError> {
        var token: String?
        if let header = request.headers["Authorization"] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                return .failure(Self.unauthorized("the Authorization header must be: Bearer <token>"))
            }
            token = parts[1].trimmingSpaces
        } else if allowQueryToken {
            token = request.queryValue("access_token")
        }
        guard let token, !token.isEmpty else {
            return .failure(Self.unauthorized("a bearer token is required"))
        }
        do {
            return .success(try tokens.verify(token, now: WallClock.nowSeconds()))
        } catch {
            // The reason, never the token.
            return .failure(Self.unauthorized("invalid token: \(error.message)"))
        }
    }

    private static func unauthorized(_ message: String) -> HTTPResponseError {
        var e = HTTPResponseError(.unauthorized, "unauthorized", message)
        e.headers.add("WWW-Authenticate", #"Bearer realm="orderpush""#)
        return e
    }
}
