/*
 * ctl_show: the shape every command shares whose answer is one resource
 * (token show, vm show, vm set-addresses): GET it, or change it with a
 * body (PATCH), then print the server's document with -o json, else the
 * command's own key: value lines.
 */
#include <stdlib.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"

enum ctl_status
ctl_show(struct ctl_ctx *ctx, const char *method, const char *collection,
    const char *arg, const json_t *body, void (*print)(FILE *, const json_t *))
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;
	char *path = ctl_http_path(collection, arg, "");

	if (ctl_http_call(ctx->http, method, path, body, &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON)
		st = ctl_output_json(ctx->out, res.json, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	else {
		print(ctx->out, res.json);
		st = CTL_OK;
	}
	ctl_http_result_clear(&res);
	free(path);
	return st;
}
