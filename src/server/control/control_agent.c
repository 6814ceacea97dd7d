/*
 * control_agent: the controller's part of agent authentication: only
 * the token's VM gets nonces for it, and a good signature counts only
 * from an address of the VM the token is assigned to.  Outcomes are
 * audited (auth.ok, auth.fail with the reason; floods as auth.flood, in
 * rate-limited form); nonces and signatures never are.
 *
 * What is recorded is what changes: a success is recorded when it is the
 * agent's first on this node, the first of a new session through this
 * node, the first after a recorded failure, or the first after
 * agent.record_every seconds without one (a silence: by default half
 * the agent_silent alarm's grace); other successes only update the
 * token's state (last success, from where), which the API shows, and the
 * shared state other nodes read (control_alive.c).  A quiet agent is
 * thus never recorded again.  Every failure is recorded (beyond its
 * rate as auth.flood).
 */
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/monotime.h"
#include "common/xmalloc.h"
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

/*
 * Records a burst of challenges, or of failed verifies beyond their
 * bucket, as "auth.flood": through control_audit_refusal, so at most a
 * few records a minute per address, the rest counted.
 */
static void
control_agent_flood(struct control *ctl, const struct control_token *tok,
    const char *peer, const char *step)
{
	char actor[96], subject[64];

	ctl->stats.auth_flood++;
	snprintf(actor, sizeof(actor), "agent:%s", peer);
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	control_audit_refusal(ctl, peer, actor, "auth.flood", subject,
	    json_pack("{s:s}", "step", step));
}

/* An outcome being recorded before it is answered. */
struct control_verify {
	struct control *ctl;
	const char *node;
	char token_id[ENCODE_ID_LEN + 1];
	char peer[48];
	time_t when;
	enum control_auth_result r;
	char actor[96], subject[64];
	char vm_name[STORE_NAME_MAX + 1];
	json_t *detail;
	control_auth_fn *done;
	void *arg;
};

/* What a recorded outcome (recorded: it is on the log) says of tok. */
static void
control_agent_state(struct control *ctl, const struct control_verify *v,
    bool recorded)
{
	struct control_token *tok = control_index_token_id(ctl->ix,
	    v->token_id);

	if (tok == NULL || !recorded)
		return;
	if (v->r != AUTH_OK) {
		tok->auth_failing = true;
		return;
	}
	tok->auth_failing = false;
	tok->auth_recorded_at = tok->auth_ok_at = v->when;
	control_alive_note(ctl, tok, v->peer, v->when);
	tok->auth_gen = tok->attach_gen;
	snprintf(tok->auth_peer, sizeof(tok->auth_peer), "%s", v->peer);
}

/* True when a success for tok changes nothing worth a record. */
static bool
control_agent_quiet(const struct control *ctl, const struct control_token *tok,
    time_t now)
{
	return ctl->auth_record_every > 0 && !tok->auth_failing &&
	    tok->auth_recorded_at != 0 && tok->auth_gen == tok->attach_gen &&
	    now - tok->auth_ok_at < (time_t)ctl->auth_record_every &&
	    now >= tok->auth_ok_at;
}

/* A success answered without a record: after this turn of the loop. */
struct control_quiet_answer {
	control_auth_fn *done;
	void *arg;
	char vm_name[STORE_NAME_MAX + 1];
};

static void
control_quiet_answercb(evutil_socket_t fd, short what, void *arg)
{
	struct control_quiet_answer *q = arg;

	(void)fd;
	(void)what;
	q->done(q->arg, AUTH_OK, q->vm_name);
	free(q);
}

/* Answers a quiet success (the caller defers its reply first). */
static enum control_auth_result
control_agent_quiet_ok(struct control *ctl, struct control_token *tok,
    const char *peer, time_t now, control_auth_fn *done, void *arg)
{
	struct control_quiet_answer *q = xcalloc(1, sizeof(*q));
	struct timeval tv = { 0, 0 };

	tok->auth_ok_at = now;
	snprintf(tok->auth_peer, sizeof(tok->auth_peer), "%s", peer);
	ctl->stats.auth_ok++;
	ctl->stats.auth_quiet++;
	control_alarm_agent_ok(ctl, tok->id, now);
	control_alive_note(ctl, tok, peer, now);
	q->done = done;
	q->arg = arg;
	snprintf(q->vm_name, sizeof(q->vm_name), "%s", tok->vm->name);
	if (event_base_once(ctl->base, -1, EV_TIMEOUT, control_quiet_answercb,
	    q, &tv) < 0) {
		free(q);
		return AUTH_RATE_LIMITED;	/* answered 429: try again */
	}
	return AUTH_OK;
}

static int
control_verify_body(struct store *st, void *arg)
{
	struct control_verify *v = arg;

	return control_tx_audit_run(st, v->node, v->actor, v->r == AUTH_OK ?
	    "auth.ok" : "auth.fail", v->subject, v->detail);
}

static void
control_verify_done(void *arg, int result, const char *err)
{
	struct control_verify *v = arg;
	struct vt_error e;

	/* A success that cannot be recorded is not granted. */
	if (control_op_result(v->ctl, result, err, "recording an agent "
	    "authentication", &e) < 0 && v->r == AUTH_OK)
		v->r = AUTH_STORE_ERROR;
	if (v->r == AUTH_OK)
		v->ctl->stats.auth_ok++;
	else
		v->ctl->stats.auth_fail++;
	control_agent_state(v->ctl, v, result >= 0);
	v->done(v->arg, v->r, v->vm_name);
	json_decref(v->detail);
	free(v);
}

enum control_auth_result
control_agent_verify(struct control *ctl, struct control_token *tok,
    const char *peer, const struct sockaddr *sa, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *sig, size_t sig_len,
    control_auth_fn *done, void *arg)
{
	struct control_verify *v;
	enum control_auth_result r;
	time_t now = time(NULL);

	r = control_auth_verify(&ctl->auth, (double)now, tok->id, peer,
	    tok->public_key, nonce, nonce_len, sig, sig_len);
	if (r == AUTH_OK)
		r = control_agent_placement(tok, sa);
	if (r == AUTH_OK && control_agent_quiet(ctl, tok, now))
		return control_agent_quiet_ok(ctl, tok, peer, now, done, arg);
	if (r == AUTH_RATE_LIMITED) {
		/* Each one not audited (a flood would fill the log): rarely. */
		control_agent_flood(ctl, tok, peer, "verify");
		return r;
	}
	v = xcalloc(1, sizeof(*v));
	v->ctl = ctl;
	v->node = ctl->node_name;
	v->r = r;
	v->when = now;
	snprintf(v->token_id, sizeof(v->token_id), "%s", tok->id);
	snprintf(v->peer, sizeof(v->peer), "%s", peer);
	v->done = done;
	v->arg = arg;
	snprintf(v->actor, sizeof(v->actor), "agent:%s", peer);
	snprintf(v->subject, sizeof(v->subject), "token:%s", tok->id);
	if (r == AUTH_OK)
		snprintf(v->vm_name, sizeof(v->vm_name), "%s", tok->vm->name);
	v->detail = r == AUTH_OK ? json_pack("{s:s}", "vm", tok->vm->name) :
	    json_pack("{s:s}", "reason", control_auth_result_reason(r));
	control_post_tx(ctl, control_verify_body, control_verify_done, v);
	return AUTH_OK;
}

bool
control_agent_rate_address(struct control *ctl, const char *peer)
{
	return control_auth_rate_address(&ctl->auth, monotime_sec(), peer);
}

enum control_auth_result
control_agent_challenge(struct control *ctl, struct control_token *tok,
    const char *peer, const struct sockaddr *sa,
    uint8_t nonce[VTAUTH_NONCE_LEN], time_t *expires)
{
	char actor[96], subject[64];
	double when;
	bool flood;
	enum control_auth_result r;

	/*
	 * Only the token's VM gets nonces for it (they would be useless to
	 * anyone else).  The refusal is an auth.fail like the same answer at
	 * verify.
	 */
	if ((r = control_agent_placement(tok, sa)) != AUTH_OK) {
		if (!control_auth_rate_address(&ctl->auth, monotime_sec(),
		    peer))
			return AUTH_RATE_LIMITED;
		ctl->stats.auth_fail++;
		snprintf(actor, sizeof(actor), "agent:%s", peer);
		snprintf(subject, sizeof(subject), "token:%s", tok->id);
		control_audit_refusal(ctl, peer, actor, "auth.fail", subject,
		    json_pack("{s:s, s:s}", "reason",
		    control_auth_result_reason(r), "step", "challenge"));
		return r;
	}
	r = control_auth_challenge(&ctl->auth, (double)time(NULL), tok->id,
	    peer, nonce, &when, &flood);
	*expires = (time_t)when;
	if (flood)
		control_agent_flood(ctl, tok, peer, "challenge");
	return r;
}
