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
#include <string.h>
#include <stdlib.h>
#include <openssl/params.h>

// Session-ticket keys: 80 bytes each, name (16), HMAC-SHA256 key (32), AES-256 key (32).
// `current` encrypts new tickets; `previous` (the key before the last rotation) still
// decrypts, and a ticket it decrypts is replaced by one under `current` (callback answer 2),
// so a key rotation does not cost outstanding tickets a full handshake.
// Owned by the SSL_CTX through its app data; freed by cssl_ctx_free_ticket_keys.
typedef struct {
    unsigned char current[80];
    unsigned char previous[80];
    int has_previous;
} cssl_ticket_keys;

static int cssl_ticket_key_callback(SSL *s, unsigned char key_name[16], unsigned char *iv,
                                    EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int encrypt) {
    const cssl_ticket_keys *keys = (const cssl_ticket_keys *)SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
    const unsigned char *key;
    int answer = 1;
    if (keys == NULL) return -1;
    if (encrypt) {
        key = keys->current;
        memcpy(key_name, key, 16);
        if (RAND_bytes(iv, 16) <= 0) return -1;
    } else if (memcmp(key_name, keys->current, 16) == 0) {
        key = keys->current;
    } else if (keys->has_previous && memcmp(key_name, keys->previous, 16) == 0) {
        key = keys->previous;
        answer = 2;  // valid, but issue a new ticket under the current key
    } else {
        return 0;  // unknown key: full handshake
    }
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)(key + 16), 32);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
    if (encrypt) {
        if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key + 48, iv) != 1) return -1;
    } else {
        if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key + 48, iv) != 1) return -1;
    }
    return answer;
}

/// current: 80 bytes; previous: 80 bytes or NULL. Returns 1 on success. Call once per SSL_CTX.
static inline int cssl_ctx_use_ticket_keys(SSL_CTX *c, const unsigned char *current, const unsigned char *previous) {
    cssl_ticket_keys *keys = (cssl_ticket_keys *)calloc(1, sizeof(cssl_ticket_keys));
    if (keys == NULL) return 0;
    memcpy(keys->current, current, 80);
    if (previous != NULL) { memcpy(keys->previous, previous, 80); keys->has_previous = 1; }
    if (SSL_CTX_set_app_data(c, keys) != 1 || SSL_CTX_set_tlsext_ticket_key_evp_cb(c, cssl_ticket_key_callback) != 1) {
        SSL_CTX_set_app_data(c, NULL);
        OPENSSL_cleanse(keys, sizeof(*keys));
        free(keys);
        return 0;
    }
    return 1;
}
/// Before SSL_CTX_free: wipes and frees what cssl_ctx_use_ticket_keys stored (nothing for a client context).
static inline void cssl_ctx_free_ticket_keys(SSL_CTX *c) {
    cssl_ticket_keys *keys = (cssl_ticket_keys *)SSL_CTX_get_app_data(c);
    if (keys == NULL) return;
    SSL_CTX_set_app_data(c, NULL);
    OPENSSL_cleanse(keys, sizeof(*keys));
    free(keys);
}
#endif
