/*
 * agent_msg: message bytes, request bodies and answers (see agent_msg.h).
 */
#include "agent/agent_msg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/xmalloc.h"
#include "vtoken/vtapi.h"

static char *agent_msg_text(const json_t *v);
static json_t *agent_msg_load(const char *body, size_t len);

/*
 * Ids and base64 need no JSON escaping, so the bodies are formatted
 * directly; that keeps the secrets in buffers this module wipes.
 */
char *
agent_msg_challenge_body(const char *token_id)
{
	return xasprintf("{\"" VTAPI_F_TOKEN "\":\"%s\"}", token_id);
}

char *
agent_msg_verify_body(const char *token_id,
    const uint8_t nonce[VTAUTH_NONCE_LEN],
    const uint8_t sig[VTAUTH_SIG_LEN])
{
	char *n64 = encode_base64(nonce, VTAUTH_NONCE_LEN);
	char *s64 = encode_base64(sig, VTAUTH_SIG_LEN);
	char *body;

	body = xasprintf("{\"" VTAPI_F_TOKEN "\":\"%s\",\"" VTAPI_F_NONCE
	    "\":\"%s\",\"" VTAPI_F_SIGNATURE "\":\"%s\"}", token_id, n64,
	    s64);
	agent_msg_wipe_free(n64);
	agent_msg_wipe_free(s64);
	return body;
}

void
agent_msg_wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/*
 * A copy of the JSON string v (NULs and all) cut to AGENT_MSG_REASON_MAX
 * bytes, non-printables '?'.
 */
static char *
agent_msg_text(const json_t *v)
{
	return text_printable_dup(json_string_value(v), json_string_length(v),
	    AGENT_MSG_REASON_MAX);
}

/* A JSON object from body, or NULL. */
static json_t *
agent_msg_load(const char *body, size_t len)
{
	json_t *j;

	if (body == NULL || len == 0)
		return NULL;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

int
agent_msg_parse_challenge(const char *body, size_t len,
    uint8_t nonce[VTAUTH_NONCE_LEN])
{
	json_t *j = agent_msg_load(body, len), *n;
	uint8_t buf[VTAUTH_NONCE_LEN + 3];
	long got = -1;

	if (j == NULL)
		return -1;
	n = json_object_get(j, VTAPI_F_NONCE);
	if (json_is_string(n))
		got = decode_base64(json_string_value(n), buf, sizeof(buf));
	json_decref(j);
	if (got == VTAUTH_NONCE_LEN)
		memcpy(nonce, buf, VTAUTH_NONCE_LEN);
	explicit_bzero(buf, sizeof(buf));
	return got == VTAUTH_NONCE_LEN ? 0 : -1;
}

int
agent_msg_parse_verify(const char *body, size_t len, char **vm)
{
	json_t *j = agent_msg_load(body, len), *v;
	int rv = -1;

	*vm = NULL;
	if (j == NULL)
		return -1;
	if (json_is_true(json_object_get(j, VTAPI_F_OK))) {
		v = json_object_get(j, VTAPI_F_VM);
		*vm = json_is_string(v) ? agent_msg_text(v) : xstrdup("?");
		rv = 0;
	}
	json_decref(j);
	return rv;
}

char *
agent_msg_failure(long status, const char *body, size_t len)
{
	json_t *j = agent_msg_load(body, len), *e, *c, *m;
	char *reason, *cc, *cm;

	e = j != NULL ? json_object_get(j, VTAPI_F_ERROR) : NULL;
	c = json_object_get(e, VTAPI_F_CODE);
	m = json_object_get(e, VTAPI_F_MESSAGE);
	if (!json_is_string(c))
		c = NULL;
	if (!json_is_string(m))
		m = NULL;
	if (status == 403 && c != NULL && m != NULL &&
	    strcmp(json_string_value(c), VTAPI_E_AUTH_FAILED) == 0)
		reason = agent_msg_text(m);
	else if (status == 404)
		reason = xstrdup("unknown token");
	else if (status == 429)
		reason = xstrdup("rate limited");
	else if (c != NULL) {
		cc = agent_msg_text(c);
		cm = m != NULL ? agent_msg_text(m) : NULL;
		reason = xasprintf("HTTP %ld %s%s%s", status, cc,
		    cm != NULL ? ": " : "", cm != NULL ? cm : "");
		free(cc);
		free(cm);
	} else
		reason = xasprintf("HTTP %ld", status);
	json_decref(j);
	return reason;
}
