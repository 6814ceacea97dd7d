/*
 * control_auth: nonces, token buckets and signature checks (see
 * control_auth.h).
 */
#include "server/control/control_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/strmap.h"
#include "common/xmalloc.h"
#include "server/control/control_audit.h"
#include "token/token_cred.h"

#define AUTH_NONCE_KEY_LEN	44	/* base64 of VTAUTH_NONCE_LEN bytes */
#define AUTH_ISSUED_LEN		4	/* seconds, big-endian */
#define AUTH_RANDOM_LEN		12
#define AUTH_TAG_LEN		16	/* truncated HMAC-SHA256 */
#define AUTH_SKEW		5	/* seconds a nonce may come from the future */

void
control_auth_init(struct control_auth *a, const struct control_auth_limits *lim)
{
	memset(a->key, 0, sizeof(a->key));
	a->lim = *lim;
	a->used = strmap_new(lim->max_nonces, free);
	ratelimit_init(&a->rate, AUTH_BUCKETS_MAX);
	/* Until control_auth_set_key: a key of this process's own. */
	if (RAND_bytes(a->key, sizeof(a->key)) != 1)
		abort();
}

void
control_auth_set_key(struct control_auth *a, const uint8_t audit_key[32])
{
	if (control_audit_subkey(audit_key, "vtoken-challenge-v1", a->key) < 0)
		abort();
}

void
control_auth_clear(struct control_auth *a)
{
	strmap_free(a->used);
	ratelimit_clear(&a->rate);
	a->used = NULL;
	OPENSSL_cleanse(a->key, sizeof(a->key));
}

const char *
control_auth_result_reason(enum control_auth_result r)
{
	switch (r) {
	case AUTH_OK:
		return "ok";
	case AUTH_RATE_LIMITED:
		return "rate limited";
	case AUTH_UNKNOWN_NONCE:
		return "unknown nonce";
	case AUTH_EXPIRED_NONCE:
		return "expired nonce";
	case AUTH_REPLAYED_NONCE:
		return "replayed nonce";
	case AUTH_BAD_SIGNATURE:
		return "bad signature";
	case AUTH_NOT_ASSIGNED:
		return "not assigned";
	case AUTH_REVOKED:
		return "revoked";
	case AUTH_WRONG_ADDRESS:
		return "wrong address";
	case AUTH_UNKNOWN_TOKEN:
		return "unknown token";
	case AUTH_STORE_ERROR:
		return "cannot record the outcome";
	}
	return "?";
}

/* Drops remembered nonces that have expired: they fail on time now. */
static bool
control_auth_nonce_stale(void *value, void *arg)
{
	const double *expires = value;
	double now = *(const double *)arg;

	return now > *expires;
}

/* Takes one request from the bucket kind:id; false when it is empty. */
static bool
control_auth_take(struct control_auth *a, const char *kind, const char *id,
    unsigned per_min, double now)
{
	char key[160];

	snprintf(key, sizeof(key), "%s:%s", kind, id);
	return ratelimit_take(&a->rate, now, key, per_min, NULL);
}

bool
control_auth_rate_address(struct control_auth *a, double now,
    const char *peer_addr)
{
	return control_auth_take(a, "a", peer_addr, a->lim.per_address, now);
}

/* The tag of nonce's first bytes for token_id into tag. */
static void
control_auth_tag(const struct control_auth *a, const char *token_id,
    const uint8_t *nonce, uint8_t tag[AUTH_TAG_LEN])
{
	uint8_t md[32], buf[ENCODE_ID_LEN + 1 + AUTH_ISSUED_LEN +
	    AUTH_RANDOM_LEN];
	size_t idlen = strlen(token_id) > ENCODE_ID_LEN ? ENCODE_ID_LEN :
	    strlen(token_id);
	unsigned int n = 0;

	memcpy(buf, token_id, idlen);
	buf[idlen] = '\0';
	memcpy(buf + idlen + 1, nonce, AUTH_ISSUED_LEN + AUTH_RANDOM_LEN);
	if (HMAC(EVP_sha256(), a->key, sizeof(a->key), buf, idlen + 1 +
	    AUTH_ISSUED_LEN + AUTH_RANDOM_LEN, md, &n) == NULL)
		memset(md, 0, sizeof(md));	/* never matches a real tag */
	memcpy(tag, md, AUTH_TAG_LEN);
}

enum control_auth_result
control_auth_challenge(struct control_auth *a, double now, const char *token_id,
    const char *peer_addr, uint8_t nonce[VTAUTH_NONCE_LEN], double *expires,
    bool *flood)
{
	char pair[128];
	uint32_t issued = now > 0 ? (uint32_t)now : 0;

	/* Counted, never refused: refusing would let a neighbour starve. */
	snprintf(pair, sizeof(pair), "%s@%s", token_id, peer_addr);
	*flood = !control_auth_take(a, "c", pair, a->lim.per_token, now);
	nonce[0] = (uint8_t)(issued >> 24);
	nonce[1] = (uint8_t)(issued >> 16);
	nonce[2] = (uint8_t)(issued >> 8);
	nonce[3] = (uint8_t)issued;
	if (RAND_bytes(nonce + AUTH_ISSUED_LEN, AUTH_RANDOM_LEN) != 1)
		return AUTH_RATE_LIMITED;
	control_auth_tag(a, token_id, nonce, nonce + AUTH_ISSUED_LEN +
	    AUTH_RANDOM_LEN);
	*expires = (double)issued + a->lim.nonce_ttl;
	return AUTH_OK;
}

/* Checks the nonce alone: ours, for this token, in time, unused. */
static enum control_auth_result
control_auth_nonce_check(struct control_auth *a, double now,
    const char *token_id, const uint8_t *nonce, size_t nonce_len)
{
	uint8_t tag[AUTH_TAG_LEN];
	double issued, *expires;
	char *key;
	int r;

	if (nonce_len != VTAUTH_NONCE_LEN)
		return AUTH_UNKNOWN_NONCE;
	control_auth_tag(a, token_id, nonce, tag);
	if (CRYPTO_memcmp(tag, nonce + AUTH_ISSUED_LEN + AUTH_RANDOM_LEN,
	    AUTH_TAG_LEN) != 0)
		return AUTH_UNKNOWN_NONCE;
	issued = (double)((uint32_t)nonce[0] << 24 | (uint32_t)nonce[1] << 16 |
	    (uint32_t)nonce[2] << 8 | nonce[3]);
	if (issued > now + AUTH_SKEW)
		return AUTH_UNKNOWN_NONCE;
	if (now > issued + a->lim.nonce_ttl)
		return AUTH_EXPIRED_NONCE;
	/* Remembered only until it expires; only genuine ones get here. */
	key = encode_base64(nonce, nonce_len);
	if (strmap_get(a->used, key) != NULL) {
		free(key);
		return AUTH_REPLAYED_NONCE;
	}
	expires = xmalloc(sizeof(*expires));
	*expires = issued + a->lim.nonce_ttl;
	if (strmap_count(a->used) >= a->lim.max_nonces)
		strmap_prune(a->used, control_auth_nonce_stale, &now);
	r = strmap_put(a->used, key, expires);
	free(key);
	if (r < 0) {
		free(expires);
		return AUTH_RATE_LIMITED;	/* cannot tell a replay */
	}
	return AUTH_OK;
}

enum control_auth_result
control_auth_verify(struct control_auth *a, double now, const char *token_id,
    const char *peer_addr, const uint8_t public_key[32],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *sig,
    size_t sig_len)
{
	uint8_t msg[VTAUTH_MSG_LEN];
	enum control_auth_result r;
	char pair[128];
	size_t mlen;

	r = control_auth_nonce_check(a, now, token_id, nonce, nonce_len);
	if (r == AUTH_OK) {
		mlen = vtauth_message(token_id, nonce, nonce_len, msg);
		if (mlen == 0 || !token_cred_verify(public_key, msg, mlen, sig,
		    sig_len))
			r = AUTH_BAD_SIGNATURE;
	}
	if (r == AUTH_OK || r == AUTH_RATE_LIMITED)
		return r;
	/*
	 * Failures take from a bucket of their own; a full one turns them
	 * into unrecorded 429s.  A good answer never needs a token from it,
	 * so nobody sharing the address can starve the agent.
	 */
	snprintf(pair, sizeof(pair), "%s@%s", token_id, peer_addr);
	return control_auth_take(a, "f", pair, a->lim.per_token, now) ? r :
	    AUTH_RATE_LIMITED;
}
