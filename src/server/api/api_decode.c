/*
 * api_decode: strict decoding of the JSON request bodies (see
 * api_decode.h).  The messages are the API's 400 texts.
 */
#include "server/api/api_decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/xmalloc.h"

static int api_decode_fail(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int api_decode_size(json_t *, uint64_t *, char *, size_t);
static int api_decode_b64(json_t *, const char *, uint8_t *, size_t,
    size_t *, char *, size_t);

/* Length of the well-formed UTF-8 sequence at p, or 0 (RFC 3629). */
static size_t
api_decode_utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

void
api_decode_utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if ((n = api_decode_utf8_len(p)) == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

/* Writes the reason; returns -1 so that failures can return it. */
static int
api_decode_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	/* A quoted key may have been cut inside a character. */
	api_decode_utf8_fix(why);
	return -1;
}

int
api_decode_object(const char *body, size_t len, const char *const *allowed,
    json_t **out, char *why, size_t whylen)
{
	const char *key;
	json_error_t jerr;
	json_t *o, *v;

	*out = NULL;
	if (len == 0)
		return api_decode_fail(why, whylen, "a JSON body is required");
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return api_decode_fail(why, whylen, "malformed JSON at line "
		    "%d column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return api_decode_fail(why, whylen, "the body must be a JSON "
		    "object");
	}
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] == NULL) {
			/* key lives in o: the message first. */
			api_decode_fail(why, whylen, "unknown field "
			    "\"%.64s\"", key);
			json_decref(o);
			return -1;
		}
	}
	*out = o;
	return 0;
}

/* Accepts 4194304 or "4M" / "4096K" (1M..64M, a multiple of 512). */
static int
api_decode_size(json_t *v, uint64_t *size, char *why, size_t whylen)
{
	if (v == NULL)
		*size = CONTROL_TOKEN_SIZE_DEFAULT;
	else if (json_is_integer(v) && json_integer_value(v) > 0)
		*size = (uint64_t)json_integer_value(v);
	else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		unsigned long long n = strtoull(s, &end, 10);

		if (end == s || *s == '-' || *s == '+' || n > 1u << 20)
			goto bad;
		if (strcmp(end, "M") == 0 || strcmp(end, "m") == 0)
			n <<= 20;
		else if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0)
			n <<= 10;
		else if (*end != '\0')
			goto bad;
		*size = n;
	} else
		goto bad;
	if (*size >= CONTROL_TOKEN_SIZE_MIN && *size <= CONTROL_TOKEN_SIZE_MAX &&
	    *size % 512 == 0)
		return 0;
bad:
	return api_decode_fail(why, whylen, "size must be 1M..64M bytes, a "
	    "multiple of 512 (an integer or a string like \"4M\")");
}

int
api_decode_token_create(const char *body, size_t len,
    struct api_token_create *out, char *why, size_t whylen)
{
	static const char *const fields[] = { "name", "size", "writable",
	    "count", "prefix", NULL };
	json_t *o, *name, *w, *count, *prefix;
	int rv = -1;

	memset(out, 0, sizeof(*out));
	if (api_decode_object(body, len, fields, &o, why, whylen) < 0)
		return -1;
	name = json_object_get(o, "name");
	w = json_object_get(o, "writable");
	count = json_object_get(o, "count");
	prefix = json_object_get(o, "prefix");
	if (count != NULL || prefix != NULL) {
		if (name != NULL)
			api_decode_fail(why, whylen, "name goes with one token, "
			    "count and prefix with many");
		else if (!json_is_integer(count) ||
		    json_integer_value(count) < 1 ||
		    json_integer_value(count) > CONTROL_BULK_MAX)
			api_decode_fail(why, whylen, "count: an integer from 1 "
			    "to %d is required", CONTROL_BULK_MAX);
		else if (!json_is_string(prefix))
			api_decode_fail(why, whylen, "prefix: a string is "
			    "required");
		else {
			out->count = (unsigned)json_integer_value(count);
			out->prefix = xstrdup(json_string_value(prefix));
			name = prefix;	/* passes the checks below */
		}
		if (out->prefix == NULL)
			goto out;
	}
	if (!json_is_string(name))
		api_decode_fail(why, whylen, "name: a string is required");
	else if (w != NULL && !json_is_boolean(w))
		api_decode_fail(why, whylen, "writable: expected true or "
		    "false");
	else if (api_decode_size(json_object_get(o, "size"), &out->size, why,
	    whylen) == 0) {
		if (out->prefix == NULL)
			out->name = xstrdup(json_string_value(name));
		out->writable = json_is_true(w);
		rv = 0;
	}
out:
	if (rv < 0)
		api_token_create_clear(out);
	json_decref(o);
	return rv;
}

void
api_token_create_clear(struct api_token_create *tc)
{
	free(tc->name);
	free(tc->prefix);
	memset(tc, 0, sizeof(*tc));
}

/* A VM body: its name when named (vm create), its addresses. */
static int
api_decode_vm(const char *body, size_t len, bool named,
    struct api_vm_create *out, char *why, size_t whylen)
{
	static const char *const create[] = { "name", "addresses", NULL };
	static const char *const update[] = { "addresses", NULL };
	json_t *o, *name, *addrs, *a;
	size_t i;
	int rv = -1;

	memset(out, 0, sizeof(*out));
	if (api_decode_object(body, len, named ? create : update, &o, why,
	    whylen) < 0)
		return -1;
	name = json_object_get(o, "name");
	addrs = json_object_get(o, "addresses");
	if (named && !json_is_string(name)) {
		api_decode_fail(why, whylen, "name: a string is required");
		goto out;
	}
	if (!json_is_array(addrs) || json_array_size(addrs) == 0 ||
	    json_array_size(addrs) > CONTROL_VM_MAX_ADDRS) {
		api_decode_fail(why, whylen, "addresses: a list of 1 to %d "
		    "strings is required", CONTROL_VM_MAX_ADDRS);
		goto out;
	}
	json_array_foreach(addrs, i, a) {
		if (!json_is_string(a)) {
			api_decode_fail(why, whylen, "addresses[%zu]: expected "
			    "a string", i);
			goto out;
		}
	}
	json_array_foreach(addrs, i, a)
		out->addrs[i] = xstrdup(json_string_value(a));
	out->naddrs = json_array_size(addrs);
	if (named)
		out->name = xstrdup(json_string_value(name));
	rv = 0;
out:
	json_decref(o);
	return rv;
}

int
api_decode_vm_create(const char *body, size_t len, struct api_vm_create *out,
    char *why, size_t whylen)
{
	return api_decode_vm(body, len, true, out, why, whylen);
}

int
api_decode_vm_update(const char *body, size_t len, struct api_vm_create *out,
    char *why, size_t whylen)
{
	return api_decode_vm(body, len, false, out, why, whylen);
}

void
api_vm_create_clear(struct api_vm_create *vc)
{
	free(vc->name);
	for (size_t i = 0; i < vc->naddrs; i++)
		free(vc->addrs[i]);
	memset(vc, 0, sizeof(*vc));
}

int
api_decode_assign_create(const char *body, size_t len,
    struct api_assign_create *out, char *why, size_t whylen)
{
	static const char *const fields[] = { "token", "vm", NULL };
	json_t *o, *jt, *jv;
	int rv = -1;

	memset(out, 0, sizeof(*out));
	if (api_decode_object(body, len, fields, &o, why, whylen) < 0)
		return -1;
	jt = json_object_get(o, "token");
	jv = json_object_get(o, "vm");
	if (!json_is_string(jt) || !json_is_string(jv))
		api_decode_fail(why, whylen, "token and vm: strings are "
		    "required");
	else {
		out->token = xstrdup(json_string_value(jt));
		out->vm = xstrdup(json_string_value(jv));
		rv = 0;
	}
	json_decref(o);
	return rv;
}

/* "90d", "12h", "30m" (1 minute to 10 years) or "YYYY-MM-DDTHH:MM:SSZ". */
static int
api_decode_expiry(const char *s, struct api_key_create *out)
{
	struct tm tm;
	char unit = 0, *end;
	long long n;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end != NULL && *end == '\0') {
		out->expires_at = timegm(&tm);
		return out->expires_at > 0 ? 0 : -1;
	}
	if (s[0] < '1' || s[0] > '9')
		return -1;
	n = strtoll(s, &end, 10);
	unit = *end;
	if (end[0] == '\0' || end[1] != '\0' || n > 100000)
		return -1;
	switch (unit) {
	case 'm':
		n *= 60;
		break;
	case 'h':
		n *= 3600;
		break;
	case 'd':
		n *= 86400;
		break;
	default:
		return -1;
	}
	if (n > 3650LL * 86400)
		return -1;
	out->expires_in = n;
	return 0;
}

int
api_decode_key_create(const char *body, size_t len,
    struct api_key_create *out, char *why, size_t whylen)
{
	static const char *const fields[] = { "name", "role", "expires",
	    NULL };
	json_t *o, *jn, *jr, *je;
	int rv = -1;

	memset(out, 0, sizeof(*out));
	if (api_decode_object(body, len, fields, &o, why, whylen) < 0)
		return -1;
	jn = json_object_get(o, "name");
	jr = json_object_get(o, "role");
	je = json_object_get(o, "expires");
	if (!json_is_string(jn) || !json_is_string(jr))
		api_decode_fail(why, whylen, "name and role: strings are "
		    "required");
	else if (je != NULL && !json_is_null(je) && (!json_is_string(je) ||
	    api_decode_expiry(json_string_value(je), out) < 0))
		api_decode_fail(why, whylen, "expires: a duration (\"90d\", "
		    "\"12h\", \"30m\"; up to 10 years) or a time "
		    "\"YYYY-MM-DDTHH:MM:SSZ\"");
	else {
		out->name = xstrdup(json_string_value(jn));
		out->role = xstrdup(json_string_value(jr));
		rv = 0;
	}
	json_decref(o);
	return rv;
}

void
api_key_create_clear(struct api_key_create *kc)
{
	free(kc->name);
	free(kc->role);
	memset(kc, 0, sizeof(*kc));
}

void
api_assign_create_clear(struct api_assign_create *ac)
{
	free(ac->token);
	free(ac->vm);
	memset(ac, 0, sizeof(*ac));
}

/* Decodes the token field of an agent request into out->token. */
static int
api_decode_agent_token(json_t *o, struct api_agent_req *out, char *why,
    size_t whylen)
{
	json_t *jt = json_object_get(o, "token");

	if (!json_is_string(jt))
		return api_decode_fail(why, whylen, "token: a string is "
		    "required");
	out->token = xstrdup(json_string_value(jt));
	return 0;
}

int
api_decode_agent_challenge(const char *body, size_t len,
    struct api_agent_req *out, char *why, size_t whylen)
{
	static const char *const fields[] = { "token", NULL };
	json_t *o;
	int rv;

	memset(out, 0, sizeof(*out));
	if (api_decode_object(body, len, fields, &o, why, whylen) < 0)
		return -1;
	rv = api_decode_agent_token(o, out, why, whylen);
	json_decref(o);
	return rv;
}

/* Decodes the base64 field key of at most cap bytes into out. */
static int
api_decode_b64(json_t *o, const char *key, uint8_t *out, size_t cap,
    size_t *outlen, char *why, size_t whylen)
{
	json_t *v = json_object_get(o, key);
	long n;

	if (!json_is_string(v) || (n = decode_base64(json_string_value(v),
	    out, cap)) < 0)
		return api_decode_fail(why, whylen, "%s: base64 of at most "
		    "%zu bytes is required", key, cap);
	*outlen = (size_t)n;
	return 0;
}

/* The optional reports of a verify (docs/AGENT.md): objects, kept. */
static int
api_decode_agent_report(json_t *o, struct api_agent_req *out, char *why,
    size_t whylen)
{
	static const char *const parts[] = { "facts", "update",
	    "policy_fired" };

	out->report = json_object();
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		json_t *v = json_object_get(o, parts[i]);

		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_object(v)) {
			snprintf(why, whylen, "%s: an object is required",
			    parts[i]);
			return -1;
		}
		json_object_set(out->report, parts[i], v);
	}
	return 0;
}

int
api_decode_agent_verify(const char *body, size_t len,
    struct api_agent_req *out, char *why, size_t whylen)
{
	static const char *const fields[] = { "token", "nonce", "signature",
	    "facts", "update", "policy_fired", NULL };
	json_t *o;
	int rv = -1;

	memset(out, 0, sizeof(*out));
	if (api_decode_object(body, len, fields, &o, why, whylen) < 0)
		return -1;
	if (api_decode_agent_token(o, out, why, whylen) == 0 &&
	    api_decode_agent_report(o, out, why, whylen) == 0 &&
	    api_decode_b64(o, "nonce", out->nonce, sizeof(out->nonce),
	    &out->nonce_len, why, whylen) == 0 &&
	    api_decode_b64(o, "signature", out->sig, sizeof(out->sig),
	    &out->sig_len, why, whylen) == 0)
		rv = 0;
	json_decref(o);
	return rv;
}

void
api_agent_req_clear(struct api_agent_req *ar)
{
	free(ar->token);
	json_decref(ar->report);
	memset(ar, 0, sizeof(*ar));
}
