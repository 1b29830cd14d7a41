/// Why a request could not be parsed, with the status the server should answer before
/// closing the connection.
public struct HTTPParseError: Error, Equatable, Sendable {
    /// The status for the error response (400, 413, 414, 431, 501 or 505).
    public let status: HTTPStatus
    /// A short, client-safe explanation (never echoes request bytes).
    public let message: String

    public init(status: HTTPStatus, message: String) {
        self.status = status
        self.message = message
    }

    static func badRequest(_ message: String) -> HTTPParseError {
        HTTPParseError(status: .badRequest, message: message)
    }
}
