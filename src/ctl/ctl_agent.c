/*
 * ctl_agent: the agents inside the VMs as the controller sees them
 * (docs/AGENT.md).  "agents" lists each VM's agent version, its rollout
 * target and the outcome of its last update; "agent rollout set|show|stop"
 * manages the one rollout (PUT, GET, DELETE VTAPI_AGENT_ROLLOUT); and
 * ctl_agent_facts_kv() prints what an agent reported about its machine
 * for "vm show".  Releases are ctl_release.c's.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

static const char *const agent_cols[] = {
	"VM", "VERSION", "TARGET", "LAST UPDATE", "REASON", "UPDATE TIME",
	"REPORTED"
};
#define AGENT_NCOLS	(sizeof(agent_cols) / sizeof(agent_cols[0]))

static const char *agent_text(const json_t *obj, const char *key);
static const char *agent_uptime(char *buf, size_t len, const json_t *v);
static void agent_row(struct ctl_output_table *tbl, const json_t *ag);
static void rollout_print(FILE *f, const json_t *r);
static enum ctl_status rollout_answer(struct ctl_ctx *ctx,
	    const json_t *doc);

/* The string member key of obj, "-" when missing, null or empty. */
static const char *
agent_text(const json_t *obj, const char *key)
{
	const char *s = ctl_output_str(obj, key);

	return s[0] != '\0' ? s : "-";
}

/* Seconds as "3d 04:05:06", or "04:05:06" under a day; "-" if not. */
static const char *
agent_uptime(char *buf, size_t len, const json_t *v)
{
	json_int_t s;

	if (!json_is_integer(v) || (s = json_integer_value(v)) < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (s >= 86400)
		/* JSON_INTEGER_FORMAT, then the unit: "3d 04:05:06". */
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "d %02d:%02d:%02d",
		    s / 86400, (int)(s % 86400 / 3600), (int)(s % 3600 / 60),
		    (int)(s % 60));
	else
		snprintf(buf, len, "%02d:%02d:%02d", (int)(s / 3600),
		    (int)(s % 3600 / 60), (int)(s % 60));
	return buf;
}

/*
 * The facts of a VM (GET VTAPI_VMS/{id}) as key: value lines, then its
 * policy, if the answer has one.  "reported" (and "peer", the address
 * that reported) is read inside "facts" and, failing that, beside it.
 * An empty fact (the agent could not read it) prints as "-".
 */
void
ctl_agent_facts_kv(struct ctl_output_table *kv, const json_t *vm)
{
	static const struct { const char *label, *key; } facts[] = {
		{ "host name", VTAPI_F_HOSTNAME },
		{ "os", VTAPI_F_OS },
		{ "kernel", VTAPI_F_KERNEL },
		{ "machine-id", VTAPI_F_MACHINE_ID },
		{ "dmi vendor", VTAPI_F_DMI_VENDOR },
		{ "dmi product", VTAPI_F_DMI_PRODUCT },
		{ "dmi uuid", VTAPI_F_DMI_UUID },
		{ "agent version", VTAPI_F_AGENT_VERSION },
	};
	const json_t *f = json_object_get(vm, VTAPI_F_FACTS);
	char up[64];

	if (!json_is_object(f))
		ctl_output_table_kv(kv, "facts", "none reported");
	else {
		for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
			ctl_output_table_kv(kv, facts[i].label,
			    agent_text(f, facts[i].key));
		ctl_output_table_kv(kv, "uptime", agent_uptime(up, sizeof(up),
		    json_object_get(f, VTAPI_F_UPTIME)));
		ctl_output_table_kv(kv, "reported", json_object_get(f,
		    VTAPI_F_REPORTED) != NULL ? agent_text(f,
		    VTAPI_F_REPORTED) : agent_text(vm, VTAPI_F_REPORTED));
		if (json_is_string(json_object_get(f, VTAPI_F_PEER)))
			ctl_output_table_kv(kv, "reported from",
			    ctl_output_str(f, VTAPI_F_PEER));
	}
	ctl_policy_kv(kv, json_object_get(vm, VTAPI_F_POLICY));
}

static void
agent_row(struct ctl_output_table *tbl, const json_t *ag)
{
	const json_t *up = json_object_get(ag, VTAPI_F_UPDATE);
	const json_t *name = json_object_get(ag, VTAPI_F_VM_NAME);
	char last[160];
	const char *cells[AGENT_NCOLS];

	if (json_is_object(up))
		snprintf(last, sizeof(last), "%s %s",
		    ctl_output_str(up, VTAPI_F_RESULT),
		    ctl_output_str(up, VTAPI_F_VERSION));
	else
		snprintf(last, sizeof(last), "-");
	cells[0] = json_is_string(name) && json_string_length(name) > 0 ?
	    json_string_value(name) : ctl_output_str(ag, VTAPI_F_VM);
	cells[1] = agent_text(ag, VTAPI_F_VERSION);
	cells[2] = agent_text(ag, VTAPI_F_TARGET);
	cells[3] = last;
	cells[4] = agent_text(up, VTAPI_F_REASON);
	cells[5] = agent_text(up, VTAPI_F_TIME);
	cells[6] = agent_text(ag, VTAPI_F_REPORTED);
	ctl_output_table_add(tbl, cells);
}

enum ctl_status
ctl_agent_list(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	static const struct ctl_list_spec spec = {
		.path = VTAPI_AGENTS, .key = VTAPI_F_AGENTS,
		.cols = agent_cols, .ncols = AGENT_NCOLS, .row = agent_row,
	};

	(void)a;
	return ctl_list(ctx, &spec);
}

/*
 * key: value lines of a rollout: its version, the VMs it is limited to
 * ("all" without a list) and the percentage (100 without one); "no
 * rollout" when there is no version.
 */
static void
rollout_print(FILE *f, const json_t *r)
{
	struct ctl_output_table *kv;
	const json_t *vms = json_object_get(r, VTAPI_F_VMS);
	char pct[32], *list;

	if (!json_is_string(json_object_get(r, VTAPI_F_VERSION))) {
		ctl_output_line(f, "no rollout");
		return;
	}
	kv = ctl_output_table_new(NULL, 2);
	list = json_array_size(vms) > 0 ? ctl_output_join(vms, ", ") : NULL;
	if (json_object_get(r, VTAPI_F_PERCENT) != NULL)
		ctl_output_int(pct, sizeof(pct), json_object_get(r,
		    VTAPI_F_PERCENT));
	else
		snprintf(pct, sizeof(pct), "100");
	ctl_output_table_kv(kv, "version", ctl_output_str(r,
	    VTAPI_F_VERSION));
	ctl_output_table_kv(kv, "vms", list != NULL ? list : "all");
	ctl_output_table_kv(kv, "percent", pct);
	ctl_output_table_print(kv, f);
	ctl_output_table_free(kv);
	free(list);
}

/* Prints a rollout answer (borrowed) as -o asks. */
static enum ctl_status
rollout_answer(struct ctl_ctx *ctx, const json_t *doc)
{
	if (ctx->format == CTL_OUTPUT_JSON)
		return ctl_output_json(ctx->out, doc, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	rollout_print(ctx->out, doc);
	return CTL_OK;
}

/* PUT {"version", "vms"?: [--vm ...], "percent"?: --percent}. */
enum ctl_status
ctl_agent_rollout_set(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res = { .json = NULL };
	enum ctl_status st = CTL_FAIL;
	json_t *body, *vms = NULL;
	int err;

	body = json_object();
	err = json_object_set_new(body, VTAPI_F_VERSION,
	    json_string(a->argv[0]));
	if (a->nvms > 0) {
		vms = json_array();
		err |= json_object_set_new(body, VTAPI_F_VMS, vms);
		for (size_t i = 0; i < a->nvms; i++)
			err |= json_array_append_new(vms,
			    json_string(a->vms[i]));
	}
	if (a->percent != 0)
		err |= json_object_set_new(body, VTAPI_F_PERCENT,
		    json_integer(a->percent));
	if (err) {
		ctl_output_error("agent rollout set: arguments must be UTF-8");
		json_decref(body);
		return CTL_USAGE;
	}
	if (ctl_http_call(ctx->http, "PUT", VTAPI_AGENT_ROLLOUT, body,
	    &res) == -1)
		ctl_output_error("%s", res.cause);
	else
		st = rollout_answer(ctx, res.json != NULL ? res.json : body);
	json_decref(body);
	ctl_http_result_clear(&res);
	return st;
}

enum ctl_status
ctl_agent_rollout_show(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;

	(void)a;
	if (ctl_http_call(ctx->http, "GET", VTAPI_AGENT_ROLLOUT, NULL,
	    &res) == -1)
		ctl_output_error("%s", res.cause);
	else
		st = rollout_answer(ctx, res.json);
	ctl_http_result_clear(&res);
	return st;
}

/* DELETE the rollout: "rollout stopped", or {"rollout_stopped": true}. */
enum ctl_status
ctl_agent_rollout_stop(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;
	json_t *doc;

	(void)a;
	if (ctl_http_call(ctx->http, "DELETE", VTAPI_AGENT_ROLLOUT, NULL,
	    &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON) {
		doc = json_pack("{s:b}", "rollout_stopped", 1);
		st = doc != NULL && ctl_output_json(ctx->out, doc, false) == 0 ?
		    CTL_OK : CTL_FAIL;
		json_decref(doc);
	} else {
		ctl_output_line(ctx->out, "rollout stopped");
		st = CTL_OK;
	}
	ctl_http_result_clear(&res);
	return st;
}
