import Foundation
import Glibc
import Testing

/// `--tls-ticket-key-file` on the real binary (docs/PROTOCOL.md §10, docs/DEPLOYMENT.md): a
/// session resumes across a restart when both processes read the same key file (and does not
/// without it); bad files are refused at start with the reason; SIGHUP re-reads the file,
/// keeps the old key when the new file is bad, and keeps the previous key for decryption
/// after a rotation.
///
/// The client is `openssl s_client`: it saves a session (`-sess_out`) and offers it again
/// (`-sess_in`), and says "Reused" or "New" for each handshake.
@Suite struct TLSTicketKeyTests {
    /// Writes `text` to `path` with `mode` (the mode set explicitly, whatever the umask).
    private func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        guard chmod(path, mode) == 0 else { throw TestFailure("chmod \(path) failed") }
    }

    /// A fresh key in the documented format: 160 hex characters and a newline.
    private func freshKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<80).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined() + "\n"
    }

    private func tlsArguments(_ certs: TemporaryFolder) -> [String] {
        ["--tls-port", "0", "--tls-cert", certs.url.appendingPathComponent("cert.pem").path,
         "--tls-key", certs.url.appendingPathComponent("key.pem").path]
    }

    private func tlsPort(of server: ServerProcess) throws -> UInt16 {
        let line = try #require(server.startupLines.first { $0.contains("listening on https://") })
        return try #require(UInt16(line.components(separatedBy: "https://")[1].split(separator: " ")[0].split(separator: ":").last!))
    }

    /// One handshake and a `GET /healthz` with `openssl s_client`; the session it ends with is
    /// saved to `saveTo`, and `offer` is offered for resumption.
    /// - Returns: "Reused" or "New" (what s_client reports), with the whole output on failure.
    private func handshake(port: UInt16, ca: String, version: String, offer: String? = nil, saveTo: String? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        var arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", ca, "-verify_return_error", version]
        if let offer { arguments += ["-sess_in", offer] }
        if let saveTo { arguments += ["-sess_out", saveTo] }
        p.arguments = arguments
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = output
        try p.run()
        // The request's answer comes after the TLS 1.3 tickets, and the server then closes:
        // s_client exits having stored the session. Stdin stays open until then (at EOF
        // s_client would quit at once, perhaps before a ticket arrived).
        input.fileHandleForWriting.write(Data("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8))
        let killer = DispatchWorkItem { p.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: killer)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        killer.cancel()
        try? input.fileHandleForWriting.close()
        if text.contains("\nReused, ") { return "Reused" }
        if text.contains("\nNew, ") { return "New" }
        throw TestFailure("s_client: \(text)")
    }

    @Test(arguments: ["-tls1_3", "-tls1_2"])
    func aSessionResumesAcrossARestartWithTheSameTicketKeyFile(version: String) throws {
        let certs = try makeDevCertificates(prefix: "orderpush-tickets")
        let ca = certs.url.appendingPathComponent("ca.pem").path
        let keyFile = certs.url.appendingPathComponent("ticket.key").path
        let session = certs.url.appendingPathComponent("session.pem").path
        try write(freshKey(), to: keyFile)
        let arguments = tlsArguments(certs) + ["--tls-ticket-key-file", keyFile]

        let first = try ServerProcess(arguments: arguments)
        #expect(try handshake(port: tlsPort(of: first), ca: ca, version: version, saveTo: session) == "New")
        first.stop()

        let second = try ServerProcess(arguments: arguments, dataFolder: first.dataFolder)
        #expect(try handshake(port: tlsPort(of: second), ca: ca, version: version, offer: session) == "Reused")
        withExtendedLifetime(certs) {}
    }

    /// The same steps without the file: the session resumes on the process that issued it
    /// (so the saved session is good), and not after the restart.
    @Test(arguments: ["-tls1_3", "-tls1_2"])
    func withoutTheFileARestartMakesAFullHandshake(version: String) throws {
        let certs = try makeDevCertificates(prefix: "orderpush-tickets")
        let ca = certs.url.appendingPathComponent("ca.pem").path
        let session = certs.url.appendingPathComponent("session.pem").path

        let first = try ServerProcess(arguments: tlsArguments(certs))
        let firstPort = try tlsPort(of: first)
        #expect(try handshake(port: firstPort, ca: ca, version: version, saveTo: session) == "New")
        #expect(try handshake(port: firstPort, ca: ca, version: version, offer: session) == "Reused")
        first.stop()

        let second = try ServerProcess(arguments: tlsArguments(certs), dataFolder: first.dataFolder)
        #expect(try handshake(port: tlsPort(of: second), ca: ca, version: version, offer: session) == "New")
        withExtendedLifetime(certs) {}
    }

    @Test func badTicketKeyFilesStopTheStartWithTheReason() throws {
        let certs = try makeDevCertificates(prefix: "orderpush-tickets")
        let folder = certs.url.path
        func failure(_ file: String) -> String? {
            ClusterTests.startFailure(tlsArguments(certs) + ["--tls-ticket-key-file", file])
        }
        let missing = failure("\(folder)/nowhere.key")
        #expect(missing?.contains("cannot read TLS ticket key file \(folder)/nowhere.key: No such file") == true, "\(missing ?? "started")")

        try write(freshKey(), to: "\(folder)/open.key", mode: 0o644)
        let open = failure("\(folder)/open.key")
        #expect(open?.contains("is accessible by group or others (mode 644)") == true, "\(open ?? "started")")

        try write(String(freshKey().dropLast(3)) + "\n", to: "\(folder)/short.key")
        let short = failure("\(folder)/short.key")
        #expect(short?.contains("must hold 160 hex characters") == true, "\(short ?? "started")")

        try write(String(repeating: "zz", count: 80) + "\n", to: "\(folder)/nothex.key")
        let notHex = failure("\(folder)/nothex.key")
        #expect(notHex?.contains("must hold 160 hex characters") == true, "\(notHex ?? "started")")

        try FileManager.default.createDirectory(atPath: "\(folder)/dir.key", withIntermediateDirectories: false)
        chmod("\(folder)/dir.key", 0o700)
        let directory = failure("\(folder)/dir.key")
        #expect(directory?.contains("is not a regular file") == true, "\(directory ?? "started")")

        // Without TLS there are no tickets: the option is a mistake.
        try write(freshKey(), to: "\(folder)/good.key")
        let noTLS = ClusterTests.startFailure(["--tls-ticket-key-file", "\(folder)/good.key"])
        #expect(noTLS?.contains("--tls-ticket-key-file needs TLS") == true, "\(noTLS ?? "started")")
        // The good file starts (so the refusals above are about the files).
        #expect(failure("\(folder)/good.key") == nil)
    }

    /// One loop, so the log line after SIGHUP means every context has the new keys.
    @Test func sighupKeepsTheOldKeyForABadFileAndThePreviousKeyAfterARotation() throws {
        let certs = try makeDevCertificates(prefix: "orderpush-tickets")
        let ca = certs.url.appendingPathComponent("ca.pem").path
        let keyFile = certs.url.appendingPathComponent("ticket.key").path
        let session = certs.url.appendingPathComponent("session.pem").path
        try write(freshKey(), to: keyFile)
        let server = try ServerProcess(arguments: tlsArguments(certs) + ["--tls-ticket-key-file", keyFile, "--loops", "1"])
        let port = try tlsPort(of: server)
        #expect(try handshake(port: port, ca: ca, version: "-tls1_2", saveTo: session) == "New")

        // A bad file: refused with the reason, the key in use stays.
        try write("not a key\n", to: keyFile)
        server.signal(SIGHUP)
        #expect(server.waitForLog(containing: "TLS ticket key NOT reloaded, the previous one stays in use"), "\(server.stderrText)")
        #expect(server.stderrText.contains("must hold 160 hex characters"))
        #expect(try handshake(port: port, ca: ca, version: "-tls1_2", offer: session) == "Reused")

        // A rotation: the replaced key still decrypts its tickets.
        try write(freshKey(), to: keyFile)
        server.signal(SIGHUP)
        #expect(server.waitForLog(containing: "TLS ticket key rotated from"), "\(server.stderrText)")
        #expect(try handshake(port: port, ca: ca, version: "-tls1_2", offer: session) == "Reused")

        // A second rotation retires the first key: its tickets make a full handshake.
        try write(freshKey(), to: keyFile)
        let rotationsBefore = server.stderrText.components(separatedBy: "TLS ticket key rotated from").count
        server.signal(SIGHUP)
        var rotated = false
        for _ in 0..<200 where !rotated {
            rotated = server.stderrText.components(separatedBy: "TLS ticket key rotated from").count > rotationsBefore
            if !rotated { usleep(100_000) }
        }
        #expect(rotated, "\(server.stderrText)")
        #expect(try handshake(port: port, ca: ca, version: "-tls1_2", offer: session) == "New")
        withExtendedLifetime(certs) {}
    }
}
