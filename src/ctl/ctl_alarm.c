/*
 * ctl_alarm: "alarms" lists the cluster's alarms (active by default;
 * --state cleared|all), "alarm ack ID" acknowledges one (the server
 * records who, when, and audits it).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

static const char *const alarm_cols[] = {
	"ID", "RULE", "SEVERITY", "STATE", "KEY", "COUNT", "LAST SEEN",
	"ACKED BY", "MESSAGE"
};
#define ALARM_NCOLS	(sizeof(alarm_cols) / sizeof(alarm_cols[0]))

static void
alarm_row(struct ctl_output_table *tbl, const json_t *a)
{
	char count[32];
	const json_t *by = json_object_get(a, VTAPI_F_ACKED_BY);
	const char *cells[ALARM_NCOLS] = {
		ctl_output_str(a, VTAPI_F_ID),
		ctl_output_str(a, VTAPI_F_RULE),
		ctl_output_str(a, VTAPI_F_SEVERITY),
		ctl_output_str(a, VTAPI_F_STATE),
		ctl_output_str(a, "key"),
		ctl_output_int(count, sizeof(count), json_object_get(a,
		    VTAPI_F_COUNT)),
		ctl_output_str(a, VTAPI_F_LAST_SEEN),
		json_is_string(by) ? json_string_value(by) : "-",
		ctl_output_str(a, VTAPI_F_MESSAGE),
	};

	ctl_output_table_add(tbl, cells);
}

enum ctl_status
ctl_alarm_list(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_list_spec spec = { .key = VTAPI_F_ALARMS,
	    .cols = alarm_cols, .ncols = ALARM_NCOLS, .row = alarm_row,
	    .one_page = true };
	enum ctl_status st;
	char *path;

	path = ctl_http_query(VTAPI_ALARMS, "state", a->state != NULL ?
	    a->state : "active");
	spec.path = path;
	st = ctl_list(ctx, &spec);
	free(path);
	return st;
}

static void
alarm_print(FILE *f, const json_t *a)
{
	ctl_output_line(f, "alarm %s (%s) acknowledged by %s at %s",
	    ctl_output_str(a, VTAPI_F_ID), ctl_output_str(a, VTAPI_F_RULE),
	    ctl_output_str(a, VTAPI_F_ACKED_BY),
	    ctl_output_str(a, VTAPI_F_ACKED_AT));
}

enum ctl_status
ctl_alarm_ack(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;
	char *path = ctl_http_path(VTAPI_ALARMS, a->argv[0], VTAPI_ALARM_ACK);
	json_t *body = json_object();	/* a POST needs a body */

	if (ctl_http_call(ctx->http, "POST", path, body, &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON)
		st = ctl_output_json(ctx->out, res.json, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	else {
		alarm_print(ctx->out, res.json);
		st = CTL_OK;
	}
	ctl_http_result_clear(&res);
	json_decref(body);
	free(path);
	return st;
}
