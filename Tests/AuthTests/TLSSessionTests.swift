import Testing
import Foundation
import OpenSSLKit

/// Certificates made with the `openssl` CLI in a temporary directory.
private final class TestCertificates {
    let dir: TemporaryDirectory
    var cert: String { dir.path + "/cert.pem" }
    var key: String { dir.path + "/key.pem" }
    var otherCert: String { dir.path + "/other-cert.pem" }
    var otherKey: String { dir.path + "/other-key.pem" }

    init() throws {
        dir = try TemporaryDirectory()
        try Self.selfSigned(cert: cert, key: key, subjectAltName: "DNS:localhost,IP:127.0.0.1,IP:::1")
        try Self.selfSigned(cert: otherCert, key: otherKey, subjectAltName: "DNS:localhost")
    }

    private static func selfSigned(cert: String, key: String, subjectAltName: String) throws {
        try run("/usr/bin/env", ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                 "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=\(subjectAltName)",
                                 "-keyout", key, "-out", cert])
    }

    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TLSTestFailure("\(arguments.joined(separator: " ")) exited \(process.terminationStatus)") }
    }
}

private struct TLSTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A connected pair of non-blocking Unix stream sockets.
private final class SocketPair {
    let server: Int32
    let client: Int32
    private var clientOpen = true

    init() throws {
        // OpenSSL writes with write(2); a test that closes one end must not die of SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [-1, -1]
        // CLOEXEC: other tests of this process start servers (fork + exec); a child that
        // inherited our end would keep it open, and a close here would not be an EOF there.
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else { throw TLSTestFailure("socketpair failed") }
        for fd in fds {
            guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 else { throw TLSTestFailure("fcntl failed") }
        }
        server = fds[0]
        client = fds[1]
    }

    func closeClient() {
        if clientOpen { close(client); clientOpen = false }
    }

    /// Waits (at most 10 s) until the server end has something to read or sees the close,
    /// so a read after `closeClient` is not a race with a child process still between fork
    /// and exec.
    func waitUntilServerReadable() {
        var p = pollfd(fd: server, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, 10_000)
    }

    deinit {
        close(server)
        closeClient()
    }
}

/// Steps both handshakes alternately until both finish or one fails.
private func handshake(_ server: TLSSession, _ client: TLSSession) -> (server: TLSIOResult, client: TLSIOResult) {
    var s = TLSIOResult.wantRead, c = TLSIOResult.wantRead
    for _ in 0..<100 {
        if s != .bytes(0) { s = server.handshake() }
        if c != .bytes(0) { c = client.handshake() }
        switch (s, c) {
        case (.bytes(0), .bytes(0)), (.failed, _), (_, .failed), (.closed, _), (_, .closed): return (s, c)
        default: continue
        }
    }
    return (s, c)
}

/// Reads whatever is available into `received`, in small chunks so that records are left
/// partly unread and `hasBufferedPlaintext` matters. Returns (progressed, sawBufferedPlaintext).
private func drain(_ session: TLSSession, into received: inout [UInt8]) throws -> (Bool, Bool) {
    var chunk = [UInt8](repeating: 0, count: 1000)
    var progressed = false, sawBuffered = false
    while true {
        let result = chunk.withUnsafeMutableBytes { session.read(into: $0) }
        switch result {
        case .bytes(let n):
            received += chunk[..<n]
            progressed = true
            if session.hasBufferedPlaintext { sawBuffered = true }
        case .wantRead, .wantWrite:
            return (progressed, sawBuffered)
        case .closed, .failed:
            throw TLSTestFailure("read: \(result)")
        }
    }
}

/// Writes from `bytes[offset...]` once; returns the bytes consumed.
private func writeSome(_ session: TLSSession, _ bytes: [UInt8], from offset: Int) throws -> Int {
    guard offset < bytes.count else { return 0 }
    let result = bytes.withUnsafeBytes { session.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
    switch result {
    case .bytes(let n): return n
    case .wantRead, .wantWrite: return 0
    case .closed, .failed: throw TLSTestFailure("write: \(result)")
    }
}

@Suite("TLS sessions over a socket pair")
struct TLSSessionTests {
    @Test("handshake, 1 MiB each way, clean shutdown", arguments: [TLSVersion.tls13, .tls12])
    func exchange(version: TLSVersion) throws {
        let certs = try TestCertificates()
        let sockets = try SocketPair()
        let server = try TLSSession(context: TLSContext(certificateChainPath: certs.cert, privateKeyPath: certs.key), fd: sockets.server)
        let client = try TLSSession(
            clientContext: TLSContext(clientTrustingCertificatesAt: certs.cert, maximumVersion: version),
            fd: sockets.client, serverName: "localhost")

        #expect(!server.isHandshakeComplete)
        #expect(server.cipherName == nil)
        let (s, c) = handshake(server, client)
        #expect(s == .bytes(0))
        #expect(c == .bytes(0))
        #expect(server.isHandshakeComplete && client.isHandshakeComplete)
        #expect(server.handshake() == .bytes(0))  // idempotent once done
        #expect(server.protocolVersion == (version == .tls13 ? "TLSv1.3" : "TLSv1.2"))
        let cipher = try #require(server.cipherName)
        #expect(version == .tls13 ? cipher.hasPrefix("TLS_") : cipher.hasPrefix("ECDHE-ECDSA-") && cipher.contains("GCM"))

        // Client sends 1 MiB, the server echoes it back as it arrives; both directions at once.
        let message = Digest.randomBytes(1 << 20)
        var clientSent = 0, serverEchoed = 0
        var serverReceived: [UInt8] = [], clientReceived: [UInt8] = []
        var sawBuffered = false
        var idleRounds = 0
        while clientReceived.count < message.count {
            let sent = try writeSome(client, message, from: clientSent)
            clientSent += sent
            let (serverRead, serverBuffered) = try drain(server, into: &serverReceived)
            let echoed = try writeSome(server, serverReceived, from: serverEchoed)
            serverEchoed += echoed
            let (clientRead, clientBuffered) = try drain(client, into: &clientReceived)
            sawBuffered = sawBuffered || serverBuffered || clientBuffered
            idleRounds = (sent + echoed > 0 || serverRead || clientRead) ? 0 : idleRounds + 1
            guard idleRounds < 100 else { throw TLSTestFailure("stalled at \(clientSent)/\(serverEchoed)/\(clientReceived.count)") }
        }
        #expect(serverReceived == message)
        #expect(clientReceived == message)
        #expect(sawBuffered, "reading 1000 bytes out of 16 KiB records should leave plaintext buffered")
        #expect(!server.hasBufferedPlaintext)

        // Clean shutdown: each side's close_notify reads as .closed on the other.
        client.shutdown()
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeMutableBytes { server.read(into: $0) } == .closed)
        server.shutdown()
        #expect(buffer.withUnsafeMutableBytes { client.read(into: $0) } == .closed)
        client.shutdown()  // a second call is harmless
    }

    @Test("IPv4 and IPv6 literals are checked against the certificate's IP addresses", arguments: ["127.0.0.1", "::1"])
    func ipAddressName(name: String) throws {
        let certs = try TestCertificates()
        let sockets = try SocketPair()
        let server = try TLSSession(context: TLSContext(certificateChainPath: certs.cert, privateKeyPath: certs.key), fd: sockets.server)
        let client = try TLSSession(clientContext: TLSContext(clientTrustingCertificatesAt: certs.cert), fd: sockets.client, serverName: name)
        let (s, c) = handshake(server, client)
        #expect(s == .bytes(0) && c == .bytes(0))
    }

    @Test("a client refuses a wrong host name or an untrusted certificate, and the server sees the failure", arguments: [
        ("example.com", false, "hostname mismatch"), ("10.0.0.1", false, "IP address mismatch"),
        ("localhost", true, "self-signed certificate"),
    ])
    func verificationFailures(name: String, trustOther: Bool, reason: String) throws {
        let certs = try TestCertificates()
        let sockets = try SocketPair()
        let server = try TLSSession(context: TLSContext(certificateChainPath: certs.cert, privateKeyPath: certs.key), fd: sockets.server)
        let clientContext = try TLSContext(clientTrustingCertificatesAt: trustOther ? certs.otherCert : certs.cert)
        let client = try TLSSession(clientContext: clientContext, fd: sockets.client, serverName: name)
        let (s, c) = handshake(server, client)
        guard case .failed(let message) = c else {
            Issue.record("client handshake: \(c)")
            return
        }
        #expect(message.contains("certificate verify failed"))
        #expect(message.contains(reason))
        // The client's alert is now in flight; the server's next step reads it.
        let serverResult = s == .wantRead ? server.handshake() : s
        guard case .failed(let serverMessage) = serverResult else {
            Issue.record("server handshake: \(serverResult)")
            return
        }
        #expect(serverMessage.contains("alert"))
        #expect(!server.isHandshakeComplete)
        server.shutdown()  // after a fatal error: must be a no-op, not a crash
        client.shutdown()
    }

    @Test("plain HTTP sent to the TLS server fails the handshake")
    func plaintextClient() throws {
        let certs = try TestCertificates()
        let sockets = try SocketPair()
        let server = try TLSSession(context: TLSContext(certificateChainPath: certs.cert, privateKeyPath: certs.key), fd: sockets.server)
        let request = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        #expect(request.withUnsafeBytes { Glibc.write(sockets.client, $0.baseAddress, $0.count) } == request.count)
        guard case .failed(let message) = server.handshake() else {
            Issue.record("handshake did not fail")
            return
        }
        #expect(message.contains("http request") || message.contains("wrong version number"))
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(buffer.withUnsafeMutableBytes { server.read(into: $0) } != .bytes(16))
    }

    @Test("a peer that vanishes mid-handshake or after it is reported, not waited for")
    func peerDisappears() throws {
        let certs = try TestCertificates()
        let serverContext = try TLSContext(certificateChainPath: certs.cert, privateKeyPath: certs.key)

        let early = try SocketPair()
        let server1 = try TLSSession(context: serverContext, fd: early.server)
        #expect(server1.handshake() == .wantRead)
        early.closeClient()
        early.waitUntilServerReadable()
        let result = server1.handshake()
        #expect(result == .closed || { if case .failed = result { true } else { false } }())

        // After the handshake, EOF without close_notify counts as a normal close
        // (SSL_OP_IGNORE_UNEXPECTED_EOF): browsers often just drop the connection.
        let late = try SocketPair()
        let server2 = try TLSSession(context: serverContext, fd: late.server)
        let client = try TLSSession(clientContext: TLSContext(clientTrustingCertificatesAt: certs.cert), fd: late.client, serverName: "localhost")
        let (s, c) = handshake(server2, client)
        #expect(s == .bytes(0) && c == .bytes(0))
        // Consume the server's session tickets first: closing with unread data would be a
        // reset (reported as .failed), not an EOF.
        var ignored = [UInt8](repeating: 0, count: 64)
        #expect(ignored.withUnsafeMutableBytes { client.read(into: $0) } == .wantRead)
        late.closeClient()
        late.waitUntilServerReadable()
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeMutableBytes { server2.read(into: $0) } == .closed)

        // A peer that closes with our bytes still unread resets the connection.
        let reset = try SocketPair()
        let server3 = try TLSSession(context: serverContext, fd: reset.server)
        let client3 = try TLSSession(clientContext: TLSContext(clientTrustingCertificatesAt: certs.cert), fd: reset.client, serverName: "localhost")
        let (s3, c3) = handshake(server3, client3)
        #expect(s3 == .bytes(0) && c3 == .bytes(0))
        reset.closeClient()
        reset.waitUntilServerReadable()
        #expect(buffer.withUnsafeMutableBytes { server3.read(into: $0) } == .failed("Connection reset by peer"))
        server3.shutdown()  // after a fatal error: no-op
    }

    @Test("empty reads and writes do nothing; shutdown before the handshake is a no-op")
    func emptyBuffers() throws {
        let certs = try TestCertificates()
        let sockets = try SocketPair()
        let server = try TLSSession(context: TLSContext(certificateChainPath: certs.cert, privateKeyPath: certs.key), fd: sockets.server)
        #expect(server.read(into: UnsafeMutableRawBufferPointer(start: nil, count: 0)) == .bytes(0))
        #expect(server.write(UnsafeRawBufferPointer(start: nil, count: 0)) == .bytes(0))
        server.shutdown()
        #expect(!server.hasBufferedPlaintext)
        var peek = [UInt8](repeating: 0, count: 8)
        #expect(recv(sockets.client, &peek, 8, Int32(MSG_DONTWAIT)) == -1)  // nothing was sent
    }

    @Test("certs/make-dev-cert.sh output serves TLS to a client trusting only its CA", arguments: ["localhost", "127.0.0.1", "::1"])
    func devCertificateScript(name: String) throws {
        let dir = try TemporaryDirectory()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../certs/make-dev-cert.sh").standardizedFileURL.path
        try TestCertificates.run("/bin/bash", [script, "--out", dir.path])
        var info = stat()
        #expect(stat(dir.path + "/key.pem", &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(dir.path + "/ca-key.pem", &info) == 0 && info.st_mode & 0o777 == 0o600)

        let sockets = try SocketPair()
        let server = try TLSSession(context: TLSContext(certificateChainPath: dir.path + "/cert.pem", privateKeyPath: dir.path + "/key.pem"),
                                    fd: sockets.server)
        let client = try TLSSession(clientContext: TLSContext(clientTrustingCertificatesAt: dir.path + "/ca.pem"),
                                    fd: sockets.client, serverName: name)
        let (s, c) = handshake(server, client)
        #expect(s == .bytes(0))
        #expect(c == .bytes(0))
    }

    @Test("context errors name the file and OpenSSL's reason")
    func contextErrors() throws {
        let certs = try TestCertificates()
        let missing = certs.dir.path + "/missing.pem"
        let garbage = certs.dir.file("garbage.pem", contents: Array("not a certificate\n".utf8))

        func error(_ make: () throws -> TLSContext) -> String {
            do {
                _ = try make()
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let noCert = error { try TLSContext(certificateChainPath: missing, privateKeyPath: certs.key) }
        #expect(noCert.hasPrefix("cannot load TLS certificate chain from \(missing): error:"))
        #expect(noCert.contains("No such file or directory"))
        #expect(error { try TLSContext(certificateChainPath: garbage, privateKeyPath: certs.key) }
            .hasPrefix("cannot load TLS certificate chain from \(garbage): error:"))
        #expect(error { try TLSContext(certificateChainPath: certs.cert, privateKeyPath: missing) }
            .hasPrefix("cannot load TLS private key from \(missing): error:"))
        #expect(error { try TLSContext(certificateChainPath: certs.cert, privateKeyPath: garbage) }
            .hasPrefix("cannot load TLS private key from \(garbage): error:"))
        let mismatch = error { try TLSContext(certificateChainPath: certs.cert, privateKeyPath: certs.otherKey) }
        #expect(mismatch.hasPrefix("TLS private key \(certs.otherKey) does not match certificate \(certs.cert)")
                || mismatch.hasPrefix("cannot load TLS private key from \(certs.otherKey): error:"))
        #expect(mismatch.contains("values mismatch") || mismatch.contains("key mismatch"))
        #expect(error { try TLSContext(clientTrustingCertificatesAt: missing) }
            .hasPrefix("cannot load trusted certificates from \(missing)"))
        // The queue was drained: a good context right after still works.
        #expect(error { try TLSContext(certificateChainPath: certs.cert, privateKeyPath: certs.key) } == "no error")
    }
}
