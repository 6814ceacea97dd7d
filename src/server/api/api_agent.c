/*
 * api_agent: /v1/agent/challenge and /v1/agent/verify.  No API key: the
 * agent proves possession of the token's private key instead.  Nonces
 * and signatures are never logged or audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "server/api/api.h"
#include "server/api/api_decode.h"
#include "server/control/control.h"

/*
 * Looks up the token by id only: these endpoints need no key, so they
 * must not let anyone test which names exist.  Unknown ids cost the
 * address a request from its rate bucket (429 once empty), so ids cannot
 * be probed at speed either.  Answers 404/429 itself when unknown.
 */
static struct control_token *
api_agent_token(struct api_req *r, const char *id)
{
	struct control *ctl = r->ctl;
	struct control_token *tok = encode_is_id(id) ? control_token_find(ctl, id) :
	    NULL;

	if (tok != NULL && strcmp(tok->id, id) != 0)
		tok = NULL;	/* a name that happens to match */
	if (tok != NULL)
		return tok;
	if (!control_agent_rate_address(ctl, r->peer_host))
		api_reply_error(r, 429, "too_many_requests", "rate limited");
	else
		api_reply_error(r, 404, "not_found", "no such token");
	return NULL;
}

void
api_agent_challenge(struct api_req *r)
{
	struct api_agent_req ar;
	uint8_t nonce[VTAUTH_NONCE_LEN];
	char when[ENCODE_TIME_LEN + 1], *b64, why[512];
	struct control_token *tok;
	enum control_auth_result res;
	const char *body;
	time_t expires;
	size_t len;

	body = api_body(r, &len);
	if (api_decode_agent_challenge(body, len, &ar, why, sizeof(why)) < 0) {
		api_reply_error(r, 400, "bad_request", "%s", why);
		return;
	}
	tok = api_agent_token(r, ar.token);
	api_agent_req_clear(&ar);
	if (tok == NULL)
		return;
	res = control_agent_challenge(r->ctl, tok, r->peer_host,
	    (const struct sockaddr *)&r->peer_sa, nonce, &expires);
	if (res == AUTH_RATE_LIMITED) {
		api_reply_error(r, 429, "too_many_requests", "rate limited");
		return;
	}
	if (res != AUTH_OK) {
		log_info("api %s: agent challenge for token %s refused: %s",
		    r->peer, tok->id, control_auth_result_reason(res));
		api_reply_error(r, 403, "auth_failed", "%s",
		    control_auth_result_reason(res));
		return;
	}
	encode_time(expires, when);
	b64 = encode_base64(nonce, sizeof(nonce));
	api_reply_json(r, 200, json_pack("{s:s, s:s}", "nonce", b64,
	    "expires", when));
	free(b64);
}

/* A verify on its way to the record. */
struct api_verify {
	struct api_req *r;
	char token[ENCODE_ID_LEN + 1];
	json_t *report;			/* what the agent reported, owned */
};

static void
api_agent_verified(void *arg, enum control_auth_result res,
    const char *vm_name)
{
	struct api_verify *v = arg;
	struct api_req *r = v->r;
	const char *why;

	json_t *answer;

	if (res == AUTH_OK) {
		answer = control_agent_report(r->ctl, v->token, r->peer_host,
		    v->report);
		json_object_set_new(answer, "ok", json_true());
		json_object_set_new(answer, "token", json_string(v->token));
		json_object_set_new(answer, "vm", json_string(vm_name));
		api_reply_json(r, 200, answer);
	} else if (res == AUTH_STORE_ERROR && strcmp(control_health(r->ctl,
	    &why), "ok") != 0)	/* logged where it failed */
		api_reply_error(r, 503, "store_unavailable", "%s",
		    control_auth_result_reason(res));
	else if (res == AUTH_STORE_ERROR)
		api_reply_error(r, 500, "internal", "%s",
		    control_auth_result_reason(res));
	else {
		log_info("api %s: agent authentication of token %s failed: "
		    "%s", r->peer, v->token, control_auth_result_reason(res));
		api_reply_error(r, 403, "auth_failed", "%s",
		    control_auth_result_reason(res));
	}
	json_decref(v->report);
	free(v);
}

void
api_agent_verify(struct api_req *r)
{
	struct api_agent_req ar;
	struct control_token *tok;
	struct api_verify *v;
	const char *body;
	char why[512];
	size_t len;
	int rc;

	body = api_body(r, &len);
	rc = api_decode_agent_verify(body, len, &ar, why, sizeof(why));
	/* An unknown token is a 404 even when the rest is also bad. */
	if (ar.token == NULL) {
		api_reply_error(r, 400, "bad_request", "%s", why);
		return;
	}
	tok = api_agent_token(r, ar.token);
	if (tok != NULL && rc < 0)
		api_reply_error(r, 400, "bad_request", "%s", why);
	if (tok == NULL || rc < 0) {
		api_agent_req_clear(&ar);
		return;
	}
	v = xcalloc(1, sizeof(*v));
	v->r = r;
	snprintf(v->token, sizeof(v->token), "%s", tok->id);
	v->report = json_incref(ar.report);
	if (control_agent_verify(r->ctl, tok, r->peer_host,
	    (const struct sockaddr *)&r->peer_sa, ar.nonce, ar.nonce_len,
	    ar.sig, ar.sig_len, api_agent_verified, v) == AUTH_RATE_LIMITED) {
		json_decref(v->report);
		free(v);
		api_reply_error(r, 429, "too_many_requests", "rate limited");
	} else
		api_defer(r);
	api_agent_req_clear(&ar);
}
