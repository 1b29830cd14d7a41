import Foundation
import Glibc
import OpenSSLKit
import Testing

/// A blocking TLS client over `TestClient`'s socket: HTTP upgrade and WebSocket frames, for
/// tests of WSS connections.
private final class TLSTestClient {
    let raw: TestClient
    let session: TLSSession
    private var inbox: [UInt8] = []

    /// Connects and completes the handshake, trusting only the CA at `caPath`.
    /// - Throws: if the handshake fails (e.g. the server's certificate is not from that CA).
    init(port: UInt16, caPath: String) throws {
        raw = try TestClient(port: port)
        let context = try TLSContext(clientTrustingCertificatesAt: caPath)
        session = try TLSSession(clientContext: context, fd: raw.fd, serverName: "127.0.0.1")
        let result = session.handshake()
        guard result == .bytes(0) else { throw TestFailure("TLS handshake: \(result)") }
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            guard case .bytes(let n) = bytes[offset...].withUnsafeBytes({ session.write($0) }) else { return }
            offset += n
        }
    }

    private func fill() -> Bool {
        var buf = [UInt8](repeating: 0, count: 16384)
        guard case .bytes(let n) = buf.withUnsafeMutableBytes({ session.read(into: $0) }), n > 0 else { return false }
        inbox += buf[0..<n]
        return true
    }

    /// Sends an upgrade to `/ws` with the token and returns the status line.
    func upgradeToPush(token: String) -> String? {
        send(Array(("GET /ws?access_token=\(token) HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").utf8))
        while true {
            if let end = String(decoding: inbox, as: UTF8.self).range(of: "\r\n\r\n") {
                let head = String(String(decoding: inbox, as: UTF8.self)[..<end.lowerBound])
                inbox.removeFirst(head.utf8.count + 4)
                return head.components(separatedBy: "\r\n").first
            }
            if !fill() { return nil }
        }
    }

    /// The next JSON text message, answering pings; nil on timeout or close.
    func nextMessage() -> [String: Any]? {
        while true {
            if inbox.count >= 2 {
                var length = Int(inbox[1] & 0x7f), offset = 2
                if length == 126 {
                    if inbox.count < 4 { if !fill() { return nil }; continue }
                    length = Int(inbox[2]) << 8 | Int(inbox[3]); offset = 4
                } else if length == 127 {
                    if inbox.count < 10 { if !fill() { return nil }; continue }
                    length = inbox[2..<10].reduce(0) { $0 << 8 | Int($1) }; offset = 10
                }
                if inbox.count >= offset + length {
                    let opcode = inbox[0] & 0x0f
                    let payload = Array(inbox[offset..<(offset + length)])
                    inbox.removeFirst(offset + length)
                    switch opcode {
                    case 0x9: send(TestClient.frame(opcode: 0xA, payload: payload)); continue
                    case 0x1: return (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any]
                    case 0x8: return nil
                    default: continue
                    }
                }
            }
            if !fill() { return nil }
        }
    }
}

/// SIGHUP re-reads the TLS certificate and key: new connections get the new certificate,
/// open WSS connections keep working, and a bad file keeps the old certificate.
@Suite struct CertificateReloadTests {
    /// Copies `cert.pem` and `key.pem` of `from` over the ones in `live` (each replaced by a
    /// rename, as deployment tools do, so the server never reads half a file).
    private func install(_ from: TemporaryFolder, into live: TemporaryFolder) throws {
        for name in ["cert.pem", "key.pem"] {
            let staged = live.url.appendingPathComponent(".\(name).new")
            try? FileManager.default.removeItem(at: staged)
            try FileManager.default.copyItem(at: from.url.appendingPathComponent(name), to: staged)
            guard rename(staged.path, live.url.appendingPathComponent(name).path) == 0 else { throw TestFailure("rename failed") }
        }
    }

    @Test func aWSSConnectionOpenedBeforeSIGHUPKeepsReceivingAndNewConnectionsGetTheNewCertificate() throws {
        let first = try makeDevCertificates(prefix: "orderpush-certs"), second = try makeDevCertificates(prefix: "orderpush-certs"), live = try TemporaryFolder(prefix: "orderpush-live")
        try install(first, into: live)
        let server = try ServerProcess(arguments: ["--tls-port", "0",
                                                   "--tls-cert", live.url.appendingPathComponent("cert.pem").path,
                                                   "--tls-key", live.url.appendingPathComponent("key.pem").path])
        let line = try #require(server.startupLines.first { $0.contains("listening on https://") })
        let tlsPort = try #require(UInt16(line.components(separatedBy: "https://")[1].split(separator: " ")[0].split(separator: ":").last!))
        let firstCA = first.url.appendingPathComponent("ca.pem").path, secondCA = second.url.appendingPathComponent("ca.pem").path
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")

        let before = try TLSTestClient(port: tlsPort, caPath: firstCA)
        #expect(before.upgradeToPush(token: admin) == "HTTP/1.1 101 Switching Protocols")
        before.send(TestClient.frame(opcode: 1, payload: Array(#"{"type":"subscribe","channel":"admin"}"#.utf8)))
        #expect(before.nextMessage()?["type"] as? String == "subscribed")
        // The second CA does not vouch for the certificate in use yet.
        #expect(throws: TestFailure.self) { _ = try TLSTestClient(port: tlsPort, caPath: secondCA) }

        try install(second, into: live)
        server.signal(SIGHUP)
        #expect(server.waitForLog(containing: "TLS certificate reloaded from"), "\(server.stderrText)")

        // Every loop has handled the reload once a new connection presents the new
        // certificate; several tries, since each may land on any loop (SO_REUSEPORT).
        for _ in 0..<8 {
            let after = try TLSTestClient(port: tlsPort, caPath: secondCA)
            #expect(after.upgradeToPush(token: admin) == "HTTP/1.1 101 Switching Protocols")
            #expect(throws: TestFailure.self) { _ = try TLSTestClient(port: tlsPort, caPath: firstCA) }
        }

        // The connection opened before the reload still receives events.
        let created = try TestClient(port: server.port).createOrder(token: admin, body: OrderBody.simple(userId: "wss-user"))
        let event = try #require(before.nextMessage())
        #expect(event["type"] as? String == "event")
        #expect((event["order"] as? [String: Any])?["id"] as? String == created.id)
        #expect(event["seq"] as? Int == created.seq)
        withExtendedLifetime((first, second, live)) {}
    }

    @Test func aBadCertificateAtSIGHUPKeepsTheOldOneAndSaysWhy() throws {
        let certs = try makeDevCertificates(prefix: "orderpush-certs"), live = try TemporaryFolder(prefix: "orderpush-live")
        try install(certs, into: live)
        let server = try ServerProcess(arguments: ["--tls-port", "0",
                                                   "--tls-cert", live.url.appendingPathComponent("cert.pem").path,
                                                   "--tls-key", live.url.appendingPathComponent("key.pem").path])
        let line = try #require(server.startupLines.first { $0.contains("listening on https://") })
        let tlsPort = try #require(UInt16(line.components(separatedBy: "https://")[1].split(separator: " ")[0].split(separator: ":").last!))
        let ca = certs.url.appendingPathComponent("ca.pem").path
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let before = try TLSTestClient(port: tlsPort, caPath: ca)
        #expect(before.upgradeToPush(token: admin) == "HTTP/1.1 101 Switching Protocols")
        before.send(TestClient.frame(opcode: 1, payload: Array(#"{"type":"subscribe","channel":"admin"}"#.utf8)))
        #expect(before.nextMessage()?["type"] as? String == "subscribed")

        try Data("not a certificate\n".utf8).write(to: live.url.appendingPathComponent("cert.pem"))
        server.signal(SIGHUP)
        #expect(server.waitForLog(containing: "TLS certificate NOT reloaded, the previous one stays in use"), "\(server.stderrText)")
        #expect(server.stderrText.contains("cert.pem"))
        // The keys were reloaded all the same (they are independent of the certificate).
        #expect(server.stderrText.contains("signing keys reloaded"))

        for _ in 0..<4 {
            let after = try TLSTestClient(port: tlsPort, caPath: ca)
            #expect(after.upgradeToPush(token: admin) == "HTTP/1.1 101 Switching Protocols")
        }
        let created = try TestClient(port: server.port).createOrder(token: admin, body: OrderBody.simple(userId: "kept"))
        let event = try #require(before.nextMessage())
        #expect((event["order"] as? [String: Any])?["id"] as? String == created.id)
        withExtendedLifetime((certs, live)) {}
    }
}
