/*
 * ctl_vm: the "vm" commands (add, list, show, rm, set-addresses).  A VM
 * is a name and the source addresses its USB/IP connections come from;
 * the server checks the addresses, this file only carries them.
 */
#include <jansson.h>
#include <stdlib.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

static const char *const vm_cols[] = { "ID", "NAME", "ADDRESSES", "TOKENS" };
#define VM_NCOLS	(sizeof(vm_cols) / sizeof(vm_cols[0]))

static json_t *vm_body(const char *name, const struct ctl_args *a);
static void vm_row(struct ctl_output_table *tbl, const json_t *vm);
static void vm_print(FILE *f, const json_t *vm);

/*
 * {"name", "addresses": [...]}, without "name" when name is NULL; NULL
 * when an argument is not UTF-8.
 */
static json_t *
vm_body(const char *name, const struct ctl_args *a)
{
	json_t *body, *addrs;

	body = json_object();
	addrs = json_array();
	if ((name != NULL && json_object_set_new(body, VTAPI_F_NAME,
	    json_string(name))) ||
	    json_object_set_new(body, VTAPI_F_ADDRESSES, addrs)) {
		json_decref(body);
		return NULL;
	}
	for (size_t i = 0; i < a->naddrs; i++) {
		if (json_array_append_new(addrs, json_string(a->addrs[i]))) {
			json_decref(body);
			return NULL;
		}
	}
	return body;
}

static void
vm_row(struct ctl_output_table *tbl, const json_t *vm)
{
	char *addrs, *tokens;
	const char *cells[VM_NCOLS];

	addrs = ctl_output_join(json_object_get(vm, VTAPI_F_ADDRESSES), ",");
	tokens = ctl_output_join(json_object_get(vm, VTAPI_F_TOKENS), ",");
	cells[0] = ctl_output_str(vm, VTAPI_F_ID);
	cells[1] = ctl_output_str(vm, VTAPI_F_NAME);
	cells[2] = addrs;
	cells[3] = tokens;
	ctl_output_table_add(tbl, cells);
	free(addrs);
	free(tokens);
}

/* key: value lines for one VM. */
static void
vm_print(FILE *f, const json_t *vm)
{
	struct ctl_output_table *kv = ctl_output_table_new(NULL, 2);
	char *addrs, *tokens;

	addrs = ctl_output_join(json_object_get(vm, VTAPI_F_ADDRESSES), ", ");
	tokens = ctl_output_join(json_object_get(vm, VTAPI_F_TOKENS), ", ");
	ctl_output_table_kv(kv, "id", ctl_output_str(vm, VTAPI_F_ID));
	ctl_output_table_kv(kv, "name", ctl_output_str(vm, VTAPI_F_NAME));
	ctl_output_table_kv(kv, "addresses", addrs);
	ctl_output_table_kv(kv, "created", ctl_output_str(vm, VTAPI_F_CREATED));
	ctl_output_table_kv(kv, "tokens", tokens);
	ctl_agent_facts_kv(kv, vm);
	ctl_output_table_print(kv, f);
	ctl_output_table_free(kv);
	free(addrs);
	free(tokens);
}

enum ctl_status
ctl_vm_add(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res = { .json = NULL };
	enum ctl_status st = CTL_FAIL;
	json_t *body;

	if ((body = vm_body(a->argv[0], a)) == NULL) {
		ctl_output_error("vm add: arguments must be UTF-8");
		return CTL_USAGE;
	}
	if (ctl_http_call(ctx->http, "POST", VTAPI_VMS, body, &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON)
		st = ctl_output_json(ctx->out, res.json, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	else {
		ctl_output_line(ctx->out, "vm %s added: id %s",
		    ctl_output_str(res.json, VTAPI_F_NAME),
		    ctl_output_str(res.json, VTAPI_F_ID));
		st = CTL_OK;
	}
	json_decref(body);
	ctl_http_result_clear(&res);
	return st;
}

enum ctl_status
ctl_vm_list(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	static const struct ctl_list_spec spec = {
		.path = VTAPI_VMS, .key = VTAPI_F_VMS, .cols = vm_cols,
		.ncols = VM_NCOLS, .row = vm_row,
	};

	(void)a;
	return ctl_list(ctx, &spec);
}

enum ctl_status
ctl_vm_show(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	return ctl_show(ctx, "GET", VTAPI_VMS, a->argv[0], NULL, vm_print);
}

enum ctl_status
ctl_vm_rm(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	return ctl_delete(ctx, VTAPI_VMS, a->argv[0], "vm", "deleted");
}

/* PATCH: the VM's addresses replaced; then the VM as "vm show" shows it. */
enum ctl_status
ctl_vm_set_addresses(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	enum ctl_status st;
	json_t *body;

	if ((body = vm_body(NULL, a)) == NULL) {
		ctl_output_error("vm set-addresses: arguments must be UTF-8");
		return CTL_USAGE;
	}
	st = ctl_show(ctx, "PATCH", VTAPI_VMS, a->argv[0], body, vm_print);
	json_decref(body);
	return st;
}
