/*
 * control_auth: nonces, token buckets and signature checks (see
 * control_auth.h).
 */
#include "server/control/control_auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/strmap.h"
#include "common/xmalloc.h"
#include "token/token_cred.h"

#define AUTH_NONCE_KEY_LEN	44	/* base64 of VTAUTH_NONCE_LEN bytes */

struct control_auth_nonce {
	char token_id[ENCODE_ID_LEN + 1];
	double expires;
	bool used;
};

/* A token's newest nonces, oldest at next once the ring has gone round. */
struct control_auth_ring {
	char key[AUTH_NONCES_PER_TOKEN][AUTH_NONCE_KEY_LEN + 1];
	unsigned next;
};


void
control_auth_init(struct control_auth *a, const struct control_auth_limits *lim)
{
	a->lim = *lim;
	a->nonces = strmap_new(lim->max_nonces, free);
	a->rings = strmap_new(lim->max_nonces, free);
	ratelimit_init(&a->rate, AUTH_BUCKETS_MAX);
}

void
control_auth_clear(struct control_auth *a)
{
	strmap_free(a->nonces);
	strmap_free(a->rings);
	ratelimit_clear(&a->rate);
	a->nonces = a->rings = NULL;
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

/* Drops used or expired nonces once they cannot matter any more. */
static bool
control_auth_nonce_stale(void *value, void *arg)
{
	const struct control_auth_nonce *n = value;
	double now = *(const double *)arg;

	return now > n->expires;
}

/* Takes one request from the bucket kind:id; false when it is empty. */
static bool
control_auth_take(struct control_auth *a, const char *kind, const char *id, unsigned per_min,
    double now)
{
	char key[160];

	snprintf(key, sizeof(key), "%s:%s", kind, id);
	return ratelimit_take(&a->rate, now, key, per_min, NULL);
}

/*
 * The token bucket is per (token, address): a flood of requests for a
 * token from other addresses must not starve its real agent into the
 * policy (it would be a remote lock-out).
 */
static bool
control_auth_rate_ok(struct control_auth *a, double now, const char *token_id,
    const char *peer_addr)
{
	char pair[128];

	snprintf(pair, sizeof(pair), "%s@%s", token_id, peer_addr);
	return control_auth_take(a, "a", peer_addr, a->lim.per_address, now) &&
	    control_auth_take(a, "t", pair, a->lim.per_token, now);
}

bool
control_auth_rate_address(struct control_auth *a, double now, const char *peer_addr)
{
	return control_auth_take(a, "a", peer_addr, a->lim.per_address, now);
}

struct control_auth_ring_ctx {
	const struct control_auth *a;
	double now;
};

/* A ring none of whose nonces is still live can go. */
static bool
control_auth_ring_dead(void *value, void *arg)
{
	const struct control_auth_ring *r = value;
	const struct control_auth_ring_ctx *x = arg;
	const struct control_auth_nonce *n;

	for (unsigned i = 0; i < AUTH_NONCES_PER_TOKEN; i++)
		if (r->key[i][0] != '\0' &&
		    (n = strmap_get(x->a->nonces, r->key[i])) != NULL &&
		    x->now <= n->expires)
			return false;
	return true;
}

/* The token's ring, made if need be; NULL when the table is full. */
static struct control_auth_ring *
control_auth_ring_get(struct control_auth *a, const char *token_id, double now)
{
	struct control_auth_ring *r = strmap_get(a->rings, token_id);
	struct control_auth_ring_ctx x = { a, now };

	if (r != NULL)
		return r;
	r = xcalloc(1, sizeof(*r));
	if (strmap_put(a->rings, token_id, r) < 0) {
		strmap_prune(a->rings, control_auth_ring_dead, &x);
		if (strmap_put(a->rings, token_id, r) < 0) {
			free(r);
			return NULL;
		}
	}
	return r;
}

enum control_auth_result
control_auth_challenge(struct control_auth *a, double now, const char *token_id,
    const char *peer_addr, uint8_t nonce[VTAUTH_NONCE_LEN], double *expires)
{
	struct control_auth_nonce *n;
	struct control_auth_ring *ring;
	char *key;

	if (!control_auth_rate_ok(a, now, token_id, peer_addr))
		return AUTH_RATE_LIMITED;
	if (strmap_count(a->nonces) >= a->lim.max_nonces)
		strmap_prune(a->nonces, control_auth_nonce_stale, &now);
	if ((ring = control_auth_ring_get(a, token_id, now)) == NULL ||
	    RAND_bytes(nonce, VTAUTH_NONCE_LEN) != 1)
		return AUTH_RATE_LIMITED;
	if (ring->key[ring->next][0] != '\0')
		(void)strmap_del(a->nonces, ring->key[ring->next]);
	n = xcalloc(1, sizeof(*n));
	snprintf(n->token_id, sizeof(n->token_id), "%s", token_id);
	n->expires = now + a->lim.nonce_ttl;
	key = encode_base64(nonce, VTAUTH_NONCE_LEN);
	if (strmap_put(a->nonces, key, n) < 0) {
		free(n);
		free(key);
		return AUTH_RATE_LIMITED;
	}
	snprintf(ring->key[ring->next], sizeof(ring->key[0]), "%s", key);
	ring->next = (ring->next + 1) % AUTH_NONCES_PER_TOKEN;
	free(key);
	*expires = n->expires;
	return AUTH_OK;
}

enum control_auth_result
control_auth_verify(struct control_auth *a, double now, const char *token_id,
    const char *peer_addr, const uint8_t public_key[32],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *sig,
    size_t sig_len)
{
	uint8_t msg[VTAUTH_MSG_LEN];
	struct control_auth_nonce *n;
	size_t mlen;
	char *key;

	if (!control_auth_rate_ok(a, now, token_id, peer_addr))
		return AUTH_RATE_LIMITED;
	if (nonce_len != VTAUTH_NONCE_LEN)
		return AUTH_UNKNOWN_NONCE;
	key = encode_base64(nonce, nonce_len);
	n = strmap_get(a->nonces, key);
	free(key);
	if (n == NULL || strcmp(n->token_id, token_id) != 0)
		return AUTH_UNKNOWN_NONCE;
	if (n->used)
		return AUTH_REPLAYED_NONCE;
	n->used = true;		/* single use, whatever follows */
	if (now > n->expires)
		return AUTH_EXPIRED_NONCE;
	mlen = vtauth_message(token_id, nonce, nonce_len, msg);
	if (mlen == 0 || !token_cred_verify(public_key, msg, mlen, sig,
	    sig_len))
		return AUTH_BAD_SIGNATURE;
	return AUTH_OK;
}
