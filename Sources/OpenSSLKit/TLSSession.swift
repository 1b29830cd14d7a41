#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSSL

/// One TLS connection over a non-blocking socket, wrapping an `SSL`.
///
/// The caller owns the file descriptor: this class never closes it (close it after the
/// session is done or dropped). Every call returns at once; on `.wantRead`/`.wantWrite`,
/// wait for that readiness and repeat the same call. After a `write` returned `.wantRead`
/// or `.wantWrite`, retry with the same bytes (the buffer may move, its content must not).
///
/// OpenSSL writes to the socket with write(2), so a peer that has gone away raises
/// SIGPIPE: the process must ignore SIGPIPE (`sigaction(SIGPIPE, SIG_IGN)`), as servers do.
///
/// Not `Sendable`: one event-loop thread owns it.
public final class TLSSession {
    private let ssl: OpaquePointer
    private let context: TLSContext  // keeps the SSL_CTX alive as long as the SSL
    /// After SSL_ERROR_SSL or SSL_ERROR_SYSCALL OpenSSL forbids SSL_shutdown.
    private var fatalErrorOccurred = false
    private var shutdownSent = false

    /// Creates the server side of a connection on the accepted socket `fd`.
    /// - Throws: `TLSError` if OpenSSL cannot allocate the session.
    public init(context: TLSContext, fd: Int32) throws {
        precondition(context.isServer, "BUG DETECTED: TLSSession(context:fd:) needs a server TLSContext")
        self.context = context
        ssl = try Self.makeSSL(context, fd: fd)
        SSL_set_accept_state(ssl)
    }

    /// Creates the client side of a connection on the connected socket `fd`, verifying
    /// that the server's certificate is valid for `serverName` (a DNS name, sent as SNI, or
    /// an IPv4/IPv6 literal, matched against the certificate's IP addresses).
    /// - Throws: `TLSError` if OpenSSL cannot allocate the session or set the name.
    public init(clientContext context: TLSContext, fd: Int32, serverName: String) throws {
        precondition(!context.isServer, "BUG DETECTED: TLSSession(clientContext:) needs a client TLSContext")
        self.context = context
        let ssl = try Self.makeSSL(context, fd: fd)
        self.ssl = ssl
        SSL_set_connect_state(ssl)
        if Self.isIPAddress(serverName) {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) == 1 else {
                throw OpenSSLErrorQueue.failure("cannot set the expected server address \(serverName)")
            }
        } else {
            guard SSL_set1_host(ssl, serverName) == 1, cssl_set_tlsext_host_name(ssl, serverName) == 1 else {
                throw OpenSSLErrorQueue.failure("cannot set the expected server name \(serverName)")
            }
        }
    }

    deinit {
        SSL_free(ssl)  // does not close the fd (SSL_set_fd's BIO is BIO_NOCLOSE)
    }

    /// Advances the handshake. `.bytes(0)` once it is complete (also on later calls).
    public func handshake() -> TLSIOResult {
        ERR_clear_error()
        let ret = SSL_do_handshake(ssl)
        let savedErrno = errno
        return ret == 1 ? .bytes(0) : outcome(of: ret, errno: savedErrno)
    }

    /// True once the handshake has finished successfully.
    public var isHandshakeComplete: Bool {
        SSL_is_init_finished(ssl) == 1
    }

    /// Reads decrypted bytes into `buffer`. `.bytes(n)` with n > 0 on success; `.closed` when
    /// the peer has closed. Also completes the handshake if it is not done yet.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSIOResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .bytes(0) }
        ERR_clear_error()
        var count = 0
        let ret = SSL_read_ex(ssl, base, buffer.count, &count)
        let savedErrno = errno
        return ret == 1 ? .bytes(count) : outcome(of: ret, errno: savedErrno)
    }

    /// Encrypts and sends a prefix of `bytes`; `.bytes(n)` says how many were consumed
    /// (partial writes are enabled, so n may be less than `bytes.count`).
    public func write(_ bytes: UnsafeRawBufferPointer) -> TLSIOResult {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .bytes(0) }
        ERR_clear_error()
        var count = 0
        let ret = SSL_write_ex(ssl, base, bytes.count, &count)
        let savedErrno = errno
        return ret == 1 ? .bytes(count) : outcome(of: ret, errno: savedErrno)
    }

    /// Sends close_notify once, best effort: it does not wait for the peer's reply and does
    /// nothing after a fatal error or before the handshake completed. The caller then
    /// closes the socket.
    public func shutdown() {
        guard !shutdownSent, !fatalErrorOccurred, isHandshakeComplete else { return }
        shutdownSent = true
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// True when OpenSSL holds decrypted bytes not yet returned by `read`. The socket may
    /// not become readable again for them, so an edge-triggered loop must read until
    /// `.wantRead` or until this is false.
    public var hasBufferedPlaintext: Bool {
        SSL_pending(ssl) > 0
    }

    /// The negotiated protocol ("TLSv1.3", "TLSv1.2"), for logs.
    public var protocolVersion: String {
        String(cString: SSL_get_version(ssl))
    }

    /// The negotiated cipher suite, for logs; nil before the handshake.
    public var cipherName: String? {
        guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return nil }
        return String(cString: name)
    }

    // MARK: - Private

    private static func makeSSL(_ context: TLSContext, fd: Int32) throws -> OpaquePointer {
        guard let ssl = SSL_new(context.pointer) else { throw OpenSSLErrorQueue.failure("SSL_new failed") }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            throw OpenSSLErrorQueue.failure("SSL_set_fd failed")
        }
        return ssl
    }

    /// Maps a failed call's return value to a result, reading (and clearing) the error queue.
    private func outcome(of ret: Int32, errno savedErrno: Int32) -> TLSIOResult {
        let code = SSL_get_error(ssl, ret)
        switch code {
        case SSL_ERROR_WANT_READ:
            return .wantRead
        case SSL_ERROR_WANT_WRITE:
            return .wantWrite
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        case SSL_ERROR_SYSCALL:
            fatalErrorOccurred = true
            if let queued = OpenSSLErrorQueue.drain() { return .failed(queued) }
            // errno 0 here means EOF in the middle of a record or handshake.
            return .failed(savedErrno == 0 ? "connection closed during TLS exchange" : String(cString: strerror(savedErrno)))
        case SSL_ERROR_SSL:
            fatalErrorOccurred = true
            var message = OpenSSLErrorQueue.drain() ?? "TLS protocol error"
            let verify = SSL_get_verify_result(ssl)
            if verify != Int(X509_V_OK) {
                message += " (certificate: \(String(cString: X509_verify_cert_error_string(verify))))"
            }
            return .failed(message)
        default:
            fatalErrorOccurred = true
            _ = OpenSSLErrorQueue.drain()
            return .failed("unexpected OpenSSL error code \(code)")
        }
    }

    private static func isIPAddress(_ name: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, name, &buffer) == 1 || inet_pton(AF_INET6, name, &buffer) == 1
    }
}
