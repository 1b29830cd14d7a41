import Foundation
import OpenSSLKit

/// Mints JWTs for a running server from its secret file, including every kind of bad
/// token the server must refuse (docs/PROTOCOL.md §1). Written by hand rather than with `Auth`'s
/// signer so a test can put anything in the header and payload.
struct TokenFactory: Sendable {
    let secret: [UInt8]

    /// Reads `<dataDir>/jwt-secret` (created by the server on start) the way the server
    /// does: the file's bytes with one trailing line ending removed.
    init(server: ServerProcess) throws {
        let path = server.dataDir.appendingPathComponent("jwt-secret").path
        guard var bytes = FileManager.default.contents(atPath: path).map(Array.init) else {
            throw TestFailure("no secret at \(path)")
        }
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        secret = bytes
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// A valid token (unless `expiresIn` puts `exp` in the past).
    func token(sub: String, role: String, expiresIn: Int64 = 3600) -> String {
        let payload = #"{"sub":\#(jsonString(sub)),"role":"\#(role)","iat":\#(Self.now),"exp":\#(Self.now + expiresIn)}"#
        return signed(payload: payload)
    }

    /// `header.payload.signature` with the given JSON texts, HMAC-SHA256 signed with `key`
    /// (the server's secret unless given).
    func signed(header: String = #"{"alg":"HS256","typ":"JWT"}"#, payload: String, key: [UInt8]? = nil) -> String {
        let input = Self.part(header) + "." + Self.part(payload)
        let mac = Digest.hmacSHA256(key: key ?? secret, message: Array(input.utf8))
        return input + "." + Base64.encode(mac, url: true, padding: false)
    }

    /// Unpadded base64url of a text.
    static func part(_ text: String) -> String {
        Base64.encode(Array(text.utf8), url: true, padding: false)
    }

    /// A named token the server must refuse, for parameterised tests.
    struct BadToken: Sendable, CustomStringConvertible {
        let description: String
        let token: String
    }

    /// Every refusal of docs/PROTOCOL.md §1, each with a token that is otherwise valid.
    func badTokens() -> [BadToken] {
        let now = Self.now
        let good = #"{"sub":"mallory","role":"admin","exp":\#(now + 3600)}"#
        let goodToken = signed(payload: good)
        let noneToken = Self.part(#"{"alg":"none","typ":"JWT"}"#) + "." + Self.part(good) + "."
        let tampered = goodToken.split(separator: ".").prefix(2).joined(separator: ".") + "."
            + Self.part("not the signature at all, 32 b.")
        let wrongPayloadSub = Self.part(#"{"alg":"HS256","typ":"JWT"}"#) + "."
            + Self.part(#"{"sub":"mallory","role":"admin","exp":\#(now + 7200)}"#) + "."
            + String(goodToken.split(separator: ".")[2])
        return [
            BadToken(description: "garbage", token: "not-a-jwt"),
            BadToken(description: "two parts", token: "abc.def"),
            BadToken(description: "malformed base64", token: "@@@.###.$$$"),
            BadToken(description: "header not JSON", token: signed(header: "HS256", payload: good)),
            BadToken(description: "payload not JSON", token: signed(payload: "{sub: mallory}")),
            BadToken(description: "signed with another key", token: signed(payload: good, key: Array("another key entirely".utf8))),
            BadToken(description: "signature of another payload", token: wrongPayloadSub),
            BadToken(description: "tampered signature", token: tampered),
            BadToken(description: "alg none, no signature", token: noneToken),
            BadToken(description: "alg none, signed", token: signed(header: #"{"alg":"none","typ":"JWT"}"#, payload: good)),
            BadToken(description: "alg HS512 label", token: signed(header: #"{"alg":"HS512","typ":"JWT"}"#, payload: good)),
            BadToken(description: "alg lower case", token: signed(header: #"{"alg":"hs256","typ":"JWT"}"#, payload: good)),
            BadToken(description: "expired beyond the leeway",
                     token: signed(payload: #"{"sub":"mallory","role":"admin","exp":\#(now - 120)}"#)),
            BadToken(description: "missing sub", token: signed(payload: #"{"role":"admin","exp":\#(now + 3600)}"#)),
            BadToken(description: "empty sub", token: signed(payload: #"{"sub":"","role":"admin","exp":\#(now + 3600)}"#)),
            BadToken(description: "missing role", token: signed(payload: #"{"sub":"mallory","exp":\#(now + 3600)}"#)),
            BadToken(description: "missing exp", token: signed(payload: #"{"sub":"mallory","role":"admin"}"#)),
            BadToken(description: "exp not a number",
                     token: signed(payload: #"{"sub":"mallory","role":"admin","exp":"\#(now + 3600)"}"#)),
            BadToken(description: "wrong role value",
                     token: signed(payload: #"{"sub":"mallory","role":"superuser","exp":\#(now + 3600)}"#)),
            BadToken(description: "role in capitals",
                     token: signed(payload: #"{"sub":"mallory","role":"ADMIN","exp":\#(now + 3600)}"#)),
        ]
    }
}
