/*
 * vtoken/vtauth.h: the agent authentication protocol, "vtoken-auth-v1",
 * as both sides use it: vtokend issues a nonce for a token and checks the
 * answer (src/server/control/control_auth.c), vtoken-agent signs it with
 * the token's private key (src/agent/agent_auth.c).  The exchange and the
 * REST calls that carry it are in docs/PROTOCOL.md, "Agent
 * authentication", and docs/API.md.
 *
 * The signed bytes are the context string, the token id (16 hex digits,
 * upper-case as ids are made; also the token's USB serial) and the raw
 * nonce, concatenated with nothing between them; the signature is
 * Ed25519 (RFC 8032) over exactly those bytes.  Changing any of this is a
 * new protocol version with a new context string.
 */
#ifndef VTOKEN_VTAUTH_H
#define VTOKEN_VTAUTH_H

#include <stddef.h>
#include <stdint.h>

#define VTAUTH_CONTEXT		"vtoken-auth-v1"
#define VTAUTH_CONTEXT_LEN	(sizeof(VTAUTH_CONTEXT) - 1)
#define VTAUTH_TOKEN_ID_LEN	16	/* hex digits */
#define VTAUTH_NONCE_LEN	32	/* bytes; base64 on the wire */
#define VTAUTH_SIG_LEN		64	/* Ed25519; base64 on the wire */
#define VTAUTH_MSG_LEN		(VTAUTH_CONTEXT_LEN + VTAUTH_TOKEN_ID_LEN + \
				 VTAUTH_NONCE_LEN)

/*
 * Writes the signed bytes for token_id and nonce into out: returns
 * VTAUTH_MSG_LEN, or 0 when token_id is not 16 hex digits or nonce_len
 * is not VTAUTH_NONCE_LEN.  Implemented in src/common/vtauth.c.
 */
size_t vtauth_message(const char *token_id, const uint8_t *nonce,
    size_t nonce_len, uint8_t out[VTAUTH_MSG_LEN]);

#endif
