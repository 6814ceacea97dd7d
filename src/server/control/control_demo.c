/*
 * control_demo: the demo token of the embedded default (vtokend --demo), made
 * through the same controller calls as the API uses, so it is audited
 * like any other change.
 */
#include "common/log.h"
#include "server/control/control.h"

struct control_token *
control_demo_setup(struct control *ctl)
{
	static const char *const addrs[] = { "127.0.0.1" };
	struct control_token *tok = control_token_find(ctl, "demo");
	struct control_vm *vm = control_vm_find(ctl, "local");
	struct vt_error err;

	if (tok == NULL && control_token_create(ctl, "system", "demo",
	    CONTROL_TOKEN_SIZE_DEFAULT, true, &tok, &err) < 0)
		goto fail;
	if (vm == NULL && control_vm_add(ctl, "system", "local", addrs, 1, &vm,
	    &err) < 0)
		goto fail;
	if (tok->vm == NULL && control_assign(ctl, "system", tok, vm, &err) < 0)
		goto fail;
	return tok;
fail:
	log_error("demo setup: %s", err.msg);
	return NULL;
}
