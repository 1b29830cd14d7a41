/// The verified claims of an HS256 token that the server acts on.
public struct Claims: Sendable, Equatable {
    /// The subject: the user or service id (never empty).
    public let sub: String
    public let role: Role
    /// Expiry as seconds since the Unix epoch (RFC 7519 NumericDate, integer).
    public let exp: Int64

    public init(sub: String, role: Role, exp: Int64) {
        self.sub = sub
        self.role = role
        self.exp = exp
    }
}
