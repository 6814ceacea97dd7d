/*
 * ctl_policy: what an agent does when it cannot authenticate
 * (docs/AGENT.md, "Policy").  "policy show|set" is the cluster default
 * (VTAPI_POLICY); "vm policy VM" shows a VM's effective policy and its
 * source, sets the VM's own or, with --clear, returns it to the default.
 *
 * A set is read-modify-write: GET the current policy, change the fields
 * given, PUT the whole of it.  Two operators setting at once can lose
 * one change (the API has no version to compare); the audit shows both.
 * The server checks the ranges and that "command" goes with the action
 * "command"; this file only drops a stale "command" when --action moves
 * away from it and --command is not given.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

static bool policy_has_field(const struct ctl_args *a);
static void policy_print(FILE *f, const json_t *p);
static json_t *policy_apply(const json_t *cur, const struct ctl_args *a);
static enum ctl_status policy_show(struct ctl_ctx *ctx, const char *path);
static enum ctl_status policy_set(struct ctl_ctx *ctx, const char *path,
	    const struct ctl_args *a);
static enum ctl_status policy_clear(struct ctl_ctx *ctx, const char *vm);

static bool
policy_has_field(const struct ctl_args *a)
{
	return a->interval != 0 || a->grace != 0 || a->action != NULL ||
	    a->command != NULL;
}

int
ctl_policy_set_check(const struct ctl_args *a)
{
	if (!policy_has_field(a)) {
		ctl_output_error("policy set: nothing to set (--interval, "
		    "--grace, --action or --command)");
		return -1;
	}
	return 0;
}

int
ctl_vm_policy_check(const struct ctl_args *a)
{
	if (a->clear && policy_has_field(a)) {
		ctl_output_error("vm policy: --clear takes no other option");
		return -1;
	}
	return 0;
}

/* key: value lines for one policy ("source" when the answer has it). */
static void
policy_print(FILE *f, const json_t *p)
{
	struct ctl_output_table *kv = ctl_output_table_new(NULL, 2);
	char num[32];

	ctl_output_table_kv(kv, "interval", ctl_output_int(num, sizeof(num),
	    json_object_get(p, VTAPI_F_INTERVAL)));
	ctl_output_table_kv(kv, "grace", ctl_output_int(num, sizeof(num),
	    json_object_get(p, VTAPI_F_GRACE)));
	ctl_output_table_kv(kv, "action", ctl_output_str(p, VTAPI_F_ACTION));
	if (json_object_get(p, VTAPI_F_COMMAND) != NULL)
		ctl_output_table_kv(kv, "command", ctl_output_str(p,
		    VTAPI_F_COMMAND));
	if (json_object_get(p, VTAPI_F_SOURCE) != NULL)
		ctl_output_table_kv(kv, "source", ctl_output_str(p,
		    VTAPI_F_SOURCE));
	ctl_output_table_print(kv, f);
	ctl_output_table_free(kv);
}

/*
 * Adds "policy: ACTION, interval Ns, grace Ns (SOURCE)" and, with the
 * action "command", "policy command: CMD" to kv.  Nothing when policy
 * is not an object (an older server).
 */
void
ctl_policy_kv(struct ctl_output_table *kv, const json_t *policy)
{
	const json_t *src = json_object_get(policy, VTAPI_F_SOURCE);
	char ival[32], grace[32], *line;

	if (!json_is_object(policy))
		return;
	ctl_output_int(ival, sizeof(ival), json_object_get(policy,
	    VTAPI_F_INTERVAL));
	ctl_output_int(grace, sizeof(grace), json_object_get(policy,
	    VTAPI_F_GRACE));
	line = xasprintf("%s, interval %ss, grace %ss%s%s%s",
	    ctl_output_str(policy, VTAPI_F_ACTION), ival, grace,
	    json_is_string(src) ? " (" : "",
	    json_is_string(src) ? json_string_value(src) : "",
	    json_is_string(src) ? ")" : "");
	ctl_output_table_kv(kv, "policy", line);
	free(line);
	if (json_object_get(policy, VTAPI_F_COMMAND) != NULL)
		ctl_output_table_kv(kv, "policy command",
		    ctl_output_str(policy, VTAPI_F_COMMAND));
}

/*
 * The whole policy to PUT: cur (borrowed; a GET's answer) less "source",
 * with a's fields.  NULL when cur is not an object or --command is not
 * UTF-8.  The caller frees the result.
 */
static json_t *
policy_apply(const json_t *cur, const struct ctl_args *a)
{
	json_t *p;
	int err = 0;

	if (!json_is_object(cur) || (p = json_deep_copy(cur)) == NULL)
		return NULL;
	json_object_del(p, VTAPI_F_SOURCE);
	if (a->interval != 0)
		err |= json_object_set_new(p, VTAPI_F_INTERVAL,
		    json_integer(a->interval));
	if (a->grace != 0)
		err |= json_object_set_new(p, VTAPI_F_GRACE,
		    json_integer(a->grace));
	if (a->action != NULL)
		err |= json_object_set_new(p, VTAPI_F_ACTION,
		    json_string(a->action));
	if (a->command != NULL)
		err |= json_object_set_new(p, VTAPI_F_COMMAND,
		    json_string(a->command));
	else if (a->action != NULL && strcmp(a->action, "command") != 0)
		json_object_del(p, VTAPI_F_COMMAND);
	if (err) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static enum ctl_status
policy_show(struct ctl_ctx *ctx, const char *path)
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;

	if (ctl_http_call(ctx->http, "GET", path, NULL, &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON)
		st = ctl_output_json(ctx->out, res.json, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	else {
		policy_print(ctx->out, res.json);
		st = CTL_OK;
	}
	ctl_http_result_clear(&res);
	return st;
}

/*
 * GET path, change a's fields, PUT the whole policy back; then the
 * answer (or, when the server answered without a body, what was sent)
 * as "show" prints it.
 */
static enum ctl_status
policy_set(struct ctl_ctx *ctx, const char *path, const struct ctl_args *a)
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;
	const json_t *doc;
	json_t *body = NULL;

	if (ctl_http_call(ctx->http, "GET", path, NULL, &res) == -1) {
		ctl_output_error("%s", res.cause);
		goto out;
	}
	if ((body = policy_apply(res.json, a)) == NULL) {
		ctl_output_error(json_is_object(res.json) ?
		    "--command must be UTF-8" :
		    "the server's policy is not a JSON object");
		st = json_is_object(res.json) ? CTL_USAGE : CTL_FAIL;
		goto out;
	}
	ctl_http_result_clear(&res);
	if (ctl_http_call(ctx->http, "PUT", path, body, &res) == -1) {
		ctl_output_error("%s", res.cause);
		goto out;
	}
	doc = res.json != NULL ? res.json : body;
	if (ctx->format == CTL_OUTPUT_JSON)
		st = ctl_output_json(ctx->out, doc, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	else {
		policy_print(ctx->out, doc);
		st = CTL_OK;
	}
out:
	ctl_http_result_clear(&res);
	json_decref(body);
	return st;
}

/* DELETE the VM's own policy: "vm VM policy cleared". */
static enum ctl_status
policy_clear(struct ctl_ctx *ctx, const char *vm)
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;
	char *path = ctl_http_path(VTAPI_VMS, vm, VTAPI_VM_POLICY);
	json_t *doc;

	if (ctl_http_call(ctx->http, "DELETE", path, NULL, &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON) {
		doc = json_pack("{s:s, s:b}", VTAPI_F_VM, vm, "policy_cleared",
		    1);
		if (doc != NULL && ctl_output_json(ctx->out, doc, false) == 0)
			st = CTL_OK;
		else
			ctl_output_error("vm %s policy cleared, but the JSON "
			    "output failed", vm);
		json_decref(doc);
	} else {
		ctl_output_line(ctx->out, "vm %s policy cleared: the default "
		    "applies", vm);
		st = CTL_OK;
	}
	ctl_http_result_clear(&res);
	free(path);
	return st;
}

enum ctl_status
ctl_policy_show(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	(void)a;
	return policy_show(ctx, VTAPI_POLICY);
}

enum ctl_status
ctl_policy_set(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	return policy_set(ctx, VTAPI_POLICY, a);
}

/* vm policy VM: show; with a field, set; with --clear, clear. */
enum ctl_status
ctl_vm_policy(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	enum ctl_status st;
	char *path;

	if (a->clear)
		return policy_clear(ctx, a->argv[0]);
	path = ctl_http_path(VTAPI_VMS, a->argv[0], VTAPI_VM_POLICY);
	if (policy_has_field(a))
		st = policy_set(ctx, path, a);
	else
		st = policy_show(ctx, path);
	free(path);
	return st;
}
