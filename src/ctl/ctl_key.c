/*
 * ctl_key: the "key" commands (create, list, rm): REST API keys and
 * their roles.  The secret comes back once, in the answer to create, and
 * is printed once; the server keeps only its hash.
 */
#include <jansson.h>
#include <stdlib.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

static const char *const key_cols[] = {
	"ID", "NAME", "ROLE", "CREATED", "EXPIRES"
};
#define KEY_NCOLS	(sizeof(key_cols) / sizeof(key_cols[0]))

static void
key_row(struct ctl_output_table *tbl, const json_t *k)
{
	const json_t *exp = json_object_get(k, VTAPI_F_EXPIRES);
	const char *cells[KEY_NCOLS] = {
		ctl_output_str(k, VTAPI_F_ID),
		ctl_output_str(k, VTAPI_F_NAME),
		ctl_output_str(k, VTAPI_F_ROLE),
		ctl_output_str(k, VTAPI_F_CREATED),
		json_is_true(json_object_get(k, VTAPI_F_EXPIRED)) ? "expired" :
		    json_is_string(exp) ? json_string_value(exp) : "never",
	};

	ctl_output_table_add(tbl, cells);
}

enum ctl_status
ctl_key_create(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res = { .json = NULL };
	enum ctl_status st = CTL_FAIL;
	json_t *body;

	body = json_pack("{s:s?, s:s?, s:s?}", VTAPI_F_NAME, a->argv[0],
	    VTAPI_F_ROLE, a->role, VTAPI_F_EXPIRES, a->expires);
	if (body == NULL) {
		ctl_output_error("key create: arguments must be UTF-8");
		return CTL_USAGE;
	}
	if (ctl_http_call(ctx->http, "POST", VTAPI_KEYS, body, &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON)
		st = ctl_output_json(ctx->out, res.json, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	else {
		ctl_output_line(ctx->out, "key %s created: id %s, role %s, "
		    "expires %s", ctl_output_str(res.json, VTAPI_F_NAME),
		    ctl_output_str(res.json, VTAPI_F_ID),
		    ctl_output_str(res.json, VTAPI_F_ROLE),
		    json_is_string(json_object_get(res.json,
		    VTAPI_F_EXPIRES)) ? ctl_output_str(res.json,
		    VTAPI_F_EXPIRES) : "never");
		ctl_output_line(ctx->out, "%s", ctl_output_str(res.json,
		    VTAPI_F_KEY));
		ctl_output_line(ctx->out, "(the key is shown only now: "
		    "store it in a file only its user can read)");
		st = CTL_OK;
	}
	json_decref(body);
	ctl_http_result_clear(&res);
	return st;
}

enum ctl_status
ctl_key_list(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	static const struct ctl_list_spec spec = {
		.path = VTAPI_KEYS, .key = VTAPI_F_KEYS, .cols = key_cols,
		.ncols = KEY_NCOLS, .row = key_row,
	};

	(void)a;
	return ctl_list(ctx, &spec);
}

enum ctl_status
ctl_key_rm(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	return ctl_delete(ctx, VTAPI_KEYS, a->argv[0], "key", "deleted");
}
