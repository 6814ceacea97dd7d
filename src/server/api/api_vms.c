/*
 * api_vms: /v1/vms.
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>

#include "common/xmalloc.h"
#include "server/api/api.h"
#include "server/api/api_decode.h"
#include "server/api/api_view.h"
#include "vtoken/vtapi.h"

static struct control_vm *
api_vm_arg(struct api_req *r)
{
	struct control_vm *vm = control_vm_find(r->ctl, r->arg);

	if (vm == NULL)
		api_reply_error(r, 404, "not_found", "no VM \"%.64s\"",
		    r->arg);
	return vm;
}

/* ?after=NAME&limit=N: VMs in name order. */
void
api_vms_list(struct api_req *r)
{
	struct control_vm **page;
	struct evkeyvalq q;
	long long limit;
	bool more;
	size_t n;
	json_t *arr;

	if (api_query_parse(r, &q) < 0)
		return;
	if (api_query_int(r, &q, "limit", 1, API_PAGE_MAX, API_PAGE_MAX,
	    &limit) < 0) {
		evhttp_clear_headers(&q);
		return;
	}
	page = xcalloc((size_t)limit, sizeof(*page));
	n = control_vms_page(r->ctl, evhttp_find_header(&q, "after"), page,
	    (size_t)limit, &more);
	evhttp_clear_headers(&q);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, api_view_vm(r->ctl, page[i]));
	api_reply_json(r, 200, json_pack("{s:o, s:s?}", "vms", arr, "next",
	    more ? page[n - 1]->name : NULL));
	free(page);
}

void
api_vms_show(struct api_req *r)
{
	struct control_vm *vm = api_vm_arg(r);
	json_t *o, *policy, *facts;
	bool own;

	if (vm == NULL)
		return;
	/* The one VM's view adds what its agent reported and its policy. */
	o = api_view_vm(r->ctl, vm);
	policy = control_policy_effective(r->ctl, vm, &own);
	json_object_set_new(policy, VTAPI_F_SOURCE, json_string(own ? "vm" :
	    "default"));
	json_object_set_new(o, VTAPI_F_POLICY, policy);
	facts = control_vm_facts(r->ctl, vm);
	json_object_set_new(o, VTAPI_F_FACTS, facts != NULL ? facts :
	    json_null());
	api_reply_json(r, 200, o);
}

/* A change's answer: the VM as it is now (status 201 or 200). */
static void
api_vms_answer(struct api_req *r, int status, const struct vt_error *err,
    const char *id)
{
	struct control_vm *vm;

	if (err != NULL)
		api_reply_vterr(r, err);
	else if ((vm = control_vm_find(r->ctl, id)) == NULL)
		api_reply_error(r, 500, "internal", "the VM is gone");
	else
		api_reply_json(r, status, api_view_vm(r->ctl, vm));
}

static void
api_vms_created(void *arg, const struct vt_error *err, const char *id)
{
	api_vms_answer(arg, 201, err, id);
}

static void
api_vms_updated(void *arg, const struct vt_error *err, const char *id)
{
	api_vms_answer(arg, 200, err, id);
}

void
api_vms_create(struct api_req *r)
{
	struct api_vm_create vc;
	struct vt_error err;
	const char *body;
	char why[512];
	size_t len;

	body = api_body(r, &len);
	if (api_decode_vm_create(body, len, &vc, why, sizeof(why)) < 0)
		api_reply_error(r, 400, "bad_request", "%s", why);
	else if (control_vm_add(r->ctl, r->actor, vc.name,
	    (const char *const *)vc.addrs, vc.naddrs, api_vms_created, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
	api_vm_create_clear(&vc);
}

/* PATCH /v1/vms/{id} {"addresses": [...]}: the VM's new addresses. */
void
api_vms_update(struct api_req *r)
{
	struct control_vm *vm = api_vm_arg(r);
	struct api_vm_create vc;
	struct vt_error err;
	const char *body;
	char why[512];
	size_t len;

	if (vm == NULL)
		return;
	body = api_body(r, &len);
	if (api_decode_vm_update(body, len, &vc, why, sizeof(why)) < 0)
		api_reply_error(r, 400, "bad_request", "%s", why);
	else if (control_vm_set_addresses(r->ctl, r->actor, vm,
	    (const char *const *)vc.addrs, vc.naddrs, api_vms_updated, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
	api_vm_create_clear(&vc);
}

void
api_vms_delete(struct api_req *r)
{
	struct control_vm *vm = api_vm_arg(r);
	struct vt_error err;

	if (vm == NULL)
		return;
	if (control_vm_delete(r->ctl, r->actor, vm, api_reply_done, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
}
