import Foundation
import OpenSSLKit
import Testing

/// HTTPS and WSS on the same loop as plain HTTP, with a dev certificate from certs/.
@Suite struct TLSServerTests {
    @Test func httpsAndWssServeOnTheTLSPort() throws {
        let certsFolder = try makeDevCertificates(prefix: "orderpush-certs")
        defer { withExtendedLifetime(certsFolder) {} }
        let certs = certsFolder.url
        let server = try ServerProcess(arguments: ["--echo", "--tls-port", "0",
                                                   "--tls-cert", certs.appendingPathComponent("cert.pem").path,
                                                   "--tls-key", certs.appendingPathComponent("key.pem").path])
        let line = try #require(server.startupLines.first { $0.contains("listening on https://") })
        let address = line.components(separatedBy: "https://")[1].split(separator: " ")[0]
        let tlsPort = try #require(UInt16(address.split(separator: ":").last!))

        let raw = try TestClient(port: tlsPort)
        let context = try TLSContext(clientTrustingCertificatesAt: certs.appendingPathComponent("ca.pem").path)
        let tls = try TLSSession(clientContext: context, fd: raw.fd, serverName: "127.0.0.1")
        #expect(tls.handshake() == .bytes(0))

        func send(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                guard case .bytes(let n) = bytes[offset...].withUnsafeBytes({ tls.write($0) }) else { return }
                offset += n
            }
        }
        func receive(until done: ([UInt8]) -> Bool) -> [UInt8] {
            var all: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 16384)
            while !done(all) {
                guard case .bytes(let n) = buf.withUnsafeMutableBytes({ tls.read(into: $0) }), n > 0 else { break }
                all += buf[0..<n]
            }
            return all
        }
        send(Array("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        let answer = String(decoding: receive { String(decoding: $0, as: UTF8.self).contains("\"ok\"") }, as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 200"))

        send(Array("GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".utf8))
        let upgrade = String(decoding: receive { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") }, as: UTF8.self)
        #expect(upgrade.hasPrefix("HTTP/1.1 101"))
        send(TestClient.frame(opcode: 1, payload: Array("over tls".utf8)))
        let frame = receive { $0.count >= 10 }
        #expect(Array(frame.prefix(2)) == [0x81, 8])
        #expect(String(decoding: frame.dropFirst(2), as: UTF8.self) == "over tls")
    }

    @Test func aBadCertificatePathIsAClearStartError() throws {
        #expect(throws: (any Error).self) {
            _ = try ServerProcess(arguments: ["--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"])
        }
    }
}
