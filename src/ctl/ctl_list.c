/*
 * ctl_list: the shape every list command shares: GET a collection, print
 * the server's document with -o json, else a table with one row per
 * element of its array.
 */
#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"

enum ctl_status
ctl_list(struct ctl_ctx *ctx, const struct ctl_list_spec *spec)
{
	struct ctl_http_result res;
	struct ctl_output_table *tbl;
	enum ctl_status st = CTL_FAIL;
	const json_t *e;
	size_t i;

	if (ctl_http_call(ctx->http, "GET", spec->path, NULL, &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON)
		st = ctl_output_json(ctx->out, res.json, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	else {
		tbl = ctl_output_table_new(spec->cols, spec->ncols);
		json_array_foreach(json_object_get(res.json, spec->key), i, e)
			spec->row(tbl, e);
		ctl_output_table_print(tbl, ctx->out);
		ctl_output_table_free(tbl);
		st = CTL_OK;
	}
	ctl_http_result_clear(&res);
	return st;
}
