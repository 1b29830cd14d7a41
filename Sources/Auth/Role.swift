/// What a token's holder may do (docs/PROTOCOL.md §1): `admin` sees and changes everything,
/// `user` only its own orders and channel, `service` acts for any user (backend callers).
public enum Role: String, Sendable, Codable, CaseIterable {
    case admin
    case user
    case service
}
