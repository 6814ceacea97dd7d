/*
 * control_impl: what the controller's files share.  Not for other
 * modules.
 *
 * Threads: everything here runs on the event loop, except functions named
 * *_run (and what they call), which run on the store thread with the
 * store and their job's own data only.
 */
#ifndef VTOKEN_CONTROL_IMPL_H
#define VTOKEN_CONTROL_IMPL_H

#include <jansson.h>

#include "server/control/control.h"
#include "server/store/store_worker.h"

/* Tokens per transaction of a bulk create. */
#define CONTROL_BULK_BATCH	100


/* ---- the replica's indexes (control_index.c) ---- */

struct control_index *control_index_new(void);
void control_index_free(struct control_index *ix);
/* Adds tok (id, name and num free); -1 when one is taken. */
int control_index_token_add(struct control_index *ix,
    struct control_token *tok);
void control_index_token_remove(struct control_index *ix,
    struct control_token *tok);
struct control_token *control_index_token_id(struct control_index *ix,
    const char *id);
struct control_token *control_index_token_name(struct control_index *ix,
    const char *name);
struct control_token *control_index_token_num(struct control_index *ix,
    uint32_t num);
/*
 * Reserves the lowest number no token, reservation or open device of exp
 * uses, for a token being made; 0 when none is left.
 */
uint32_t control_index_num_reserve(struct control_index *ix,
    struct export *exp);
/* The same number, without reserving it. */
uint32_t control_index_num_lowest(struct control_index *ix,
    struct export *exp);
void control_index_num_release(struct control_index *ix, uint32_t num);
int control_index_vm_add(struct control_index *ix, struct control_vm *vm);
void control_index_vm_remove(struct control_index *ix, struct control_vm *vm);
struct control_vm *control_index_vm_id(struct control_index *ix,
    const char *id);
struct control_vm *control_index_vm_name(struct control_index *ix,
    const char *name);
/* Re-indexes vm's addresses after vm->acl changed (old: the previous). */
void control_index_vm_readdress(struct control_index *ix,
    struct control_vm *vm, const struct control_acl *old);
/* Calls fn for each VM one of whose CIDRs holds sa, each once. */
void control_index_vms_of_peer(struct control_index *ix,
    const struct sockaddr *sa, void (*fn)(void *, struct control_vm *),
    void *arg);
size_t control_index_tokens_page(struct control_index *ix, uint32_t after,
    struct control_token **out, size_t max, bool *more);
size_t control_index_vms_page(struct control_index *ix, const char *after,
    struct control_vm **out, size_t max, bool *more);
/* Calls fn for every token (any order; fn may not change the index). */
void control_index_tokens_foreach(struct control_index *ix,
    void (*fn)(void *, struct control_token *), void *arg);

/* ---- ACLs (control_vm.c) ---- */

/* Parses n address strings (canonical, duplicates out); NULL + *err. */
struct control_acl *control_acl_parse(const char *const *addrs, size_t n,
    struct vt_error *err);
/* "a b c" from "a b c" text; NULL + *err. */
struct control_acl *control_acl_from_text(const char *text,
    struct vt_error *err);
/* Space-separated canonical text; the caller frees it. */
char *control_acl_text(const struct control_acl *acl);

/* ---- applying rows to the replica (control_apply.c) ---- */

/*
 * Each makes the replica say what the row says (insert or update), or
 * forgets the object (the _gone forms), then enforces the access rule
 * on this node's sessions.  Idempotent: a change applied here and echoed
 * by the feed costs nothing twice.
 */
void control_apply_token(struct control *ctl, const struct store_token *row);
void control_apply_token_gone(struct control *ctl, const char *id);
void control_apply_vm(struct control *ctl, const struct store_vm *row);
void control_apply_vm_gone(struct control *ctl, const char *id);
/* vm_id NULL: not assigned. */
void control_apply_assignment(struct control *ctl, const char *token_id,
    const char *vm_id, const char *created);
/* Kicks tok's session on this node when its peer may no longer use it. */
void control_enforce(struct control *ctl, struct control_token *tok,
    const char *why);
/* Ends tok's session on this node now (device detached). */
void control_kick(struct control *ctl, struct control_token *tok,
    const char *why);
/* Frees tok and its device; its session must have ended. */
void control_token_free(struct control_token *tok);
void control_vm_free(struct control_vm *vm);

/* ---- jobs (control_job.c) ---- */

/*
 * The common part of every change's job: the caller's callback, the
 * result as a vt_error, and the node name for the audit record.  A job
 * struct starts with it.
 */
struct control_op {
	struct control *ctl;
	control_done_fn *done;
	void *arg;
	const char *node;		/* ctl->node_name, for the store thread */
	char actor[96];
	char id[ENCODE_ID_LEN + 1];	/* the object made or changed */
};
/* Fills op from the arguments of a change. */
void control_op_init(struct control_op *op, struct control *ctl,
    const char *actor, control_done_fn *done, void *arg);
/*
 * Turns a store result into a vt_error (logging and counting real
 * failures once as "what: text") and tracks whether the store is down.
 * Returns 0 for success.
 */
int control_op_result(struct control *ctl, int result, const char *errtext,
    const char *what, struct vt_error *err);
/* Calls op's callback with err (NULL: success, with op->id). */
void control_op_finish(struct control_op *op, const struct vt_error *err);
/* Posts run/done for arg on the store thread. */
void control_post(struct control *ctl, store_run_fn *run,
    store_done_fn *done, void *arg);
/*
 * Posts the transaction body (store_worker_post_tx: group-committed with
 * those queued next to it; body may run twice, so it starts afresh).
 */
void control_post_tx(struct control *ctl, store_run_fn *body,
    store_done_fn *done, void *arg);
/*
 * The store-thread steps of every change: the audit record (detail
 * borrowed; NULL means {}) and the change-feed row, in the open
 * transaction.  0 or a STORE_* error.
 */
int control_tx_audit_run(struct store *st, const char *node,
    const char *actor, const char *action, const char *subject,
    const json_t *detail);
int control_tx_change_run(struct store *st, const char *node,
    const char *kind, const char *key);
/*
 * The rows and record of revoking token_id from the VM the store says it
 * is assigned to (its id into vm_id when not NULL; attached: whether it
 * had a session), in the open transaction.  STORE_NOTFOUND when it is not
 * assigned.
 */
int control_revoke_rows_run(struct store *st, const char *node,
    const char *actor, const char *token_id, bool attached,
    char vm_id[ENCODE_ID_LEN + 1]);
/* begin; body; commit, or rollback on failure.  Returns the result. */
int control_tx_run(struct store *st, int (*body)(struct store *, void *),
    void *arg);
/*
 * An audit record in a transaction of its own, for events that change
 * nothing else (refusals); fire and forget: failures are logged.
 */
void control_audit_post(struct control *ctl, const char *actor,
    const char *action, const char *subject, json_t *detail);

/* ---- sessions (control_session.c) and writes (control_flush.c) ---- */

extern const struct export_hooks control_export_hooks;
/*
 * Claims whose release could not reach the store: post them again (after
 * a heartbeat got through), or free them (at close, when this node's
 * claims are cleared anyway).
 */
void control_release_retry(struct control *ctl);
void control_release_forget(struct control *ctl);
/* Makes tok's device keep its writes in the store (writable tokens). */
void control_flush_attach(struct control *ctl, struct control_token *tok);
/*
 * Hands tok's writes not yet stored to the store thread (best effort,
 * for a session that ends without a flush); forgets the device's sink.
 */
void control_flush_detach(struct control *ctl, struct control_token *tok);

/* Rings the audit watcher (control_audit_watch); arg is the control. */
void control_audit_ring(void *arg);
/* The alarm engine (control_alarm*.c): read what the audit log has new. */
void control_alarm_ring(struct control *ctl);
/*
 * A success of token_id's agent that left no audit record: the alarm
 * engine counts it as an auth.ok (agent_silent).
 */
void control_alarm_agent_ok(struct control *ctl, const char *token_id,
    time_t t);
void control_alarm_stop(struct control_alarm *a);	/* no new jobs */
void control_alarm_free(struct control_alarm *a);
/* An alarm row as the API shows it. */
json_t *control_alarm_to_json(const struct store_alarm *r);

/* ---- churn (control_churn.c) ---- */

/* True when tok's next session goes unrecorded (over its rate). */
bool control_churn_quiet(const struct control_token *tok, time_t now);
/*
 * A session of tok was recorded (with the count of those before it):
 * takes one from its rate and forgets the count.
 */
void control_churn_recorded(struct control *ctl, struct control_token *tok,
    time_t now);
/* An unrecorded session of tok ended: counted for a later record. */
void control_churn_detached(struct control *ctl, struct control_token *tok,
    time_t now);
/*
 * The count of tok's unrecorded sessions as {"sessions", "first",
 * "last"}, or NULL when there are none.
 */
json_t *control_churn_count(const struct control_token *tok);
/* Records the counts of bursts that have ended (every heartbeat). */
void control_churn_flush(struct control *ctl, time_t now);

/* ---- API keys (control_key.c, control_key_admin.c) ---- */

/* A fresh secret "vtk_..." into out; 0 or -1. */
int control_key_generate(char out[CONTROL_KEY_TEXT_MAX]);
/* SHA-256 of the key as presented; 0 or -1. */
int control_key_hash(const char *key, size_t len, uint8_t out[32]);
/* Store thread: every key into `into` (empty); 0 or a STORE_* error. */
int control_key_reload_run(struct store *st, struct control_key_set *into);
/* Event loop: fresh replaces ctl's keys (fresh is left empty). */
void control_key_reload_apply(struct control *ctl,
    struct control_key_set *fresh);

/* ---- start-up (control_load.c) ---- */

/* Loads the replica from st (before the store thread runs); 0 or -1. */
int control_load(struct control *ctl, struct store *st);
/* Moves image files of a data directory older than schema 3 into st. */
int control_load_legacy_images(struct control *ctl, struct store *st,
    const char *data_dir);

/* ---- the cluster (control_node.c) ---- */

/* Registers the node, starts heartbeats and the change feed; 0 or -1. */
int control_node_start(struct control *ctl, struct store *st,
    const struct control_params *p);
/* Stops them and releases this node's claims (the store still runs). */
void control_node_stop(struct control *ctl);
/*
 * Applies the changes after the last one seen: after every heartbeat,
 * and (PostgreSQL) whenever the feed says there are new ones.  A node's
 * own changes are applied when they commit; reading them back is a no-op.
 */
void control_node_poll(struct control *ctl);

/* ---- API keys (control_key.c) ---- */

/*
 * Loads the keys whose rows are sealed with the audit key, making the
 * first admin key if there are no rows at all; with adopt (the chain was
 * sealed at this start) rows from before the audit key are sealed first.
 * 0 or -1.
 */
int control_key_load(struct control *ctl, struct store *st,
    const char *data_dir, bool adopt);

/* ---- agents' latest successes (control_alive.c) ---- */

/*
 * Starts the batched writes, one every period_s (the heartbeat's), after
 * the store thread; 0 or -1.
 */
int control_alive_start(struct control *ctl, unsigned period_s);
/* Hands what is noted to the store thread, and stops. */
void control_alive_stop(struct control *ctl);
/*
 * A success of tok's agent from peer at `at', for the next batch; not
 * again within half of agent.record_every (the store need only know an
 * agent is alive well within the agent_silent grace).
 */
void control_alive_note(struct control *ctl, struct control_token *tok,
    const char *peer, time_t at);
/* Writes what is noted now (also every period). */
void control_alive_flush(struct control *ctl);
/*
 * Reads the stored latest success of each of n tokens: done(arg, ok,
 * ids, at, n) on the event loop, at[i] 0 where none is stored; ok false
 * when the store could not be read.  ids is copied.
 */
typedef void control_alive_fn(void *arg, bool ok,
    const char (*ids)[ENCODE_ID_LEN + 1], const time_t *at, size_t n);
void control_alive_check(struct control *ctl,
    const char (*ids)[ENCODE_ID_LEN + 1], size_t n, control_alive_fn *done,
    void *arg);

/* ---- documents (control_doc.c) ---- */

#define CONTROL_DOC_POLICY	"policy"	/* key: VM id, or "default" */
#define CONTROL_DOC_FACTS	"facts"		/* key: VM id */
#define CONTROL_DOC_AGENT	"agent"		/* key: VM id: update result */
#define CONTROL_DOC_RELEASE	"release"	/* key: version: metadata */
#define CONTROL_DOC_ARTIFACT	"artifact"	/* key: version: the bytes */
#define CONTROL_DOC_ROLLOUT	"rollout"	/* key: "current" */
#define CONTROL_DOC_ALIVE	"alive"		/* key: token id; not cached */
#define CONTROL_DOC_PUT_MAX	2		/* documents per write */

/* The cached documents of kind (key -> JSON), borrowed; never NULL. */
json_t *control_doc_kind(struct control *ctl, const char *kind);
/* One cached document (borrowed), or NULL. */
json_t *control_doc_get(struct control *ctl, const char *kind,
    const char *key);
/* Sets (doc stolen) or forgets (doc NULL) a cached document. */
void control_doc_set_local(struct control *ctl, const char *kind,
    const char *key, json_t *doc);
void control_doc_free(struct control *ctl);
/* Store thread: every cached kind as {kind: {key: doc}} into *out. */
int control_doc_load_run(struct store *st, json_t **out);
/* Event loop: all (stolen) replaces the cache. */
void control_doc_load_apply(struct control *ctl, json_t *all);

/* A document a "doc" feed row names, and what the store has of it. */
struct control_doc_refresh {
	char kind[STORE_DOC_KIND_MAX + 1];
	char key[STORE_DOC_KEY_MAX + 1];
	json_t *doc;			/* NULL: gone */
};
/* From the feed row's key "KIND/KEY"; -1 for a kind not cached. */
int control_doc_refresh_init(struct control_doc_refresh *r,
    const char *feedkey);
int control_doc_refresh_run(struct store *st, struct control_doc_refresh *r);
void control_doc_refresh_apply(struct control *ctl,
    struct control_doc_refresh *r);

/*
 * Store thread, in an open transaction: deletes a document if there is
 * one, with its feed row.  0 or a STORE_* error.
 */
int control_doc_forget_run(struct store *st, const char *node,
    const char *kind, const char *key);

/* One document of a write: body NULL deletes it. */
struct control_doc_put {
	char kind[STORE_DOC_KIND_MAX + 1];
	char key[STORE_DOC_KEY_MAX + 1];
	uint8_t *body;			/* malloc'ed; the write takes it */
	size_t len;
};
/* p for doc (NULL: a delete) as compact JSON. */
void control_doc_put_json(struct control_doc_put *p, const char *kind,
    const char *key, const json_t *doc);
/*
 * Writes n documents (their bodies taken) with one audit record (detail
 * stolen; NULL is {}) and the feed rows, in one transaction, then
 * updates the cache and calls done (op id: the first 16 characters of
 * the first document's key).
 */
void control_doc_write(struct control *ctl, const char *actor,
    struct control_doc_put *put, size_t n, const char *action,
    const char *subject, json_t *detail, control_done_fn *done, void *arg);

#endif
