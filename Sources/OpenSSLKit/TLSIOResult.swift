/// The outcome of one non-blocking TLS step (`handshake`, `read`, `write`).
///
/// `wantRead`/`wantWrite` say which socket readiness to wait for before retrying the same
/// call. Either can come from either call: a read may need to write (TLS 1.3 key update),
/// a write may need to read.
public enum TLSIOResult: Equatable, Sendable {
    /// Bytes read or written (0 from `handshake` means the handshake is complete).
    case bytes(Int)
    /// Wait until the socket is readable, then retry.
    case wantRead
    /// Wait until the socket is writable, then retry.
    case wantWrite
    /// The peer closed the TLS connection (close_notify, or EOF, which is tolerated
    /// because browsers often skip close_notify).
    case closed
    /// A fatal protocol or socket error; the session cannot be used any more.
    case failed(String)
}
