import CSSL

/// The TLS client side (--tls): one client context per worker thread, no certificate
/// check (loopback benchmarks against a development certificate), sessions kept by the
/// clients themselves for resumption.
enum TLSClient {
    static func makeContext() -> OpaquePointer? {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { return nil }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        _ = lg_ctx_set_min_proto(ctx, TLS1_2_VERSION)
        // As the server: partial writes, moving write buffers, no buffers while idle.
        _ = lg_ctx_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
        _ = lg_ctx_sess_cache_client(ctx)
        return ctx
    }

    /// OpenSSL's first queued error, for a message.
    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "connection closed" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        ERR_clear_error()
        return String(cString: buffer)
    }
}
