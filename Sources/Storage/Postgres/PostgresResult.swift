import CLibPQ

/// The rows (or command status) of one statement, read as text-format values with typed
/// accessors. Owns its `PGresult`.
public final class PostgresResult {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    deinit { PQclear(handle) }

    public var rowCount: Int { Int(PQntuples(handle)) }
    public var columnCount: Int { Int(PQnfields(handle)) }

    /// Rows inserted, updated or deleted by the statement (0 for others).
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    /// The command tag: `INSERT 0 1`, `COMMIT`, or `ROLLBACK` for a COMMIT of a failed
    /// transaction.
    public var commandStatus: String { String(cString: PQcmdStatus(handle)) }

    public func columnName(_ column: Int) -> String { String(cString: PQfname(handle, Int32(column))) }

    public subscript(row: Int) -> PostgresRow { PostgresRow(result: self, row: Int32(row)) }

    /// Maps every row, in order.
    public func map<T, E: Error>(_ transform: (PostgresRow) throws(E) -> T) throws(E) -> [T] {
        var out: [T] = []
        out.reserveCapacity(rowCount)
        for row in 0..<rowCount { out.append(try transform(self[row])) }
        return out
    }

    /// The first row mapped, or `nil` when there is none.
    public func first<T, E: Error>(_ transform: (PostgresRow) throws(E) -> T) throws(E) -> T? {
        rowCount == 0 ? nil : try transform(self[0])
    }

    enum ErrorField: UInt8 {
        case sqlState = 0x43         // 'C', PG_DIAG_SQLSTATE
        case primaryMessage = 0x4D   // 'M', PG_DIAG_MESSAGE_PRIMARY
        case detail = 0x44           // 'D', PG_DIAG_MESSAGE_DETAIL
    }

    func errorField(_ field: ErrorField) -> String? {
        PQresultErrorField(handle, Int32(field.rawValue)).map { String(cString: $0) }
    }

    fileprivate func isNull(_ row: Int32, _ column: Int32) -> Bool { PQgetisnull(handle, row, column) == 1 }

    /// The raw text bytes of a value (no copy beyond the returned array).
    fileprivate func bytes(_ row: Int32, _ column: Int32) -> UnsafeBufferPointer<UInt8> {
        let length = Int(PQgetlength(handle, row, column))
        return PQgetvalue(handle, row, column).withMemoryRebound(to: UInt8.self, capacity: length) {
            UnsafeBufferPointer(start: $0, count: length)
        }
    }
}

/// One row of a `PostgresResult`. Columns are numbered from 0. The non-optional accessors
/// throw `.unexpectedValue` for NULL or an unparsable value, naming the column.
public struct PostgresRow {
    let result: PostgresResult
    let row: Int32

    public func isNull(_ column: Int) -> Bool { result.isNull(row, Int32(column)) }

    public func optionalString(_ column: Int) -> String? {
        isNull(column) ? nil : String(decoding: result.bytes(row, Int32(column)), as: UTF8.self)
    }

    public func string(_ column: Int) throws(PostgresError) -> String {
        guard let value = optionalString(column) else { throw unexpected(column, "NULL") }
        return value
    }

    public func optionalInt64(_ column: Int) throws(PostgresError) -> Int64? {
        guard let text = optionalString(column) else { return nil }
        guard let value = Int64(text) else { throw unexpected(column, "\"\(text)\", not an integer") }
        return value
    }

    public func int64(_ column: Int) throws(PostgresError) -> Int64 {
        guard let value = try optionalInt64(column) else { throw unexpected(column, "NULL") }
        return value
    }

    public func optionalDouble(_ column: Int) throws(PostgresError) -> Double? {
        guard let text = optionalString(column) else { return nil }
        // PostgreSQL writes Infinity/-Infinity/NaN; Swift's parser takes "inf"/"nan" forms.
        let value: Double? = switch text {
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
        guard let value else { throw unexpected(column, "\"\(text)\", not a number") }
        return value
    }

    public func double(_ column: Int) throws(PostgresError) -> Double {
        guard let value = try optionalDouble(column) else { throw unexpected(column, "NULL") }
        return value
    }

    public func bool(_ column: Int) throws(PostgresError) -> Bool {
        switch optionalString(column) {
        case "t": return true
        case "f": return false
        case nil: throw unexpected(column, "NULL")
        case let other?: throw unexpected(column, "\"\(other)\", not a boolean")
        }
    }

    /// A `bytea` value (in the server's default `hex` output format).
    public func bytes(_ column: Int) throws(PostgresError) -> [UInt8] {
        guard !isNull(column) else { throw unexpected(column, "NULL") }
        guard let decoded = PostgresBytea.decode(result.bytes(row, Int32(column))) else {
            throw unexpected(column, "not bytea in hex format")
        }
        return decoded
    }

    private func unexpected(_ column: Int, _ what: String) -> PostgresError {
        PostgresError(kind: .unexpectedValue, message: "column \(result.columnName(column)) is \(what)")
    }
}

/// `bytea` in PostgreSQL's hex text format: `\x` then two hex digits per byte.
enum PostgresBytea {
    private static let digits = Array("0123456789abcdef".utf8)

    /// The text to pass as a parameter for a `bytea` value.
    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        out.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count >= 2, text.count % 2 == 0, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") else {
            return nil
        }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity((text.count - 2) / 2)
        var i = 2
        while i < text.count {
            guard let high = value(text[i]), let low = value(text[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }
}
