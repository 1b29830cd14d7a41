import CSQLite

/// A prepared statement. Every use binds, steps and then resets it, so a cached
/// statement never holds a read transaction open between uses.
final class SQLiteStatement {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    func finalize() { sqlite3_finalize(handle) }

    func run(_ bindings: [SQLiteValue]) throws(StorageError) {
        try bind(bindings)
        defer { reset() }
        while try step() {}
    }

    func query<T>(_ bindings: [SQLiteValue], row: (SQLiteRow) throws(StorageError) -> T) throws(StorageError) -> [T] {
        try bind(bindings)
        defer { reset() }
        var rows: [T] = []
        while try step() { rows.append(try row(SQLiteRow(handle: handle))) }
        return rows
    }

    func queryFirst<T>(_ bindings: [SQLiteValue], row: (SQLiteRow) throws(StorageError) -> T) throws(StorageError) -> T? {
        try bind(bindings)
        defer { reset() }
        guard try step() else { return nil }
        return try row(SQLiteRow(handle: handle))
    }

    private func bind(_ values: [SQLiteValue]) throws(StorageError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
            case .real(let v): rc = sqlite3_bind_double(handle, index, v)
            case .text(let v):
                // A Swift String bridges to a temporary C string, so SQLite must copy it.
                rc = sqlite3_bind_text(handle, index, v, Int32(v.utf8.count), sqliteTransient)
            case .blob(let v):
                if v.isEmpty {
                    // An empty array may have no base address, which would bind NULL.
                    rc = sqlite3_bind_zeroblob(handle, index, 0)
                } else {
                    rc = v.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
                }
            }
            guard rc == SQLITE_OK else {
                reset()
                throw error(rc)
            }
        }
    }

    /// True when a row is ready, false when the statement is done.
    private func step() throws(StorageError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw error(rc)
        }
    }

    private func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    private func error(_ rc: Int32) -> StorageError {
        let db = sqlite3_db_handle(handle)
        return StorageError(code: sqlite3_extended_errcode(db), message: String(cString: sqlite3_errmsg(db)))
    }
}

/// The current row of a stepping statement; valid only inside the row closure.
struct SQLiteRow {
    fileprivate let handle: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeRawBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }

    func blob(_ column: Int32) -> [UInt8] {
        // Asking for the bytes first makes SQLite settle the value's form before the count.
        guard let bytes = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}
