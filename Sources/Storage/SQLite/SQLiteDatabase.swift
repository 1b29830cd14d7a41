import CSQLite

/// SQLite's "copy the bytes now" destructor; the C macro does not import.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection, with its prepared statements cached by SQL text.
///
/// Opened with `SQLITE_OPEN_NOMUTEX`: a connection must be used by one thread at a time,
/// so this is a non-Sendable class; each thread opens its own.
final class SQLiteDatabase {
    private let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens (and, unless `readOnly`, creates) the database at `path`.
    init(path: String, readOnly: Bool) throws(StorageError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw StorageError(code: rc, message: "cannot open \(path): \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        for statement in statements.values { statement.finalize() }
        // close_v2 also checkpoints the WAL when this is the last connection.
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that take no parameters (schema, pragmas).
    func execute(_ sql: String) throws(StorageError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw StorageError(code: rc, message: message)
        }
    }

    /// The cached statement for `sql`, prepared on first use.
    func prepared(_ sql: String) throws(StorageError) -> SQLiteStatement {
        if let statement = statements[sql] { return statement }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else { throw StorageError(code: rc, message: "\(lastErrorMessage) in: \(sql)") }
        let statement = SQLiteStatement(raw)
        statements[sql] = statement
        return statement
    }

    /// Runs a cached statement to completion with `bindings`.
    func run(_ sql: String, _ bindings: [SQLiteValue] = []) throws(StorageError) {
        try prepared(sql).run(bindings)
    }

    /// Runs a cached query and maps every row.
    func query<T>(_ sql: String, _ bindings: [SQLiteValue] = [],
                  row: (SQLiteRow) throws(StorageError) -> T) throws(StorageError) -> [T] {
        try prepared(sql).query(bindings, row: row)
    }

    /// The first row of a cached query, mapped, or `nil` when there is none.
    func queryFirst<T>(_ sql: String, _ bindings: [SQLiteValue] = [],
                       row: (SQLiteRow) throws(StorageError) -> T) throws(StorageError) -> T? {
        try prepared(sql).queryFirst(bindings, row: row)
    }

    /// The rowid of the last successful INSERT on this connection.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// False while a transaction is open.
    var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    private var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }
}
