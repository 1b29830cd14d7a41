import Foundation
import Glibc
import Testing

/// Every signal a service manager, a terminal or an operator sends on purpose, against the
/// real binary: SIGHUP (which reloads keys), SIGUSR1 and SIGUSR2 are logged and the server keeps serving;
/// SIGQUIT shuts down gracefully like SIGTERM and SIGINT (those two are in
/// WebSocketEndpointTests).
@Suite struct SignalTests {
    /// Waits (generously) until the server's stderr holds `text`.
    private func waitForLog(_ server: ServerProcess, containing text: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if server.stderrText.contains(text) { return true }
            usleep(50_000)
        }
        return server.stderrText.contains(text)
    }

    /// After `signal`, a WebSocket opened before it still receives events, a new one can
    /// subscribe, /healthz answers 200, the signal is logged, and SIGTERM still shuts down
    /// gracefully.
    private func expectKeepsServing(after signal: Int32, logLine: String) throws {
        let server = try ServerProcess()
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let user = tokens.token(sub: "signal-user", role: "user")
        let before = try PushSession(port: server.port, token: admin)
        try before.subscribed("admin")

        server.signal(signal)
        #expect(waitForLog(server, containing: logLine), "no '\(logLine)' in the log:\n\(server.stderrText)")
        // Sent twice: the second one arrives while the first has surely been handled.
        server.signal(signal)

        let client = try TestClient(port: server.port)
        let created = try client.createOrder(token: admin, body: OrderBody.simple(userId: "fsize-user"))
        let event = try #require(before.event(for: created.id, kind: "order.created", channel: "admin"))
        #expect(event.seq == created.seq)
        let after = try PushSession(port: server.port, token: user)
        try after.subscribed("user:signal-user")
        let health = try #require(try TestClient(port: server.port).request("GET", "/healthz"))
        #expect(health.status == 200)
        #expect(server.process.isRunning)

        server.signal(SIGTERM)
        #expect(before.eventsUntilClose().isEmpty)
        #expect(before.closeFrame?.closeCode == 1001)
        #expect(server.waitForExit(timeout: 10) == 0)
    }

    @Test func sighupIsLoggedAndTheServerKeepsServing() throws {
        try expectKeepsServing(after: SIGHUP, logLine: "signing keys reloaded: one secret (no kid)")
    }

    @Test func sigusr1IsLoggedAndIgnored() throws {
        try expectKeepsServing(after: SIGUSR1, logLine: "SIGUSR1 received: no action is assigned")
    }

    @Test func sigusr2IsLoggedAndIgnored() throws {
        try expectKeepsServing(after: SIGUSR2, logLine: "SIGUSR2 received: no action is assigned")
    }

    /// SIGQUIT's default (core dump, connections dropped) is replaced by the graceful
    /// shutdown of SIGTERM: 1001 to every WebSocket, exit 0, no longer accepting.
    @Test func sigquitShutsDownGracefullyLikeSigterm() throws {
        let server = try ServerProcess()
        let tokens = try TokenFactory(server: server)
        let session = try PushSession(port: server.port, token: tokens.token(sub: "ops", role: "admin"))
        try session.subscribed("admin")
        server.signal(SIGQUIT)
        #expect(session.eventsUntilClose().isEmpty)
        #expect(session.closeFrame?.closeCode == 1001)
        #expect(server.waitForExit(timeout: 10) == 0)
        #expect(server.stderrText.contains("SIGQUIT received"))
        #expect(throws: (any Error).self) { _ = try TestClient(port: server.port) }
    }
}

/// Storage that cannot grow (a full disk, simulated with RLIMIT_FSIZE on the running
/// server, soft limit only, so it can be lifted again): the write is refused with 503
/// `storage_unavailable`, nothing of it is stored, the server goes on, and once there is
/// room again the next write gets the next seq and reaches subscribers.
///
/// The server also ignores SIGXFSZ, whose default action would kill it at the limit.
/// This test does not show that part: with the server spawned by Foundation's Process
/// the binary from before that change passed it too. scripts/faults/disk_full.py (a
/// Python parent, which gives the child SIGXFSZ's default action) shows the old binary
/// dying by signal 25 and the new one answering 503.
@Suite struct StorageFullTests {
    static let prlimitPath = "/usr/bin/prlimit"

    /// `limit` nil lifts the soft limit again.
    private func setFileSizeLimit(_ server: ServerProcess, bytes limit: Int?) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.prlimitPath)
        p.arguments = ["--pid=\(server.process.processIdentifier)", "--fsize=" + (limit.map { "\($0):unlimited" } ?? "unlimited")]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestFailure("prlimit exited \(p.terminationStatus)") }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: prlimitPath), "needs util-linux prlimit"))
    func aWritePastTheFileSizeLimitIs503AndTheServerGoesOn() throws {
        let server = try ServerProcess()
        let tokens = try TokenFactory(server: server)
        // Written with an admin token: user tokens are rate limited, and this test writes
        // as fast as the server commits until the storage is full.
        let admin = tokens.token(sub: "ops", role: "admin")
        let session = try PushSession(port: server.port, token: admin)
        try session.subscribed("admin")
        try setFileSizeLimit(server, bytes: 2 << 20)
        let client = try TestClient(port: server.port)
        let note = String(repeating: "y", count: 1000)
        var lastSeq = 0
        var refused: TestClient.Response?
        for _ in 0..<20_000 {
            let r = try #require(client.call("POST", "/api/orders", token: admin,
                                             json: OrderBody.simple(userId: "fsize-user", note: note)),
                                 "no answer: the server died? exit status \(String(describing: server.waitForExit(timeout: 2)))")
            if r.status != 201 { refused = r; break }
            lastSeq = try #require(r.json?["seq"] as? Int)
        }
        let refusal = try #require(refused)
        #expect(lastSeq > 0, "refused before any order fitted under the limit")
        #expect(refusal.status == 503, "after seq \(lastSeq): \(refusal.status) \(refusal.text)")
        #expect(refusal.errorCode == "storage_unavailable")
        #expect(server.process.isRunning)
        // Nothing of the refused order: the head is the last acknowledged seq.
        #expect(try client.head(adminToken: admin) == lastSeq)

        try setFileSizeLimit(server, bytes: nil)
        let created = try client.createOrder(token: admin, body: OrderBody.simple(userId: "fsize-user"))
        #expect(created.seq == lastSeq + 1)
        let event = try #require(session.event(for: created.id, kind: "order.created", channel: "admin"))
        #expect(event.seq == created.seq)
    }
}
