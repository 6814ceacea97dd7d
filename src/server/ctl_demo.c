/*
 * ctl_demo: the demo token of the embedded default (vtokend --demo), made
 * through the same controller calls as the API uses, so it is audited
 * like any other change.
 */
#include "common/log.h"
#include "server/ctl.h"

struct ctl_token *
ctl_demo_setup(struct ctl *ctl)
{
	static const char *const addrs[] = { "127.0.0.1" };
	struct ctl_token *tok = ctl_token_find(ctl, "demo");
	struct ctl_vm *vm = ctl_vm_find(ctl, "local");
	struct vt_error err;

	if (tok == NULL && ctl_token_create(ctl, "system", "demo",
	    CTL_TOKEN_SIZE_DEFAULT, true, &tok, &err) < 0)
		goto fail;
	if (vm == NULL && ctl_vm_add(ctl, "system", "local", addrs, 1, &vm,
	    &err) < 0)
		goto fail;
	if (tok->vm == NULL && ctl_assign(ctl, "system", tok, vm, &err) < 0)
		goto fail;
	return tok;
fail:
	log_error("demo setup: %s", err.msg);
	return NULL;
}
