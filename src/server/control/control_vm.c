/*
 * control_vm: VMs and their source-address ACLs.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_audit.h"
#include "server/control/control_impl.h"

/* Parses n address strings into a new ACL (canonical, duplicates out). */
static struct control_acl *
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

/* Space-separated canonical text of an ACL; the caller frees it. */
static char *
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

struct control_vm *
control_vm_from_row(const struct store_vm *row, struct vt_error *err)
{
	char *copy = xstrdup(row->addresses), *save = NULL, *tok;
	const char *addrs[CONTROL_VM_MAX_ADDRS];
	size_t n = 0;
	struct control_vm *vm;
	struct control_acl *acl;

	for (tok = strtok_r(copy, " ", &save); tok != NULL && n <
	    CONTROL_VM_MAX_ADDRS; tok = strtok_r(NULL, " ", &save))
		addrs[n++] = tok;
	acl = control_acl_parse(addrs, n, err);
	free(copy);
	if (acl == NULL)
		return NULL;
	vm = xcalloc(1, sizeof(*vm));
	snprintf(vm->id, sizeof(vm->id), "%s", row->id);
	snprintf(vm->name, sizeof(vm->name), "%s", row->name);
	snprintf(vm->created, sizeof(vm->created), "%s", row->created);
	vm->acl = acl;
	return vm;
}

int
control_vm_add(struct control *ctl, const char *actor, const char *name,
    const char *const *addrs, size_t n, struct control_vm **out,
    struct vt_error *err)
{
	struct store *st = ctl->store;
	struct store_vm row;
	struct control_vm *vm;
	char subject[64], *text;
	json_t *detail;
	int r;

	if (!control_name_valid(name))
		return vt_fail(err, VT_EINVAL, "invalid VM name");
	if (control_vm_find(ctl, name) != NULL)
		return vt_fail(err, VT_ECONFLICT, "a VM named %s exists",
		    name);
	vm = xcalloc(1, sizeof(*vm));
	vm->acl = control_acl_parse(addrs, n, err);
	if (vm->acl == NULL) {
		free(vm);
		return -1;
	}
	if (encode_random_id(vm->id) < 0) {
		free(vm->acl);
		free(vm);
		return vt_fail(err, VT_EINTERNAL, "no randomness");
	}
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	encode_time(time(NULL), vm->created);
	text = control_acl_text(vm->acl);
	memset(&row, 0, sizeof(row));
	memcpy(row.id, vm->id, sizeof(row.id));
	memcpy(row.name, vm->name, sizeof(row.name));
	memcpy(row.created, vm->created, sizeof(row.created));
	row.addresses = text;
	snprintf(subject, sizeof(subject), "vm:%s", vm->id);
	detail = json_pack("{s:s, s:s}", "name", name, "addresses", text);
	r = store_begin(st);
	if (r == 0)
		r = store_vm_insert(st, &row);
	r = control_tx_audit(ctl, r, actor, "vm.add", subject, detail);
	r = control_tx_end(ctl, r, "vm add", name);
	free(text);
	if (r < 0) {
		free(vm->acl);
		free(vm);
		return vt_fail(err, r == STORE_CONFLICT ? VT_ECONFLICT :
		    VT_EINTERNAL, "cannot store the VM");
	}
	TAILQ_INSERT_TAIL(&ctl->vms, vm, entry);
	ctl->nvms++;
	log_info("%s: added VM %s (%s)", actor, vm->id, vm->name);
	*out = vm;
	return 0;
}

int
control_vm_delete(struct control *ctl, const char *actor, struct control_vm *vm,
    struct vt_error *err)
{
	struct store *st = ctl->store;
	struct control_token *t;
	char subject[64];
	json_t *detail;
	int r;

	snprintf(subject, sizeof(subject), "vm:%s", vm->id);
	detail = json_pack("{s:s}", "name", vm->name);
	/* Revokes, the delete and all their records: one transaction. */
	r = store_begin(st);
	TAILQ_FOREACH(t, &ctl->tokens, entry)
		if (r == 0 && t->vm == vm)
			r = control_revoke_tx(ctl, actor, t);
	if (r == 0)
		r = store_vm_delete(st, vm->id);
	r = control_tx_audit(ctl, r, actor, "vm.delete", subject, detail);
	if (control_tx_end(ctl, r, "vm delete", vm->id) < 0)
		return vt_fail(err, VT_EINTERNAL, "cannot delete the VM");
	TAILQ_FOREACH(t, &ctl->tokens, entry) {
		if (t->vm == vm) {
			control_unlink(t);
			t->revoked = true;
			control_kick(t, "VM deleted");
		}
	}
	log_info("%s: deleted VM %s (%s)", actor, vm->id, vm->name);
	TAILQ_REMOVE(&ctl->vms, vm, entry);
	ctl->nvms--;
	free(vm->acl);
	free(vm);
	return 0;
}
