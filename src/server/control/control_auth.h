/*
 * control_auth: the server side of the agent's challenge-response proof
 * of token possession (include/vtoken/vtauth.h; docs/PROTOCOL.md, "Agent
 * authentication").
 *
 * challenge: a 32-byte nonce that carries its own proof, so issuing one
 * costs no state: the time it was issued (4 bytes), 12 random bytes, and
 * a 16-byte HMAC-SHA256 tag over the token id and those 16 bytes under a
 * key derived from the audit key (every node of a cluster has it, so a
 * nonce from one node verifies on another).  verify: the tag, the time
 * (at most ttl seconds old), single use (a used nonce is remembered
 * until it expires; only genuine nonces are), then the agent's Ed25519
 * signature over the vtauth_message() bytes against the token's public
 * key.
 *
 * Nothing a neighbour can do starves the agent: challenges are never
 * refused (a burst beyond per_token a minute from one (token, address)
 * is reported as a flood, to be audited in rate-limited form), and
 * failed verifies take from a (token, address) bucket of their own,
 * beyond which they are answered 429 and not recorded; a good answer
 * needs nothing from any bucket.  Whether the token is assigned and the
 * peer is its VM is the caller's (controller's) part.  Times are seconds
 * since the epoch, passed in so tests control the clock.  Nothing here
 * logs; nonces and signatures never leave this module except to the
 * agent.
 */
#ifndef VTOKEN_CONTROL_AUTH_H
#define VTOKEN_CONTROL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ratelimit.h"
#include "vtoken/vtauth.h"

#define AUTH_BUCKETS_MAX	200000

struct strmap;

struct control_auth_limits {
	unsigned nonce_ttl;		/* seconds */
	unsigned per_token;		/* per minute per token and address */
	unsigned per_address;		/* requests per minute per address */
	unsigned max_nonces;		/* used nonces remembered, all tokens */
};

/*
 * Addresses are rate-limited each on its own, IPv6 too: VMs on one host
 * often share a /64, and a per-/64 bucket would let one of them starve
 * its neighbours' agents into their policy.  The table stays bounded by
 * forgetting idle buckets (ratelimit.h).
 */
struct control_auth {
	struct control_auth_limits lim;
	uint8_t key[32];		/* the nonce tags' */
	struct strmap *used;		/* base64 nonce -> double expiry */
	struct ratelimit rate;		/* "c:", "f:" ID@ADDR, "a:ADDR" */
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

/* Sets up a with a random tag key of this process's own. */
void control_auth_init(struct control_auth *a, const struct control_auth_limits *lim);
/* Derives the tag key from the cluster's audit key (all nodes alike). */
void control_auth_set_key(struct control_auth *a, const uint8_t audit_key[32]);
void control_auth_clear(struct control_auth *a);
/* Audit/log text of a result ("bad signature", ...). */
const char *control_auth_result_reason(enum control_auth_result r);

/*
 * Issues a nonce for token_id to a peer: AUTH_OK with nonce and its
 * expiry (epoch seconds) filled; *flood is set when this (token,
 * address) asked more than per_token times in the last minute.
 */
enum control_auth_result control_auth_challenge(struct control_auth *a, double now,
    const char *token_id, const char *peer_addr,
    uint8_t nonce[VTAUTH_NONCE_LEN], double *expires, bool *flood);

/*
 * Checks one answer: the nonce (ours, for this token, fresh, unused; it
 * is consumed whatever follows) and the signature.  A failure beyond the
 * (token, address) failure bucket is AUTH_RATE_LIMITED.
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
