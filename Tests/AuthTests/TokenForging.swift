import OpenSSLKit

/// Builds tokens with arbitrary header and payload text, signed (or not) by the test,
/// to reach every refusal path of the verifier.
enum TokenForging {
    static let secret = Array("orderpush-test-secret-0123456789abcdef".utf8)

    static func part(_ json: String) -> String {
        Base64.encode(Array(json.utf8), url: true, padding: false)
    }

    static func sign(_ signingInput: String, key: [UInt8] = secret) -> String {
        Base64.encode(Digest.hmacSHA256(key: key, message: Array(signingInput.utf8)), url: true, padding: false)
    }

    /// `base64url(header).base64url(payload).HMAC` with the test secret.
    static func token(header: String = #"{"alg":"HS256","typ":"JWT"}"#, payload: String, key: [UInt8] = secret) -> String {
        let input = part(header) + "." + part(payload)
        return input + "." + sign(input, key: key)
    }

    /// A token whose already-encoded parts are given verbatim, correctly signed over them.
    static func token(encodedHeader: String, encodedPayload: String) -> String {
        let input = encodedHeader + "." + encodedPayload
        return input + "." + sign(input)
    }
}
