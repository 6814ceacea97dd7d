/*
 * token_cred: Ed25519 key pairs, PEM and signatures (see token_cred.h).
 */
#include "token/token_cred.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/cause.h"
#include "common/encode.h"

struct token_cred {
	EVP_PKEY *pkey;		/* always an Ed25519 private key */
};

static int token_cred_ossl(char **, const char *);
static struct token_cred *token_cred_wrap(EVP_PKEY *, char **);
static int token_cred_no_pass(char *, int, int, void *);

/*
 * Fails with OpenSSL's first queued error and clears the queue, so a
 * stale error never shows up in an unrelated later call.
 */
static int
token_cred_ossl(char **cause, const char *what)
{
	char buf[160];
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, sizeof(buf), "unknown error");
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return cause_set(cause, "%s: %s", what, buf);
}

static struct token_cred *
token_cred_wrap(EVP_PKEY *pkey, char **cause)
{
	struct token_cred *cred;

	if ((cred = calloc(1, sizeof(*cred))) == NULL) {
		EVP_PKEY_free(pkey);
		cause_set(cause, "out of memory");
		return NULL;
	}
	cred->pkey = pkey;
	return cred;
}

struct token_cred *
token_cred_generate(char **cause)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;

	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_keygen(ctx, &pkey) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		token_cred_ossl(cause, "Ed25519 key generation");
		return NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return token_cred_wrap(pkey, cause);
}

/* Refuses encrypted keys instead of prompting on the terminal. */
static int
token_cred_no_pass(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

struct token_cred *
token_cred_from_pem(const char *pem, size_t len, char **cause)
{
	BIO *bio;
	EVP_PKEY *pkey;

	if (len == 0 || len > TOKEN_CRED_PEM_MAX) {
		cause_set(cause, "private key PEM of %zu bytes (limit %d)",
		    len, TOKEN_CRED_PEM_MAX);
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		token_cred_ossl(cause, "BIO_new_mem_buf");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, token_cred_no_pass, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		token_cred_ossl(cause, "private key PEM");
		return NULL;
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		cause_set(cause, "private key is not Ed25519");
		return NULL;
	}
	return token_cred_wrap(pkey, cause);
}

void
token_cred_free(struct token_cred *cred)
{
	if (cred == NULL)
		return;
	EVP_PKEY_free(cred->pkey);
	free(cred);
}

int
token_cred_private_pem(const struct token_cred *cred, char **pem,
    size_t *len, char **cause)
{
	BIO *bio;
	char *data, *out;
	long n;

	*pem = NULL;
	*len = 0;
	/* A secure-heap BIO where available; either kind is cleared on free. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return token_cred_ossl(cause, "BIO_new");
	if (PEM_write_bio_PKCS8PrivateKey(bio, cred->pkey, NULL, NULL, 0,
	    NULL, NULL) != 1) {
		BIO_free(bio);
		return token_cred_ossl(cause, "PEM_write_bio_PKCS8PrivateKey");
	}
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || n > TOKEN_CRED_PEM_MAX ||
	    (out = malloc((size_t)n + 1)) == NULL) {
		BIO_free(bio);
		return cause_set(cause, "private key PEM: out of memory");
	}
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	*pem = out;
	*len = (size_t)n;
	return 0;
}

void
token_cred_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

int
token_cred_public(const struct token_cred *cred,
    uint8_t pub[TOKEN_CRED_PUBKEY_LEN], char **cause)
{
	size_t n = TOKEN_CRED_PUBKEY_LEN;

	if (EVP_PKEY_get_raw_public_key(cred->pkey, pub, &n) != 1 ||
	    n != TOKEN_CRED_PUBKEY_LEN)
		return token_cred_ossl(cause, "EVP_PKEY_get_raw_public_key");
	return 0;
}

int
token_cred_sign(const struct token_cred *cred, const void *msg, size_t len,
    uint8_t sig[TOKEN_CRED_SIG_LEN], char **cause)
{
	EVP_MD_CTX *ctx;
	size_t n = TOKEN_CRED_SIG_LEN;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return token_cred_ossl(cause, "EVP_MD_CTX_new");
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, cred->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &n, msg, len) == 1 &&
	    n == TOKEN_CRED_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return token_cred_ossl(cause, "Ed25519 sign");
	return 0;
}

bool
token_cred_verify(const uint8_t pub[TOKEN_CRED_PUBKEY_LEN], const void *msg,
    size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx = NULL;
	bool ok = false;

	if (sig == NULL || siglen != TOKEN_CRED_SIG_LEN ||
	    (msg == NULL && len != 0))
		return false;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    TOKEN_CRED_PUBKEY_LEN);
	if (pkey != NULL && (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
		ok = EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ok;
}

bool
token_cred_matches(const struct token_cred *cred,
    const uint8_t pub[TOKEN_CRED_PUBKEY_LEN])
{
	uint8_t mine[TOKEN_CRED_PUBKEY_LEN];

	if (token_cred_public(cred, mine, NULL) != 0)
		return false;
	return CRYPTO_memcmp(mine, pub, sizeof(mine)) == 0;
}

void
token_cred_pub_to_b64(const uint8_t pub[TOKEN_CRED_PUBKEY_LEN],
    char out[TOKEN_CRED_B64_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)out, pub, TOKEN_CRED_PUBKEY_LEN);
}

void
token_cred_pub_to_hex(const uint8_t pub[TOKEN_CRED_PUBKEY_LEN],
    char out[TOKEN_CRED_HEX_LEN + 1])
{
	encode_hex(pub, TOKEN_CRED_PUBKEY_LEN, out, false);
}

/* decode_base64 takes canonical text only, so each key has one form. */
int
token_cred_pub_from_b64(const char *s, uint8_t pub[TOKEN_CRED_PUBKEY_LEN])
{
	if (s == NULL || strlen(s) != TOKEN_CRED_B64_LEN)
		return -1;
	return decode_base64(s, pub, TOKEN_CRED_PUBKEY_LEN) ==
	    TOKEN_CRED_PUBKEY_LEN ? 0 : -1;
}

/* Decoded aside, so that pub is untouched by a bad digit. */
int
token_cred_pub_from_hex(const char *s, uint8_t pub[TOKEN_CRED_PUBKEY_LEN])
{
	uint8_t raw[TOKEN_CRED_PUBKEY_LEN];

	if (s == NULL || decode_hex(s, raw, sizeof(raw)) != 0)
		return -1;
	memcpy(pub, raw, sizeof(raw));
	return 0;
}
