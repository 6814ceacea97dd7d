/*
 * api_audit: /v1/audit and /v1/audit/verify.  Both read the store, on
 * its thread: the answer is sent when the records are there.
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	api_reply_json(r, 200, json_pack("{s:b, s:I, s:s, s:I}", "ok", 1,
	    "records", (json_int_t)v->records, "last_hash", v->last_hash,
	    "sealed_at", (json_int_t)v->seal_seq));
}

/*
 * ?seq=N&hash=H: a head known from elsewhere (published earlier); the
 * chain must reach record N and have hash H there.
 */
void
api_audit_verify(struct api_req *r)
{
	struct evkeyvalq q;
	long long seq;
	const char *hash;
	char head[STORE_HASH_HEX + 1] = "";

	if (api_query_parse(r, &q) < 0)
		return;
	if (api_query_int(r, &q, "seq", 1, INT64_MAX, 0, &seq) < 0) {
		evhttp_clear_headers(&q);
		return;
	}
	hash = evhttp_find_header(&q, "hash");
	if ((seq > 0) != (hash != NULL) || (hash != NULL &&
	    (strlen(hash) != STORE_HASH_HEX || strspn(hash,
	    "0123456789abcdef") != STORE_HASH_HEX))) {
		evhttp_clear_headers(&q);
		api_reply_error(r, 400, "bad_request", "a known head is seq "
		    "and hash together (64 lower-case hex digits)");
		return;
	}
	if (hash != NULL)
		snprintf(head, sizeof(head), "%s", hash);
	evhttp_clear_headers(&q);
	api_defer(r);
	control_audit_check(r->ctl, seq, head, api_audit_verified, r);
}
