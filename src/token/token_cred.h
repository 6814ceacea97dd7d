/*
 * token_cred: a token's Ed25519 credential (OpenSSL EVP).
 *
 * The private key exists only inside the token image, as PKCS#8 PEM text
 * in TOKEN.KEY; the controller keeps the raw 32-byte public key (stored
 * and shown as base64 or hex) and verifies signatures with it.  Buffers
 * that held private key material are cleansed before they are freed.
 * Nothing here logs; errors come back through `char **cause' (allocated,
 * the caller frees it; NULL to ignore).
 */
#ifndef VTOKEN_TOKEN_CRED_H
#define VTOKEN_TOKEN_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_CRED_PUBKEY_LEN	32
#define TOKEN_CRED_SIG_LEN	64
#define TOKEN_CRED_PEM_MAX	4096	/* longest PEM text we accept */
#define TOKEN_CRED_B64_LEN	44	/* base64 of a public key, no NUL */
#define TOKEN_CRED_HEX_LEN	64	/* hex of a public key, no NUL */

struct token_cred;

/* A new key pair; NULL with *cause on failure.  Free with token_cred_free. */
struct token_cred *token_cred_generate(char **cause);
/*
 * Loads an unencrypted PEM private key (PKCS#8 "PRIVATE KEY") of len
 * bytes; only Ed25519 keys are accepted, and never is a passphrase asked
 * for.  pem is borrowed; the caller still cleanses its own copy.
 */
struct token_cred *token_cred_from_pem(const char *pem, size_t len,
    char **cause);
/* Frees the key (OpenSSL clears it); NULL is a no-op. */
void token_cred_free(struct token_cred *cred);

/*
 * The private key as PKCS#8 PEM: *pem is NUL-terminated text of *len
 * bytes.  The caller releases it with token_cred_wipe_free(*pem, *len).
 */
int token_cred_private_pem(const struct token_cred *cred, char **pem,
    size_t *len, char **cause);
/* Cleanses len bytes at p, then frees p; NULL is a no-op. */
void token_cred_wipe_free(void *p, size_t len);

/* The raw public key. */
int token_cred_public(const struct token_cred *cred,
    uint8_t pub[TOKEN_CRED_PUBKEY_LEN], char **cause);

/* Signs msg (Ed25519, no pre-hash): 0, or -1 with *cause. */
int token_cred_sign(const struct token_cred *cred, const void *msg,
    size_t len, uint8_t sig[TOKEN_CRED_SIG_LEN], char **cause);
/*
 * True only when sig (siglen bytes) is a valid signature of msg under
 * the raw public key pub.  Any malformed input is simply false.
 */
bool token_cred_verify(const uint8_t pub[TOKEN_CRED_PUBKEY_LEN],
    const void *msg, size_t len, const uint8_t *sig, size_t siglen);
/*
 * True when the private key in cred belongs to pub (compared in
 * constant time).
 */
bool token_cred_matches(const struct token_cred *cred,
    const uint8_t pub[TOKEN_CRED_PUBKEY_LEN]);

/*
 * Public key text forms.  out holds TOKEN_CRED_B64_LEN + 1 (standard
 * base64 with padding) or TOKEN_CRED_HEX_LEN + 1 (lower case) bytes.
 */
void token_cred_pub_to_b64(const uint8_t pub[TOKEN_CRED_PUBKEY_LEN],
    char out[TOKEN_CRED_B64_LEN + 1]);
void token_cred_pub_to_hex(const uint8_t pub[TOKEN_CRED_PUBKEY_LEN],
    char out[TOKEN_CRED_HEX_LEN + 1]);
/* Parses either form back (exact length, no whitespace): 0 or -1. */
int token_cred_pub_from_b64(const char *s,
    uint8_t pub[TOKEN_CRED_PUBKEY_LEN]);
int token_cred_pub_from_hex(const char *s,
    uint8_t pub[TOKEN_CRED_PUBKEY_LEN]);

#endif
