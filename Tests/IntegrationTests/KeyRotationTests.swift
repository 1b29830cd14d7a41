import Foundation
import Glibc
import OpenSSLKit
import Testing

/// Signing keys with ids (`--jwt-keys`), `orderpush token` with a kid, and what SIGHUP
/// reloads (keys, TLS certificate), against the real binary (docs/PROTOCOL.md §1, §10).
@Suite struct KeyRotationTests {
    private static let oldKey = Array("old-key-0123456789abcdef0123456789abcdef".utf8)
    private static let newKey = Array("new-key-0123456789abcdef0123456789abcdef".utf8)

    /// An HS256 token with `kid` (none when nil) in the header, signed with `key`.
    private func token(sub: String, role: String, kid: String?, key: [UInt8]) -> String {
        let now = Int64(Date().timeIntervalSince1970)
        let header = kid.map { #"{"alg":"HS256","typ":"JWT","kid":\#(jsonString($0))}"# } ?? #"{"alg":"HS256","typ":"JWT"}"#
        let payload = #"{"sub":\#(jsonString(sub)),"role":"\#(role)","iat":\#(now),"exp":\#(now + 3600)}"#
        let input = Base64.encode(Array(header.utf8), url: true, padding: false) + "."
            + Base64.encode(Array(payload.utf8), url: true, padding: false)
        return input + "." + Base64.encode(Digest.hmacSHA256(key: key, message: Array(input.utf8)), url: true, padding: false)
    }

    private func write(_ bytes: [UInt8], to url: URL) throws {
        try Data(bytes).write(to: url)
    }

    /// The status of `GET /api/orders/manage` with `token` (any authenticated route would do).
    private func status(_ server: ServerProcess, _ token: String) throws -> Int {
        try #require(try TestClient(port: server.port).call("GET", "/api/orders/manage", token: token)).status
    }

    @Test func aRotatedOutKeyIsRefusedAndTheNewOneAcceptedAfterSIGHUP() throws {
        let keys = try TemporaryFolder(prefix: "orderpush-keys")
        try write(Self.oldKey + [0x0A], to: keys.url.appendingPathComponent("2026-06"))
        let server = try ServerProcess(arguments: ["--jwt-keys", keys.url.path])
        #expect(server.waitForLog(containing: "signing keys: 1 key (2026-06), primary 2026-06"))
        let oldAdmin = token(sub: "ops", role: "admin", kid: "2026-06", key: Self.oldKey)
        let newAdmin = token(sub: "ops", role: "admin", kid: "2026-12", key: Self.newKey)
        #expect(try status(server, oldAdmin) == 200)
        #expect(try status(server, token(sub: "ops", role: "admin", kid: nil, key: Self.oldKey)) == 200)  // no kid: the primary
        #expect(try status(server, newAdmin) == 401)                                                       // unknown kid

        // A WebSocket authenticated with the old key before the rotation.
        let before = try PushSession(port: server.port, token: oldAdmin)
        try before.subscribed("admin")

        // Step 1: add the new key. Both are accepted; the primary stays 2026-06.
        try write(Self.newKey, to: keys.url.appendingPathComponent("2026-12"))
        server.signal(SIGHUP)
        #expect(server.waitForLog(containing: "signing keys reloaded: 2 keys (2026-06, 2026-12), primary 2026-06"), "\(server.stderrText)")
        #expect(try status(server, oldAdmin) == 200)
        #expect(try status(server, newAdmin) == 200)

        // Step 2: drop the old key.
        try FileManager.default.removeItem(at: keys.url.appendingPathComponent("2026-06"))
        server.signal(SIGHUP)
        #expect(server.waitForLog(containing: "signing keys reloaded: 1 key (2026-12), primary 2026-12"), "\(server.stderrText)")
        let refused = try #require(try TestClient(port: server.port).call("GET", "/api/orders/manage", token: oldAdmin))
        #expect(refused.status == 401)
        #expect(refused.text.contains("kid"))
        #expect(try status(server, newAdmin) == 200)
        #expect(try status(server, token(sub: "ops", role: "admin", kid: nil, key: Self.newKey)) == 200)
        // A new WebSocket with the old key is refused too.
        #expect(throws: TestFailure.self) { _ = try PushSession(port: server.port, token: oldAdmin) }

        // The open connection stays, and still gets events.
        let created = try TestClient(port: server.port).createOrder(token: newAdmin, body: OrderBody.simple(userId: "rotated"))
        let event = try #require(before.event(for: created.id, kind: "order.created", channel: "admin"))
        #expect(event.seq == created.seq)
        withExtendedLifetime(keys) {}
    }

    @Test func aBadKeyFileAtSIGHUPKeepsTheOldKeysAndSaysWhy() throws {
        let keys = try TemporaryFolder(prefix: "orderpush-keys")
        try write(Self.oldKey, to: keys.url.appendingPathComponent("k1"))
        let server = try ServerProcess(arguments: ["--jwt-keys", keys.url.path])
        let old = token(sub: "u1", role: "user", kid: "k1", key: Self.oldKey)
        #expect(try status(server, old) == 200)

        // A good new key next to an empty one, and the old key removed: nothing of it applies.
        try write(Self.newKey, to: keys.url.appendingPathComponent("k2"))
        try write([0x0A], to: keys.url.appendingPathComponent("broken"))
        try FileManager.default.removeItem(at: keys.url.appendingPathComponent("k1"))
        server.signal(SIGHUP)
        #expect(server.waitForLog(containing: "signing keys NOT reloaded, the previous ones stay in use"), "\(server.stderrText)")
        #expect(server.stderrText.contains("broken"))
        #expect(server.stderrText.contains("is empty"))
        #expect(try status(server, old) == 200)
        #expect(try status(server, token(sub: "u1", role: "user", kid: "k2", key: Self.newKey)) == 401)

        // Fixed: the next SIGHUP applies it.
        try FileManager.default.removeItem(at: keys.url.appendingPathComponent("broken"))
        server.signal(SIGHUP)
        #expect(server.waitForLog(containing: "signing keys reloaded: 1 key (k2), primary k2"), "\(server.stderrText)")
        #expect(try status(server, old) == 401)
        #expect(try status(server, token(sub: "u1", role: "user", kid: "k2", key: Self.newKey)) == 200)
        withExtendedLifetime(keys) {}
    }

    @Test func severalKeysNeedAPrimaryAndItMustExist() throws {
        let keys = try TemporaryFolder(prefix: "orderpush-keys")
        try write(Self.oldKey, to: keys.url.appendingPathComponent("a"))
        try write(Self.newKey, to: keys.url.appendingPathComponent("b"))
        #expect(throws: TestFailure.self) { _ = try ServerProcess(arguments: ["--jwt-keys", keys.url.path]) }
        #expect(throws: TestFailure.self) { _ = try ServerProcess(arguments: ["--jwt-keys", keys.url.path, "--jwt-primary", "c"]) }
        #expect(throws: TestFailure.self) {
            _ = try ServerProcess(arguments: ["--jwt-keys", keys.url.path, "--jwt-secret-file", keys.url.appendingPathComponent("a").path])
        }
        let server = try ServerProcess(arguments: [], environment: ["ORDERPUSH_JWT_KEYS": keys.url.path, "ORDERPUSH_JWT_PRIMARY": "b"])
        #expect(server.waitForLog(containing: "signing keys: 2 keys (a, b), primary b"))

        // `orderpush token` signs with the primary and names it in the header.
        let minted = try runToken(["--sub", "cli-user", "--role", "user", "--jwt-keys", keys.url.path, "--jwt-primary", "b"])
        let header = try #require(Data(base64URL: String(minted.split(separator: ".")[0])))
        #expect(String(decoding: header, as: UTF8.self) == #"{"alg":"HS256","typ":"JWT","kid":"b"}"#)
        #expect(try status(server, minted) == 200)
        // The start-up links are signed with the primary too.
        let adminLink = try #require(server.startupLines.first { $0.contains("/admin?token=") })
        #expect(try status(server, String(adminLink.split(separator: "=").last!)) == 200)
        withExtendedLifetime(keys) {}
    }

    @Test func theSingleSecretStillSignsWithoutKid() throws {
        let server = try ServerProcess()
        let minted = try runToken(["--sub", "u", "--role", "user", "--db", server.dataDir.appendingPathComponent("orderpush.sqlite").path])
        #expect(minted.hasPrefix("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."))  // {"alg":"HS256","typ":"JWT"}
        #expect(try status(server, minted) == 200)
    }

    private func runToken(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
        p.arguments = ["token"] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestFailure("orderpush token \(arguments) failed") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Data {
    init?(base64URL text: String) {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        self.init(base64Encoded: s)
    }
}
