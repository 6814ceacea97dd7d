/*
 * ctl_delete: the shape every removing command shares (token rm, vm rm,
 * revoke): DELETE one resource, then say so, as a line or, with -o json,
 * as {"<kind>": ARG, "<done>": true} so that scripts get a document.
 */
#include <stdlib.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"

enum ctl_status
ctl_delete(struct ctl_ctx *ctx, const char *collection, const char *arg,
    const char *kind, const char *done)
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;
	char *path = ctl_http_path(collection, arg, "");
	json_t *doc;

	if (ctl_http_call(ctx->http, "DELETE", path, NULL, &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON) {
		doc = json_pack("{s:s, s:b}", kind, arg, done, 1);
		if (doc != NULL && ctl_output_json(ctx->out, doc, false) == 0)
			st = CTL_OK;
		else
			ctl_output_error("%s %s %s, but the JSON output failed",
			    kind, arg, done);
		json_decref(doc);
	} else {
		ctl_output_line(ctx->out, "%s %s %s", kind, arg, done);
		st = CTL_OK;
	}
	ctl_http_result_clear(&res);
	free(path);
	return st;
}
