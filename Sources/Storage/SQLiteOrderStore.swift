import Orders
import OpenSSLKit

/// Orders and their event history in one SQLite file (WAL mode).
///
/// Threading: one instance per thread, never shared (a non-Sendable class over a
/// `SQLITE_OPEN_NOMUTEX` connection). The one writer thread owns the writable instance;
/// each event-loop thread opens its own `readOnly` instance. WAL lets those readers run
/// beside the writer, and each read sees the latest commit.
///
/// Durability: `synchronous=FULL`, so when `apply` returns the batch is on disk and
/// survives power loss; a batch costs one fsync however many writes it holds.
public final class SQLiteOrderStore: OrderRepository, EventLog {
    let db: SQLiteDatabase
    public let epoch: String
    /// The path this store was opened with.
    public let path: String

    /// Opens the database at `path`. When writable, creates the parent directories, the
    /// file and the schema (with a new random epoch) as needed, and migrates an older
    /// schema. A read-only instance needs an existing, initialised database.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        if !readOnly, path != ":memory:", !path.hasPrefix("file:") {
            try FileSystem.createParentDirectories(of: path)
        }
        db = try SQLiteDatabase(path: path, readOnly: readOnly)
        // A writer waiting on another process's lock, or a reader on a checkpoint, retries
        // for a while rather than failing at once.
        try db.execute("PRAGMA busy_timeout = 5000")
        if !readOnly {
            try db.execute("PRAGMA foreign_keys = ON")
            let mode = try db.queryFirst("PRAGMA journal_mode = WAL") { $0.string(0) }
            guard mode == "wal" else {
                throw StorageError(code: nil, message: "cannot switch \(path) to WAL mode (got \(mode ?? "nothing"))")
            }
            try db.execute("PRAGMA synchronous = FULL")
            try Self.migrate(db)
        }
        let version = try db.queryFirst("PRAGMA user_version") { $0.int64(0) } ?? 0
        guard version == Schema.currentVersion else {
            throw StorageError(code: nil, message: version < Schema.currentVersion
                ? "\(path) has schema version \(version); open it writable once to migrate"
                : "\(path) has schema version \(version), newer than this build's \(Schema.currentVersion)")
        }
        guard let epoch = try db.queryFirst("SELECT value FROM meta WHERE key = 'epoch'", row: { $0.string(0) }) else {
            throw StorageError(code: nil, message: "\(path) has no epoch in its meta table")
        }
        self.epoch = epoch
    }

    private static func migrate(_ db: SQLiteDatabase) throws(StorageError) {
        try db.execute("BEGIN IMMEDIATE")
        do {
            let version = Int(try db.queryFirst("PRAGMA user_version") { $0.int64(0) } ?? 0)
            guard version <= Schema.currentVersion else {
                try db.execute("ROLLBACK")
                return  // reported by the caller's version check
            }
            for next in version..<Schema.currentVersion {
                try db.execute(Schema.migrations[next])
                if next == 0 {
                    try db.run("INSERT INTO meta (key, value) VALUES ('epoch', ?), ('pruned_through', '0')",
                               [.text(randomHex(byteCount: 16))])
                }
                try db.execute("PRAGMA user_version = \(next + 1)")
            }
            try db.execute("COMMIT")
        } catch {
            if !db.isAutocommit { try? db.execute("ROLLBACK") }
            throw error
        }
    }

    static func randomHex(byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    // MARK: - EventLog

    public func head() throws -> Int64 {
        // sqlite_sequence keeps the highest seq ever used, even once those rows are pruned.
        try db.queryFirst("SELECT seq FROM sqlite_sequence WHERE name = 'events'") { $0.int64(0) } ?? 0
    }

    public func retainedFloor() throws -> Int64 {
        let text = try db.queryFirst("SELECT value FROM meta WHERE key = 'pruned_through'") { $0.string(0) }
        return text.flatMap { Int64($0) } ?? 0
    }

    public func events(after seq: Int64, userId: String?, limit: Int) throws -> [StoredEvent] {
        guard limit > 0 else { return [] }
        let columns = "seq, kind, order_id, user_id, created_at, order_json"
        if let userId {
            return try db.query("SELECT \(columns) FROM events WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                                [.text(userId), .integer(seq), .integer(Int64(limit))], row: Self.event)
        }
        return try db.query("SELECT \(columns) FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                            [.integer(seq), .integer(Int64(limit))], row: Self.event)
    }

    static func event(_ row: SQLiteRow) -> StoredEvent {
        StoredEvent(seq: row.int64(0), kind: row.string(1), orderId: row.string(2), userId: row.string(3),
                    createdAtMs: row.int64(4), orderJSON: row.blob(5))
    }
}
