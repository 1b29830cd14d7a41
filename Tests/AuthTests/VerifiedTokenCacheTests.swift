import Testing
@testable import Auth

/// The per-loop cache of verified tokens answers exactly as the verifier would: the same
/// claims, the same refusals once a token expires or before its `nbf`, nothing kept for
/// a refused token, and bounded.
@Suite struct VerifiedTokenCacheTests {
    private let now: Int64 = 1_700_000_000
    private let verifier = JWTVerifier(secret: TokenForging.secret, leewaySeconds: 60)

    private func refusal(_ cache: VerifiedTokenCache, _ token: String, at time: Int64) -> JWTError? {
        do {
            _ = try cache.verify(token, now: time)
            return nil
        } catch {
            return error
        }
    }

    @Test func aHitGivesTheVerifiersClaims() throws {
        let cache = VerifiedTokenCache(verifier: verifier)
        let token = JWTSigner(secret: TokenForging.secret).sign(sub: "u1", role: .user, expiresAt: now + 3600, issuedAt: now)
        let first = try cache.verify(token, now: now)
        #expect(cache.count == 1)
        let second = try cache.verify(token, now: now + 10)
        #expect(first == Claims(sub: "u1", role: .user, exp: now + 3600))
        #expect(second == first)
        #expect(cache.count == 1)
    }

    @Test func aCachedTokenExpiresLikeAnyOther() throws {
        let cache = VerifiedTokenCache(verifier: verifier)
        let token = JWTSigner(secret: TokenForging.secret).sign(sub: "u1", role: .user, expiresAt: now + 100, issuedAt: now)
        _ = try cache.verify(token, now: now)
        // Within the leeway still valid, past it refused as the verifier refuses it, and dropped.
        #expect(refusal(cache, token, at: now + 160) == nil)
        #expect(refusal(cache, token, at: now + 161) == .expired)
        #expect((try? verifier.verify(token, now: now + 161)) == nil)
        #expect(cache.count == 0)
    }

    @Test func notBeforeIsCheckedOnEveryHit() throws {
        let cache = VerifiedTokenCache(verifier: verifier)
        let token = TokenForging.token(payload: #"{"sub":"u2","role":"user","exp":\#(now + 3600),"nbf":\#(now)}"#)
        _ = try cache.verify(token, now: now)
        // The same token presented with a clock before nbf (minus the leeway) is refused.
        #expect(refusal(cache, token, at: now - 61) == .notYetValid)
        #expect(refusal(cache, token, at: now - 60) == nil)
    }

    @Test func refusedTokensAreNotKept() {
        let cache = VerifiedTokenCache(verifier: verifier)
        let forged = TokenForging.token(payload: #"{"sub":"u3","role":"admin","exp":\#(now + 3600)}"#, key: Array("another-secret".utf8))
        #expect(refusal(cache, forged, at: now) == .badSignature)
        #expect(refusal(cache, forged, at: now) == .badSignature)
        #expect(cache.count == 0)
    }

    @Test func aTokenOfAnotherVerifiersKeysIsNotAnsweredByANewCache() throws {
        let old = VerifiedTokenCache(verifier: verifier)
        let token = JWTSigner(secret: TokenForging.secret).sign(sub: "u4", role: .admin, expiresAt: now + 3600, issuedAt: now)
        _ = try old.verify(token, now: now)
        // Keys rotated: the new verifier comes with a new cache, and the old key's token is refused.
        let rotated = VerifiedTokenCache(verifier: JWTVerifier(secret: Array("the-new-secret-0123456789".utf8)))
        #expect(refusal(rotated, token, at: now) == .badSignature)
    }

    @Test func theCacheStaysWithinItsCapacity() throws {
        let cache = VerifiedTokenCache(verifier: verifier, capacity: 8)
        let signer = JWTSigner(secret: TokenForging.secret)
        for i in 0..<50 {
            let token = signer.sign(sub: "u\(i)", role: .user, expiresAt: now + 3600, issuedAt: now)
            #expect(try cache.verify(token, now: now).sub == "u\(i)")
            #expect(cache.count <= 8)
        }
    }
}
