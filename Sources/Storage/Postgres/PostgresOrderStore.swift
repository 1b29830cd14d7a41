import Orders

/// Orders and their event history in a PostgreSQL database that several OrderPush nodes
/// share: the same contract as `SQLiteOrderStore`, over one libpq connection.
///
/// Threading: one instance per thread, never shared (a non-Sendable class over one
/// connection). Every call blocks on the server, so an instance lives on a database
/// thread, not on an event loop.
///
/// Ordering: appends from every node commit in `seq` order (see `apply`), so a reader
/// that has seen `seq` N has seen every retained event below N; after each commit that
/// appended events, a `NOTIFY` on `notificationChannel` carries the new head.
///
/// Durability: `synchronous_commit` is at least `on` for this session, so when `apply`
/// returns the batch is flushed to the server's WAL; a batch costs one flush.
///
/// A lost connection is reopened at the start of the next call; the call that noticed the
/// loss fails.
public final class PostgresOrderStore: OrderRepository, EventLog {
    /// The channel every commit that appended events notifies; the payload is the new head.
    public static let notificationChannel = "orderpush_events"

    let connection: PostgresConnection
    public let epoch: String

    /// Connects to `url`, creates or migrates the schema (safely when several nodes start
    /// at once) and reads the epoch.
    public convenience init(url: PostgresURL) throws {
        try self.init(connection: PostgresConnection(url: url))
    }

    /// Takes over `connection` (not used by anyone else afterwards).
    public init(connection: PostgresConnection) throws {
        self.connection = connection
        try Self.prepareSession(connection)
        try Self.migrate(connection)
        let version = try connection.execute("SELECT version FROM schema_version").first { try $0.int64(0) } ?? 0
        guard version == PostgresSchema.currentVersion else {
            throw PostgresError(kind: .unexpectedValue, message: version < PostgresSchema.currentVersion
                ? "\(connection.url.redacted) has schema version \(version) after migrating"
                : "\(connection.url.redacted) has schema version \(version), newer than this build's \(PostgresSchema.currentVersion)")
        }
        guard let epoch = try connection.execute("SELECT epoch FROM event_log").first({ try $0.string(0) }) else {
            throw PostgresError(kind: .unexpectedValue, message: "\(connection.url.redacted) has no row in event_log")
        }
        self.epoch = epoch
    }

    /// Session settings, applied again after every reconnect.
    private static func prepareSession(_ connection: PostgresConnection) throws {
        // "Acknowledged means durable": never weaker than `on`, whatever the server or
        // database default; a stronger setting (remote_apply...) is kept.
        let current = try connection.execute("SHOW synchronous_commit").first { try $0.string(0) }
        if current == "off" || current == "local" {
            try connection.executeScript("SET synchronous_commit = on")
        }
        // The bytea reader expects the hex format (the default since PostgreSQL 9.0).
        try connection.executeScript("SET bytea_output = hex")
    }

    private static func migrate(_ connection: PostgresConnection) throws {
        try connection.executeScript("BEGIN")
        do {
            // Several nodes may start at once: the first to take the lock migrates, the
            // others then find the new version and do nothing. The lock is released at
            // COMMIT or ROLLBACK.
            try connection.execute("SELECT pg_advisory_xact_lock($1)", params: [String(PostgresSchema.migrationLockKey)])
            try connection.executeScript(PostgresSchema.versionTable)
            let version = Int(try connection.execute("SELECT version FROM schema_version").first { try $0.int64(0) } ?? 0)
            guard version < PostgresSchema.currentVersion else {
                try connection.executeScript("ROLLBACK")
                return  // up to date, or newer: reported by the caller's version check
            }
            for next in version..<PostgresSchema.currentVersion {
                try connection.executeScript(PostgresSchema.migrations[next])
                if next == 0 {
                    try connection.execute("""
                        INSERT INTO event_log (epoch, head, pruned_through) VALUES ($1, 0, 0)
                        ON CONFLICT (singleton) DO NOTHING
                        """, params: [SQLiteOrderStore.randomHex(byteCount: 16)])
                }
            }
            try connection.execute("""
                INSERT INTO schema_version (version) VALUES ($1)
                ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version
                """, params: [String(PostgresSchema.currentVersion)])
            try commit()
        } catch {
            if connection.isInTransaction { _ = try? connection.executeScript("ROLLBACK") }
            throw error
        }

        func commit() throws {
            let status = try connection.execute("COMMIT").commandStatus
            guard status == "COMMIT" else {
                throw PostgresError(kind: .unexpectedValue, message: "schema migration was rolled back (\(status))")
            }
        }
    }

    /// False once the connection was found lost (the next call tries to reopen it): what a
    /// health check reports.
    public var isConnected: Bool { connection.isConnected }

    /// Reopens a lost connection (and restores the session settings) before a call.
    func ensureConnected() throws {
        guard !connection.isConnected else { return }
        try connection.reconnect()
        try Self.prepareSession(connection)
    }

    // MARK: - EventLog

    public func head() throws -> Int64 {
        try ensureConnected()
        return try connection.executeCached("SELECT head FROM event_log").first { try $0.int64(0) } ?? 0
    }

    public func retainedFloor() throws -> Int64 {
        try ensureConnected()
        return try connection.executeCached("SELECT pruned_through FROM event_log").first { try $0.int64(0) } ?? 0
    }

    public func events(after seq: Int64, userId: String?, limit: Int) throws -> [StoredEvent] {
        guard limit > 0 else { return [] }
        try ensureConnected()
        let columns = "seq, kind, order_id, user_id, created_at, order_json"
        if let userId {
            return try connection.executeCached("SELECT \(columns) FROM events WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                                          params: [userId, String(seq), String(limit)]).map(Self.event)
        }
        return try connection.executeCached("SELECT \(columns) FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                                      params: [String(seq), String(limit)]).map(Self.event)
    }

    static func event(_ row: PostgresRow) throws(PostgresError) -> StoredEvent {
        StoredEvent(seq: try row.int64(0), kind: try row.string(1), orderId: try row.string(2), userId: try row.string(3),
                    createdAtMs: try row.int64(4), orderJSON: try row.bytes(5))
    }
}
