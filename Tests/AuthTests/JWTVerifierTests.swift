import Testing
import TestSupport
import OpenSSLKit
@testable import Auth

private let now: Int64 = 1_700_000_000
private let verifier = JWTVerifier(secret: TokenForging.secret)

private func claimsJSON(sub: String = "u42", role: String = "user", exp: String = "1700003600", extra: String = "") -> String {
    #"{"sub":"\#(sub)","role":"\#(role)","exp":\#(exp)\#(extra)}"#
}

private func verifyError(_ token: String, at time: Int64 = now, with v: JWTVerifier = verifier) -> JWTError? {
    do {
        _ = try v.verify(token, now: time)
        return nil
    } catch {
        return error
    }
}

@Suite("JWT signing and verification")
struct JWTVerifierTests {
    @Test("sign then verify round-trips every role", arguments: Role.allCases)
    func roundTrip(role: Role) throws {
        let signer = JWTSigner(secret: TokenForging.secret)
        let token = signer.sign(sub: "someone@example.com", role: role, expiresAt: now + 3600, issuedAt: now)
        #expect(try verifier.verify(token, now: now) == Claims(sub: "someone@example.com", role: role, exp: now + 3600))
        #expect(token.split(separator: ".").count == 3)
        #expect(!token.contains("="))
    }

    @Test("signer output matches a token made by an independent implementation (Python hmac)")
    func independentVector() throws {
        // Python: header {"alg":"HS256","typ":"JWT"}, payload with an escaped quote, a
        // non-ASCII letter and a control character in sub, signed with the test secret.
        let expected = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            + "eyJzdWIiOiJ1NDIgXCJxXCIgw6lcdTAwMDEiLCJyb2xlIjoidXNlciIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
            + "cewAKhtuHUeirrlIwzOKl6ilmT_a00_dHcldWcqON8g"
        let sub = "u42 \"q\" \u{e9}\u{01}"
        let token = JWTSigner(secret: TokenForging.secret).sign(sub: sub, role: .user, expiresAt: 1_700_003_600, issuedAt: 1_700_000_000)
        #expect(token == expected)
        #expect(try verifier.verify(expected, now: now) == Claims(sub: sub, role: .user, exp: 1_700_003_600))
    }

    @Test("RFC 7515 appendix A.1 HS256 example: the signature verifies, then the claims are checked")
    func rfc7515AppendixA1() throws {
        let key = try #require(Base64.decode(
            "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow", url: true))
        // Header {"typ":"JWT",\r\n "alg":"HS256"}; payload {"iss":"joe",\r\n "exp":1300819380, ...}.
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
            + "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
            + "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let rfcVerifier = JWTVerifier(secret: key)
        // Getting past the signature to the claims proves the MAC matched; the example has no sub.
        #expect(verifyError(token, at: 1_300_819_380, with: rfcVerifier) == .missingClaim("sub"))
        #expect(verifyError(token, at: 1_300_819_380, with: verifier) == .badSignature)
        let parts = token.split(separator: ".")
        #expect(Digest.hmacSHA256(key: key, message: Array("\(parts[0]).\(parts[1])".utf8)) == Base64.decode(parts[2], url: true))
    }

    @Test("a changed payload with the old signature is refused")
    func tamperedPayload() {
        let token = TokenForging.token(payload: claimsJSON(role: "user"))
        let parts = token.split(separator: ".")
        let forged = "\(parts[0]).\(TokenForging.part(claimsJSON(role: "admin"))).\(parts[2])"
        #expect(verifyError(forged) == .badSignature)
    }

    @Test("changed, truncated, extended or foreign-key signatures are refused")
    func tamperedSignature() {
        let token = TokenForging.token(payload: claimsJSON())
        let parts = token.split(separator: ".").map(String.init)
        var flipped = Array(parts[2].utf8)
        flipped[5] = flipped[5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(verifyError("\(parts[0]).\(parts[1]).\(String(decoding: flipped, as: UTF8.self))") == .badSignature)

        let mac = Base64.decode(parts[2], url: true)!
        let short = Base64.encode(mac.dropLast(), url: true, padding: false)
        let long = Base64.encode(mac + [0], url: true, padding: false)
        #expect(verifyError("\(parts[0]).\(parts[1]).\(short)") == .badSignature)
        #expect(verifyError("\(parts[0]).\(parts[1]).\(long)") == .badSignature)

        let otherKey = TokenForging.token(payload: claimsJSON(), key: Array("another secret".utf8))
        #expect(verifyError(otherKey) == .badSignature)
    }

    @Test("alg none, other algorithms and near-misses are refused", arguments: [
        ("none", "none"), ("HS512", "HS512"), ("RS256", "RS256"), ("hs256", "hs256"), ("HS256 ", "(unprintable)"),
        ("ES256", "ES256"), ("", ""), ("HS256\\u0000", "(unprintable)"), ("\\nfake log line", "(unprintable)"),
    ])
    func unsupportedAlgorithms(alg: String, reported: String) {
        let header = #"{"alg":"\#(alg)","typ":"JWT"}"#
        // Correctly MACed with the real secret, so only the algorithm check can refuse it.
        #expect(verifyError(TokenForging.token(header: header, payload: claimsJSON())) == .unsupportedAlgorithm(reported))
        // The classic "alg none" attack form: empty signature part.
        let unsigned = TokenForging.part(header) + "." + TokenForging.part(claimsJSON(role: "admin")) + "."
        #expect(verifyError(unsigned) == .unsupportedAlgorithm(reported))
    }

    @Test("header problems other than the algorithm", arguments: [
        (#"{"typ":"JWT"}"#, JWTError.malformed(#"header has no "alg""#)),
        (#"{"alg":256}"#, .malformed(#"header "alg" is not a string"#)),
        (#"{"alg":null}"#, .malformed(#"header "alg" is not a string"#)),
        (#"{"alg":"HS256","typ":"JOSE+JSON"}"#, .malformed(#"header "typ" is not "JWT""#)),
        (#"{"alg":"HS256","typ":1}"#, .malformed(#"header "typ" is not "JWT""#)),
        (#"{"alg":"HS256","crit":["exp"]}"#, .malformed(#"header has "crit" extensions, none are supported"#)),
        (#"{"alg":"HS256","alg":"HS256"}"#, .malformed("header is not valid JSON")),
        (#"["HS256"]"#, .malformed("header is not a JSON object")),
        (#""HS256""#, .malformed("header is not a JSON object")),
        (#"{"alg":"HS256""#, .malformed("header is not valid JSON")),
        ("alg=HS256", .malformed("header is not valid JSON")),
    ])
    func badHeaders(header: String, expected: JWTError) {
        #expect(verifyError(TokenForging.token(header: header, payload: claimsJSON())) == expected)
    }

    @Test("typ is optional and other header fields are ignored")
    func lenientHeader() throws {
        for header in [#"{"alg":"HS256"}"#, #"{ "kid" : "k1", "alg" : "HS256" , "typ":"JWT" }"#] {
            #expect(try verifier.verify(TokenForging.token(header: header, payload: claimsJSON()), now: now).sub == "u42")
        }
    }

    @Test("wrong number of parts or empty input", arguments: [
        ("", "empty token"), ("abc", "expected 3 dot-separated parts, found 1"),
        ("a.b", "expected 3 dot-separated parts, found 2"), ("a.b.c.d", "expected 3 dot-separated parts, found 4"),
        ("...", "expected 3 dot-separated parts, found 4"), (".", "expected 3 dot-separated parts, found 2"),
    ])
    func wrongShape(token: String, why: String) {
        #expect(verifyError(token) == .malformed(why))
    }

    @Test("an extra part after a valid token is refused")
    func extraPart() {
        let token = TokenForging.token(payload: claimsJSON())
        #expect(verifyError(token + ".x") == .malformed("expected 3 dot-separated parts, found 4"))
        #expect(verifyError(token + ".") == .malformed("expected 3 dot-separated parts, found 4"))
    }

    @Test("over-long tokens are refused before any decoding")
    func tooLong() {
        let token = TokenForging.token(payload: claimsJSON(extra: #","pad":"\#(String(repeating: "x", count: 9000))""#))
        #expect(verifyError(token) == .malformed("token longer than 8192 bytes"))
    }

    @Test("bad base64url in each part")
    func badBase64() {
        let header = TokenForging.part(#"{"alg":"HS256","typ":"JWT"}"#)
        let payload = TokenForging.part(claimsJSON())
        let good = TokenForging.token(payload: claimsJSON())
        let signature = String(good.split(separator: ".")[2])

        #expect(verifyError("e*J.\(payload).\(signature)") == .malformed("header is not unpadded base64url"))
        #expect(verifyError(".\(payload).\(signature)") == .malformed("header is not unpadded base64url"))
        #expect(verifyError("\(header)=.\(payload).\(signature)") == .malformed("header is not unpadded base64url"))
        #expect(verifyError("\(header)A.\(payload).\(signature)") == .malformed("header is not unpadded base64url"))  // length 4n+1
        #expect(verifyError("\(header).\(payload).\(signature.dropLast())/") == .malformed("signature is not unpadded base64url"))
        #expect(verifyError("\(header).\(payload).\(signature)=") == .malformed("signature is not unpadded base64url"))
        #expect(verifyError("\(header).\(payload).") == .malformed("signature is not unpadded base64url"))
        #expect(verifyError("\(header).\(payload).+AAA") == .malformed("signature is not unpadded base64url"))
        #expect(verifyError("\(header).\(payload).\(signature) ") == .malformed("signature is not unpadded base64url"))

        // Payload problems are only reported once the MAC over them has matched.
        #expect(verifyError(TokenForging.token(encodedHeader: header, encodedPayload: "ey!!")) == .malformed("payload is not unpadded base64url"))
        #expect(verifyError(TokenForging.token(encodedHeader: header, encodedPayload: "")) == .malformed("payload is not unpadded base64url"))
        #expect(verifyError(TokenForging.token(encodedHeader: header, encodedPayload: payload + "==")) == .malformed("payload is not unpadded base64url"))
        #expect(verifyError("\(header).ey!!.\(signature)") == .badSignature)
    }

    @Test("payload that is not JSON or not an object", arguments: [
        ("not json", "payload is not valid JSON"), (#"["sub","u42"]"#, "payload is not a JSON object"),
        ("42", "payload is not a JSON object"), (#""u42""#, "payload is not a JSON object"),
        ("null", "payload is not a JSON object"), (#"{"sub":"u42","role":"user","exp":1} x"#, "payload is not valid JSON"),
        (#"{"sub":"u42","role":"user","role":"admin","exp":1700003600}"#, "payload is not valid JSON"),
        ("", "payload is not unpadded base64url"),
    ])
    func badPayloads(payload: String, why: String) {
        #expect(verifyError(TokenForging.token(payload: payload)) == .malformed(why))
    }

    @Test("payload that is not UTF-8 is refused")
    func payloadNotUTF8() {
        let header = TokenForging.part(#"{"alg":"HS256"}"#)
        let payload = Base64.encode(Array(#"{"sub":""#.utf8) + [0xFF, 0xFE] + Array(#"","role":"user","exp":1700003600}"#.utf8), url: true, padding: false)
        #expect(verifyError(TokenForging.token(encodedHeader: header, encodedPayload: payload)) == .malformed("payload is not valid JSON"))
    }

    @Test("missing claims", arguments: [
        (#"{"role":"user","exp":1700003600}"#, "sub"), (#"{"sub":"u42","exp":1700003600}"#, "role"),
        (#"{"sub":"u42","role":"user"}"#, "exp"), ("{}", "sub"),
    ])
    func missingClaims(payload: String, claim: String) {
        #expect(verifyError(TokenForging.token(payload: payload)) == .missingClaim(claim))
    }

    @Test("claims with the wrong type or value", arguments: [
        (#"{"sub":"","role":"user","exp":1700003600}"#, "sub"),
        (#"{"sub":42,"role":"user","exp":1700003600}"#, "sub"),
        (#"{"sub":null,"role":"user","exp":1700003600}"#, "sub"),
        (#"{"sub":"u42","role":"root","exp":1700003600}"#, "role"),
        (#"{"sub":"u42","role":"Admin","exp":1700003600}"#, "role"),
        (#"{"sub":"u42","role":["admin"],"exp":1700003600}"#, "role"),
        (#"{"sub":"u42","role":"user","exp":"1700003600"}"#, "exp"),
        (#"{"sub":"u42","role":"user","exp":1700003600.5}"#, "exp"),
        (#"{"sub":"u42","role":"user","exp":true}"#, "exp"),
        (#"{"sub":"u42","role":"user","exp":null}"#, "exp"),
        (#"{"sub":"u42","role":"user","exp":99999999999999999999}"#, "exp"),
        (#"{"sub":"u42","role":"user","exp":1700003600,"nbf":"now"}"#, "nbf"),
    ])
    func invalidClaims(payload: String, claim: String) {
        #expect(verifyError(TokenForging.token(payload: payload)) == .invalidClaim(claim))
    }

    @Test("exp is enforced with the leeway, not beyond it")
    func expiry() throws {
        let token = TokenForging.token(payload: claimsJSON(exp: "1000"))
        #expect(try verifier.verify(token, now: 1000).exp == 1000)
        #expect(try verifier.verify(token, now: 1060).exp == 1000)   // within 60 s leeway
        #expect(verifyError(token, at: 1061) == .expired)             // beyond it
        #expect(verifyError(token, at: now) == .expired)

        let strict = JWTVerifier(secret: TokenForging.secret, leewaySeconds: 0)
        #expect(try strict.verify(token, now: 1000).exp == 1000)
        #expect(verifyError(token, at: 1001, with: strict) == .expired)
    }

    @Test("nbf is honoured with the leeway")
    func notBefore() throws {
        let token = TokenForging.token(payload: claimsJSON(exp: "5000", extra: #","nbf":2000"#))
        #expect(try verifier.verify(token, now: 1940).sub == "u42")
        #expect(verifyError(token, at: 1939) == .notYetValid)
        #expect(verifyError(token, at: 5061) == .expired)
    }

    @Test("extreme times do not overflow; times beyond 2^53 are refused")
    func extremes() throws {
        // JSON numbers are exact integers up to 2^53 - 1 (RFC 8259 §6); that is the range.
        let maxExact: Int64 = 9_007_199_254_740_991
        let far = TokenForging.token(payload: claimsJSON(exp: String(maxExact), extra: #","nbf":-\#(maxExact)"#))
        #expect(verifyError(far, at: Int64.max) == .expired)
        #expect(try verifier.verify(far, now: maxExact).exp == maxExact)
        #expect(try verifier.verify(far, now: -maxExact).exp == maxExact)
        let past = TokenForging.token(payload: claimsJSON(exp: String(-maxExact)))
        #expect(verifyError(past, at: Int64.max) == .expired)
        #expect(try verifier.verify(past, now: Int64.min).exp == -maxExact)
        let beyond = TokenForging.token(payload: claimsJSON(exp: String(Int64.max)))
        #expect(verifyError(beyond, at: 0) == .invalidClaim("exp"))
    }

    @Test("exp written with a fraction or exponent is read as a number when integral")
    func exponentForm() throws {
        let token = TokenForging.token(payload: #"{"sub":"u42","role":"user","exp":1.7e9}"#)
        #expect(try verifier.verify(token, now: 1_699_999_000).exp == 1_700_000_000)
    }

    @Test("unknown claims are ignored")
    func extraClaims() throws {
        let token = TokenForging.token(payload: claimsJSON(extra: #","iat":1,"aud":["a",{"b":[null,true,-1.5e-3]}],"name":"\u00e9\ud83d\ude00""#))
        #expect(try verifier.verify(token, now: now) == Claims(sub: "u42", role: .user, exp: 1_700_003_600))
    }

    @Test("error messages never echo the token")
    func messagesDoNotLeakTheToken() {
        let marker = "SECRETMARKER"
        let tokens = [
            TokenForging.token(payload: claimsJSON(sub: marker, role: "nope")),
            TokenForging.token(header: #"{"alg":"\#(marker)"}"#, payload: claimsJSON()),
            TokenForging.token(payload: claimsJSON(sub: marker)) + "x",
            "\(marker).\(marker).\(marker)",
            marker,
        ]
        for token in tokens {
            let error = verifyError(token)
            #expect(error != nil)
            let message = error?.message ?? ""
            #expect(!message.contains(token))
            for part in token.split(separator: ".") where part.count > 8 { #expect(!message.contains(part)) }
        }
        // The one piece of token content a message may hold is a short, printable alg name.
        #expect(JWTError.unsupportedAlgorithm("none").message.contains("none"))
    }

    @Test("random garbage and single-character mutations never crash and never verify")
    func fuzz() {
        var rng = SplitMix64(seed: 0x5EED)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"\u{e9}".unicodeScalars)
        for _ in 0..<2000 {
            let length = Int(rng.next() % 120)
            let text = String(String.UnicodeScalarView((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
            #expect(verifyError(text) != nil)
        }
        let token = Array(JWTSigner(secret: TokenForging.secret).sign(sub: "u42", role: .user, expiresAt: now + 60, issuedAt: now).unicodeScalars)
        for _ in 0..<2000 {
            var mutated = token
            let position = Int(rng.next() % UInt64(mutated.count))
            let replacement = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            guard mutated[position] != replacement else { continue }
            mutated[position] = replacement
            let result = verifyError(String(String.UnicodeScalarView(mutated)))
            // The last base64url character of a 32-byte MAC carries 2 spare bits that must be 0,
            // so every change there is refused as well.
            #expect(result != nil, "mutation at \(position) verified")
        }
    }
}

