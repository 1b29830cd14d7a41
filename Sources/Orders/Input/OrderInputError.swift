/// Why a request body was refused. `message` names the field, e.g.
/// `items[1].quantity must be an integer from 1 to 10000`, and is meant for the client.
public struct OrderInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The body is not one valid JSON text (HTTP 400).
        case malformedJSON
        /// Valid JSON with a missing, unknown or wrong field (HTTP 400).
        case invalidField
        /// The body is over the size limit (HTTP 413).
        case tooLarge
    }

    public let kind: Kind
    /// The path of the offending field (`items[1].quantity`), or `nil` for the body as a whole.
    public let field: String?
    public let message: String

    public init(kind: Kind, field: String?, message: String) {
        self.kind = kind
        self.field = field
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ field: String, _ complaint: String) -> OrderInputError {
        OrderInputError(kind: .invalidField, field: field, message: "\(field) \(complaint)")
    }
}
