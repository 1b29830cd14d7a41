import Foundation
import TestSupport

/// A PostgreSQL cluster of one test's own (TestSupport's `ThrowawayPostgres`): the tests
/// start the real binary against its URL and may stop and restart it under load without
/// disturbing other tests. Removed in `deinit`. `ORDERPUSH_SKIP_POSTGRES=1` skips.
final class PostgresCluster: Sendable {
    private let server: ThrowawayPostgres

    static var isSkipped: Bool { ThrowawayPostgres.isSkipped }

    /// The database URL the nodes are given (the cluster's default database).
    var url: String { server.url() }

    init() throws { server = try ThrowawayPostgres(folderPrefix: "orderpush-itpg-") }

    /// A `psql` session on this cluster that runs `statement` inside an open transaction and
    /// keeps it open (with whatever lock it took) until `PsqlTransaction.finish()`.
    func openTransaction(_ statement: String) throws -> PsqlTransaction {
        try PsqlTransaction(psql: server.bindir + "/psql", url: url, statement: statement)
    }

    /// `pg_ctl stop -m fast`: open connections are closed, the server is gone until `start()`.
    func stop() throws { try server.stop() }

    /// Starts it again on the same port with the same data.
    func start() throws { try server.start() }

    deinit { server.remove() }
}

/// A `psql` client process with a transaction open: what another application holding a
/// lock looks like to the server (no hook in the server is involved).
final class PsqlTransaction {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var finished = false

    init(psql: String, url: String, statement: String) throws {
        process.executableURL = URL(fileURLWithPath: psql)
        process.arguments = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        _ = try query("BEGIN; \(statement); SELECT 'statement-done';", until: "statement-done")
    }

    /// Sends `sql` and reads the session's output until it contains `marker`.
    func query(_ sql: String, until marker: String) throws -> String {
        input.fileHandleForWriting.write(Data((sql + "\n").utf8))
        var text = ""
        while !text.contains(marker) {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw TestFailure("psql ended: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        return text
    }

    /// Waits (generously, without timing anything) until at least `count` sessions wait for
    /// a lock, as PostgreSQL sees it; false if they never do.
    func waitForLockWaiters(atLeast count: Int = 1) throws -> Bool {
        for _ in 0..<1200 {
            // Inside a transaction the activity view is a snapshot, unless cleared.
            let answer = try query("SELECT pg_stat_clear_snapshot(); SELECT 'waiting=' || count(*) || ';' "
                                   + "FROM pg_stat_activity WHERE wait_event_type = 'Lock';", until: ";")
            if let r = answer.range(of: "waiting="), let n = Int(answer[r.upperBound...].prefix { $0.isNumber }), n >= count {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    /// Commits (releasing the locks) and ends the session.
    func finish() {
        guard !finished else { return }
        finished = true
        input.fileHandleForWriting.write(Data("COMMIT;\n".utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { finish() }
}
