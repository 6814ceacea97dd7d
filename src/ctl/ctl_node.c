/*
 * ctl_node: "nodes", the vtokend nodes that share the store (one for a
 * single daemon), as the store's heartbeats show them: "up" while a
 * node's lease runs, "lost" after.  The answering node works that out;
 * this file only prints it.
 */
#include <jansson.h>
#include <stdio.h>

#include "ctl/ctl.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

static const char *const node_cols[] = {
	"NAME", "USBIP", "API", "VERSION", "STATE", "SESSIONS", "HEARTBEAT AGE"
};
#define NODE_NCOLS	(sizeof(node_cols) / sizeof(node_cols[0]))

static void node_row(struct ctl_output_table *tbl, const json_t *n);

static void
node_row(struct ctl_output_table *tbl, const json_t *n)
{
	const json_t *age = json_object_get(n, VTAPI_F_HEARTBEAT_AGE);
	char sessions[32], secs[32];
	const char *cells[NODE_NCOLS] = {
		ctl_output_str(n, VTAPI_F_NAME),
		ctl_output_str(n, VTAPI_F_USBIP),
		ctl_output_str(n, VTAPI_F_API),
		ctl_output_str(n, VTAPI_F_VERSION),
		ctl_output_str(n, VTAPI_F_STATE),
		ctl_output_int(sessions, sizeof(sessions),
		    json_object_get(n, VTAPI_F_SESSIONS)),
		secs,
	};

	if (json_is_integer(age))
		snprintf(secs, sizeof(secs), "%" JSON_INTEGER_FORMAT "s",
		    json_integer_value(age));
	else
		snprintf(secs, sizeof(secs), "-");
	ctl_output_table_add(tbl, cells);
}

enum ctl_status
ctl_node_list(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	static const struct ctl_list_spec spec = {
		.path = VTAPI_NODES, .key = VTAPI_F_NODES, .cols = node_cols,
		.ncols = NODE_NCOLS, .row = node_row,
	};

	(void)a;
	return ctl_list(ctx, &spec);
}
