import Auth

/// An authenticated `/ws` client: who it is and which channels it follows.
final class PushClient {
    let claims: Claims
    /// Few per client (its own channel, or `admin`), so an array beats a set here.
    var channels: [String] = []

    init(claims: Claims) { self.claims = claims }
}
