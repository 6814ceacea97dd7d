/*
 * store: the backend front (see store.h).  Every call goes through here:
 * it counts, checks that writes run inside a transaction and that
 * transactions do not nest, and logs failures at debug level (the caller
 * logs what failed once, where it handles it).
 */
#include "server/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cause.h"
#include "common/log.h"
#include "common/xmalloc.h"

static const struct store_ops *const store_backends[] = {
	&store_sqlite_ops,
	&store_pg_ops,
};

struct store *
store_open(const char *backend, const char *location, const char *password,
    char **cause)
{
	const struct store_ops *ops = NULL;
	struct store *st;

	for (size_t i = 0; i < sizeof(store_backends) /
	    sizeof(store_backends[0]); i++)
		if (strcmp(store_backends[i]->name, backend) == 0)
			ops = store_backends[i];
	if (ops == NULL) {
		cause_set(cause, "unknown store backend \"%s\"", backend);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->ops = ops;
	if (ops->open(st, location, password) < 0) {
		/* The location may hold a password: never in a message. */
		cause_set(cause, "%s store: %s", backend, st->err);
		free(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->in_tx)
		st->ops->rollback(st);
	st->ops->close(st);
	explicit_bzero(st->audit_key, sizeof(st->audit_key));
	free(st);
}

void
store_set_audit_key(struct store *st, const uint8_t key[32])
{
	memcpy(st->audit_key, key, sizeof(st->audit_key));
	st->audit_keyed = true;
}

const char *
store_error(const struct store *st)
{
	return st->err;
}

/* Counts a result and traces a failure; returns r. */
static int
store_result(struct store *st, const char *op, int r)
{
	st->stats.ops++;
	if (r == STORE_UNAVAILABLE)
		st->stats.unavailable++;
	if (r < 0 && r != STORE_NOTFOUND) {
		st->stats.errors++;
		log_debug("store %s: %s", op, st->err);
	}
	return r;
}

/* A write needs an open transaction: a change and its audit record. */
static int
store_need_tx(struct store *st, const char *op)
{
	if (st->in_tx)
		return 0;
	snprintf(st->err, sizeof(st->err), "%s: not in a transaction", op);
	return store_result(st, op, STORE_ERR);
}

int
store_ping(struct store *st)
{
	return store_result(st, "ping", st->ops->ping(st));
}

int
store_begin(struct store *st)
{
	int r;

	if (st->in_tx) {
		snprintf(st->err, sizeof(st->err), "begin: a transaction is "
		    "already open");
		return store_result(st, "begin", STORE_ERR);
	}
	r = st->ops->begin(st);
	st->in_tx = r == 0;
	return store_result(st, "begin", r);
}

int
store_commit(struct store *st)
{
	int r;

	if (store_need_tx(st, "commit") < 0)
		return STORE_ERR;
	r = st->ops->commit(st);
	if (r == 0) {
		st->in_tx = false;
		st->stats.commits++;
		st->stats.audit_commits += st->tx_audits;
		st->tx_audits = 0;
	}
	return store_result(st, "commit", r);
}

void
store_rollback(struct store *st)
{
	if (!st->in_tx)
		return;
	st->ops->rollback(st);
	st->in_tx = false;
	st->tx_audits = 0;
	st->stats.rollbacks++;
}

#define STORE_WRITE(name, ...) do {					\
	if (store_need_tx(st, #name) < 0)				\
		return STORE_ERR;					\
	return store_result(st, #name, st->ops->name(st, __VA_ARGS__));	\
} while (0)

#define STORE_READ(name, ...)						\
	return store_result(st, #name, st->ops->name(st, __VA_ARGS__))

int
store_token_insert(struct store *st, const struct store_token *t)
{
	STORE_WRITE(token_insert, t);
}

int
store_token_delete(struct store *st, const char *id)
{
	STORE_WRITE(token_delete, id);
}

int
store_token_set_revoked(struct store *st, const char *id, bool revoked)
{
	STORE_WRITE(token_set_revoked, id, revoked);
}

int
store_block_put(struct store *st, const char *token_id, uint32_t idx,
    const uint8_t *data)
{
	STORE_WRITE(block_put, token_id, idx, data);
}

int
store_vm_insert(struct store *st, const struct store_vm *v)
{
	STORE_WRITE(vm_insert, v);
}

int
store_vm_delete(struct store *st, const char *id)
{
	STORE_WRITE(vm_delete, id);
}

int
store_vm_set_addresses(struct store *st, const char *id,
    const char *addresses)
{
	STORE_WRITE(vm_set_addresses, id, addresses);
}

int
store_assignment_insert(struct store *st, const struct store_assignment *a)
{
	STORE_WRITE(assignment_insert, a);
}

int
store_assignment_delete(struct store *st, const char *token_id)
{
	STORE_WRITE(assignment_delete, token_id);
}

int
store_session_claim(struct store *st, const struct store_session *s,
    unsigned lease_s)
{
	STORE_WRITE(session_claim, s, lease_s);
}

int
store_session_release(struct store *st, const char *token_id,
    const char *node)
{
	STORE_WRITE(session_release, token_id, node);
}

int
store_session_clear(struct store *st, const char *node)
{
	STORE_WRITE(session_clear, node);
}

int
store_session_check(struct store *st, const char *token_id,
    const char *node)
{
	STORE_READ(session_check, token_id, node);
}

int
store_session_report(struct store *st, const struct store_session *s)
{
	STORE_WRITE(session_report, s);
}

int
store_node_upsert(struct store *st, const struct store_node *n)
{
	STORE_WRITE(node_upsert, n);
}

int
store_node_heartbeat(struct store *st, const char *name)
{
	STORE_WRITE(node_heartbeat, name);
}

int
store_node_expire(struct store *st, unsigned lease_s, store_session_cb *cb,
    void *arg)
{
	STORE_WRITE(node_expire, lease_s, cb, arg);
}

int
store_change_insert(struct store *st, const char *kind, const char *key,
    const char *node)
{
	STORE_WRITE(change_insert, kind, key, node);
}

int
store_audit_insert(struct store *st, const struct store_audit *a)
{
	int r;

	if (store_need_tx(st, "audit_insert") < 0)
		return STORE_ERR;
	r = store_result(st, "audit_insert", st->ops->audit_insert(st, a));
	if (r == 0)
		st->tx_audits++;
	return r;
}

int
store_apikey_insert(struct store *st, const struct store_apikey *k)
{
	STORE_WRITE(apikey_insert, k);
}

int
store_apikey_delete(struct store *st, const char *id)
{
	STORE_WRITE(apikey_delete, id);
}

int
store_apikey_set_mac(struct store *st, const char *id, const char *mac)
{
	STORE_WRITE(apikey_set_mac, id, mac);
}

int
store_token_get(struct store *st, const char *id, store_token_cb *cb,
    void *arg)
{
	STORE_READ(token_get, id, cb, arg);
}

int
store_token_foreach(struct store *st, store_token_cb *cb, void *arg)
{
	STORE_READ(token_foreach, cb, arg);
}

int
store_block_foreach(struct store *st, const char *token_id,
    store_block_cb *cb, void *arg)
{
	STORE_READ(block_foreach, token_id, cb, arg);
}

int
store_vm_get(struct store *st, const char *id, store_vm_cb *cb, void *arg)
{
	STORE_READ(vm_get, id, cb, arg);
}

int
store_vm_foreach(struct store *st, store_vm_cb *cb, void *arg)
{
	STORE_READ(vm_foreach, cb, arg);
}

int
store_assignment_foreach(struct store *st, const char *vm_id,
    store_assignment_cb *cb, void *arg)
{
	STORE_READ(assignment_foreach, vm_id, cb, arg);
}

int
store_assignment_get(struct store *st, const char *token_id,
    store_assignment_cb *cb, void *arg)
{
	STORE_READ(assignment_get, token_id, cb, arg);
}

int
store_session_foreach(struct store *st, const char *node, const char *after,
    unsigned limit, store_session_cb *cb, void *arg)
{
	STORE_READ(session_foreach, node, after != NULL ? after : "", limit,
	    cb, arg);
}

int
store_node_foreach(struct store *st, store_node_cb *cb, void *arg)
{
	STORE_READ(node_foreach, cb, arg);
}

int
store_change_last(struct store *st, int64_t *seq)
{
	STORE_READ(change_last, seq);
}

int
store_change_foreach(struct store *st, int64_t after, unsigned limit,
    store_change_cb *cb, void *arg)
{
	STORE_READ(change_foreach, after, limit, cb, arg);
}

int
store_audit_last(struct store *st, int64_t *seq,
    char hash[STORE_HASH_HEX + 1])
{
	STORE_READ(audit_last, seq, hash);
}

int
store_audit_foreach(struct store *st, int64_t after, unsigned limit,
    store_audit_cb *cb, void *arg)
{
	STORE_READ(audit_foreach, after, limit, cb, arg);
}

int
store_apikey_foreach(struct store *st, store_apikey_cb *cb, void *arg)
{
	STORE_READ(apikey_foreach, cb, arg);
}

int
store_alarm_raise(struct store *st, const struct store_alarm *a,
    char id[STORE_ID_LEN + 1], bool *inserted)
{
	STORE_WRITE(alarm_raise, a, id, inserted);
}

int
store_alarm_clear(struct store *st, const char *rule, const char *key,
    const char *when, char id[STORE_ID_LEN + 1])
{
	STORE_WRITE(alarm_clear, rule, key, when, id);
}

int
store_alarm_ack(struct store *st, const char *id, const char *by,
    const char *when)
{
	STORE_WRITE(alarm_ack, id, by, when);
}

int
store_alarm_get(struct store *st, const char *id, store_alarm_cb *cb,
    void *arg)
{
	STORE_READ(alarm_get, id, cb, arg);
}

int
store_alarm_foreach(struct store *st, const char *state, unsigned limit,
    store_alarm_cb *cb, void *arg)
{
	STORE_READ(alarm_foreach, state, limit, cb, arg);
}

int
store_doc_put(struct store *st, const char *kind, const char *key,
    const void *body, size_t len)
{
	STORE_WRITE(doc_put, kind, key, body, len);
}

int
store_doc_delete(struct store *st, const char *kind, const char *key)
{
	STORE_WRITE(doc_delete, kind, key);
}

int
store_doc_get(struct store *st, const char *kind, const char *key,
    store_doc_cb *cb, void *arg)
{
	STORE_READ(doc_get, kind, key, cb, arg);
}

int
store_doc_foreach(struct store *st, const char *kind, store_doc_cb *cb,
    void *arg)
{
	STORE_READ(doc_foreach, kind, cb, arg);
}
