/*
 * vtauth: the signed bytes of the agent authentication protocol, one
 * implementation for vtokend and vtoken-agent (include/vtoken/vtauth.h).
 */
#include "vtoken/vtauth.h"

#include <string.h>

#include "common/encode.h"

size_t
vtauth_message(const char *token_id, const uint8_t *nonce, size_t nonce_len,
    uint8_t out[VTAUTH_MSG_LEN])
{
	if (!encode_is_id(token_id) || nonce_len != VTAUTH_NONCE_LEN)
		return 0;
	memcpy(out, VTAUTH_CONTEXT, VTAUTH_CONTEXT_LEN);
	memcpy(out + VTAUTH_CONTEXT_LEN, token_id, VTAUTH_TOKEN_ID_LEN);
	memcpy(out + VTAUTH_CONTEXT_LEN + VTAUTH_TOKEN_ID_LEN, nonce,
	    VTAUTH_NONCE_LEN);
	return VTAUTH_MSG_LEN;
}
