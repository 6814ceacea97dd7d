/*
 * control_agent: the controller's part of agent authentication: only
 * the token's VM gets nonces for it, and a good signature counts only
 * from an address of the VM the token is assigned to.  Outcomes are
 * audited (auth.ok, auth.fail with the reason); nonces and signatures
 * never are.
 */
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "common/monotime.h"
#include "server/control/control_impl.h"

/* Whether tok is assigned, and sa is an address of its VM. */
static enum control_auth_result
control_agent_placement(const struct control_token *tok,
    const struct sockaddr *sa)
{
	if (tok->vm == NULL)
		return tok->revoked ? AUTH_REVOKED : AUTH_NOT_ASSIGNED;
	if (!control_token_visible(tok, sa))
		return AUTH_WRONG_ADDRESS;
	return AUTH_OK;
}

enum control_auth_result
control_agent_verify(struct control *ctl, struct control_token *tok, const char *peer,
    const struct sockaddr *sa, const uint8_t *nonce, size_t nonce_len,
    const uint8_t *sig, size_t sig_len)
{
	enum control_auth_result r;
	char actor[96], subject[64];
	json_t *detail;

	r = control_auth_verify(&ctl->auth, monotime_sec(), tok->id, peer,
	    tok->public_key, nonce, nonce_len, sig, sig_len);
	if (r == AUTH_OK)
		r = control_agent_placement(tok, sa);
	if (r == AUTH_RATE_LIMITED)
		return r;	/* not audited: it would let a flood fill it */
	snprintf(actor, sizeof(actor), "agent:%s", peer);
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	detail = r == AUTH_OK ? json_pack("{s:s}", "vm", tok->vm->name) :
	    json_pack("{s:s}", "reason", control_auth_result_reason(r));
	/* A success that cannot be recorded is not granted. */
	if (control_audit_event(ctl, actor, r == AUTH_OK ? "auth.ok" :
	    "auth.fail", subject, detail) < 0 && r == AUTH_OK)
		r = AUTH_STORE_ERROR;
	if (r == AUTH_OK)
		ctl->stats.auth_ok++;
	else
		ctl->stats.auth_fail++;
	return r;
}

bool
control_agent_rate_address(struct control *ctl, const char *peer)
{
	return control_auth_rate_address(&ctl->auth, monotime_sec(), peer);
}

enum control_auth_result
control_agent_challenge(struct control *ctl, struct control_token *tok, const char *peer,
    const struct sockaddr *sa, uint8_t nonce[VTAUTH_NONCE_LEN],
    time_t *expires)
{
	char actor[96], subject[64];
	double mono_expires;
	enum control_auth_result r;

	/*
	 * Only the token's VM gets nonces for it: nobody else can churn the
	 * token's nonces (retiring its agent's) or fill the table with them.
	 * The refusal is an auth.fail like the same answer at verify.
	 */
	if ((r = control_agent_placement(tok, sa)) != AUTH_OK) {
		if (!control_auth_rate_address(&ctl->auth, monotime_sec(), peer))
			return AUTH_RATE_LIMITED;
		ctl->stats.auth_fail++;
		snprintf(actor, sizeof(actor), "agent:%s", peer);
		snprintf(subject, sizeof(subject), "token:%s", tok->id);
		control_audit_refusal(ctl, peer, actor, "auth.fail", subject,
		    json_pack("{s:s, s:s}", "reason", control_auth_result_reason(r),
		    "step", "challenge"));
		return r;
	}
	r = control_auth_challenge(&ctl->auth, monotime_sec(), tok->id, peer, nonce,
	    &mono_expires);
	*expires = time(NULL) + (time_t)ctl->auth.lim.nonce_ttl;
	return r;
}
