import Synchronization

/// What `/healthz` and `/metrics` say about this node: its name (several nodes share one
/// history behind a balancer) and whether its database is reachable.
///
/// Shared by every loop (readers) and the thread that watches the database (the
/// PostgreSQL event broker, the one writer of the state); a mutex, as it changes only when
/// the connection goes down or comes back.
public final class NodeStatus: Sendable {
    public struct Database: Sendable, Equatable {
        /// "sqlite" or "postgresql".
        public var backend: String
        public var up: Bool
        /// Why it is down (the database's or libpq's message); nil when up.
        public var reason: String?
    }

    private let state: Mutex<(name: String, database: Database)>

    public init(name: String = "", backend: String = "sqlite") {
        state = Mutex((name, Database(backend: backend, up: true, reason: nil)))
    }

    public var name: String { state.withLock { $0.name } }
    public var database: Database { state.withLock { $0.database } }

    func setName(_ name: String) { state.withLock { $0.name = name } }
    func setBackend(_ backend: String, up: Bool, reason: String?) {
        state.withLock { $0.database = Database(backend: backend, up: up, reason: reason) }
    }

    /// Records a change of reachability; returns true if it changed (worth a log line).
    @discardableResult
    func setDatabase(up: Bool, reason: String?) -> Bool {
        state.withLock { s in
            let changed = s.database.up != up
            s.database.up = up
            s.database.reason = up ? nil : reason
            return changed
        }
    }
}
