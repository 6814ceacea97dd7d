/*
 * store: the controller's durable state.  Callers use the store_*()
 * front below, never the backend's ops table: the front is the one place
 * for tracing, counters and transaction checks, and one file per backend
 * (store_sqlite.c; a PostgreSQL backend plugs in the same way) fills the
 * table.  Callers never see SQL.
 *
 * Every state change runs inside store_begin()/store_commit() together
 * with its audit record (control_audit_append), so a change and its
 * record are durable together or not at all; a write outside a
 * transaction is refused (STORE_ERR, "not in a transaction").  Reads may
 * run outside a transaction.
 *
 * Return values: 0 ok, STORE_ERR (-1) failure with store_error() text,
 * STORE_CONFLICT (-2) a uniqueness violation, STORE_NOTFOUND (-3) no row.
 * Rows passed to callbacks are valid only during the callback.
 */
#ifndef VTOKEN_STORE_H
#define VTOKEN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ERR	(-1)
#define STORE_CONFLICT	(-2)
#define STORE_NOTFOUND	(-3)

#define STORE_ID_LEN	16	/* hex digits */
#define STORE_NAME_MAX	64
#define STORE_TIME_LEN	20	/* 2026-11-26T21:00:00Z */
#define STORE_HASH_HEX	64

struct store_token {
	char id[STORE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	unsigned port;			/* busid 1-port */
	uint64_t size;
	bool writable;
	uint8_t public_key[32];		/* raw Ed25519 */
	char created[STORE_TIME_LEN + 1];
	bool revoked;			/* revoked and not assigned since */
};

struct store_vm {
	char id[STORE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	const char *addresses;		/* space-separated canonical CIDRs */
	char created[STORE_TIME_LEN + 1];
};

struct store_assignment {
	char token_id[STORE_ID_LEN + 1];
	char vm_id[STORE_ID_LEN + 1];
	char created[STORE_TIME_LEN + 1];
};

struct store_session {
	char token_id[STORE_ID_LEN + 1];
	const char *peer;
	const char *host;		/* which vtokend serves it */
	char since[STORE_TIME_LEN + 1];
};

struct store_audit {
	int64_t seq;
	char time[STORE_TIME_LEN + 1];
	const char *actor;
	const char *action;
	const char *subject;
	const char *detail;		/* canonical JSON object */
	char prev_hash[STORE_HASH_HEX + 1];
	char hash[STORE_HASH_HEX + 1];
};

struct store_apikey {
	char id[STORE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	uint8_t key_hash[32];		/* SHA-256 of the key */
	const char *role;
	char created[STORE_TIME_LEN + 1];
};

struct store;

typedef int store_token_cb(void *arg, const struct store_token *row);
typedef int store_vm_cb(void *arg, const struct store_vm *row);
typedef int store_assignment_cb(void *arg, const struct store_assignment *);
typedef int store_audit_cb(void *arg, const struct store_audit *row);
typedef int store_apikey_cb(void *arg, const struct store_apikey *row);

struct store_ops {
	const char *name;
	int (*open)(struct store *st, const char *location);
	void (*close)(struct store *st);
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	void (*rollback)(struct store *st);

	int (*token_insert)(struct store *, const struct store_token *);
	int (*token_delete)(struct store *, const char *id);
	int (*token_foreach)(struct store *, store_token_cb *, void *);
	int (*token_set_revoked)(struct store *, const char *id,
	    bool revoked);
	int (*vm_insert)(struct store *, const struct store_vm *);
	int (*vm_delete)(struct store *, const char *id);
	int (*vm_foreach)(struct store *, store_vm_cb *, void *);
	int (*assignment_insert)(struct store *,
	    const struct store_assignment *);
	int (*assignment_delete)(struct store *, const char *token_id);
	int (*assignment_foreach)(struct store *, store_assignment_cb *,
	    void *);
	int (*session_insert)(struct store *, const struct store_session *);
	int (*session_delete)(struct store *, const char *token_id);
	int (*session_clear)(struct store *, const char *host);
	/* Newest record: seq 0 and an all-zero hash when the log is empty. */
	int (*audit_last)(struct store *, int64_t *seq,
	    char hash[STORE_HASH_HEX + 1]);
	int (*audit_insert)(struct store *, const struct store_audit *);
	/* Records with seq > after, ascending, at most limit (0: all). */
	int (*audit_foreach)(struct store *, int64_t after, unsigned limit,
	    store_audit_cb *, void *);
	int (*apikey_insert)(struct store *, const struct store_apikey *);
	int (*apikey_foreach)(struct store *, store_apikey_cb *, void *);
};

/* What the front counts (for /metrics and the tests). */
struct store_stats {
	unsigned long long ops;			/* calls through the front */
	unsigned long long errors;		/* of them failed (not NOTFOUND) */
	unsigned long long commits, rollbacks;
};

struct store {
	const struct store_ops *ops;	/* the backend; store.c only */
	void *impl;			/* backend state */
	bool in_tx;			/* between begin and commit/rollback */
	struct store_stats stats;
	char err[256];			/* last error text */
};

/*
 * Opens the backend named by `backend` ("sqlite") at location (a file
 * path for SQLite), creating or migrating the schema.  NULL with *cause
 * (allocated) on failure.
 */
struct store *store_open(const char *backend, const char *location,
    char **cause);
void store_close(struct store *st);
/* The text of the last failure. */
const char *store_error(const struct store *st);

/* Transactions: begin may not nest; commit and rollback end it. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* Writes (inside a transaction). */
int store_token_insert(struct store *st, const struct store_token *t);
int store_token_delete(struct store *st, const char *id);
int store_token_set_revoked(struct store *st, const char *id, bool revoked);
int store_vm_insert(struct store *st, const struct store_vm *v);
int store_vm_delete(struct store *st, const char *id);
int store_assignment_insert(struct store *st,
    const struct store_assignment *a);
int store_assignment_delete(struct store *st, const char *token_id);
int store_session_insert(struct store *st, const struct store_session *s);
int store_session_delete(struct store *st, const char *token_id);
int store_session_clear(struct store *st, const char *host);
int store_audit_insert(struct store *st, const struct store_audit *a);
int store_apikey_insert(struct store *st, const struct store_apikey *k);

/* Reads. */
int store_token_foreach(struct store *st, store_token_cb *cb, void *arg);
int store_vm_foreach(struct store *st, store_vm_cb *cb, void *arg);
int store_assignment_foreach(struct store *st, store_assignment_cb *cb,
    void *arg);
int store_audit_last(struct store *st, int64_t *seq,
    char hash[STORE_HASH_HEX + 1]);
int store_audit_foreach(struct store *st, int64_t after, unsigned limit,
    store_audit_cb *cb, void *arg);
int store_apikey_foreach(struct store *st, store_apikey_cb *cb, void *arg);

extern const struct store_ops store_sqlite_ops;

#endif
