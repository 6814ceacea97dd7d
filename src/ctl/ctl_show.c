/*
 * ctl_show: the shape every show command shares (token show, vm show):
 * GET one resource, print the server's document with -o json, else the
 * command's own key: value lines.
 */
#include <stdlib.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"

enum ctl_status
ctl_show(struct ctl_ctx *ctx, const char *collection, const char *arg,
    void (*print)(FILE *, const json_t *))
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;
	char *path = ctl_http_path(collection, arg, "");

	if (ctl_http_call(ctx->http, "GET", path, NULL, &res) == -1)
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
