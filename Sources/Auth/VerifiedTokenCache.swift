/// Tokens that passed `JWTVerifier.verify` recently, so a client that sends the same token
/// on every request (a legacy poller every 5 s, a page that reconnects) does not pay for the
/// base64, the JSON and the HMAC each time: about a sixth of the CPU of a 304 poll went to
/// the token before. A hit repeats only the time checks (`exp`, `nbf`), so an expired token
/// is refused exactly as without the cache.
///
/// Only valid tokens are kept, keyed by the whole token: a different spelling is another
/// key and is verified in full. The cache belongs to one verifier: whoever replaces the
/// verifier (new signing keys) replaces the cache, so a token of a removed key is never
/// answered from it. Bounded: at `capacity` entries it is emptied (simple, and a working
/// set larger than the cache costs no more than no cache).
///
/// Owned by one event loop; not thread-safe.
public final class VerifiedTokenCache {
    public let verifier: JWTVerifier
    public let capacity: Int
    private var entries: [String: JWTVerifier.VerifiedToken] = [:]

    public init(verifier: JWTVerifier, capacity: Int = 4096) {
        precondition(capacity > 0, "BUG DETECTED: VerifiedTokenCache needs a positive capacity")
        self.verifier = verifier
        self.capacity = capacity
    }

    /// Tokens held now.
    public var count: Int { entries.count }

    /// `verifier.verify(token, now:)`, from the cache when the token was verified before.
    public func verify(_ token: String, now: Int64) throws(JWTError) -> Claims {
        if let known = entries[token] {
            do {
                try verifier.checkTimes(known, now: now)
            } catch {
                entries[token] = nil
                throw error
            }
            return known.claims
        }
        let verified = try verifier.verifiedToken(token, now: now)
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[token] = verified
        return verified.claims
    }
}
