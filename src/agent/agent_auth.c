/*
 * agent_auth: challenge, signature, verify (see agent_auth.h).
 */
#include "agent/agent_auth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/agent_config.h"
#include "agent/agent_http.h"
#include "agent/agent_msg.h"
#include "agent/agent_token.h"
#include "common/cause.h"
#include "common/xmalloc.h"
#include "vtoken/vtapi.h"

static int agent_auth_challenge(struct agent_http *h, const char *base,
    const char *token_id, uint8_t nonce[VTAUTH_NONCE_LEN],
    char **reason);
static int agent_auth_verify(struct agent_http *h, const char *base,
    const struct agent_token *t, const uint8_t nonce[VTAUTH_NONCE_LEN],
    const struct agent_msg_extra *extra, struct agent_msg_answer *ans,
    char **reason);
static int agent_auth_post(struct agent_http *h, const char *base,
    const char *path, const char *body, struct agent_http_reply *rep,
    char **reason);

const char *
agent_auth_base(const struct agent_config *cfg, const struct agent_token *t)
{
	if (cfg->controller[0] != '\0')
		return cfg->controller;
	return t->info.controller;
}

char *
agent_auth_url(const char *base, const char *path)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, base, path);
}

/* One POST; -1 with *reason when no HTTP answer came. */
static int
agent_auth_post(struct agent_http *h, const char *base, const char *path,
    const char *body, struct agent_http_reply *rep, char **reason)
{
	char *url = agent_auth_url(base, path), *why = NULL;
	int rv;

	rv = agent_http_post(h, url, body, strlen(body), rep, &why);
	free(url);
	if (rv < 0) {
		cause_set(reason, "controller unreachable: %s", why);
		free(why);
	}
	return rv;
}

static int
agent_auth_challenge(struct agent_http *h, const char *base,
    const char *token_id, uint8_t nonce[VTAUTH_NONCE_LEN], char **reason)
{
	struct agent_http_reply rep;
	char *body = agent_msg_challenge_body(token_id);
	int rv = -1;

	if (agent_auth_post(h, base, VTAPI_AGENT_CHALLENGE, body, &rep,
	    reason) < 0) {
		free(body);
		return -1;
	}
	free(body);
	if (rep.status != 200)
		*reason = agent_msg_failure(rep.status, rep.body, rep.len);
	else if (agent_msg_parse_challenge(rep.body, rep.len, nonce) < 0)
		cause_set(reason, "malformed challenge from the controller");
	else
		rv = 0;
	agent_http_reply_clear(&rep);
	return rv;
}

static int
agent_auth_verify(struct agent_http *h, const char *base,
    const struct agent_token *t, const uint8_t nonce[VTAUTH_NONCE_LEN],
    const struct agent_msg_extra *extra, struct agent_msg_answer *ans,
    char **reason)
{
	uint8_t msg[VTAUTH_MSG_LEN], sig[VTAUTH_SIG_LEN];
	struct agent_http_reply rep;
	char *body, *why = NULL;
	size_t mlen;
	int rv = -1;

	mlen = vtauth_message(t->info.token_id, nonce, VTAUTH_NONCE_LEN, msg);
	if (mlen == 0 || token_cred_sign(t->cred, msg, mlen, sig,
	    &why) < 0) {
		cause_set(reason, "cannot sign: %s", why != NULL ? why :
		    "bad token id");
		free(why);
		explicit_bzero(msg, sizeof(msg));
		return -1;
	}
	body = agent_msg_verify_body(t->info.token_id, nonce, sig, extra);
	explicit_bzero(msg, sizeof(msg));
	explicit_bzero(sig, sizeof(sig));
	rv = agent_auth_post(h, base, VTAPI_AGENT_VERIFY, body, &rep,
	    reason);
	agent_msg_wipe_free(body);
	if (rv < 0)
		return -1;
	rv = -1;
	if (rep.status != 200)
		*reason = agent_msg_failure(rep.status, rep.body, rep.len);
	else if (agent_msg_parse_verify(rep.body, rep.len, ans) < 0)
		cause_set(reason, "malformed answer from the controller");
	else
		rv = 0;
	agent_http_reply_clear(&rep);
	return rv;
}

int
agent_auth_run(const struct agent_config *cfg, const struct agent_token *t,
    const struct agent_auth_cancel *cancel,
    const struct agent_msg_extra *extra, struct agent_http **http,
    struct agent_msg_answer *ans, char **reason)
{
	struct agent_http_opts o = { .timeout = cfg->timeout };
	uint8_t nonce[VTAUTH_NONCE_LEN];
	const char *base = agent_auth_base(cfg, t);
	struct agent_http *h;
	char *why = NULL;
	int rv;

	*reason = NULL;
	memset(ans, 0, sizeof(*ans));
	o.ca_file = cfg->ca_file;
	/*
	 * The disk's pin only ever goes with the disk's URL: with a configured
	 * controller, a forged token disk must not choose its trust anchor.
	 */
	o.pin = cfg->ca_sha256[0] != '\0' ? cfg->ca_sha256 :
	    cfg->controller[0] == '\0' ? t->info.ca_sha256 : NULL;
	if (cancel != NULL) {
		o.cancel = cancel->fn;
		o.cancel_arg = cancel->arg;
	}
	if (o.pin != NULL && o.pin[0] != '\0' &&
	    strncasecmp(base, "https://", 8) != 0)
		return cause_set(reason, "ca_sha256 is set but the controller "
		    "URL is not https");
	if (*http != NULL && !agent_http_is_same(*http, &o)) {
		agent_http_free(*http);
		*http = NULL;
	}
	if (*http == NULL && (*http = agent_http_new(&o, &why)) == NULL) {
		cause_set(reason, "HTTP set-up: %s", why);
		free(why);
		return -1;
	}
	h = *http;
	rv = agent_auth_challenge(h, base, t->info.token_id, nonce, reason);
	if (rv == 0)
		rv = agent_auth_verify(h, base, t, nonce, extra, ans,
		    reason);
	explicit_bzero(nonce, sizeof(nonce));
	return rv;
}
