/*
 * agent_auth: one authentication round for a loaded token.
 *
 *   POST BASE/v1/agent/challenge {"token": ID}  -> {"nonce": B64, ...}
 *   sign vtauth_message(ID, nonce) (include/vtoken/vtauth.h) with the
 *   token's Ed25519 key
 *   POST BASE/v1/agent/verify {"token", "nonce", "signature"} -> ok
 *
 * BASE is the configured controller, else TOKEN.JSON's.  The TLS pin is
 * the configured ca_sha256, else TOKEN.JSON's; a pinned token is only
 * ever sent over https.  The HTTP handle (agent_http.h) is the caller's
 * and outlives the round, so that the connection and the TLS session are
 * reused by the next round.  The nonce, the signature and the bodies that
 * hold them are wiped after use and never logged.  Nothing here logs.
 */
#ifndef VTOKEN_AGENT_AUTH_H
#define VTOKEN_AGENT_AUTH_H

#include <stdbool.h>

struct agent_config;
struct agent_http;
struct agent_msg_answer;
struct agent_msg_extra;
struct agent_token;

/* Polled during requests; true aborts the round. */
struct agent_auth_cancel {
	bool (*fn)(void *arg);
	void *arg;
};

/*
 * Authenticates the loaded token t once, sending extra (facts and
 * reports, agent_msg.h; may be NULL) with the verify.  0 with *ans
 * filled (the VM name, the policy and update offer; release it with
 * agent_msg_answer_clear), or -1 with *reason (allocated: the
 * controller's reason such as "revoked" or "wrong address", or
 * "controller unreachable: ...").  cancel may be NULL.
 *
 * *http is the handle kept between rounds (NULL at first): it is used
 * when it was made for the same TLS settings (pin, CA file, timeout,
 * cancel) and replaced otherwise; the caller frees it at the end with
 * agent_http_free.
 */
int agent_auth_run(const struct agent_config *cfg,
    const struct agent_token *t, const struct agent_auth_cancel *cancel,
    const struct agent_msg_extra *extra, struct agent_http **http,
    struct agent_msg_answer *ans, char **reason);
/* base + path, the base's trailing slashes dropped (allocated). */
char *agent_auth_url(const char *base, const char *path);

/* The controller base URL used for t (borrowed from cfg or t). */
const char *agent_auth_base(const struct agent_config *cfg,
    const struct agent_token *t);

#endif
