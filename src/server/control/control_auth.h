/*
 * control_auth: the server side of the agent's challenge-response proof
 * of token possession (include/vtoken/vtauth.h; docs/PROTOCOL.md, "Agent
 * authentication").
 *
 * challenge: a fresh 32-byte nonce bound to one token, valid for ttl
 * seconds, usable once.  verify: the agent's Ed25519 signature over the
 * vtauth_message() bytes must check against the token's public key.  Per-token and per-address token buckets limit both calls.
 * Whether the token is assigned and the peer is its VM is the caller's
 * (controller's) part.  Times are monotonic seconds passed in, so tests
 * control the clock.  Nothing here logs; nonces and signatures never
 * leave this module except to the agent.
 */
#ifndef VTOKEN_CONTROL_AUTH_H
#define VTOKEN_CONTROL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ratelimit.h"
#include "vtoken/vtauth.h"

#define AUTH_NONCES_PER_TOKEN	32
#define AUTH_BUCKETS_MAX	200000

struct strmap;

struct control_auth_limits {
	unsigned nonce_ttl;		/* seconds */
	unsigned per_token;		/* per minute per token and address */
	unsigned per_address;		/* requests per minute per address */
	unsigned max_nonces;		/* outstanding nonces, all tokens */
};

/*
 * Addresses are rate-limited each on its own, IPv6 too: VMs on one host
 * often share a /64, and a per-/64 bucket would let one of them starve
 * its neighbours' agents into their policy.  The table stays bounded by
 * forgetting idle buckets (ratelimit.h).
 */
struct control_auth {
	struct control_auth_limits lim;
	struct strmap *nonces;		/* base64 nonce -> struct control_auth_nonce */
	struct strmap *rings;		/* token id -> its newest nonces */
	struct ratelimit rate;		/* "t:ID@ADDR" and "a:ADDR" */
};

enum control_auth_result {
	AUTH_OK = 0,
	AUTH_RATE_LIMITED,
	AUTH_UNKNOWN_NONCE,
	AUTH_EXPIRED_NONCE,
	AUTH_REPLAYED_NONCE,
	AUTH_BAD_SIGNATURE,
	AUTH_NOT_ASSIGNED,
	AUTH_REVOKED,
	AUTH_WRONG_ADDRESS,
	AUTH_UNKNOWN_TOKEN,
	AUTH_STORE_ERROR,	/* the outcome could not be audited */
};

void control_auth_init(struct control_auth *a, const struct control_auth_limits *lim);
void control_auth_clear(struct control_auth *a);
/* Audit/log text of a result ("bad signature", ...). */
const char *control_auth_result_reason(enum control_auth_result r);

/*
 * Issues a nonce for token_id to a peer.  Returns AUTH_OK (nonce and its
 * monotonic expiry filled) or AUTH_RATE_LIMITED (also when the nonce
 * table is full).  A token keeps at most AUTH_NONCES_PER_TOKEN live
 * nonces; a new one retires its oldest, so nobody who knows one token id
 * can fill the table that every token shares.
 */
enum control_auth_result control_auth_challenge(struct control_auth *a, double now,
    const char *token_id, const char *peer_addr,
    uint8_t nonce[VTAUTH_NONCE_LEN], double *expires);

/*
 * Checks one answer: rate, nonce (known, for this token, fresh, unused;
 * it is consumed whatever the outcome) and signature.
 */
enum control_auth_result control_auth_verify(struct control_auth *a, double now, const char *token_id,
    const char *peer_addr, const uint8_t public_key[32],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *sig,
    size_t sig_len);

/*
 * Takes one request from the address's bucket only (for requests that
 * name no known token); false when it is empty.
 */
bool control_auth_rate_address(struct control_auth *a, double now, const char *peer_addr);

#endif
