/*
 * control_key_admin: creating and deleting API keys (POST and DELETE
 * /v1/keys), each one transaction with its audit record and a "key" row
 * in the change feed, so that every node of a cluster reloads its keys:
 * a deleted key fails its holder's next request on any node.
 *
 * The secret is made on the event loop, handed to the caller's callback
 * once and wiped; only its hash reaches the store.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"

struct control_keyop {
	struct control_op op;
	struct store_apikey row;
	char role[16];
	char secret[CONTROL_KEY_TEXT_MAX];	/* create only; wiped */
	bool delete;
	control_key_made_fn *made;
};

static void
control_keyop_free(struct control_keyop *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

static int
control_keyop_body(struct store *st, void *arg)
{
	struct control_keyop *k = arg;
	char subject[96];
	json_t *detail;
	int r;

	snprintf(subject, sizeof(subject), "apikey:%s", k->row.name);
	if (k->delete) {
		r = store_apikey_delete(st, k->row.id);
		detail = json_pack("{s:s, s:s}", "id", k->row.id, "role",
		    k->role);
	} else {
		r = st->audit_keyed && control_key_mac(st->audit_key,
		    &k->row, k->row.mac) < 0 ? -1 :
		    store_apikey_insert(st, &k->row);
		detail = json_pack("{s:s, s:s, s:s?}", "id", k->row.id, "role",
		    k->role, "expires", k->row.expires[0] ? k->row.expires :
		    NULL);
	}
	if (r == 0)
		r = control_tx_audit_run(st, k->op.node, k->op.actor,
		    k->delete ? "apikey.delete" : "apikey.create", subject,
		    detail);
	json_decref(detail);
	if (r == 0)
		r = control_tx_change_run(st, k->op.node, "key", k->row.id);
	return r;
}

static int
control_keyop_run(struct store *st, void *arg)
{
	return control_tx_run(st, control_keyop_body, arg);
}

/* Drops the entry with k's id from ctl's set (the feed would, later). */
static void
control_keyop_forget(struct control *ctl, const char *id)
{
	struct control_key_set *set = &ctl->keys;

	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->keys[i].id, id) == 0) {
			OPENSSL_cleanse(&set->keys[i], sizeof(set->keys[i]));
			set->keys[i] = set->keys[--set->n];
			return;
		}
}

static void
control_keyop_done(void *arg, int result, const char *err)
{
	struct control_keyop *k = arg;
	struct control *ctl = k->op.ctl;
	const struct control_key_entry *e = NULL;
	struct vt_error ve;

	if (control_op_result(ctl, result, err, k->delete ? "apikey.delete" :
	    "apikey.create", &ve) < 0) {
		if (k->delete)
			control_op_finish(&k->op, &ve);
		else
			k->made(k->op.arg, &ve, NULL, NULL);
		control_keyop_free(k);
		return;
	}
	log_info("%s: %s %s (%s, role %s)", k->op.actor, k->delete ?
	    "deleted API key" : "created API key", k->row.id, k->row.name,
	    k->role);
	if (k->delete) {
		control_keyop_forget(ctl, k->row.id);
		control_op_finish(&k->op, NULL);
	} else {
		if (control_key_find(&ctl->keys, k->row.id) == NULL)
			(void)control_key_set_add(&ctl->keys, &k->row);
		e = control_key_find(&ctl->keys, k->row.id);
		k->made(k->op.arg, NULL, e, k->secret);
	}
	control_keyop_free(k);
}

int
control_key_create(struct control *ctl, const char *actor, const char *name,
    const char *role, time_t expires, control_key_made_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_keyop *k;

	if (!control_name_valid(name))
		return vt_fail(err, VT_EINVAL, "invalid key name");
	if (control_role_perms(role) == 0)
		return vt_fail(err, VT_EINVAL, "role: one of admin, operator, "
		    "auditor, orchestrator");
	if (expires != 0 && expires <= time(NULL))
		return vt_fail(err, VT_EINVAL, "expires: must be in the "
		    "future");
	if (control_key_find(&ctl->keys, name) != NULL)
		return vt_fail(err, VT_ECONFLICT, "a key named %s exists",
		    name);
	k = xcalloc(1, sizeof(*k));
	control_op_init(&k->op, ctl, actor, NULL, arg);
	k->made = done;
	snprintf(k->role, sizeof(k->role), "%s", role);
	if (control_key_generate(k->secret) < 0 ||
	    encode_random_id(k->row.id) < 0) {
		control_keyop_free(k);
		return vt_fail(err, VT_EINTERNAL, "no randomness");
	}
	snprintf(k->row.name, sizeof(k->row.name), "%s", name);
	k->row.role = k->role;
	encode_time(time(NULL), k->row.created);
	if (expires != 0)
		encode_time(expires, k->row.expires);
	if (control_key_hash(k->secret, strlen(k->secret), k->row.key_hash) <
	    0) {
		control_keyop_free(k);
		return vt_fail(err, VT_EINTERNAL, "cannot hash the key");
	}
	control_post(ctl, control_keyop_run, control_keyop_done, k);
	return 0;
}

/* True when k is the only admin key that has not expired. */
static bool
control_key_last_admin(const struct control *ctl,
    const struct control_key_entry *k)
{
	time_t now = time(NULL);
	size_t admins = 0;

	if (strcmp(k->role, "admin") != 0 || control_key_expired(k, now))
		return false;
	for (size_t i = 0; i < ctl->keys.n; i++)
		admins += strcmp(ctl->keys.keys[i].role, "admin") == 0 &&
		    !control_key_expired(&ctl->keys.keys[i], now);
	return admins == 1;
}

int
control_key_delete(struct control *ctl, const char *actor,
    const char *id_or_name, control_done_fn *done, void *arg,
    struct vt_error *err)
{
	const struct control_key_entry *e = control_key_find(&ctl->keys,
	    id_or_name);
	struct control_keyop *k;

	if (e == NULL)
		return vt_fail(err, VT_ENOTFOUND, "no key \"%.64s\"",
		    id_or_name);
	if (control_key_last_admin(ctl, e))
		return vt_fail(err, VT_ECONFLICT, "%s is the last admin key; "
		    "make another first", e->name);
	k = xcalloc(1, sizeof(*k));
	control_op_init(&k->op, ctl, actor, done, arg);
	k->delete = true;
	memcpy(k->row.id, e->id, sizeof(k->row.id));
	memcpy(k->row.name, e->name, sizeof(k->row.name));
	snprintf(k->role, sizeof(k->role), "%s", e->role);
	k->row.role = k->role;
	memcpy(k->op.id, e->id, sizeof(k->op.id));
	control_post(ctl, control_keyop_run, control_keyop_done, k);
	return 0;
}

/* ---- the change feed: every node's keys follow the store ---- */

int
control_key_reload_run(struct store *st, struct control_key_set *into)
{
	into->mac_key = st->audit_keyed ? st->audit_key : NULL;
	return store_apikey_foreach(st, control_key_set_add, into);
}

void
control_key_reload_apply(struct control *ctl, struct control_key_set *fresh)
{
	control_key_clear(&ctl->keys);
	ctl->keys = *fresh;
	memset(fresh, 0, sizeof(*fresh));
}
