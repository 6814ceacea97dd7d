/*
 * ctl_assign: assigning a token to a VM and revoking it.  A revoke is
 * durable (store commit) before the live session is cut, and the cut is
 * immediate: the device is detached before ctl_revoke returns and the
 * connection closes on the next loop turn.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/audit.h"
#include "server/ctl_impl.h"
#include "server/usbip_conn.h"

void
ctl_link(struct ctl_token *tok, struct ctl_vm *vm, const char *when)
{
	tok->vm = vm;
	snprintf(tok->assigned, sizeof(tok->assigned), "%s", when);
	vm->ntokens++;
	if (tok->dev != NULL)
		tok->dev->acl = vm->acl;
}

void
ctl_unlink(struct ctl_token *tok)
{
	if (tok->vm != NULL)
		tok->vm->ntokens--;
	tok->vm = NULL;
	tok->assigned[0] = '\0';
	if (tok->dev != NULL)
		tok->dev->acl = NULL;
}

void
ctl_kick(struct ctl_token *tok, const char *why)
{
	if (tok->dev != NULL && tok->dev->session != NULL)
		usbip_conn_kick(tok->dev->session, why);
}

int
ctl_revoke_tx(struct ctl *ctl, const char *actor, struct ctl_token *tok)
{
	struct store *st = ctl->store;
	char subject[64];
	json_t *detail;
	int r;

	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	detail = json_pack("{s:s, s:s, s:b}", "vm", tok->vm->id, "vm_name",
	    tok->vm->name, "attached", tok->dev != NULL &&
	    tok->dev->session != NULL);
	r = st->ops->assignment_delete(st, tok->id);
	if (r == 0)
		r = st->ops->token_set_revoked(st, tok->id, true);
	return ctl_tx_audit(ctl, r, actor, "revoke", subject, detail);
}

int
ctl_assign(struct ctl *ctl, const char *actor, struct ctl_token *tok,
    struct ctl_vm *vm, struct vt_error *err)
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
		r = st->ops->assignment_insert(st, &row);
	if (r == 0 && tok->revoked)
		r = st->ops->token_set_revoked(st, tok->id, false);
	r = ctl_tx_audit(ctl, r, actor, "assign", subject, detail);
	r = ctl_tx_end(ctl, r, "assign", tok->id);
	if (r < 0)
		return vt_fail(err, r == STORE_CONFLICT ? VT_ECONFLICT :
		    VT_EINTERNAL, "cannot store the assignment");
	ctl_link(tok, vm, row.created);
	tok->revoked = false;
	log_info("%s: assigned token %s (%s) to VM %s (%s)", actor, tok->id,
	    tok->name, vm->id, vm->name);
	return 0;
}

int
ctl_revoke(struct ctl *ctl, const char *actor, struct ctl_token *tok,
    struct vt_error *err)
{
	struct store *st = ctl->store;
	int r;

	if (tok->vm == NULL)
		return vt_fail(err, VT_ENOTFOUND, "token %s is not assigned",
		    tok->name);
	r = store_begin(st);
	if (r == 0)
		r = ctl_revoke_tx(ctl, actor, tok);
	if (ctl_tx_end(ctl, r, "revoke", tok->id) < 0)
		return vt_fail(err, VT_EINTERNAL, "cannot store the revoke");
	log_info("%s: revoked token %s (%s) from VM %s (%s)", actor, tok->id,
	    tok->name, tok->vm->id, tok->vm->name);
	ctl_unlink(tok);
	tok->revoked = true;
	ctl_kick(tok, "token revoked");
	return 0;
}
