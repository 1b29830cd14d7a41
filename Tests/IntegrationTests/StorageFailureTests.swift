import Foundation
import Testing

/// When the database refuses a commit, the client gets 503 and the operator a log line
/// with the database's reason (and no token); once the database is back, writes succeed.
@Suite struct StorageFailureTests {
    @Test func aLockedDatabaseAnswers503AndLogsTheReason() throws {
        let server = try ServerProcess(arguments: ["--loops", "1"])
        defer { server.stop(); try? FileManager.default.removeItem(at: server.dataDir) }
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let client = try TestClient(port: server.port, timeoutSeconds: 30)
        _ = try client.createOrder(token: admin, body: OrderBody.simple(userId: "before"))

        // Another process takes the database's write lock and holds it: the server's writer
        // waits its busy timeout, then gives up on the batch.
        let dbPath = server.dataDir.appendingPathComponent("orderpush.sqlite").path
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        locker.arguments = ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            sys.stdin.read()
            c.execute("ROLLBACK")
            """, dbPath]
        let input = Pipe(), output = Pipe()
        locker.standardInput = input
        locker.standardOutput = output
        try locker.run()
        defer { if locker.isRunning { locker.terminate() } }
        let ready = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        try #require(ready.contains("locked"), "the locking helper did not start: \(ready)")

        let refused = try #require(client.call("POST", "/api/orders", token: admin, json: OrderBody.simple(userId: "during")))
        #expect(refused.status == 503)
        #expect(refused.errorCode == "storage_unavailable")

        // The log says what happened and why, without the token.
        let deadline = Date().addingTimeInterval(10)
        while !server.stderrText.contains("commit failed") && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let log = server.stderrText
        #expect(log.contains("commit failed"), "no log line for the failed commit: \(log)")
        #expect(log.lowercased().contains("locked") || log.lowercased().contains("busy"), "the database's reason is missing: \(log)")
        #expect(!log.contains(admin), "a token was logged")

        // The lock goes; writes work again, and the refused one left nothing behind.
        input.fileHandleForWriting.closeFile()
        locker.waitUntilExit()
        _ = try client.createOrder(token: admin, body: OrderBody.simple(userId: "after"))
        let during = try client.poll(token: admin).orders.filter { $0["userId"] as? String == "during" }
        #expect(during.isEmpty)
    }
}
