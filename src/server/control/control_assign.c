/*
 * control_assign: assigning a token to a VM and revoking it.  A revoke is
 * durable (store commit) before the live session is cut, and the cut is
 * immediate: applying the revoke detaches the device at once on this
 * node and, through the change feed, on the node that holds the session;
 * the connection closes on that node's next loop turn.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"

struct control_assignop {
	struct control_op op;
	bool revoke;
	struct store_assignment row;	/* assign */
	char token_name[STORE_NAME_MAX + 1];
	char vm_name[STORE_NAME_MAX + 1];
	bool was_revoked;		/* assign: clear the flag */
	bool attached;			/* revoke: for the record */
};

static int
control_assign_body(struct store *st, void *arg)
{
	struct control_assignop *a = arg;
	char subject[64];
	json_t *detail;
	int r;

	if (a->revoke)
		r = control_revoke_rows_run(st, a->op.node, a->op.actor,
		    a->op.id, a->attached, a->row.vm_id);
	else {
		r = store_assignment_insert(st, &a->row);
		if (r == 0 && a->was_revoked)
			r = store_token_set_revoked(st, a->op.id, false);
		snprintf(subject, sizeof(subject), "token:%s", a->op.id);
		detail = json_pack("{s:s, s:s, s:s}", "vm", a->row.vm_id,
		    "vm_name", a->vm_name, "token_name", a->token_name);
		if (r == 0)
			r = control_tx_audit_run(st, a->op.node, a->op.actor,
			    "assign", subject, detail);
		json_decref(detail);
	}
	if (r == 0)
		r = control_tx_change_run(st, a->op.node, "token", a->op.id);
	return r;
}

static int
control_assign_run(struct store *st, void *arg)
{
	return control_tx_run(st, control_assign_body, arg);
}

static void
control_assign_done(void *arg, int result, const char *err)
{
	struct control_assignop *a = arg;
	struct control *ctl = a->op.ctl;
	struct control_token *tok;
	struct vt_error e;

	if (control_op_result(ctl, result, err, a->revoke ? "revoke" :
	    "assign", &e) < 0) {
		if (result == STORE_NOTFOUND && a->revoke)
			vt_fail(&e, VT_ENOTFOUND, "token %s is not assigned",
			    a->token_name);
		else if (result == STORE_CONFLICT)
			vt_fail(&e, VT_ECONFLICT, "token %s is already "
			    "assigned; revoke it first", a->token_name);
		control_op_finish(&a->op, &e);
		free(a);
		return;
	}
	if ((tok = control_index_token_id(ctl->ix, a->op.id)) != NULL)
		tok->revoked = a->revoke;
	control_apply_assignment(ctl, a->op.id, a->revoke ? NULL :
	    a->row.vm_id, a->row.created);
	log_info("%s: %s token %s (%s) %s VM %s (%s)", a->op.actor,
	    a->revoke ? "revoked" : "assigned", a->op.id, a->token_name,
	    a->revoke ? "from" : "to", a->row.vm_id, a->vm_name);
	control_op_finish(&a->op, NULL);
	free(a);
}

static struct control_assignop *
control_assignop_new(struct control *ctl, const char *actor,
    const struct control_token *tok, const struct control_vm *vm,
    control_done_fn *done, void *arg)
{
	struct control_assignop *a = xcalloc(1, sizeof(*a));

	control_op_init(&a->op, ctl, actor, done, arg);
	memcpy(a->op.id, tok->id, sizeof(a->op.id));
	memcpy(a->row.token_id, tok->id, sizeof(a->row.token_id));
	memcpy(a->row.vm_id, vm->id, sizeof(a->row.vm_id));
	memcpy(a->token_name, tok->name, sizeof(a->token_name));
	memcpy(a->vm_name, vm->name, sizeof(a->vm_name));
	return a;
}

int
control_assign(struct control *ctl, const char *actor,
    struct control_token *tok, struct control_vm *vm, control_done_fn *done,
    void *arg, struct vt_error *err)
{
	struct control_assignop *a;

	if (tok->vm == vm)
		return vt_fail(err, VT_ECONFLICT, "token %s is already "
		    "assigned to VM %s", tok->name, vm->name);
	if (tok->vm != NULL)
		return vt_fail(err, VT_ECONFLICT, "token %s is assigned to "
		    "VM %s; revoke it first", tok->name, tok->vm->name);
	a = control_assignop_new(ctl, actor, tok, vm, done, arg);
	encode_time(time(NULL), a->row.created);
	a->was_revoked = tok->revoked;
	control_post(ctl, control_assign_run, control_assign_done, a);
	return 0;
}

int
control_revoke(struct control *ctl, const char *actor,
    struct control_token *tok, control_done_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_assignop *a;

	if (tok->vm == NULL)
		return vt_fail(err, VT_ENOTFOUND, "token %s is not assigned",
		    tok->name);
	a = control_assignop_new(ctl, actor, tok, tok->vm, done, arg);
	a->revoke = true;
	a->attached = tok->dev != NULL;
	control_post(ctl, control_assign_run, control_assign_done, a);
	return 0;
}
