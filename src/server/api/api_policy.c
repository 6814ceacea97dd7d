/*
 * api_policy: the agents' policies (docs/AGENT.md, "Policy"):
 * GET/PUT /v1/policy (the cluster default) and GET/PUT/DELETE
 * /v1/vms/{id}/policy.  A GET answers the effective policy with its
 * "source"; a PUT takes a whole policy and answers what GET would.
 */
#include <stdio.h>
#include <string.h>

#include "server/api/api.h"
#include "server/api/api_decode.h"
#include "server/control/control.h"
#include "vtoken/vtapi.h"

/* The effective policy of vm (NULL: the default) with its source. */
static json_t *
api_policy_view(struct api_req *r, const struct control_vm *vm)
{
	bool own = false;
	json_t *p = vm != NULL ? control_policy_effective(r->ctl, vm, &own) :
	    control_policy_default(r->ctl);

	json_object_set_new(p, VTAPI_F_SOURCE, json_string(own ? "vm" :
	    "default"));
	return p;
}

static struct control_vm *
api_policy_vm(struct api_req *r)
{
	struct control_vm *vm = control_vm_find(r->ctl, r->arg);

	if (vm == NULL)
		api_reply_error(r, 404, "not_found", "no VM \"%.64s\"",
		    r->arg);
	return vm;
}

/* A change's answer: the policy as it is now. */
static void
api_policy_changed(void *arg, const struct vt_error *err, const char *id)
{
	struct api_req *r = arg;
	struct control_vm *vm;

	if (err != NULL) {
		api_reply_vterr(r, err);
		return;
	}
	if (strcmp(id, CONTROL_POLICY_DEFAULT_KEY) == 0) {
		api_reply_json(r, 200, api_policy_view(r, NULL));
		return;
	}
	vm = control_vm_find(r->ctl, id);
	if (vm == NULL)
		api_reply_error(r, 404, "not_found", "the VM is gone");
	else
		api_reply_json(r, 200, api_policy_view(r, vm));
}

/* PUT for vm (NULL: the default). */
static void
api_policy_put(struct api_req *r, const struct control_vm *vm)
{
	static const char *const fields[] = { VTAPI_F_INTERVAL, VTAPI_F_GRACE,
	    VTAPI_F_ACTION, VTAPI_F_COMMAND, VTAPI_F_SOURCE, NULL };
	struct vt_error err;
	const char *body;
	char why[256];
	json_t *o;
	size_t len;

	body = api_body(r, &len);
	if (api_decode_object(body, len, fields, &o, why, sizeof(why)) < 0) {
		api_reply_error(r, 400, "bad_request", "%s", why);
		return;
	}
	if (control_policy_set(r->ctl, r->actor, vm, o, api_policy_changed, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
	json_decref(o);
}

void
api_policy_default_get(struct api_req *r)
{
	api_reply_json(r, 200, api_policy_view(r, NULL));
}

void
api_policy_default_put(struct api_req *r)
{
	api_policy_put(r, NULL);
}

void
api_policy_vm_get(struct api_req *r)
{
	struct control_vm *vm = api_policy_vm(r);

	if (vm != NULL)
		api_reply_json(r, 200, api_policy_view(r, vm));
}

void
api_policy_vm_put(struct api_req *r)
{
	struct control_vm *vm = api_policy_vm(r);

	if (vm != NULL)
		api_policy_put(r, vm);
}

void
api_policy_vm_delete(struct api_req *r)
{
	struct control_vm *vm = api_policy_vm(r);
	struct vt_error err;

	if (vm == NULL)
		return;
	if (control_policy_clear(r->ctl, r->actor, vm, api_policy_changed, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
}
