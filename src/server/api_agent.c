/*
 * api_agent: /v1/agent/challenge and /v1/agent/verify.  No API key: the
 * agent proves possession of the token's private key instead.  Nonces
 * and signatures are never logged or audited.
 */
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/log.h"
#include "server/api.h"
#include "server/ctl.h"
#include "server/vtokend.h"

static struct ctl_token *
api_agent_token(struct api_req *r, json_t *body)
{
	json_t *jt = json_object_get(body, "token");
	struct ctl_token *tok;

	if (!json_is_string(jt)) {
		api_reply_error(r, 400, "bad_request", "token: a string is "
		    "required");
		return NULL;
	}
	tok = ctl_token_find(r->vtd->ctl, json_string_value(jt));
	if (tok == NULL)
		api_reply_error(r, 404, "not_found", "no such token");
	return tok;
}

void
api_agent_challenge(struct api_req *r)
{
	static const char *const fields[] = { "token", NULL };
	json_t *body = api_body_object(r, fields);
	uint8_t nonce[AUTH_NONCE_LEN];
	char when[ENCODE_TIME_LEN + 1], *b64;
	struct ctl_token *tok;
	time_t expires;

	if (body == NULL)
		return;
	tok = api_agent_token(r, body);
	json_decref(body);
	if (tok == NULL)
		return;
	if (ctl_agent_challenge(r->vtd->ctl, tok, r->peer_host, nonce,
	    &expires) != AUTH_OK) {
		api_reply_error(r, 429, "too_many_requests", "rate limited");
		return;
	}
	encode_time(expires, when);
	b64 = encode_base64(nonce, sizeof(nonce));
	api_reply_json(r, 200, json_pack("{s:s, s:s}", "nonce", b64,
	    "expires", when));
	free(b64);
}

/* Decodes a base64 field of at most cap bytes; -1 after a 400. */
static long
api_agent_b64(struct api_req *r, json_t *body, const char *key,
    uint8_t *out, size_t cap)
{
	json_t *v = json_object_get(body, key);
	long n;

	if (!json_is_string(v) || (n = decode_base64(json_string_value(v),
	    out, cap)) < 0) {
		api_reply_error(r, 400, "bad_request", "%s: base64 of at most "
		    "%zu bytes is required", key, cap);
		return -1;
	}
	return n;
}

void
api_agent_verify(struct api_req *r)
{
	static const char *const fields[] = { "token", "nonce", "signature",
	    NULL };
	json_t *body = api_body_object(r, fields);
	uint8_t nonce[64], sig[128];
	long nlen, slen;
	struct ctl_token *tok;
	enum auth_result res;

	if (body == NULL)
		return;
	tok = api_agent_token(r, body);
	if (tok == NULL || (nlen = api_agent_b64(r, body, "nonce", nonce,
	    sizeof(nonce))) < 0 || (slen = api_agent_b64(r, body,
	    "signature", sig, sizeof(sig))) < 0) {
		json_decref(body);
		return;
	}
	json_decref(body);
	res = ctl_agent_verify(r->vtd->ctl, tok, r->peer_host,
	    (const struct sockaddr *)&r->peer_sa, nonce, (size_t)nlen, sig,
	    (size_t)slen);
	if (res == AUTH_OK) {
		api_reply_json(r, 200, json_pack("{s:b, s:s, s:s}", "ok", 1,
		    "token", tok->id, "vm", tok->vm->name));
		return;
	}
	if (res == AUTH_RATE_LIMITED) {
		api_reply_error(r, 429, "too_many_requests", "rate limited");
		return;
	}
	log_info("api %s: agent authentication of token %s failed: %s",
	    r->peer, tok->id, auth_result_reason(res));
	api_reply_error(r, 403, "auth_failed", "%s", auth_result_reason(res));
}
