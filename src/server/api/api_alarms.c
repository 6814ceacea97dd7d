/*
 * api_alarms: GET /v1/alarms (?state=active|cleared|all, ?limit=N) and
 * POST /v1/alarms/{id}/ack.  The alarms are the cluster's, read from the
 * store (control_alarm.h).
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <string.h>

#include "server/api/api.h"
#include "server/control/control.h"
#include "vtoken/vtapi.h"

static void
api_alarms_listed(void *arg, const struct vt_error *err, json_t *rows)
{
	struct api_req *r = arg;

	if (err != NULL)
		api_reply_vterr(r, err);
	else
		api_reply_json(r, 200, json_pack("{s:O}", VTAPI_F_ALARMS,
		    rows));
}

void
api_alarms_list(struct api_req *r)
{
	struct evkeyvalq q;
	const char *state;
	long long limit;
	char s[16];

	if (api_query_parse(r, &q) < 0)
		return;
	state = evhttp_find_header(&q, "state");
	if (state == NULL)
		state = "active";
	if (strcmp(state, "active") != 0 && strcmp(state, "cleared") != 0 &&
	    strcmp(state, "all") != 0) {
		evhttp_clear_headers(&q);
		api_reply_error(r, 400, "bad_request", "state: active, cleared "
		    "or all");
		return;
	}
	snprintf(s, sizeof(s), "%s", state);
	if (api_query_int(r, &q, "limit", 1, API_PAGE_MAX, API_PAGE_MAX,
	    &limit) < 0) {
		evhttp_clear_headers(&q);
		return;
	}
	evhttp_clear_headers(&q);
	api_defer(r);
	control_alarm_list(r->ctl, strcmp(s, "all") == 0 ? NULL : s,
	    (unsigned)limit, api_alarms_listed, r);
}

static void
api_alarms_acked(void *arg, const struct vt_error *err, json_t *rows)
{
	struct api_req *r = arg;

	if (err != NULL)
		api_reply_vterr(r, err);
	else if (json_array_size(rows) != 1)
		api_reply_error(r, 500, "internal", "the alarm is gone");
	else
		api_reply_json(r, 200, json_incref(json_array_get(rows, 0)));
}

void
api_alarms_ack(struct api_req *r)
{
	api_defer(r);
	control_alarm_ack(r->ctl, r->actor, r->arg, api_alarms_acked, r);
}
