/*
 * control_vm: VMs and their source-address ACLs: adding, readdressing
 * and deleting a VM (deleting revokes its tokens in the same
 * transaction).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "common/xmalloc.h"
#include "server/control/control_audit.h"
#include "server/control/control_impl.h"

struct control_acl *
control_acl_parse(const char *const *addrs, size_t n, struct vt_error *err)
{
	struct control_acl *acl;
	const char *why;

	if (n == 0 || n > CONTROL_VM_MAX_ADDRS) {
		vt_fail(err, VT_EINVAL, "a VM needs 1 to %d addresses",
		    CONTROL_VM_MAX_ADDRS);
		return NULL;
	}
	acl = xcalloc(1, sizeof(*acl) + n * sizeof(acl->cidr[0]));
	for (size_t i = 0; i < n; i++) {
		struct netaddr_cidr c;
		bool dup = false;

		if (netaddr_cidr_parse(addrs[i], &c, &why) < 0) {
			vt_fail(err, VT_EINVAL, "address \"%.64s\": %s",
			    addrs[i], why);
			free(acl);
			return NULL;
		}
		for (size_t j = 0; j < acl->n; j++)
			dup |= memcmp(&acl->cidr[j], &c, sizeof(c)) == 0;
		if (!dup)
			acl->cidr[acl->n++] = c;
	}
	return acl;
}

char *
control_acl_text(const struct control_acl *acl)
{
	size_t cap = acl->n * 64 + 1, len = 0;
	char *s = xmalloc(cap);

	s[0] = '\0';
	for (size_t i = 0; i < acl->n; i++) {
		char one[64];

		netaddr_cidr_format(&acl->cidr[i], one, sizeof(one));
		len += (size_t)snprintf(s + len, cap - len, "%s%s",
		    i ? " " : "", one);
	}
	return s;
}

struct control_acl *
control_acl_from_text(const char *text, struct vt_error *err)
{
	char *copy = xstrdup(text), *save = NULL, *tok;
	const char *addrs[CONTROL_VM_MAX_ADDRS];
	struct control_acl *acl;
	size_t n = 0;

	for (tok = strtok_r(copy, " ", &save); tok != NULL && n <
	    CONTROL_VM_MAX_ADDRS; tok = strtok_r(NULL, " ", &save))
		addrs[n++] = tok;
	acl = control_acl_parse(addrs, n, err);
	free(copy);
	return acl;
}

/* A VM change: the row to write and apply, and its audit record. */
struct control_vmop {
	struct control_op op;
	struct store_vm row;
	char *addresses;		/* row.addresses, owned */
	char *old_addresses;		/* set-addresses: what it was */
	const char *action;		/* "vm.add", "vm.update", "vm.delete" */
	size_t ntok, cap;		/* delete: the tokens it had */
	struct control_vm_tok {
		char id[ENCODE_ID_LEN + 1];
		bool attached;
	} *tok;
	size_t nlocal;			/* delete: its tokens attached here */
	char (*local)[ENCODE_ID_LEN + 1];
};

static void
control_vmop_free(struct control_vmop *v)
{
	free(v->addresses);
	free(v->old_addresses);
	free(v->tok);
	free(v->local);
	free(v);
}

/* Store thread: a token of the VM being deleted, as the store has it. */
static int
control_vmop_token(void *arg, const struct store_assignment *a)
{
	struct control_vmop *v = arg;
	struct control_vm_tok *t;

	if (v->ntok == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->tok = xreallocarray(v->tok, v->cap, sizeof(*v->tok));
	}
	t = &v->tok[v->ntok++];
	memset(t, 0, sizeof(*t));
	memcpy(t->id, a->token_id, sizeof(t->id));
	for (size_t i = 0; i < v->nlocal; i++)
		t->attached |= strcmp(v->local[i], t->id) == 0;
	return 0;
}

/* Store thread: revokes every token of the VM, then deletes it. */
static int
control_vmop_delete(struct store *st, struct control_vmop *v)
{
	int r = store_assignment_foreach(st, v->row.id, control_vmop_token, v);

	for (size_t i = 0; r == 0 && i < v->ntok; i++) {
		r = control_revoke_rows_run(st, v->op.node, v->op.actor,
		    v->tok[i].id, v->tok[i].attached, NULL);
		if (r == 0)
			r = control_tx_change_run(st, v->op.node, "token",
			    v->tok[i].id);
	}
	if (r == 0)
		r = store_vm_delete(st, v->row.id);
	/* What its agent reported and its policy go with it. */
	for (size_t i = 0; r == 0 && i < 3; i++)
		r = control_doc_forget_run(st, v->op.node, (const char *[]){
		    CONTROL_DOC_POLICY, CONTROL_DOC_FACTS,
		    CONTROL_DOC_AGENT }[i], v->row.id);
	return r;
}

static int
control_vmop_body(struct store *st, void *arg)
{
	struct control_vmop *v = arg;
	char subject[64];
	json_t *detail = NULL;
	int r = 0;

	snprintf(subject, sizeof(subject), "vm:%s", v->row.id);
	if (strcmp(v->action, "vm.add") == 0) {
		r = store_vm_insert(st, &v->row);
		detail = json_pack("{s:s, s:s}", "name", v->row.name,
		    "addresses", v->addresses);
	} else if (strcmp(v->action, "vm.update") == 0) {
		r = store_vm_set_addresses(st, v->row.id, v->addresses);
		detail = json_pack("{s:s, s:s, s:s}", "name", v->row.name,
		    "addresses", v->addresses, "was", v->old_addresses);
	} else {
		v->ntok = 0;	/* a retried job starts afresh */
		r = control_vmop_delete(st, v);
		detail = json_pack("{s:s}", "name", v->row.name);
	}
	if (r == 0)
		r = control_tx_audit_run(st, v->op.node, v->op.actor,
		    v->action, subject, detail);
	json_decref(detail);
	if (r == 0)
		r = control_tx_change_run(st, v->op.node, "vm", v->row.id);
	return r;
}

static int
control_vmop_run(struct store *st, void *arg)
{
	return control_tx_run(st, control_vmop_body, arg);
}

static void
control_vmop_done(void *arg, int result, const char *err)
{
	struct control_vmop *v = arg;
	struct control *ctl = v->op.ctl;
	struct vt_error e;

	if (control_op_result(ctl, result, err, v->action, &e) < 0) {
		control_op_finish(&v->op, &e);
		control_vmop_free(v);
		return;
	}
	if (strcmp(v->action, "vm.delete") == 0) {
		for (size_t i = 0; i < v->ntok; i++)
			control_apply_assignment(ctl, v->tok[i].id, NULL, NULL);
		control_apply_vm_gone(ctl, v->row.id);
	} else
		control_apply_vm(ctl, &v->row);
	log_info("%s: %s %s (%s)", v->op.actor, v->action, v->row.id,
	    v->row.name);
	control_op_finish(&v->op, NULL);
	control_vmop_free(v);
}

static struct control_vmop *
control_vmop_new(struct control *ctl, const char *actor, const char *action,
    control_done_fn *done, void *arg)
{
	struct control_vmop *v = xcalloc(1, sizeof(*v));

	control_op_init(&v->op, ctl, actor, done, arg);
	v->action = action;
	return v;
}

/*
 * Refuses addresses that overlap another VM's (self excepted): a peer in
 * both would see both VMs' tokens, which is never what an operator means
 * (docs/API.md).  The check runs on this node's replica: two nodes
 * adding overlapping VMs within the change feed's delay both succeed.
 */
static int
control_vm_overlap(struct control *ctl, const struct control_acl *acl,
    const struct control_vm *self, struct vt_error *err)
{
	struct control_vm *vms[256];
	char after[STORE_NAME_MAX + 1] = "", mine[64], theirs[64];
	bool more = true;

	while (more) {
		size_t got = control_index_vms_page(ctl->ix, after[0] ? after :
		    NULL, vms, 256, &more);

		for (size_t i = 0; i < got; i++) {
			const struct control_acl *o = vms[i]->acl;

			for (size_t a = 0; vms[i] != self && a < acl->n; a++)
				for (size_t b = 0; o != NULL && b < o->n; b++) {
					if (!netaddr_cidr_overlap(&acl->cidr[a],
					    &o->cidr[b]))
						continue;
					netaddr_cidr_format(&acl->cidr[a], mine,
					    sizeof(mine));
					netaddr_cidr_format(&o->cidr[b], theirs,
					    sizeof(theirs));
					return vt_fail(err, VT_ECONFLICT,
					    "address %s overlaps VM %s's %s",
					    mine, vms[i]->name, theirs);
				}
		}
		if (got == 0)
			break;
		snprintf(after, sizeof(after), "%s", vms[got - 1]->name);
	}
	return 0;
}

/*
 * Parses addrs into v->addresses (canonical text), refusing overlaps with
 * VMs other than self; 0 or -1 + *err.
 */
static int
control_vmop_addresses(struct control_vmop *v, const char *const *addrs,
    size_t n, const struct control_vm *self, struct vt_error *err)
{
	struct control_acl *acl = control_acl_parse(addrs, n, err);

	if (acl == NULL)
		return -1;
	if (control_vm_overlap(v->op.ctl, acl, self, err) < 0) {
		free(acl);
		return -1;
	}
	v->addresses = control_acl_text(acl);
	v->row.addresses = v->addresses;
	free(acl);
	return 0;
}

int
control_vm_add(struct control *ctl, const char *actor, const char *name,
    const char *const *addrs, size_t n, control_done_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_vmop *v;

	if (!control_name_valid(name))
		return vt_fail(err, VT_EINVAL, "invalid VM name");
	if (control_index_vm_name(ctl->ix, name) != NULL)
		return vt_fail(err, VT_ECONFLICT, "a VM named %s exists",
		    name);
	v = control_vmop_new(ctl, actor, "vm.add", done, arg);
	if (control_vmop_addresses(v, addrs, n, NULL, err) < 0) {
		control_vmop_free(v);
		return -1;
	}
	if (encode_random_id(v->row.id) < 0 ||
	    control_index_vm_id(ctl->ix, v->row.id) != NULL) {
		control_vmop_free(v);
		return vt_fail(err, VT_EINTERNAL, "cannot make an id");
	}
	snprintf(v->row.name, sizeof(v->row.name), "%s", name);
	encode_time(time(NULL), v->row.created);
	memcpy(v->op.id, v->row.id, sizeof(v->op.id));
	control_post(ctl, control_vmop_run, control_vmop_done, v);
	return 0;
}

/* A change of an existing VM. */
static struct control_vmop *
control_vmop_of(struct control *ctl, const char *actor, const char *action,
    const struct control_vm *vm, control_done_fn *done, void *arg)
{
	struct control_vmop *v = control_vmop_new(ctl, actor, action, done,
	    arg);

	memcpy(v->row.id, vm->id, sizeof(v->row.id));
	memcpy(v->row.name, vm->name, sizeof(v->row.name));
	memcpy(v->row.created, vm->created, sizeof(v->row.created));
	memcpy(v->op.id, vm->id, sizeof(v->op.id));
	return v;
}

int
control_vm_set_addresses(struct control *ctl, const char *actor,
    struct control_vm *vm, const char *const *addrs, size_t n,
    control_done_fn *done, void *arg, struct vt_error *err)
{
	struct control_vmop *v = control_vmop_of(ctl, actor, "vm.update", vm,
	    done, arg);

	if (control_vmop_addresses(v, addrs, n, vm, err) < 0) {
		control_vmop_free(v);
		return -1;
	}
	v->old_addresses = control_acl_text(vm->acl);
	control_post(ctl, control_vmop_run, control_vmop_done, v);
	return 0;
}

int
control_vm_delete(struct control *ctl, const char *actor,
    struct control_vm *vm, control_done_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_vmop *v = control_vmop_of(ctl, actor, "vm.delete", vm,
	    done, arg);
	const struct control_token *t;

	(void)err;
	v->local = xcalloc(vm->ntokens ? vm->ntokens : 1, sizeof(*v->local));
	TAILQ_FOREACH(t, &vm->tokens, vm_entry)
		if (t->dev != NULL)
			memcpy(v->local[v->nlocal++], t->id,
			    sizeof(v->local[0]));
	control_post(ctl, control_vmop_run, control_vmop_done, v);
	return 0;
}
