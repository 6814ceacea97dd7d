/*
 * agent_msg: message bytes, request bodies and answers (see agent_msg.h).
 */
#include "agent/agent_msg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_facts.h"
#include "common/log.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "vtoken/vtapi.h"

static char *agent_msg_text(const json_t *v);
static json_t *agent_msg_load(const char *body, size_t len);
static void agent_msg_fact(json_t *o, const char *key, const char *v,
    size_t cut);
static json_t *agent_msg_facts(const struct agent_facts *f, size_t cut);
static char *agent_msg_extra_text(const struct agent_msg_extra *x,
    size_t cut);
static char *agent_msg_verify_try(const char *token_id, const char *n64,
    const char *s64, const struct agent_msg_extra *x, size_t cut);
static int agent_msg_offer(const json_t *u, struct agent_msg_offer *o,
    const char **why);

/*
 * Ids and base64 need no JSON escaping, so the bodies are formatted
 * directly; that keeps the secrets in buffers this module wipes.
 */
char *
agent_msg_challenge_body(const char *token_id)
{
	return xasprintf("{\"" VTAPI_F_TOKEN "\":\"%s\"}", token_id);
}

/* o[key] = v cut to cut bytes (v is printable already). */
static void
agent_msg_fact(json_t *o, const char *key, const char *v, size_t cut)
{
	json_object_set_new(o, key, json_stringn(v, strnlen(v, cut)));
}

static json_t *
agent_msg_facts(const struct agent_facts *f, size_t cut)
{
	json_t *o = json_object();

	agent_msg_fact(o, "hostname", f->hostname, cut);
	agent_msg_fact(o, "os", f->os, cut);
	agent_msg_fact(o, "kernel", f->kernel, cut);
	agent_msg_fact(o, "machine_id", f->machine_id, cut);
	agent_msg_fact(o, "dmi_vendor", f->dmi_vendor, cut);
	agent_msg_fact(o, "dmi_product", f->dmi_product, cut);
	agent_msg_fact(o, "dmi_uuid", f->dmi_uuid, cut);
	agent_msg_fact(o, "agent_version", f->agent_version, cut);
	json_object_set_new(o, "uptime", json_integer(f->uptime));
	return o;
}

/*
 * The members of x as JSON text without the braces ("" when none);
 * facts cut to cut bytes each, or left out when cut is 0.  Allocated.
 */
static char *
agent_msg_extra_text(const struct agent_msg_extra *x, size_t cut)
{
	json_t *o = json_object(), *u;
	char *text, *inner;
	size_t n;

	if (x->facts != NULL && cut > 0)
		json_object_set_new(o, "facts", agent_msg_facts(x->facts,
		    cut));
	if (x->update != NULL && x->update->version[0] != '\0') {
		u = json_pack("{s:s, s:s}", "version", x->update->version,
		    "result", x->update->result);
		if (x->update->reason[0] != '\0')
			json_object_set_new(u, "reason",
			    json_string(x->update->reason));
		json_object_set_new(o, "update", u);
	}
	if (x->fired != NULL && x->fired->action[0] != '\0')
		json_object_set_new(o, "policy_fired", json_pack(
		    "{s:s, s:s, s:s, s:s}", "action", x->fired->action,
		    "reason", x->fired->reason, "time", x->fired->time,
		    "result", x->fired->result));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL || (n = strlen(text)) < 2)
		fatalx("agent_msg: cannot encode the verify extras");
	inner = xasprintf("%.*s", (int)(n - 2), text + 1);
	free(text);
	return inner;
}

static char *
agent_msg_verify_try(const char *token_id, const char *n64, const char *s64,
    const struct agent_msg_extra *x, size_t cut)
{
	char *extra = x != NULL ? agent_msg_extra_text(x, cut) : xstrdup("");
	char *body;

	body = xasprintf("{\"" VTAPI_F_TOKEN "\":\"%s\",\"" VTAPI_F_NONCE
	    "\":\"%s\",\"" VTAPI_F_SIGNATURE "\":\"%s\"%s%s}", token_id, n64,
	    s64, extra[0] != '\0' ? "," : "", extra);
	free(extra);
	return body;
}

char *
agent_msg_verify_body(const char *token_id,
    const uint8_t nonce[VTAUTH_NONCE_LEN],
    const uint8_t sig[VTAUTH_SIG_LEN], const struct agent_msg_extra *x)
{
	static const size_t cuts[] = { AGENT_FACTS_STR_MAX,
	    AGENT_MSG_FACT_CUT, 0 };
	char *n64 = encode_base64(nonce, VTAUTH_NONCE_LEN);
	char *s64 = encode_base64(sig, VTAUTH_SIG_LEN);
	char *body = NULL;

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		agent_msg_wipe_free(body);
		body = agent_msg_verify_try(token_id, n64, s64, x, cuts[i]);
		if (strlen(body) <= AGENT_MSG_VERIFY_MAX)
			break;
	}
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

/* An update offer: 0, or -1 with *why (static). */
static int
agent_msg_offer(const json_t *u, struct agent_msg_offer *o,
    const char **why)
{
	json_t *v = json_object_get(u, "version"), *s;
	const char *h;

	memset(o, 0, sizeof(*o));
	if (!json_is_string(v) ||
	    !agent_release_version_ok(json_string_value(v)))
		return (*why = "update: bad version"), -1;
	snprintf(o->version, sizeof(o->version), "%s", json_string_value(v));
	s = json_object_get(u, "size");
	if (!json_is_integer(s) || json_integer_value(s) < 1 ||
	    (uint64_t)json_integer_value(s) > AGENT_RELEASE_MAX)
		return (*why = "update: bad size"), -1;
	o->size = (uint64_t)json_integer_value(s);
	h = json_string_value(json_object_get(u, "sha256"));
	if (h == NULL || strlen(h) != 64 || !encode_is_hex(h, 64))
		return (*why = "update: bad sha256"), -1;
	for (size_t i = 0; i < 64; i++)
		o->sha256[i] = (char)(h[i] >= 'A' && h[i] <= 'F' ?
		    h[i] - 'A' + 'a' : h[i]);
	h = json_string_value(json_object_get(u, "signature"));
	if (h == NULL || decode_base64(h, o->sig, sizeof(o->sig)) !=
	    AGENT_RELEASE_SIG_LEN)
		return (*why = "update: bad signature encoding"), -1;
	h = json_string_value(json_object_get(u, "url"));
	if (h == NULL || h[0] != '/' || h[1] == '/' ||
	    strlen(h) > AGENT_MSG_URL_MAX || !text_is_visible(h, strlen(h)))
		return (*why = "update: bad url"), -1;
	snprintf(o->url, sizeof(o->url), "%s", h);
	return 0;
}

int
agent_msg_parse_verify(const char *body, size_t len,
    struct agent_msg_answer *ans)
{
	json_t *j = agent_msg_load(body, len), *v;
	const char *why = NULL;
	char *cause = NULL;

	memset(ans, 0, sizeof(*ans));
	if (j == NULL)
		return -1;
	if (!json_is_true(json_object_get(j, VTAPI_F_OK))) {
		json_decref(j);
		return -1;
	}
	v = json_object_get(j, VTAPI_F_VM);
	ans->vm = json_is_string(v) ? agent_msg_text(v) : xstrdup("?");
	if ((v = json_object_get(j, "policy")) != NULL && !json_is_null(v)) {
		ans->policy = agent_cpolicy_from_json(v, &ans->pol,
		    &cause) == 0 ? 1 : -1;
		if (cause != NULL)
			snprintf(ans->why, sizeof(ans->why), "policy: %s",
			    cause);
		free(cause);
	}
	if ((v = json_object_get(j, "update")) != NULL && !json_is_null(v)) {
		ans->update = agent_msg_offer(v, &ans->offer, &why) == 0 ?
		    1 : -1;
		if (why != NULL)
			snprintf(ans->why, sizeof(ans->why), "%s", why);
	}
	json_decref(j);
	return 0;
}

void
agent_msg_answer_clear(struct agent_msg_answer *ans)
{
	free(ans->vm);
	memset(ans, 0, sizeof(*ans));
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
