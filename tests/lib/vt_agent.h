/*
 * vt_agent: the agent's half of the challenge-response, for tests that
 * drive vtokend's agent routes directly (what an agent reports and what
 * the controller answers, docs/AGENT.md) without running vtoken-agent:
 * the token's private key read from its image (GET /v1/tokens/{id}/image
 * with the admin key), then a challenge and a verify carrying extra
 * members.  The real agent is tested against the real daemon elsewhere
 * (tests/integration/test_agent.sh, tests/e2e/).
 */
#ifndef VTOKEN_TEST_VT_AGENT_H
#define VTOKEN_TEST_VT_AGENT_H

#include "vt_http.h"

struct vtd;

struct vt_agent {
	void *key;		/* EVP_PKEY *, owned */
	char token[17];		/* the token's id */
};

/* Loads token_id's key from its image; asserts (Check) on failure. */
void vt_agent_load(struct vt_agent *a, const struct vtd *d,
    const char *token_id);
/*
 * A challenge, then a verify whose JSON object also holds extra (text of
 * members such as "\"facts\": {...}", or ""), both from source address
 * src (NULL: the default).  The verify's status; its response in out.
 */
long vt_agent_verify(struct vt_agent *a, const struct vtd *d,
    const char *src, const char *extra, struct vt_http_resp *out);
void vt_agent_free(struct vt_agent *a);

#endif
