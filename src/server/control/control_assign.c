/*
 * control_assign: assigning a token to a VM and revoking it.  A revoke is
 * durable (store commit) before the live session is cut, and the cut is
 * immediate: the device is detached before control_revoke returns and the
 * connection closes on the next loop turn.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/control/control_audit.h"
#include "server/control/control_impl.h"
#include "server/export/export.h"

void
control_link(struct control_token *tok, struct control_vm *vm, const char *when)
{
	tok->vm = vm;
	snprintf(tok->assigned, sizeof(tok->assigned), "%s", when);
	vm->ntokens++;
}

void
control_unlink(struct control_token *tok)
{
	if (tok->vm != NULL)
		tok->vm->ntokens--;
	tok->vm = NULL;
	tok->assigned[0] = '\0';
}

bool
control_token_attached(const struct control_token *tok)
{
	return tok->dev != NULL && tok->dev->session != NULL;
}

void
control_kick(struct control_token *tok, const char *why)
{
	if (control_token_attached(tok))
		export_session_kick(tok->dev->session, why);
}

int
control_revoke_tx(struct control *ctl, const char *actor, struct control_token *tok)
{
	struct store *st = ctl->store;
	char subject[64];
	json_t *detail;
	int r;

	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	detail = json_pack("{s:s, s:s, s:b}", "vm", tok->vm->id, "vm_name",
	    tok->vm->name, "attached", control_token_attached(tok));
	r = store_assignment_delete(st, tok->id);
	if (r == 0)
		r = store_token_set_revoked(st, tok->id, true);
	return control_tx_audit(ctl, r, actor, "revoke", subject, detail);
}

int
control_assign(struct control *ctl, const char *actor, struct control_token *tok,
    struct control_vm *vm, struct vt_error *err)
{
	struct store *st = ctl->store;
	struct store_assignment row;
	char subject[64];
	json_t *detail;
	int r;

	if (tok->vm == vm)
		return vt_fail(err, VT_ECONFLICT, "token %s is already "
		    "assigned to VM %s", tok->name, vm->name);
	if (tok->vm != NULL)
		return vt_fail(err, VT_ECONFLICT, "token %s is assigned to "
		    "VM %s; revoke it first", tok->name, tok->vm->name);
	memset(&row, 0, sizeof(row));
	snprintf(row.token_id, sizeof(row.token_id), "%s", tok->id);
	snprintf(row.vm_id, sizeof(row.vm_id), "%s", vm->id);
	encode_time(time(NULL), row.created);
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	detail = json_pack("{s:s, s:s, s:s}", "vm", vm->id, "vm_name",
	    vm->name, "token_name", tok->name);
	r = store_begin(st);
	if (r == 0)
		r = store_assignment_insert(st, &row);
	if (r == 0 && tok->revoked)
		r = store_token_set_revoked(st, tok->id, false);
	r = control_tx_audit(ctl, r, actor, "assign", subject, detail);
	r = control_tx_end(ctl, r, "assign", tok->id);
	if (r < 0)
		return vt_fail(err, r == STORE_CONFLICT ? VT_ECONFLICT :
		    VT_EINTERNAL, "cannot store the assignment");
	control_link(tok, vm, row.created);
	tok->revoked = false;
	log_info("%s: assigned token %s (%s) to VM %s (%s)", actor, tok->id,
	    tok->name, vm->id, vm->name);
	return 0;
}

int
control_revoke(struct control *ctl, const char *actor, struct control_token *tok,
    struct vt_error *err)
{
	struct store *st = ctl->store;
	int r;

	if (tok->vm == NULL)
		return vt_fail(err, VT_ENOTFOUND, "token %s is not assigned",
		    tok->name);
	r = store_begin(st);
	if (r == 0)
		r = control_revoke_tx(ctl, actor, tok);
	if (control_tx_end(ctl, r, "revoke", tok->id) < 0)
		return vt_fail(err, VT_EINTERNAL, "cannot store the revoke");
	log_info("%s: revoked token %s (%s) from VM %s (%s)", actor, tok->id,
	    tok->name, tok->vm->id, tok->vm->name);
	control_unlink(tok);
	tok->revoked = true;
	control_kick(tok, "token revoked");
	return 0;
}
