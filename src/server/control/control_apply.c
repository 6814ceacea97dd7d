/*
 * control_apply: makes the replica say what the store says.  Rows come
 * from the start-up load, from this node's own commits and from the
 * change feed; applying one is idempotent.  After each change the access
 * rule is enforced on this node's sessions: a session whose token is no
 * longer visible to its peer (revoked, deleted, its VM deleted or
 * readdressed) is kicked at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"
#include "server/export/export.h"

void
control_kick(struct control *ctl, struct control_token *tok, const char *why)
{
	if (tok->dev != NULL && tok->dev->session != NULL) {
		ctl->stats.kicks++;
		export_session_kick(tok->dev->session, why);
	}
}

void
control_enforce(struct control *ctl, struct control_token *tok,
    const char *why)
{
	const struct export_session *s;

	if (tok->dev == NULL || (s = tok->dev->session) == NULL)
		return;
	if (!control_token_visible(tok, (const struct sockaddr *)&s->peer))
		control_kick(ctl, tok, why);
}

void
control_token_free(struct control_token *tok)
{
	export_device_free(tok->dev);
	free(tok);
}

void
control_vm_free(struct control_vm *vm)
{
	free(vm->acl);
	free(vm);
}

static void
control_link(struct control_token *tok, struct control_vm *vm,
    const char *when)
{
	tok->vm = vm;
	snprintf(tok->assigned, sizeof(tok->assigned), "%s", when);
	TAILQ_INSERT_TAIL(&vm->tokens, tok, vm_entry);
	vm->ntokens++;
}

static void
control_unlink(struct control_token *tok)
{
	if (tok->vm != NULL) {
		TAILQ_REMOVE(&tok->vm->tokens, tok, vm_entry);
		tok->vm->ntokens--;
	}
	tok->vm = NULL;
	tok->assigned[0] = '\0';
}

void
control_apply_token(struct control *ctl, const struct store_token *row)
{
	struct control_token *tok = control_index_token_id(ctl->ix, row->id);

	if (tok != NULL) {
		tok->revoked = row->revoked;	/* the rest never changes */
		return;
	}
	tok = xcalloc(1, sizeof(*tok));
	snprintf(tok->id, sizeof(tok->id), "%s", row->id);
	snprintf(tok->name, sizeof(tok->name), "%s", row->name);
	snprintf(tok->created, sizeof(tok->created), "%s", row->created);
	tok->size = row->size;
	tok->writable = row->writable;
	tok->revoked = row->revoked;
	tok->num = row->num;
	memcpy(tok->public_key, row->public_key, sizeof(tok->public_key));
	if (control_index_token_add(ctl->ix, tok) < 0) {
		log_error("token %s (%s, busid number %u): its name or number "
		    "is another token's in this node's replica", row->id,
		    row->name, row->num);
		free(tok);
		return;
	}
	ctl->ntokens++;
}

void
control_apply_token_gone(struct control *ctl, const char *id)
{
	struct control_token *tok = control_index_token_id(ctl->ix, id);

	if (tok == NULL)
		return;
	control_unlink(tok);
	control_kick(ctl, tok, "token deleted");
	control_flush_detach(ctl, tok);
	control_index_token_remove(ctl->ix, tok);
	ctl->ntokens--;
	if (tok->importing)
		tok->importing = false;	/* the import's end finds it gone */
	control_token_free(tok);
}

void
control_apply_vm(struct control *ctl, const struct store_vm *row)
{
	struct control_vm *vm = control_index_vm_id(ctl->ix, row->id);
	struct control_acl *acl, *old;
	struct control_token *t;
	struct vt_error err;
	char *text;

	if ((acl = control_acl_from_text(row->addresses, &err)) == NULL) {
		log_error("vm %s (%s): %s", row->id, row->name, err.msg);
		return;
	}
	if (vm == NULL) {
		vm = xcalloc(1, sizeof(*vm));
		snprintf(vm->id, sizeof(vm->id), "%s", row->id);
		snprintf(vm->name, sizeof(vm->name), "%s", row->name);
		snprintf(vm->created, sizeof(vm->created), "%s", row->created);
		TAILQ_INIT(&vm->tokens);
		vm->acl = acl;
		if (control_index_vm_add(ctl->ix, vm) < 0) {
			log_error("vm %s (%s): its name is another VM's in "
			    "this node's replica", row->id, row->name);
			control_vm_free(vm);
			return;
		}
		ctl->nvms++;
		return;
	}
	text = control_acl_text(vm->acl);
	if (strcmp(text, row->addresses) == 0) {
		free(text);
		free(acl);
		return;
	}
	free(text);
	old = vm->acl;
	vm->acl = acl;
	control_index_vm_readdress(ctl->ix, vm, old);
	free(old);
	TAILQ_FOREACH(t, &vm->tokens, vm_entry)
		control_enforce(ctl, t, "VM addresses changed");
}

void
control_apply_vm_gone(struct control *ctl, const char *id)
{
	struct control_vm *vm = control_index_vm_id(ctl->ix, id);
	struct control_token *t;

	if (vm == NULL)
		return;
	while ((t = TAILQ_FIRST(&vm->tokens)) != NULL) {
		control_unlink(t);
		t->revoked = true;
		control_kick(ctl, t, "VM deleted");
	}
	control_index_vm_remove(ctl->ix, vm);
	ctl->nvms--;
	/* Its documents went in the same transaction (control_vm.c). */
	json_object_del(ctl->agent_seen, id);	/* NULL: nothing */
	control_doc_set_local(ctl, CONTROL_DOC_POLICY, id, NULL);
	control_doc_set_local(ctl, CONTROL_DOC_FACTS, id, NULL);
	control_doc_set_local(ctl, CONTROL_DOC_AGENT, id, NULL);
	control_vm_free(vm);
}

void
control_apply_assignment(struct control *ctl, const char *token_id,
    const char *vm_id, const char *created)
{
	struct control_token *tok = control_index_token_id(ctl->ix, token_id);
	struct control_vm *vm = NULL;

	if (tok == NULL)
		return;
	if (vm_id != NULL &&
	    (vm = control_index_vm_id(ctl->ix, vm_id)) == NULL) {
		log_error("assignment %s -> %s: unknown VM", token_id, vm_id);
		return;
	}
	if (tok->vm != vm) {
		control_unlink(tok);
		if (vm != NULL)
			control_link(tok, vm, created != NULL ? created : "");
	}
	control_enforce(ctl, tok, vm == NULL ? "token revoked" :
	    "token assigned elsewhere");
}
