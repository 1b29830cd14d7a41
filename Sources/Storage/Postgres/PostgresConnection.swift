import CLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection: statements with text parameters, typed results, errors with the
/// server's message and SQLSTATE, and LISTEN/NOTIFY.
///
/// Blocking: every call waits for the server (except `notifications(timeoutMs:)`, which
/// waits at most its timeout), so a connection belongs on a thread that may block (a
/// database thread), never on an event loop. A non-Sendable class: a libpq connection
/// must be used by one thread at a time; each thread opens its own.
public final class PostgresConnection {
    private let handle: OpaquePointer
    public let url: PostgresURL
    /// Server-side prepared statements of this session, by SQL text (see `executeCached`).
    private var preparedNames: [String: String] = [:]

    /// Connects to `url` (blocking, bounded by the URL's `connect_timeout`, 10 s by default).
    /// - Throws: `PostgresError` of kind `.connection` with libpq's reason (refused, bad
    ///   password, unknown database...).
    public init(url: PostgresURL) throws(PostgresError) {
        self.url = url
        let parameters = url.connectionParameters
        // strdup'd C strings, NULL-terminated arrays, as PQconnectdbParams wants them.
        let keys = parameters.map { strdup($0.0) } + [nil]
        let values = parameters.map { strdup($0.1) } + [nil]
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        let connection = keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { keyPointers in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointers in
                PQconnectdbParams(keyPointers.baseAddress, valuePointers.baseAddress, 0)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connection, message: "cannot connect to \(url.redacted): out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.trimmed(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw PostgresError(kind: .connection, message: "cannot connect to \(url.redacted): \(reason)")
        }
        handle = connection
        // libpq prints NOTICEs ("relation already exists, skipping") to stderr by default.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    // MARK: - Status

    /// False once libpq has noticed the connection is gone (after a failed call).
    public var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// True inside BEGIN ... COMMIT (including a failed transaction awaiting ROLLBACK).
    public var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// The server process serving this connection (what `pg_terminate_backend` takes).
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// The server version as a number, e.g. 150018 for 15.18.
    public var serverVersion: Int32 { PQserverVersion(handle) }

    /// The connection's socket, to wait for notifications in poll/epoll.
    public var socket: Int32 { PQsocket(handle) }

    /// Closes and reopens the connection with the same parameters (blocking).
    public func reconnect() throws(PostgresError) {
        preparedNames.removeAll()   // they lived in the old session
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(kind: .connection, message: "cannot reconnect to \(url.redacted): \(lastErrorMessage)")
        }
    }

    // MARK: - Statements

    /// Runs one statement with text parameters (`$1`, `$2`...; `nil` is SQL NULL; the
    /// server infers each parameter's type from its use) and returns its result.
    /// - Throws: `PostgresError`: `.server` with the SQLSTATE when the server refused it,
    ///   `.connection` when the connection is gone.
    @discardableResult
    public func execute(_ sql: String, params: [String?] = []) throws(PostgresError) -> PostgresResult {
        let copies = params.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let raw = copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
            PQexecParams(handle, sql, Int32(params.count), nil, values.baseAddress, nil, nil, 0)
        }
        return try check(raw)
    }

    /// Like `execute`, but the statement is parsed and planned once per session (prepared
    /// on first use under a generated name) and only executed afterwards: for the
    /// statements a hot path runs again and again.
    @discardableResult
    public func executeCached(_ sql: String, params: [String?] = []) throws(PostgresError) -> PostgresResult {
        let name: String
        if let known = preparedNames[sql] {
            name = known
        } else {
            name = "orderpush_\(preparedNames.count + 1)"
            _ = try check(PQprepare(handle, name, sql, Int32(params.count), nil))
            preparedNames[sql] = name
        }
        let copies = params.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let raw = copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
            PQexecPrepared(handle, name, Int32(params.count), values.baseAddress, nil, nil, 0)
        }
        return try check(raw)
    }

    /// Runs a script of several statements without parameters (schema, SET, BEGIN...).
    /// Returns the last statement's result.
    @discardableResult
    public func executeScript(_ sql: String) throws(PostgresError) -> PostgresResult {
        try check(PQexec(handle, sql))
    }

    private func check(_ raw: OpaquePointer?) throws(PostgresError) -> PostgresResult {
        guard let raw else {
            throw PostgresError(kind: isConnected ? .server : .connection, message: lastErrorMessage)
        }
        let result = PostgresResult(raw)
        switch PQresultStatus(raw) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        default:
            let sqlState = result.errorField(.sqlState)
            let message = result.errorField(.primaryMessage)
                ?? Self.trimmed(String(cString: PQresultErrorMessage(raw)))
            if sqlState == nil && !isConnected {
                throw PostgresError(kind: .connection, message: message.isEmpty ? lastErrorMessage : message)
            }
            throw PostgresError(kind: .server, sqlState: sqlState, message: message,
                                detail: result.errorField(.detail))
        }
    }

    /// `identifier` quoted for SQL (`"my ""table"""`), for names that cannot be parameters.
    public func quoteIdentifier(_ identifier: String) throws(PostgresError) -> String {
        let bytes = Array(identifier.utf8)
        guard let quoted = PQescapeIdentifier(handle, identifier, bytes.count) else {
            throw PostgresError(kind: .unexpectedValue, message: "cannot quote identifier: \(lastErrorMessage)")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    // MARK: - LISTEN / NOTIFY

    /// Starts receiving notifications sent on `channel` (from any connection, once their
    /// transaction commits).
    public func listen(_ channel: String) throws(PostgresError) {
        try execute("LISTEN \(try quoteIdentifier(channel))")
    }

    public func unlisten(_ channel: String) throws(PostgresError) {
        try execute("UNLISTEN \(try quoteIdentifier(channel))")
    }

    /// Sends `payload` on `channel`; inside a transaction it is delivered at COMMIT (and
    /// dropped on ROLLBACK).
    public func notify(_ channel: String, payload: String) throws(PostgresError) {
        try execute("SELECT pg_notify($1, $2)", params: [channel, payload])
    }

    /// The notifications that have arrived, waiting up to `timeoutMs` (0: just look, -1:
    /// forever) for the first one. Empty when none came in time.
    /// - Throws: `.connection` when the connection is gone (notifications sent meanwhile
    ///   are lost to this connection: re-read the log after reconnecting).
    public func notifications(timeoutMs: Int32) throws(PostgresError) -> [PostgresNotification] {
        // Some may already be buffered (read along with a statement's result).
        try consumeInput()
        var arrived = drainNotifications()
        guard arrived.isEmpty, timeoutMs != 0 else { return arrived }
        let fd = socket
        guard fd >= 0 else { throw PostgresError(kind: .connection, message: "no connection: \(lastErrorMessage)") }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMs)
        if ready < 0 {
            if errno == EINTR { return [] }   // treated as a timeout; the caller polls again
            throw PostgresError(kind: .connection, message: "poll failed: \(String(cString: strerror(errno)))")
        }
        if ready > 0 {
            try consumeInput()
            arrived = drainNotifications()
        }
        return arrived
    }

    private func consumeInput() throws(PostgresError) {
        guard PQconsumeInput(handle) == 1 else {
            throw PostgresError(kind: .connection, message: lastErrorMessage)
        }
    }

    private func drainNotifications() -> [PostgresNotification] {
        var arrived: [PostgresNotification] = []
        while let notify = PQnotifies(handle) {
            arrived.append(PostgresNotification(channel: String(cString: notify.pointee.relname),
                                                payload: String(cString: notify.pointee.extra),
                                                senderPID: notify.pointee.be_pid))
            PQfreemem(notify)
        }
        return arrived
    }

    private var lastErrorMessage: String { Self.trimmed(String(cString: PQerrorMessage(handle))) }

    static func trimmed(_ text: String) -> String {
        var text = Substring(text)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}

/// One `NOTIFY` received.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    /// The server process of the connection that sent it.
    public let senderPID: Int32
}
