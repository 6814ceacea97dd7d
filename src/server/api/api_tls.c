/*
 * api_tls: rotating session-ticket keys and the handshake log line
 * (see api_tls.h).
 */
#include "server/api/api_tls.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/monotime.h"

#define API_TLS_NAME_LEN	16	/* key name in each ticket */
#define API_TLS_AES_LEN		32	/* AES-256-CBC */
#define API_TLS_HMAC_LEN	32	/* HMAC-SHA256 */

struct api_tls_key {
	bool used;
	double born;			/* monotonic seconds */
	unsigned char name[API_TLS_NAME_LEN];
	unsigned char aes[API_TLS_AES_LEN];
	unsigned char hmac[API_TLS_HMAC_LEN];
};

/* key[0] seals new tickets; key[1] is the one before, still accepted. */
struct api_tls_ring {
	struct api_tls_key key[2];
};

static pthread_once_t api_tls_once = PTHREAD_ONCE_INIT;
static int api_tls_index = -1;	/* SSL_CTX ex_data slot of the ring */

static void api_tls_ring_free(void *parent, void *ptr,
    CRYPTO_EX_DATA *ad, int idx, long argl, void *argp);
static void api_tls_index_init(void);
static int api_tls_rotate(struct api_tls_ring *r, double now);
static struct api_tls_key *api_tls_find(struct api_tls_ring *r,
    const unsigned char *name, double now);
static int api_tls_mac_key(EVP_MAC_CTX *hctx, struct api_tls_key *k);
static int api_tls_ticket(SSL *s, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc);
static void api_tls_info(const SSL *s, int where, int ret);

static void
api_tls_ring_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr == NULL)
		return;
	OPENSSL_cleanse(ptr, sizeof(struct api_tls_ring));
	free(ptr);
}

static void
api_tls_index_init(void)
{
	api_tls_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
	    api_tls_ring_free);
}

/* A new current key once the current one is API_TLS_KEY_PERIOD old. */
static int
api_tls_rotate(struct api_tls_ring *r, double now)
{
	struct api_tls_key k;

	if (r->key[0].used && now - r->key[0].born < API_TLS_KEY_PERIOD)
		return 0;
	memset(&k, 0, sizeof(k));
	if (RAND_bytes(k.name, sizeof(k.name)) != 1 ||
	    RAND_priv_bytes(k.aes, sizeof(k.aes)) != 1 ||
	    RAND_priv_bytes(k.hmac, sizeof(k.hmac)) != 1) {
		OPENSSL_cleanse(&k, sizeof(k));
		return -1;
	}
	k.used = true;
	k.born = now;
	OPENSSL_cleanse(&r->key[1], sizeof(r->key[1]));
	r->key[1] = r->key[0];
	r->key[0] = k;
	OPENSSL_cleanse(&k, sizeof(k));
	log_debug("api: new TLS ticket key");
	return 0;
}

/* The key a ticket names, if it is still young enough; else NULL. */
static struct api_tls_key *
api_tls_find(struct api_tls_ring *r, const unsigned char *name, double now)
{
	for (size_t i = 0; i < 2; i++) {
		struct api_tls_key *k = &r->key[i];

		if (k->used && now - k->born < 2.0 * API_TLS_KEY_PERIOD &&
		    CRYPTO_memcmp(k->name, name, API_TLS_NAME_LEN) == 0)
			return k;
	}
	return NULL;
}

static int
api_tls_mac_key(EVP_MAC_CTX *hctx, struct api_tls_key *k)
{
	char digest[] = "SHA256";
	OSSL_PARAM p[3];

	p[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k->hmac,
	    sizeof(k->hmac));
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	p[2] = OSSL_PARAM_construct_end();
	return EVP_MAC_CTX_set_params(hctx, p) == 1 ? 0 : -1;
}

/*
 * OpenSSL's ticket callback (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)).
 * Sealing: 1, or 0 for no ticket.  Opening: 2 (accepted; issue a new
 * ticket under the current key), 0 (unknown or expired key: a full
 * handshake) or -1.
 */
static int
api_tls_ticket(SSL *s, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct api_tls_ring *r = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s),
	    api_tls_index);
	const EVP_CIPHER *aes = EVP_aes_256_cbc();
	double now = monotime_sec();
	struct api_tls_key *k;

	if (r == NULL || api_tls_rotate(r, now) < 0)
		return enc ? 0 : -1;
	if (enc) {
		k = &r->key[0];
		memcpy(name, k->name, API_TLS_NAME_LEN);
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(aes)) != 1 ||
		    EVP_EncryptInit_ex(cctx, aes, NULL, k->aes, iv) != 1 ||
		    api_tls_mac_key(hctx, k) < 0)
			return 0;
		return 1;
	}
	if ((k = api_tls_find(r, name, now)) == NULL)
		return 0;
	if (EVP_DecryptInit_ex(cctx, aes, NULL, k->aes, iv) != 1 ||
	    api_tls_mac_key(hctx, k) < 0)
		return -1;
	/*
	 * Always 2: OpenSSL then sends a new ticket after the resumed
	 * handshake.  With 1 it sends none in TLS 1.3, the client's only
	 * ticket has been used, and every other connection would be a full
	 * handshake.
	 */
	return 2;
}

static void
api_tls_info(const SSL *s, int where, int ret)
{
	(void)ret;
	if ((where & SSL_CB_HANDSHAKE_DONE) == 0)
		return;
	log_debug("api: TLS handshake %s (%s)", SSL_session_reused(s) ?
	    "resumed" : "full", SSL_get_version(s));
}

int
api_tls_tickets(void *sslctx)
{
	SSL_CTX *ctx = sslctx;
	struct api_tls_ring *r;

	if (pthread_once(&api_tls_once, api_tls_index_init) != 0 ||
	    api_tls_index < 0 || (r = calloc(1, sizeof(*r))) == NULL) {
		log_error("api: TLS session tickets: out of memory");
		return -1;
	}
	if (SSL_CTX_set_ex_data(ctx, api_tls_index, r) != 1) {
		free(r);
		log_error("api: TLS session tickets: out of memory");
		return -1;
	}
	if (api_tls_rotate(r, monotime_sec()) < 0) {
		log_error("api: TLS session tickets: no random bytes");
		return -1;
	}
	/* Tickets only: no per-client state on the server. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_timeout(ctx, API_TLS_KEY_PERIOD);
	/* One ticket per handshake: the agent keeps only the latest. */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, api_tls_ticket);
	SSL_CTX_set_info_callback(ctx, api_tls_info);
	return 0;
}
