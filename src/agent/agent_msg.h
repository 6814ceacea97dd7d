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

#include <stddef.h>
#include <stdint.h>

#include "common/encode.h"
#include "vtoken/vtauth.h"

#define AGENT_MSG_REASON_MAX	120	/* bytes of a reason from the wire */

/* {"token": ID}; the caller frees it.  token_id must be an id. */
char *agent_msg_challenge_body(const char *token_id);
/*
 * {"token": ID, "nonce": B64, "signature": B64}; the caller releases it
 * with agent_msg_wipe_free.
 */
char *agent_msg_verify_body(const char *token_id,
    const uint8_t nonce[VTAUTH_NONCE_LEN],
    const uint8_t sig[VTAUTH_SIG_LEN]);
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
 * *vm set to the VM name (allocated, sanitised; "?" when absent), or -1.
 */
int agent_msg_parse_verify(const char *body, size_t len, char **vm);
/*
 * Why a request answered with a status other than 200 failed:
 * 403 auth_failed gives the controller's reason ("revoked", "wrong
 * address", ...), 404 "unknown token", 429 "rate limited", anything
 * else "HTTP STATUS[ CODE[: MESSAGE]]".  Allocated; the caller frees it.
 */
char *agent_msg_failure(long status, const char *body, size_t len);

#endif
