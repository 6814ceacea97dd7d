/*
 * api_audit: /v1/audit and /v1/audit/verify.
 */
#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>

#include "common/log.h"
#include "server/api/api.h"
#include "server/control/control_audit.h"
#include "server/control/control.h"

/* Reads an integer query parameter in [min, max]; -1 after a 400. */
static int
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

static int
api_audit_row(void *arg, const struct store_audit *rec)
{
	return json_array_append_new(arg, control_audit_to_json(rec)) == 0 ?
	    0 : -1;
}

void
api_audit_list(struct api_req *r)
{
	const char *qs = evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(r->req));
	struct evkeyvalq q;
	long long after, limit;
	int64_t last;
	json_t *arr;

	TAILQ_INIT(&q);
	if (qs != NULL && evhttp_parse_query_str(qs, &q) < 0) {
		api_reply_error(r, 400, "bad_request", "malformed query");
		return;
	}
	if (api_query_int(r, &q, "after", 0, INT64_MAX, 0, &after) < 0 ||
	    api_query_int(r, &q, "limit", 1, 1000, 100, &limit) < 0) {
		evhttp_clear_headers(&q);
		return;
	}
	evhttp_clear_headers(&q);
	arr = json_array();
	if (control_audit_list(r->ctl, after, (unsigned)limit, api_audit_row,
	    arr, &last) < 0) {	/* logged */
		json_decref(arr);
		api_reply_error(r, 500, "internal", "cannot read the audit log");
		return;
	}
	api_reply_json(r, 200, json_pack("{s:o, s:I}", "records", arr,
	    "last_seq", (json_int_t)last));
}

void
api_audit_verify(struct api_req *r)
{
	struct control_audit_result v;

	if (control_audit_check(r->ctl, &v) < 0) {	/* logged */
		api_reply_error(r, 500, "internal", "cannot read the audit log");
		return;
	}
	if (v.bad_seq != 0) {
		api_reply_json(r, 409, json_pack("{s:{s:s, s:s, s:I}}",
		    "error", "code", "audit_broken", "message", v.reason,
		    "seq", (json_int_t)v.bad_seq));
		return;
	}
	api_reply_json(r, 200, json_pack("{s:b, s:I, s:s}", "ok", 1,
	    "records", (json_int_t)v.records, "last_hash", v.last_hash));
}
