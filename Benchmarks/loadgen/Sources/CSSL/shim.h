#ifndef LOADGEN_CSSL_SHIM_H
#define LOADGEN_CSSL_SHIM_H
// OpenSSL for the TLS client (--tls) and HS256 token signing (shop mode).
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
// Macros over SSL_CTX_ctrl that Swift cannot import.
static inline long lg_ctx_set_mode(SSL_CTX *c, long m) { return SSL_CTX_set_mode(c, m); }
static inline int lg_ctx_set_min_proto(SSL_CTX *c, int v) { return (int)SSL_CTX_set_min_proto_version(c, v); }
static inline int lg_ctx_set_max_proto(SSL_CTX *c, int v) { return (int)SSL_CTX_set_max_proto_version(c, v); }
static inline long lg_ctx_sess_cache_client(SSL_CTX *c) { return SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE); }
#endif
