/*
 * ctl_assign: who may use a token.  "assign TOKEN VM" maps a token to a
 * VM, "revoke TOKEN" removes the mapping (the server ends a live session
 * at once), and "sessions" lists the attached sessions of every node.
 */
#include <jansson.h>
#include <stdlib.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

static const char *const assign_session_cols[] = {
	"TOKEN", "BUSID", "VM", "NODE", "PEER", "SINCE", "IN", "OUT"
};
#define ASSIGN_SESSION_NCOLS \
	(sizeof(assign_session_cols) / sizeof(assign_session_cols[0]))

static const char *assign_name(const json_t *o, const char *name,
	    const char *id);
static void assign_session_row(struct ctl_output_table *tbl,
	    const json_t *s);

/* The string member name of o, else member id, else "-". */
static const char *
assign_name(const json_t *o, const char *name, const char *id)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : ctl_output_str(o, id);
}

static void
assign_session_row(struct ctl_output_table *tbl, const json_t *s)
{
	char in[32], out[32];
	const char *cells[ASSIGN_SESSION_NCOLS] = {
		assign_name(s, VTAPI_F_TOKEN_NAME, VTAPI_F_TOKEN),
		ctl_output_str(s, VTAPI_F_BUSID),
		assign_name(s, VTAPI_F_VM_NAME, VTAPI_F_VM),
		ctl_output_str(s, VTAPI_F_NODE),
		ctl_output_str(s, VTAPI_F_PEER),
		ctl_output_str(s, VTAPI_F_SINCE),
		ctl_output_size(in, sizeof(in),
		    json_object_get(s, VTAPI_F_BYTES_IN)),
		ctl_output_size(out, sizeof(out),
		    json_object_get(s, VTAPI_F_BYTES_OUT)),
	};

	ctl_output_table_add(tbl, cells);
}

enum ctl_status
ctl_assign_token(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res = { .json = NULL };
	enum ctl_status st = CTL_FAIL;
	json_t *body;

	body = json_object();
	if (json_object_set_new(body, VTAPI_F_TOKEN, json_string(a->argv[0])) ||
	    json_object_set_new(body, VTAPI_F_VM, json_string(a->argv[1]))) {
		ctl_output_error("assign: arguments must be UTF-8");
		json_decref(body);
		return CTL_USAGE;
	}
	if (ctl_http_call(ctx->http, "POST", VTAPI_ASSIGNMENTS, body,
	    &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON)
		st = ctl_output_json(ctx->out, res.json, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	else {
		ctl_output_line(ctx->out, "token %s assigned to vm %s",
		    assign_name(res.json, VTAPI_F_TOKEN_NAME, VTAPI_F_TOKEN),
		    assign_name(res.json, VTAPI_F_VM_NAME, VTAPI_F_VM));
		st = CTL_OK;
	}
	json_decref(body);
	ctl_http_result_clear(&res);
	return st;
}

enum ctl_status
ctl_assign_revoke(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	return ctl_delete(ctx, VTAPI_ASSIGNMENTS, a->argv[0], "token",
	    "revoked");
}

enum ctl_status
ctl_assign_sessions(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	static const struct ctl_list_spec spec = {
		.path = VTAPI_SESSIONS, .key = VTAPI_F_SESSIONS,
		.cols = assign_session_cols, .ncols = ASSIGN_SESSION_NCOLS,
		.row = assign_session_row,
	};

	(void)a;
	return ctl_list(ctx, &spec);
}
