/// A failure of the storage layer: SQLite's own message (with its result code), or a
/// row that could not be read back.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// SQLite's primary or extended result code, or `nil` when the failure is not SQLite's.
    public let code: Int32?
    public let message: String

    public init(code: Int32?, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String {
        if let code { return "SQLite error \(code): \(message)" }
        return message
    }
}
