/*
 * api_audit: /v1/audit and /v1/audit/verify.  Both read the store, on
 * its thread: the answer is sent when the records are there.
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdlib.h>

#include "server/api/api.h"
#include "server/control/control.h"

static void
api_audit_listed(void *arg, const struct vt_error *err, json_t *records,
    int64_t last)
{
	struct api_req *r = arg;

	if (err != NULL) {
		api_reply_vterr(r, err);
		return;
	}
	api_reply_json(r, 200, json_pack("{s:O, s:I}", "records", records,
	    "last_seq", (json_int_t)last));
}

void
api_audit_list(struct api_req *r)
{
	struct evkeyvalq q;
	long long after, limit;

	if (api_query_parse(r, &q) < 0)
		return;
	if (api_query_int(r, &q, "after", 0, INT64_MAX, 0, &after) < 0 ||
	    api_query_int(r, &q, "limit", 1, 1000, 100, &limit) < 0) {
		evhttp_clear_headers(&q);
		return;
	}
	evhttp_clear_headers(&q);
	api_defer(r);
	control_audit_list(r->ctl, after, (unsigned)limit, api_audit_listed,
	    r);
}

static void
api_audit_verified(void *arg, const struct vt_error *err,
    const struct control_audit_result *v)
{
	struct api_req *r = arg;

	if (err != NULL) {
		api_reply_vterr(r, err);
		return;
	}
	if (v->bad_seq != 0) {
		api_reply_json(r, 409, json_pack("{s:{s:s, s:s, s:I}}",
		    "error", "code", "audit_broken", "message", v->reason,
		    "seq", (json_int_t)v->bad_seq));
		return;
	}
	api_reply_json(r, 200, json_pack("{s:b, s:I, s:s}", "ok", 1,
	    "records", (json_int_t)v->records, "last_hash", v->last_hash));
}

void
api_audit_verify(struct api_req *r)
{
	api_defer(r);
	control_audit_check(r->ctl, api_audit_verified, r);
}
