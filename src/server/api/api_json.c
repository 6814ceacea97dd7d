/*
 * api_json: replies, and the request body for the decoders in
 * api_decode.c.
 */
#include <event2/buffer.h>
#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/api/api.h"
#include "server/api/api_decode.h"

void
api_defer(struct api_req *r)
{
	r->deferred = true;
}

/* After the answer: a deferred request is ours to free. */
static void
api_answered(struct api_req *r)
{
	if (r->deferred)
		free(r);
}

static void
api_count(struct api_req *r, int status)
{
	unsigned cls = (unsigned)status / 100;

	if (cls < sizeof(r->api->stats.by_class) /
	    sizeof(r->api->stats.by_class[0]))
		r->api->stats.by_class[cls]++;
}

void
api_reply_json(struct api_req *r, int status, json_t *body)
{
	struct evbuffer *b = evbuffer_new();
	char *text;

	if (r->answered) {
		json_decref(body);
		if (b != NULL)
			evbuffer_free(b);
		return;
	}
	text = body ? json_dumps(body, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(body);
	if (b == NULL || text == NULL) {
		free(text);
		if (b)
			evbuffer_free(b);
		r->answered = true;
		api_count(r, 500);
		evhttp_send_error(r->req, 500, "out of memory");
		api_answered(r);
		return;
	}
	evbuffer_add(b, text, strlen(text));
	evbuffer_add(b, "\n", 1);
	free(text);
	api_reply_buffer(r, status, "application/json", b);
	evbuffer_free(b);
}

void
api_reply_buffer(struct api_req *r, int status, const char *content_type,
    struct evbuffer *b)
{
	if (r->answered)
		return;
	r->answered = true;
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Content-Type", content_type);
	api_count(r, status);
	evhttp_send_reply(r->req, status, NULL, b);
	api_answered(r);
}

void
api_reply_empty(struct api_req *r, int status)
{
	if (r->answered)
		return;
	r->answered = true;
	api_count(r, status);
	evhttp_send_reply(r->req, status, NULL, NULL);
	api_answered(r);
}

void
api_reply_error(struct api_req *r, int status, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * Messages quote request bytes (a path segment, a key): invalid or
	 * cut UTF-8 would make json_pack fail and the answer a 500.
	 */
	api_decode_utf8_fix(msg);
	api_reply_json(r, status, json_pack("{s:{s:s, s:s}}", "error",
	    "code", code, "message", msg));
}

int
api_vterr_status(const struct vt_error *err, const char **code)
{
	static const struct {
		enum vt_err e;
		int status;
		const char *code;
	} map[] = {
		{ VT_EINVAL, 400, "bad_request" },
		{ VT_ENOTFOUND, 404, "not_found" },
		{ VT_ECONFLICT, 409, "conflict" },
		{ VT_EAUTH, 401, "unauthorized" },
		{ VT_ERATE, 429, "too_many_requests" },
		{ VT_EBROKEN, 409, "audit_broken" },
		{ VT_EUNAVAIL, 503, "store_unavailable" },
		{ VT_EINTERNAL, 500, "internal" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].e == err->code) {
			*code = map[i].code;
			return map[i].status;
		}
	*code = "internal";
	return 500;
}

void
api_reply_vterr(struct api_req *r, const struct vt_error *err)
{
	const char *code;
	int status = api_vterr_status(err, &code);

	api_reply_error(r, status, code, "%s", err->msg);
}

const char *
api_body(struct api_req *r, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);

	/* api_gate held the body to its route's cap before it was read. */
	*len = evbuffer_get_length(in);
	if (*len == 0)
		return "";
	return (const char *)evbuffer_pullup(in, -1);
}

/* Reads an integer query parameter in [min, max]; -1 after a 400. */
int
api_query_int(struct api_req *r, const struct evkeyvalq *q, const char *key,
    long long min, long long max, long long def, long long *out)
{
	const char *v = evhttp_find_header(q, key);
	char *end;

	*out = def;
	if (v == NULL)
		return 0;
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *out < min ||
	    *out > max) {
		api_reply_error(r, 400, "bad_request", "%s: an integer from "
		    "%lld to %lld is required", key, min, max);
		return -1;
	}
	return 0;
}

int
api_query_parse(struct api_req *r, struct evkeyvalq *q)
{
	const char *qs = evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(r->req));

	TAILQ_INIT(q);
	if (qs != NULL && evhttp_parse_query_str(qs, q) < 0) {
		api_reply_error(r, 400, "bad_request", "malformed query");
		return -1;
	}
	return 0;
}

const char *
api_method_name(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	default:
		return "?";
	}
}
