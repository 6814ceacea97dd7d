/*
 * agent_msg: the agent's side of the challenge protocol as pure
 * functions on bytes and JSON text (docs/API.md; the signed bytes are
 * vtauth_message(), include/vtoken/vtauth.h): the request bodies, and
 * the meaning of the controller's answers.  No I/O, no logging.
 *
 * Nonces and signatures are secrets for this module's callers: bodies
 * that hold them are released with agent_msg_wipe_free, and no reason
 * text ever quotes them.  Text from the controller is untrusted: reasons
 * taken from it are cut and reduced to printable ASCII.
 */
#ifndef VTOKEN_AGENT_MSG_H
#define VTOKEN_AGENT_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/agent_cpolicy.h"
#include "agent/agent_release.h"
#include "agent/agent_store.h"
#include "common/encode.h"
#include "vtoken/vtauth.h"

#define AGENT_MSG_REASON_MAX	120	/* bytes of a reason from the wire */
/*
 * The controller takes at most 4 KiB on the verify route; the agent
 * keeps its body under this (facts are cut first, then left out).
 */
#define AGENT_MSG_VERIFY_MAX	4000
#define AGENT_MSG_FACT_CUT	64	/* bytes of a fact when cut */
#define AGENT_MSG_URL_MAX	1024	/* bytes of an update's url */

struct agent_facts;

/* What rides along with a verify (docs/AGENT.md); each may be NULL. */
struct agent_msg_extra {
	const struct agent_facts *facts;
	const struct agent_update_report *update;	/* version "" = none */
	const struct agent_fired *fired;		/* action "" = none */
};

/* An update the controller offers (checked for form, not trusted). */
struct agent_msg_offer {
	char version[AGENT_STORE_VERSION_MAX + 1];
	uint64_t size;
	char sha256[65];			/* lower-case hex */
	uint8_t sig[AGENT_RELEASE_SIG_LEN];
	char url[AGENT_MSG_URL_MAX + 1];	/* absolute path */
};

/* A 200 answer to a verify. */
struct agent_msg_answer {
	char *vm;			/* allocated, sanitised; "?" if absent */
	int policy;			/* 1 valid, 0 absent, -1 invalid */
	struct agent_cpolicy pol;
	int update;			/* 1 valid, 0 absent, -1 invalid */
	struct agent_msg_offer offer;
	char why[128];			/* why policy/update is invalid */
};

/* {"token": ID}; the caller frees it.  token_id must be an id. */
char *agent_msg_challenge_body(const char *token_id);
/*
 * {"token": ID, "nonce": B64, "signature": B64, ...extra}; extra may be
 * NULL.  At most AGENT_MSG_VERIFY_MAX bytes.  The caller releases it
 * with agent_msg_wipe_free.
 */
char *agent_msg_verify_body(const char *token_id,
    const uint8_t nonce[VTAUTH_NONCE_LEN],
    const uint8_t sig[VTAUTH_SIG_LEN], const struct agent_msg_extra *extra);
/* Cleanses the NUL-terminated s, then frees it; NULL is a no-op. */
void agent_msg_wipe_free(char *s);

/*
 * The nonce of a 200 answer to a challenge: 0, or -1 when the body is
 * not {"nonce": base64 of 32 bytes, ...}.
 */
int agent_msg_parse_challenge(const char *body, size_t len,
    uint8_t nonce[VTAUTH_NONCE_LEN]);
/*
 * Checks a 200 answer to a verify: 0 when it says {"ok": true}, with
 * *ans filled (release it with agent_msg_answer_clear), or -1 (*ans
 * then needs no release).  An invalid policy or update is reported in
 * ans->policy / ans->update and ans->why, not as a failure.
 */
int agent_msg_parse_verify(const char *body, size_t len,
    struct agent_msg_answer *ans);
void agent_msg_answer_clear(struct agent_msg_answer *ans);
/*
 * Why a request answered with a status other than 200 failed:
 * 403 auth_failed gives the controller's reason ("revoked", "wrong
 * address", ...), 404 "unknown token", 429 "rate limited", anything
 * else "HTTP STATUS[ CODE[: MESSAGE]]".  Allocated; the caller frees it.
 */
char *agent_msg_failure(long status, const char *body, size_t len);

#endif
