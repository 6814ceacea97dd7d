/*
 * store: the controller's durable state.  Callers use the store_*()
 * front below, never the backend's ops table: the front is the one place
 * for tracing, counters and transaction checks, and one file per backend
 * (store_sqlite.c, store_pg.c) fills the table.  Callers never see SQL.
 *
 * All of it is synchronous and not thread-safe: the daemon calls it from
 * the store worker's thread only (store_worker.h), or before that thread
 * starts.
 *
 * Every state change runs inside store_begin()/store_commit() together
 * with its audit record (control_audit_append), so a change and its
 * record are durable together or not at all; a write outside a
 * transaction is refused (STORE_ERR, "not in a transaction").  Reads may
 * run outside a transaction.
 *
 * What the tables hold (docs/CLUSTER.md has the picture): tokens (their
 * metadata), token_blocks (the non-zero 4 KiB blocks of each token's
 * disk), vms, assignments, sessions (one claim per attached token, with
 * the node that holds it), nodes (each vtokend and its lease), changes
 * (one row per change, the feed other nodes follow), audit (the
 * hash-chained log), api_keys.
 *
 * Return values: 0 ok, STORE_ERR (-1) failure with store_error() text,
 * STORE_CONFLICT (-2) a uniqueness violation (a name, a busy claim),
 * STORE_NOTFOUND (-3) no row (or the row a write refers to is gone), STORE_UNAVAILABLE (-4) the database cannot
 * be reached, STORE_CONFLICT_NUM (-5) a token number already taken.
 * Rows passed to callbacks are valid only during the callback; a
 * callback returning non-zero stops the walk and that value is returned.
 */
#ifndef VTOKEN_STORE_H
#define VTOKEN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ERR		(-1)
#define STORE_CONFLICT		(-2)
#define STORE_NOTFOUND		(-3)
#define STORE_UNAVAILABLE	(-4)
#define STORE_CONFLICT_NUM	(-5)

#define STORE_ID_LEN	16	/* hex digits */
#define STORE_NAME_MAX	64
#define STORE_TIME_LEN	20	/* 2026-11-26T21:00:00Z */
#define STORE_HASH_HEX	64
#define STORE_BLOCK_SIZE	4096

struct store_token {
	char id[STORE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	uint32_t num;			/* busid number, see control_num.h */
	uint64_t size;
	bool writable;
	uint8_t public_key[32];		/* raw Ed25519 */
	char created[STORE_TIME_LEN + 1];
	bool revoked;			/* revoked and not assigned since */
};

/* One non-zero block of a token's disk. */
struct store_block {
	uint32_t idx;			/* byte offset / STORE_BLOCK_SIZE */
	const uint8_t *data;		/* STORE_BLOCK_SIZE bytes */
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

/* A claim: token_id is attached through node. */
struct store_session {
	char token_id[STORE_ID_LEN + 1];
	char vm_id[STORE_ID_LEN + 1];	/* the assignment it was made for */
	const char *node;
	const char *peer;
	char since[STORE_TIME_LEN + 1];
	uint64_t bytes_in, bytes_out;	/* as of the node's last report */
};

struct store_node {
	const char *name;
	const char *usbip;		/* USB/IP listen address */
	const char *api;		/* REST API listen address */
	const char *version;
	char started[STORE_TIME_LEN + 1];
	char heartbeat[STORE_TIME_LEN + 1];
	int64_t age;			/* seconds since the heartbeat */
	unsigned sessions;		/* claims it holds */
};

struct store_change {
	int64_t seq;
	const char *kind;		/* "token" (also its assignment), "vm", "key" */
	const char *key;		/* the id */
	const char *node;		/* who made it */
};

struct store_audit {
	int64_t seq;
	char time[STORE_TIME_LEN + 1];
	const char *actor;
	const char *action;
	const char *subject;
	const char *detail;		/* canonical JSON object */
	const char *node;		/* writer; NULL for records before v3 */
	char prev_hash[STORE_HASH_HEX + 1];
	char hash[STORE_HASH_HEX + 1];
};

struct store_apikey {
	char id[STORE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	uint8_t key_hash[32];		/* SHA-256 of the key */
	const char *role;
	char created[STORE_TIME_LEN + 1];
	char expires[STORE_TIME_LEN + 1];	/* "" for never */
	char mac[STORE_HASH_HEX + 1];	/* under the audit key; "" none */
};

/*
 * An alarm: one active row per (rule, key) at a time, then cleared rows
 * as history.  key says what it is about (a token id, an address, a
 * node; "" for the whole system).
 */
struct store_alarm {
	char id[STORE_ID_LEN + 1];
	const char *rule;
	const char *key;
	const char *severity;		/* "critical", "warning", "info" */
	const char *state;		/* "active", "cleared" */
	const char *message;
	int64_t count;			/* matching events while active */
	char first_seen[STORE_TIME_LEN + 1];
	char last_seen[STORE_TIME_LEN + 1];
	char cleared[STORE_TIME_LEN + 1];	/* "" while active */
	const char *acked_by;		/* "" until acknowledged */
	char acked_at[STORE_TIME_LEN + 1];
	const char *node;		/* the node that raised it */
};

/*
 * A document: a small blob (JSON, or a release artifact) named by kind
 * and key, for state that needs no query beyond "this one" or "all of a
 * kind": agent policies, the facts VMs report, releases, the rollout
 * (server/control/control_doc.c).  updated is when it was last put.
 */
#define STORE_DOC_KIND_MAX	16
#define STORE_DOC_KEY_MAX	80
struct store_doc {
	const char *kind;
	const char *key;
	const uint8_t *body;		/* len bytes, borrowed for the call */
	size_t len;
	char updated[STORE_TIME_LEN + 1];
};

struct store;

typedef int store_token_cb(void *arg, const struct store_token *row);
typedef int store_block_cb(void *arg, const struct store_block *row);
typedef int store_vm_cb(void *arg, const struct store_vm *row);
typedef int store_assignment_cb(void *arg, const struct store_assignment *);
typedef int store_session_cb(void *arg, const struct store_session *row);
typedef int store_node_cb(void *arg, const struct store_node *row);
typedef int store_change_cb(void *arg, const struct store_change *row);
typedef int store_audit_cb(void *arg, const struct store_audit *row);
typedef int store_apikey_cb(void *arg, const struct store_apikey *row);
typedef int store_alarm_cb(void *arg, const struct store_alarm *row);
typedef int store_doc_cb(void *arg, const struct store_doc *row);

struct store_ops {
	const char *name;
	int (*open)(struct store *st, const char *location,
	    const char *password);
	void (*close)(struct store *st);
	/* 0 when the connection is usable (reconnecting if need be). */
	int (*ping)(struct store *st);
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	void (*rollback)(struct store *st);

	int (*token_insert)(struct store *, const struct store_token *);
	int (*token_delete)(struct store *, const char *id);
	int (*token_set_revoked)(struct store *, const char *id, bool);
	int (*token_get)(struct store *, const char *id, store_token_cb *,
	    void *);
	int (*token_foreach)(struct store *, store_token_cb *, void *);
	int (*block_put)(struct store *, const char *token_id, uint32_t idx,
	    const uint8_t *data);
	int (*block_foreach)(struct store *, const char *token_id,
	    store_block_cb *, void *);
	int (*vm_insert)(struct store *, const struct store_vm *);
	int (*vm_delete)(struct store *, const char *id);
	int (*vm_set_addresses)(struct store *, const char *id,
	    const char *addresses);
	int (*vm_get)(struct store *, const char *id, store_vm_cb *, void *);
	int (*vm_foreach)(struct store *, store_vm_cb *, void *);
	int (*assignment_insert)(struct store *,
	    const struct store_assignment *);
	int (*assignment_delete)(struct store *, const char *token_id);
	int (*assignment_get)(struct store *, const char *token_id,
	    store_assignment_cb *, void *);
	int (*assignment_foreach)(struct store *, const char *vm_id,
	    store_assignment_cb *, void *);
	int (*session_claim)(struct store *, const struct store_session *,
	    unsigned lease_s);
	int (*session_release)(struct store *, const char *token_id,
	    const char *node);
	int (*session_clear)(struct store *, const char *node);
	int (*session_foreach)(struct store *, const char *, const char *,
	    unsigned, store_session_cb *, void *);
	int (*session_report)(struct store *, const struct store_session *);
	int (*session_check)(struct store *, const char *token_id,
	    const char *node);
	int (*node_upsert)(struct store *, const struct store_node *);
	int (*node_heartbeat)(struct store *, const char *name);
	int (*node_foreach)(struct store *, store_node_cb *, void *);
	int (*node_expire)(struct store *, unsigned lease_s,
	    store_session_cb *, void *);
	int (*change_insert)(struct store *, const char *kind,
	    const char *key, const char *node);
	int (*change_last)(struct store *, int64_t *seq);
	int (*change_foreach)(struct store *, int64_t after, unsigned limit,
	    store_change_cb *, void *);
	int (*audit_last)(struct store *, int64_t *seq,
	    char hash[STORE_HASH_HEX + 1]);
	int (*audit_insert)(struct store *, const struct store_audit *);
	int (*audit_foreach)(struct store *, int64_t after, unsigned limit,
	    store_audit_cb *, void *);
	int (*apikey_insert)(struct store *, const struct store_apikey *);
	int (*apikey_foreach)(struct store *, store_apikey_cb *, void *);
	int (*apikey_delete)(struct store *, const char *);
	int (*apikey_set_mac)(struct store *, const char *, const char *);
	int (*alarm_raise)(struct store *, const struct store_alarm *,
	    char id[STORE_ID_LEN + 1], bool *inserted);
	int (*alarm_clear)(struct store *, const char *rule, const char *key,
	    const char *when, char id[STORE_ID_LEN + 1]);
	int (*alarm_ack)(struct store *, const char *id, const char *by,
	    const char *when);
	int (*alarm_get)(struct store *, const char *id, store_alarm_cb *,
	    void *);
	int (*alarm_foreach)(struct store *, const char *state, unsigned limit,
	    store_alarm_cb *, void *);
	int (*doc_put)(struct store *, const char *kind, const char *key,
	    const void *body, size_t len);
	int (*doc_delete)(struct store *, const char *kind, const char *key);
	int (*doc_get)(struct store *, const char *kind, const char *key,
	    store_doc_cb *, void *);
	int (*doc_foreach)(struct store *, const char *kind, store_doc_cb *,
	    void *);
};

/* What the front counts (for /metrics and the tests). */
struct store_stats {
	unsigned long long ops;			/* calls through the front */
	unsigned long long errors;		/* of them failed (not NOTFOUND) */
	unsigned long long commits, rollbacks;
	unsigned long long unavailable;		/* calls refused: no database */
	unsigned long long audit_commits;	/* audit records committed */
	unsigned long long tx_groups;		/* commits of several jobs */
	unsigned long long tx_grouped;		/* jobs they carried */
};

struct store {
	const struct store_ops *ops;	/* the backend; store.c only */
	void *impl;			/* backend state */
	bool in_tx;			/* between begin and commit/rollback */
	unsigned tx_audits;		/* audit records in the open one */
	struct store_stats stats;
	char err[256];			/* last error text */
	/*
	 * The audit MAC key (server/control/control_audit.h), held here
	 * because every audit append runs on the store's thread.  In memory
	 * only: never written to the database.  Wiped by store_close.
	 */
	uint8_t audit_key[32];
	bool audit_keyed;
};

/*
 * Opens the backend named by `backend` ("sqlite" or "postgresql") at
 * location (a file path for SQLite, a libpq connection string for
 * PostgreSQL), creating or migrating the schema (several nodes may do so
 * at once).  password (PostgreSQL; NULL: libpq's own means, such as a
 * password file) is used, never logged or kept in an error.  NULL with
 * *cause (allocated) on failure.
 */
struct store *store_open(const char *backend, const char *location,
    const char *password, char **cause);
void store_close(struct store *st);
/* Sets the audit MAC key (32 bytes; before the store's worker starts). */
void store_set_audit_key(struct store *st, const uint8_t key[32]);
/* The text of the last failure. */
const char *store_error(const struct store *st);
/* Whether the database can be reached now (reconnecting if need be). */
int store_ping(struct store *st);

/* Transactions: begin may not nest; commit and rollback end it. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* Writes (inside a transaction). */
int store_token_insert(struct store *st, const struct store_token *t);
int store_token_delete(struct store *st, const char *id);
int store_token_set_revoked(struct store *st, const char *id, bool revoked);
/* Stores block idx of token_id; all-zero data (or NULL) removes it. */
int store_block_put(struct store *st, const char *token_id, uint32_t idx,
    const uint8_t *data);
int store_vm_insert(struct store *st, const struct store_vm *v);
int store_vm_delete(struct store *st, const char *id);
int store_vm_set_addresses(struct store *st, const char *id,
    const char *addresses);
int store_assignment_insert(struct store *st,
    const struct store_assignment *a);
int store_assignment_delete(struct store *st, const char *token_id);
/*
 * Claims s->token_id for s->node: STORE_CONFLICT when another live node
 * holds it (a claim of a node whose lease is older than lease_s is taken
 * over), STORE_NOTFOUND when the token is no longer assigned to
 * s->vm_id.
 */
int store_session_claim(struct store *st, const struct store_session *s,
    unsigned lease_s);
/* Releases node's claim on token_id; STORE_NOTFOUND when it had none. */
int store_session_release(struct store *st, const char *token_id,
    const char *node);
/* Releases every claim of node. */
int store_session_clear(struct store *st, const char *node);
/*
 * 0 when node holds the claim on token_id, STORE_NOTFOUND when not (a
 * write of a node whose claim was taken over must not land).
 */
int store_session_check(struct store *st, const char *token_id,
    const char *node);
/* Records the byte counters of a claim this node holds. */
int store_session_report(struct store *st, const struct store_session *s);
int store_node_upsert(struct store *st, const struct store_node *n);
/* Renews node's lease; STORE_NOTFOUND when its row is gone. */
int store_node_heartbeat(struct store *st, const char *name);
/*
 * Releases the claims of nodes whose lease is older than lease_s
 * (calling cb for each, before it goes) and marks those nodes lost.
 */
int store_node_expire(struct store *st, unsigned lease_s,
    store_session_cb *cb, void *arg);
/* Appends to the change feed (and tells the other nodes at commit). */
int store_change_insert(struct store *st, const char *kind,
    const char *key, const char *node);
int store_audit_insert(struct store *st, const struct store_audit *a);
int store_apikey_insert(struct store *st, const struct store_apikey *k);
/* STORE_NOTFOUND when there is no key with that id. */
int store_apikey_delete(struct store *st, const char *id);
/* Sets the MAC of key id (control_key.c); STORE_NOTFOUND if none. */
int store_apikey_set_mac(struct store *st, const char *id, const char *mac);
/*
 * Alarms (in a transaction).  raise: the active alarm of (a->rule,
 * a->key) gets a's count, last_seen, severity and message, or, when
 * there is none, a is inserted as active (*inserted true); its id into
 * id either way.  clear: the active alarm of (rule, key) becomes cleared
 * at `when` (its id into id); STORE_NOTFOUND when none is active.  ack:
 * STORE_NOTFOUND when there is no such alarm or it was acknowledged.
 */
int store_alarm_raise(struct store *st, const struct store_alarm *a,
    char id[STORE_ID_LEN + 1], bool *inserted);
int store_alarm_clear(struct store *st, const char *rule, const char *key,
    const char *when, char id[STORE_ID_LEN + 1]);
int store_alarm_ack(struct store *st, const char *id, const char *by,
    const char *when);
/* Reads (no transaction needed). state NULL: all; newest first. */
int store_alarm_get(struct store *st, const char *id, store_alarm_cb *cb,
    void *arg);
int store_alarm_foreach(struct store *st, const char *state, unsigned limit,
    store_alarm_cb *cb, void *arg);

/*
 * Documents (struct store_doc).  put inserts or replaces (a write);
 * delete is STORE_NOTFOUND when there is none.  get calls cb once, or
 * not at all when there is none; foreach calls cb per document of kind,
 * in key order.  Reads need no transaction.
 */
int store_doc_put(struct store *st, const char *kind, const char *key,
    const void *body, size_t len);
int store_doc_delete(struct store *st, const char *kind, const char *key);
int store_doc_get(struct store *st, const char *kind, const char *key,
    store_doc_cb *cb, void *arg);
int store_doc_foreach(struct store *st, const char *kind, store_doc_cb *cb,
    void *arg);

/* Reads. */
int store_token_get(struct store *st, const char *id, store_token_cb *cb,
    void *arg);
int store_token_foreach(struct store *st, store_token_cb *cb, void *arg);
int store_block_foreach(struct store *st, const char *token_id,
    store_block_cb *cb, void *arg);
int store_vm_get(struct store *st, const char *id, store_vm_cb *cb,
    void *arg);
int store_vm_foreach(struct store *st, store_vm_cb *cb, void *arg);
int store_assignment_get(struct store *st, const char *token_id,
    store_assignment_cb *cb, void *arg);
/* Every assignment, or (vm_id not NULL) those of one VM. */
int store_assignment_foreach(struct store *st, const char *vm_id,
    store_assignment_cb *cb, void *arg);
/*
 * Sessions in token id order: of one node (node not NULL) or all, after
 * token id `after` (NULL or "": from the start), at most limit (0: all).
 */
int store_session_foreach(struct store *st, const char *node,
    const char *after, unsigned limit, store_session_cb *cb, void *arg);
int store_node_foreach(struct store *st, store_node_cb *cb, void *arg);
int store_change_last(struct store *st, int64_t *seq);
int store_change_foreach(struct store *st, int64_t after, unsigned limit,
    store_change_cb *cb, void *arg);
/*
 * The newest record: seq 0 and an all-zero hash when the log is empty.
 * Inside a transaction it also serialises appends across nodes: no other
 * transaction appends until this one ends.
 */
int store_audit_last(struct store *st, int64_t *seq,
    char hash[STORE_HASH_HEX + 1]);
int store_audit_foreach(struct store *st, int64_t after, unsigned limit,
    store_audit_cb *cb, void *arg);
int store_apikey_foreach(struct store *st, store_apikey_cb *cb, void *arg);

/*
 * store_feed: rings when another node committed a change (PostgreSQL:
 * LISTEN on a connection of its own, nonblocking on the event loop;
 * store_pg_feed.c).  fn(arg) runs on the loop after every notification
 * batch and after every (re)connect, to catch up; the caller then reads
 * the change feed.  For SQLite (one node) there is no feed: NULL.
 */
struct event_base;
struct store_feed;
typedef void store_feed_fn(void *arg);
struct store_feed *store_feed_open(struct event_base *base,
    const char *backend, const char *location, const char *password,
    store_feed_fn *fn, void *arg);
void store_feed_free(struct store_feed *f);
bool store_feed_is_up(const struct store_feed *f);

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

#endif
