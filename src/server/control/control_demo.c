/*
 * control_demo: the demo token of the embedded default (vtokend --demo):
 * a token "demo" assigned to a VM "local" at 127.0.0.1, each made when
 * missing, through the same controller calls the API uses, so that it is
 * audited like any other change.  The steps run one after the other as
 * each change commits.
 */
#include <stdlib.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"

struct control_demo {
	struct control *ctl;
	control_done_fn *done;
	void *arg;
};

static void control_demo_step(void *arg, const struct vt_error *err,
    const char *id);

static void
control_demo_finish(struct control_demo *d, const struct vt_error *err)
{
	struct control_token *tok = control_token_find(d->ctl, "demo");

	if (err != NULL)
		log_error("demo setup: %s", err->msg);
	d->done(d->arg, err, err == NULL && tok != NULL ? tok->id : NULL);
	free(d);
}

/* Takes the next step that is still missing; the last one finishes. */
static void
control_demo_step(void *arg, const struct vt_error *err, const char *id)
{
	static const char *const addrs[] = { "127.0.0.1" };
	struct control_demo *d = arg;
	struct control *ctl = d->ctl;
	struct control_token *tok = control_token_find(ctl, "demo");
	struct control_vm *vm = control_vm_find(ctl, "local");
	struct vt_error e;
	int r = 0;

	(void)id;
	if (err != NULL) {
		control_demo_finish(d, err);
		return;
	}
	if (tok == NULL)
		r = control_token_create(ctl, "system", "demo",
		    CONTROL_TOKEN_SIZE_DEFAULT, true, control_demo_step, d, &e);
	else if (vm == NULL)
		r = control_vm_add(ctl, "system", "local", addrs, 1,
		    control_demo_step, d, &e);
	else if (tok->vm == NULL)
		r = control_assign(ctl, "system", tok, vm, control_demo_step, d,
		    &e);
	else {
		control_demo_finish(d, NULL);
		return;
	}
	if (r < 0)
		control_demo_finish(d, &e);
}

void
control_demo_setup(struct control *ctl, control_done_fn *done, void *arg)
{
	struct control_demo *d = xcalloc(1, sizeof(*d));

	d->ctl = ctl;
	d->done = done;
	d->arg = arg;
	control_demo_step(d, NULL, NULL);
}
