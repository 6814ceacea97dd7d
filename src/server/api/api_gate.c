/*
 * api_gate: header checks before a body is read (see api_gate.h).
 */
#include "server/api/api_gate.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/text.h"
#include "server/api/api.h"
#include "server/control/control.h"
#include "server/control/control_key.h"

/* Copies the target's path ("/a/b" of "/a/b?q", of "http://h/a/b"). */
static void
api_gate_path(const char *target, char *out, size_t len)
{
	const char *p = target, *s;
	size_t n;

	if (p[0] != '/' && (s = strstr(p, "://")) != NULL)
		p = strchr(s + 3, '/') != NULL ? strchr(s + 3, '/') : "/";
	n = strcspn(p, "?#");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static void
api_gate_request_line(char *line, struct api_gate_head *h)
{
	char *sp = strchr(line, ' '), *target, *end;

	if (sp == NULL)
		return;		/* evhttp refuses it */
	*sp = '\0';
	snprintf(h->method, sizeof(h->method), "%s", line);
	target = sp + 1;
	if ((end = strchr(target, ' ')) != NULL)
		*end = '\0';
	api_gate_path(target, h->path, sizeof(h->path));
}

static void
api_gate_refuse(struct api_gate_head *h, int status, const char *why)
{
	if (h->status == 0) {
		h->status = status;
		h->why = why;
	}
}

/* One header line (NUL-terminated; cut when truncated). */
static void
api_gate_header(char *line, bool truncated, struct api_gate_head *h)
{
	char *colon = strchr(line, ':'), *v;
	size_t n;

	if (line[0] == ' ' || line[0] == '\t') {
		api_gate_refuse(h, 400, "folded header line");
		return;
	}
	if (colon == NULL)
		return;		/* evhttp refuses it */
	*colon = '\0';
	v = colon + 1 + strspn(colon + 1, " \t");
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	if (strcasecmp(line, "Content-Length") == 0) {
		if (h->has_length)
			api_gate_refuse(h, 400, "more than one Content-Length");
		else if (truncated || n == 0 || n > 18 ||
		    strspn(v, "0123456789") != n)
			api_gate_refuse(h, 400, "Content-Length not a plain "
			    "number");
		h->has_length = true;
		h->content_length = 0;
		for (size_t i = 0; i < n && n <= 18; i++)
			h->content_length = h->content_length * 10 +
			    (uint64_t)(v[i] - '0');
	} else if (strcasecmp(line, "Transfer-Encoding") == 0)
		api_gate_refuse(h, 411, "a request body needs a "
		    "Content-Length");
	else if (strcasecmp(line, "Authorization") == 0 && h->auth[0] == '\0'
	    && !truncated)
		snprintf(h->auth, sizeof(h->auth), "%s", v);
}

int
api_gate_parse(struct evbuffer *src, struct api_gate_head *h)
{
	size_t total = evbuffer_get_length(src), off = 0, eol_len, llen;
	struct evbuffer_ptr p, eol;
	char line[1024];
	bool first = true;

	memset(h, 0, sizeof(*h));
	if (evbuffer_ptr_set(src, &p, 0, EVBUFFER_PTR_SET) < 0)
		return 0;
	for (;;) {
		eol = evbuffer_search_eol(src, &p, &eol_len,
		    EVBUFFER_EOL_CRLF);
		if (eol.pos < 0 || (size_t)eol.pos + eol_len >
		    API_GATE_HEAD_MAX) {
			if (total < API_GATE_HEAD_MAX)
				return 0;
			api_gate_refuse(h, 431, "request header block too "
			    "large");
			return 1;
		}
		llen = (size_t)eol.pos - off;
		if (llen > 0) {
			size_t n = llen < sizeof(line) - 1 ? llen :
			    sizeof(line) - 1;

			if (evbuffer_copyout_from(src, &p, line, n) < 0)
				return 0;
			line[n] = '\0';
		} else
			line[0] = '\0';
		off = (size_t)eol.pos + eol_len;
		if (evbuffer_ptr_set(src, &p, off, EVBUFFER_PTR_SET) < 0)
			return 0;
		if (first) {
			first = false;
			api_gate_request_line(line, h);
			continue;
		}
		if (llen == 0) {
			h->len = off;
			return 1;
		}
		api_gate_header(line, llen >= sizeof(line) - 1, h);
	}
}

bool
api_gate_method_has_body(const char *m)
{
	static const char *const with[] = { "POST", "PUT", "PATCH", "GET",
	    "DELETE", "OPTIONS", "CONNECT" };

	for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++)
		if (strcmp(m, with[i]) == 0)
			return true;
	return false;
}

/* A body on a keyed route: the key must be valid (not its role yet). */
static const char *
api_gate_key_problem(struct api_server *api, const char *auth)
{
	const struct control_key_entry *k;

	if (strncasecmp(auth, "Bearer ", 7) != 0)
		return "missing Authorization: Bearer header";
	k = control_key_check(api->ctl, auth + 7, strlen(auth + 7));
	if (k == NULL)
		return "wrong API key";
	if (control_key_expired(k, time(NULL)))
		return "expired API key";
	return NULL;
}

int
api_gate_check(struct api_server *api, const struct api_gate_head *h,
    const char *peer_host, const char *peer, const char **why)
{
	static char toobig[96];
	const char *reason;
	unsigned perm = 0;
	bool keyed;
	size_t cap;
	char shown[128];

	if (h->status != 0) {
		*why = h->why;
		return h->status;
	}
	if (!h->has_length || h->content_length == 0)
		return 0;
	if (!api_gate_method_has_body(h->method)) {
		*why = "a body on a method that takes none";
		return 400;
	}
	keyed = api_route_perm(h->method, h->path, &perm) && perm != 0;
	if (keyed && (reason = api_gate_key_problem(api, h->auth)) != NULL) {
		api->stats.auth_failed++;
		text_printable(h->path, shown, sizeof(shown));
		logrl_warnx(&api->rl_gate_auth, "api %s: %s: %s (refused "
		    "before its body)", peer, shown, reason);
		control_audit_refusal(api->ctl, peer_host, "api",
		    "api.auth_failed", peer, json_pack("{s:s, s:s}",
		    "reason", reason, "path", shown));
		*why = reason;
		return 401;
	}
	cap = keyed ? api->params.max_body : api->params.max_body_anon;
	if (keyed && api_route_big_body(h->method, h->path) &&
	    cap < API_RELEASE_BODY_MAX)
		cap = API_RELEASE_BODY_MAX;
	if (h->content_length > cap) {
		snprintf(toobig, sizeof(toobig), "request body over %zu bytes",
		    cap);
		logrl_warnx(&api->rl_gate_size, "api %s: refused a %llu-byte "
		    "body (at most %zu on this route) before reading it",
		    peer, (unsigned long long)h->content_length, cap);
		*why = toobig;
		return 413;
	}
	return 0;
}

void
api_gate_response(struct evbuffer *out, int status, const char *why)
{
	const char *text = "Bad Request", *code = "bad_request";
	char body[256];
	int n;

	switch (status) {
	case 401:
		text = "Unauthorized";
		code = "unauthorized";
		break;
	case 411:
		text = "Length Required";
		code = "length_required";
		break;
	case 413:
		text = "Payload Too Large";
		code = "too_large";
		break;
	case 431:
		text = "Request Header Fields Too Large";
		code = "headers_too_large";
		break;
	}
	/* why is ours (static text or a number): nothing to escape. */
	n = snprintf(body, sizeof(body), "{\"error\": {\"code\": \"%s\", "
	    "\"message\": \"%s\"}}", code, why);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %d\r\nConnection: close\r\n"
	    "%s\r\n%.*s", status, text, n, status == 401 ?
	    "WWW-Authenticate: Bearer\r\n" : "", n, body);
}
