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

    /// `pg_ctl stop -m fast`: open connections are closed, the server is gone until `start()`.
    func stop() throws { try server.stop() }

    /// Starts it again on the same port with the same data.
    func start() throws { try server.start() }

    deinit { server.remove() }
}
