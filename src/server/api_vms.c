/*
 * api_vms: /v1/vms.
 */
#include <stdlib.h>

#include "server/api.h"
#include "server/api_view.h"
#include "server/vtokend.h"

static struct ctl_vm *
api_vm_arg(struct api_req *r)
{
	struct ctl_vm *vm = ctl_vm_find(r->vtd->ctl, r->arg);

	if (vm == NULL)
		api_reply_error(r, 404, "not_found", "no VM \"%.64s\"",
		    r->arg);
	return vm;
}

void
api_vms_list(struct api_req *r)
{
	json_t *arr = json_array();
	struct ctl_vm *vm;

	TAILQ_FOREACH(vm, &r->vtd->ctl->vms, entry)
		json_array_append_new(arr, api_view_vm(r->vtd->ctl, vm));
	api_reply_json(r, 200, json_pack("{s:o}", "vms", arr));
}

void
api_vms_show(struct api_req *r)
{
	struct ctl_vm *vm = api_vm_arg(r);

	if (vm != NULL)
		api_reply_json(r, 200, api_view_vm(r->vtd->ctl, vm));
}

void
api_vms_create(struct api_req *r)
{
	static const char *const fields[] = { "name", "addresses", NULL };
	json_t *body = api_body_object(r, fields), *name, *addrs, *a;
	const char *list[CTL_VM_MAX_ADDRS];
	struct ctl_vm *vm;
	struct vt_error err;
	size_t i;

	if (body == NULL)
		return;
	name = json_object_get(body, "name");
	addrs = json_object_get(body, "addresses");
	if (!json_is_string(name)) {
		api_reply_error(r, 400, "bad_request", "name: a string is "
		    "required");
		goto out;
	}
	if (!json_is_array(addrs) || json_array_size(addrs) == 0 ||
	    json_array_size(addrs) > CTL_VM_MAX_ADDRS) {
		api_reply_error(r, 400, "bad_request", "addresses: a list of "
		    "1 to %d strings is required", CTL_VM_MAX_ADDRS);
		goto out;
	}
	json_array_foreach(addrs, i, a) {
		if (!json_is_string(a)) {
			api_reply_error(r, 400, "bad_request", "addresses[%zu]:"
			    " expected a string", i);
			goto out;
		}
		list[i] = json_string_value(a);
	}
	if (ctl_vm_add(r->vtd->ctl, r->actor, json_string_value(name), list,
	    json_array_size(addrs), &vm, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_json(r, 201, api_view_vm(r->vtd->ctl, vm));
out:
	json_decref(body);
}

void
api_vms_delete(struct api_req *r)
{
	struct ctl_vm *vm = api_vm_arg(r);
	struct vt_error err;

	if (vm == NULL)
		return;
	if (ctl_vm_delete(r->vtd->ctl, r->actor, vm, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_empty(r, 204);
}
