/// A failure of the PostgreSQL layer: the server's own error (with its SQLSTATE), a lost
/// or refused connection (libpq's message), a bad database URL, or a value that could not
/// be read back.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The server refused a statement; `sqlState` says why (e.g. `23505` unique violation).
        case server
        /// No usable connection: could not connect, or the connection was lost. A caller
        /// may retry after reconnecting.
        case connection
        /// The database URL could not be parsed.
        case invalidURL
        /// A result was not what the caller expected (a NULL or an unparsable value).
        case unexpectedValue
    }

    public let kind: Kind
    /// The five-character SQLSTATE the server sent, when it sent one.
    public let sqlState: String?
    /// The server's primary message, or libpq's.
    public let message: String
    /// The server's DETAIL line, if any.
    public let detail: String?

    public init(kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
    }

    /// True when the connection is gone (the statement may or may not have run).
    public var isConnectionFailure: Bool {
        // Class 08 (connection exception) and 57P01..57P03 (admin shutdown, crash
        // shutdown, cannot connect now) come from a server that is going away.
        kind == .connection || sqlState?.hasPrefix("08") == true || sqlState?.hasPrefix("57P") == true
    }

    public var description: String {
        var text: String
        switch kind {
        case .server: text = "PostgreSQL error \(sqlState ?? "?????"): \(message)"
        case .connection: text = "PostgreSQL connection failed: \(message)"
        case .invalidURL, .unexpectedValue: text = message
        }
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        return text
    }
}
