import Foundation
import Synchronization
import TestSupport
@testable import Storage

/// The PostgreSQL cluster of this test process (TestSupport's `ThrowawayPostgres`),
/// started on first use and shared by every test of the process; each test takes a fresh
/// database with `createDatabase()`. Removed when the process exits.
/// `ORDERPUSH_SKIP_POSTGRES=1` skips the PostgreSQL tests.
final class TestPostgres: Sendable {
    static let superuser = ThrowawayPostgres.superuser

    private let server: ThrowawayPostgres
    /// Numbers the databases handed out.
    private let databaseCount = Atomic<Int>(0)

    static var isSkipped: Bool { ThrowawayPostgres.isSkipped }

    /// The cluster, started by the first caller; every later caller gets the same one, or
    /// the same error.
    static func shared() throws -> TestPostgres { try sharedCluster.get() }

    private static let sharedCluster: Result<TestPostgres, any Error> = Result {
        let cluster = TestPostgres(server: try ThrowawayPostgres(folderPrefix: "orderpush-pg-"))
        running.withLock { $0 = cluster }
        // Swift Testing has no process-wide teardown; exit() runs this.
        atexit { TestPostgres.running.withLock { $0?.server.remove() } }
        return cluster
    }

    /// The started cluster, for the exit handler.
    private static let running = Mutex<TestPostgres?>(nil)

    private init(server: ThrowawayPostgres) { self.server = server }

    var port: UInt16 { server.port }
    var password: String { server.password }

    /// The URL of `database` on this cluster, as the superuser.
    func url(database: String) -> PostgresURL {
        PostgresURL(user: Self.superuser, password: server.password, host: "127.0.0.1", port: server.port, database: database)
    }

    /// A new, empty database with its URL; no other test uses it.
    func createDatabase() throws -> PostgresURL {
        let name = "test_\(databaseCount.add(1, ordering: .relaxed).newValue)"
        let admin = try PostgresConnection(url: url(database: "postgres"))
        try admin.executeScript("CREATE DATABASE \(name)")
        return url(database: name)
    }
}
