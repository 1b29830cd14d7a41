import Glibc
import HTTP1

/// The answer to a connection accepted past `--max-connections`: a canned `503` with
/// `Retry-After`, written at once, then the socket is closed. Nothing is registered or kept,
/// so a flood at the cap costs a few system calls per connection and no memory.
enum OverCapacity {
    static let retryAfterSeconds = 1

    static let response: [UInt8] = {
        var r = HTTPResponse.error(.serviceUnavailable, code: "over_capacity",
                                   message: "the server has too many open connections; retry later")
        r.headers.add("Retry-After", String(retryAfterSeconds))
        return r.serialize(keepAlive: false)
    }()

    /// - Parameters:
    ///   - plainHTTP: false for a TLS listener, where plain bytes mean nothing: just close.
    ///   - scratch: where the request already received is read into and dropped.
    static func refuse(_ fd: Int32, plainHTTP: Bool, scratch: UnsafeMutableRawBufferPointer) {
        if plainHTTP {
            // One non-blocking send; a fresh socket's buffer always takes ~200 bytes.
            _ = response.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            // Half-close, and drop the request that already arrived: closing with unread bytes
            // would send a reset, which can destroy the answer before the client reads it.
            shutdown(fd, Int32(SHUT_WR))
            _ = recv(fd, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT))
        }
        close(fd)
    }
}
