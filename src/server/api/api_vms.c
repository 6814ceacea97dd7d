/*
 * api_vms: /v1/vms.
 */
#include <stdlib.h>

#include "server/api/api.h"
#include "server/api/api_decode.h"
#include "server/api/api_view.h"

static struct control_vm *
api_vm_arg(struct api_req *r)
{
	struct control_vm *vm = control_vm_find(r->ctl, r->arg);

	if (vm == NULL)
		api_reply_error(r, 404, "not_found", "no VM \"%.64s\"",
		    r->arg);
	return vm;
}

void
api_vms_list(struct api_req *r)
{
	json_t *arr = json_array();
	struct control_vm *vm;

	TAILQ_FOREACH(vm, &r->ctl->vms, entry)
		json_array_append_new(arr, api_view_vm(r->ctl, vm));
	api_reply_json(r, 200, json_pack("{s:o}", "vms", arr));
}

void
api_vms_show(struct api_req *r)
{
	struct control_vm *vm = api_vm_arg(r);

	if (vm != NULL)
		api_reply_json(r, 200, api_view_vm(r->ctl, vm));
}

void
api_vms_create(struct api_req *r)
{
	struct api_vm_create vc;
	struct control_vm *vm;
	struct vt_error err;
	const char *body;
	char why[512];
	size_t len;

	body = api_body(r, &len);
	if (api_decode_vm_create(body, len, &vc, why, sizeof(why)) < 0)
		api_reply_error(r, 400, "bad_request", "%s", why);
	else if (control_vm_add(r->ctl, r->actor, vc.name,
	    (const char *const *)vc.addrs, vc.naddrs, &vm, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_json(r, 201, api_view_vm(r->ctl, vm));
	api_vm_create_clear(&vc);
}

void
api_vms_delete(struct api_req *r)
{
	struct control_vm *vm = api_vm_arg(r);
	struct vt_error err;

	if (vm == NULL)
		return;
	if (control_vm_delete(r->ctl, r->actor, vm, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_empty(r, 204);
}
