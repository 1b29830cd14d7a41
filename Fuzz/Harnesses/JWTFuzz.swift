import Auth
import OpenSSLKit

// Target `jwt`: JWTVerifier.verify.
//
// Random bytes almost never carry a valid HMAC, so the input has two forms:
// - without a newline: the input is the token text itself (raw mode: shape, base64url,
//   header checks, signature refusal);
// - `header JSON \n payload JSON`: the harness base64url-encodes both and signs them with
//   the verifier's secret, so the fuzzer reaches the header and claim checks.
// Invariants:
// - verify never crashes;
// - an accepted token verifies again to the same claims, has a non-empty `sub`, an `exp`
//   within the leeway, and three canonically spelt base64url parts (one token, one spelling);
// - the same claims signed by JWTSigner verify to the same claims;
// - an accepted token with its signature altered, or checked with another secret, is
//   refused as a bad signature;
// - an unsupported algorithm is reported only in a log-safe form.

private let secret = Array("orderpush-fuzz-secret-0123456789".utf8)
private let verifier = JWTVerifier(secret: secret)
private let now: Int64 = 1_700_000_000

private func encode(_ bytes: some Collection<UInt8>) -> String {
    Base64.encode(bytes, url: true, padding: false)
}

private func signedToken(header: some Collection<UInt8>, payload: some Collection<UInt8>) -> String {
    let signingInput = encode(header) + "." + encode(payload)
    return signingInput + "." + encode(Digest.hmacSHA256(key: secret, message: Array(signingInput.utf8)))
}

private func checkAccepted(_ token: String, _ claims: Claims) {
    require(!claims.sub.isEmpty, "accepted an empty sub")
    require(Int128(now) <= Int128(claims.exp) + 60, "accepted an expired token (exp \(claims.exp))")
    require((try? verifier.verify(token, now: now)) == claims, "token did not re-verify to the same claims")

    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    require(parts.count == 3, "accepted a token of \(parts.count) parts")
    for part in parts {
        let decoded = Base64.decode(part, url: true)
        require(decoded.map { encode($0) } == String(part), "accepted a non-canonical part \(part)")
    }

    var altered = parts.map(String.init)
    // The first character sets the top bits of the first MAC byte, so this changes the MAC.
    let replacement: String = altered[2].first == "A" ? "B" : "A"
    altered[2] = replacement + altered[2].dropFirst()
    require((try? verifier.verify(altered.joined(separator: "."), now: now)) == nil, "accepted an altered signature")
    do {
        _ = try JWTVerifier(secret: Array("another-secret".utf8)).verify(token, now: now)
        require(false, "another secret accepted the token")
    } catch {
        require(error == .badSignature, "another secret refused the token with \(error), not badSignature")
    }

    let resigned = JWTSigner(secret: secret).sign(sub: claims.sub, role: claims.role, expiresAt: claims.exp, issuedAt: now)
    do {
        let again = try verifier.verify(resigned, now: now)
        require(again == claims, "re-signed claims \(again) differ from \(claims)")
    } catch {
        require(false, "JWTSigner's token for \(claims) was refused: \(error)")
    }
}

private func checkRefused(_ error: JWTError) {
    if case .unsupportedAlgorithm(let alg) = error {
        let logSafe = alg == "(unprintable)"
            || (alg.utf8.count <= 32 && alg.utf8.allSatisfy { (0x21...0x7E).contains($0) && $0 != 0x22 && $0 != 0x5C })
        require(logSafe, "unsupported algorithm reported as \(alg.debugDescription)")
    }
    _ = error.message
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let token: String
    if let newline = input.firstIndex(of: 0x0A) {
        token = signedToken(header: input[..<newline], payload: input[(newline + 1)...])
    } else {
        token = String(decoding: input, as: UTF8.self)
    }
    do {
        checkAccepted(token, try verifier.verify(token, now: now))
    } catch {
        checkRefused(error)
    }
    return 0
}
