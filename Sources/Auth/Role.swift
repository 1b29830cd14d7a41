/// What a token's holder may do (CONTRACT §2–4): `admin` sees and changes everything,
/// `user` only its own orders and channel, `service` acts for any user (backend callers).
public enum Role: String, Sendable, Codable, CaseIterable {
    case admin
    case user
    case service
}
