import CSSL

/// Shared TLS settings, wrapping an `SSL_CTX`: a server context with a certificate and
/// key, or a client context that trusts given CA certificates (for tests and tools).
///
/// Not `Sendable`: like the sessions made from it, it belongs to one event-loop thread.
public final class TLSContext {
    let pointer: OpaquePointer
    let isServer: Bool

    /// TLS 1.2 cipher suites: ECDHE key exchange (forward secrecy) with AEAD ciphers only.
    /// TLS 1.3 suites are OpenSSL's defaults, all of which qualify.
    private static let tls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20"

    /// Creates a server context.
    /// - Parameters:
    ///   - certificateChainPath: PEM file with the server certificate first, then any intermediates.
    ///   - privateKeyPath: PEM file with the certificate's private key (unencrypted).
    ///   - ticketKeys: the keys that encrypt session tickets (default: the process's random ones).
    /// - Throws: `TLSError` naming the file and OpenSSL's reason if either cannot be
    ///   loaded or the key does not belong to the certificate.
    ///
    /// Settings: TLS 1.2 minimum, no compression, no renegotiation, server cipher
    /// preference, EOF without close_notify treated as a normal close, partial writes,
    /// buffers released while a connection is idle (many idle WebSockets), and session
    /// tickets with keys shared by every context of the process (resumption on any loop).
    public init(certificateChainPath: String, privateKeyPath: String, ticketKeys: TLSTicketKeys = .process) throws {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw OpenSSLErrorQueue.failure("SSL_CTX_new failed") }
        pointer = ctx
        isServer = true
        try Self.applyCommonSettings(ctx)
        guard SSL_CTX_set_cipher_list(ctx, Self.tls12Ciphers) == 1 else {
            throw OpenSSLErrorQueue.failure("cannot set the TLS 1.2 cipher list")
        }
        guard SSL_CTX_use_certificate_chain_file(ctx, certificateChainPath) == 1 else {
            throw OpenSSLErrorQueue.failure("cannot load TLS certificate chain from \(certificateChainPath)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw OpenSSLErrorQueue.failure("cannot load TLS private key from \(privateKeyPath)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw OpenSSLErrorQueue.failure("TLS private key \(privateKeyPath) does not match certificate \(certificateChainPath)")
        }
        // Session tickets (on by OpenSSL's default) are encrypted with the context's ticket
        // keys, which OpenSSL would draw at random per SSL_CTX. Each loop has its own context,
        // and a reconnecting client lands on any loop, so every context of the process uses
        // the same keys: `TLSTicketKeys.process` (random, lives as long as the process), or
        // keys read from a file, which survive a restart and may be shared by the nodes of a
        // cluster (`--tls-ticket-key-file`).
        let previous = ticketKeys.previous
        let installed = ticketKeys.current.withUnsafeBufferPointer { current in
            if let previous {
                return previous.withUnsafeBufferPointer { cssl_ctx_use_ticket_keys(ctx, current.baseAddress, $0.baseAddress) }
            }
            return cssl_ctx_use_ticket_keys(ctx, current.baseAddress, nil)
        }
        guard installed == 1 else {
            throw OpenSSLErrorQueue.failure("cannot set the TLS session ticket keys")
        }
    }

    /// Creates a client context that verifies servers against the CA certificates in
    /// `trustedCertificatesPath` (PEM) only; the host name is checked per session.
    /// - Parameter maximumVersion: lets tests force TLS 1.2.
    /// - Throws: `TLSError` if the CA file cannot be loaded.
    public init(clientTrustingCertificatesAt trustedCertificatesPath: String, maximumVersion: TLSVersion = .tls13) throws {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw OpenSSLErrorQueue.failure("SSL_CTX_new failed") }
        pointer = ctx
        isServer = false
        try Self.applyCommonSettings(ctx)
        guard cssl_ctx_set_max_proto(ctx, maximumVersion.openSSLValue) == 1 else {
            throw OpenSSLErrorQueue.failure("cannot set the maximum TLS version")
        }
        guard SSL_CTX_load_verify_locations(ctx, trustedCertificatesPath, nil) == 1 else {
            throw OpenSSLErrorQueue.failure("cannot load trusted certificates from \(trustedCertificatesPath)")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
    }

    deinit {
        cssl_ctx_free_ticket_keys(pointer)
        SSL_CTX_free(pointer)
    }

    private static func applyCommonSettings(_ ctx: OpaquePointer) throws {
        _ = cssl_ctx_harden(ctx)
        guard cssl_ctx_set_min_proto(ctx, TLS1_2_VERSION) == 1 else {
            throw OpenSSLErrorQueue.failure("cannot set the minimum TLS version")
        }
        // PARTIAL_WRITE: SSL_write returns after each record, like write(2).
        // ACCEPT_MOVING_WRITE_BUFFER: a retried write may come from a different address
        // (our outbound queues are Swift arrays). RELEASE_BUFFERS: ~34 KiB less per idle
        // connection.
        _ = cssl_ctx_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
    }
}
