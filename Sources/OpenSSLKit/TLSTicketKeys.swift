/// The keys that encrypt and decrypt TLS session tickets (RFC 5077 / RFC 8446 §4.6.1):
/// whoever holds them can decrypt the session keys inside tickets, so they are a secret.
///
/// Each key is 80 bytes: a 16-byte name (sent in the clear in the ticket, to pick the key),
/// a 32-byte HMAC-SHA256 key and a 32-byte AES-256 key. `current` encrypts new tickets;
/// `previous`, the key in use before the last rotation, still decrypts tickets issued under
/// it, and those clients get a fresh ticket under `current`.
public struct TLSTicketKeys: Sendable, Equatable {
    public static let keyLength = 80

    public let current: [UInt8]
    public let previous: [UInt8]?

    /// - Precondition: `current` (and `previous`, if any) is `keyLength` bytes.
    public init(current: [UInt8], previous: [UInt8]? = nil) {
        precondition(current.count == Self.keyLength && (previous?.count ?? Self.keyLength) == Self.keyLength,
                     "a session ticket key is \(Self.keyLength) bytes")
        self.current = current
        // The same key twice (a SIGHUP without a change) is one key.
        self.previous = previous == current ? nil : previous
    }

    /// `next` as the current key, this one's current key kept for decryption.
    public func rotated(to next: [UInt8]) -> TLSTicketKeys {
        next == current ? self : TLSTicketKeys(current: next, previous: current)
    }

    /// Drawn once per process, when no key file is given: every loop's context shares them,
    /// so a ticket resumes on any loop, but not after a restart or on another node.
    /// Immutable once drawn (a lazily initialised `static let` is thread-safe).
    public static let process = TLSTicketKeys(current: Digest.randomBytes(keyLength))
}
