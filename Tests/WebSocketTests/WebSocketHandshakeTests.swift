import Testing
import WebSocket

@Suite struct WebSocketHandshakeTests {
    @Test func acceptValueMatchesRFC6455Example() {
        // RFC 6455 §1.3.
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func acceptValueIgnoresSurroundingWhitespace() {
        #expect(WebSocketHandshake.acceptValue(forKey: " \tdGhlIHNhbXBsZSBub25jZQ== ") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func acceptValueDependsOnKey() {
        #expect(WebSocketHandshake.acceptValue(forKey: "AQIDBAUGBwgJCgsMDQ4PEA==")
            != WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ=="))
    }

    @Test(arguments: [
        "dGhlIHNhbXBsZSBub25jZQ==",
        "AQIDBAUGBwgJCgsMDQ4PEA==",
        "  AQIDBAUGBwgJCgsMDQ4PEA==  ",
        "\tAAAAAAAAAAAAAAAAAAAAAA==",
    ])
    func validKeys(key: String) {
        #expect(WebSocketHandshake.isValidKey(key))
    }

    @Test(arguments: [
        "",                              // empty
        "   ",                           // only whitespace
        "dGhlIHNhbXBsZSBub25jZQ",        // missing padding
        "dGhlIHNhbXBsZSBub25jZQ=",       // wrong padding
        "dGhlIHNhbXBsZSBub25jZQ==x",     // trailing garbage
        "dGhlIHNhbXBsZSBub25j",          // 15 bytes
        "dGhlIHNhbXBsZSBub25jZXM=",      // 17 bytes
        "dGhlIHNhbXBsZSBub25jZQ!=",      // not base64
        "dGhlIHNhbXBsZSBub25jZR==",      // non-zero trailing bits
        "dGhlIHNhbXBs ZSBub25jZQ==",     // inner space
        "dGhlIHNhbXBsZSBub25jZQ-_",      // base64url alphabet
        "the sample nonce",              // raw 16 bytes, not encoded
    ])
    func invalidKeys(key: String) {
        #expect(!WebSocketHandshake.isValidKey(key))
    }
}
