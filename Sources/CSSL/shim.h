#ifndef CSSL_SHIM_H
#define CSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
// These are macros over SSL_CTX_ctrl / CRYPTO_free that Swift cannot import.
static inline uint64_t cssl_ctx_harden(SSL_CTX *c) {
    return SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
}
static inline int cssl_ctx_set_min_proto(SSL_CTX *c, int v) { return (int)SSL_CTX_set_min_proto_version(c, v); }
static inline long cssl_ctx_set_mode(SSL_CTX *c, long m) { return SSL_CTX_set_mode(c, m); }
static inline void cssl_free(void *p) { OPENSSL_free(p); }
static inline int cssl_ctx_set_max_proto(SSL_CTX *c, int v) { return (int)SSL_CTX_set_max_proto_version(c, v); }
static inline int cssl_set_tlsext_host_name(SSL *s, const char *name) { return (int)SSL_set_tlsext_host_name(s, name); }
static inline long cssl_ctx_set_ticket_keys(SSL_CTX *c, void *keys, long length) { return SSL_CTX_set_tlsext_ticket_keys(c, keys, length); }
#endif
