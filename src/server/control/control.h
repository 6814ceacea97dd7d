/*
 * control: the controller.  The store holds the truth; this node keeps a
 * replica of the metadata (tokens, VMs, assignments) in memory, indexed
 * so that a device list, an import decision or an agent check costs the
 * same with ten tokens or a hundred thousand, and never waits on the
 * database.  A token's disk is loaded from the store when a VM imports it
 * and dropped when the session ends (docs/CLUSTER.md).
 *
 * Changes are asynchronous: a change is checked against the replica,
 * written to the store with its audit record and a change-feed row in
 * one transaction on the store thread, and applied to the replica when
 * the commit is known; then the caller's callback runs.  Changes made
 * through other nodes arrive through the feed and are applied the same
 * way.  Applying enforces the access rule at once: a session whose token
 * is no longer visible to its peer is kicked.
 *
 * Access rule: a peer sees and may import a token only when the token is
 * assigned to a VM one of whose CIDRs contains the peer's address.  The
 * controller enforces it through the export layer's hooks
 * (control_session.c), which it installs at open; it never sees the wire.
 *
 * Ownership: the controller owns its tokens, VMs and the devices of
 * attached tokens.  Pointers returned by lookups are borrowed and valid
 * until control code runs again (an event-loop turn); keep ids, not
 * pointers, across asynchronous calls.
 */
#ifndef VTOKEN_CONTROL_H
#define VTOKEN_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "common/encode.h"
#include "common/netaddr.h"
#include "common/ratelimit.h"
#include "common/vterr.h"
#include "server/control/control_audit.h"
#include "server/control/control_auth.h"
#include "server/control/control_key.h"
#include "server/store/store.h"

struct event_base;
struct export;
struct export_device;
struct export_session;
struct store_worker;

#define CONTROL_TOKEN_SIZE_DEFAULT	(4u << 20)
#define CONTROL_TOKEN_SIZE_MIN		(1u << 20)
#define CONTROL_TOKEN_SIZE_MAX		(64u << 20)
#define CONTROL_VM_MAX_ADDRS		64
#define CONTROL_MAX_TOKENS		1000000
#define CONTROL_BULK_MAX		10000	/* tokens per bulk request */

/* The source addresses of a VM: the CIDRs its connections come from. */
struct control_acl {
	size_t n;
	struct netaddr_cidr cidr[];
};

struct control_token;
TAILQ_HEAD(control_token_list, control_token);

struct control_vm {
	char id[ENCODE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	char created[ENCODE_TIME_LEN + 1];
	struct control_acl *acl;	/* owned */
	struct control_token_list tokens;	/* assigned to it */
	unsigned ntokens;
};

struct control_token {
	char id[ENCODE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	char created[ENCODE_TIME_LEN + 1];
	uint64_t size;
	bool writable;
	bool revoked;			/* revoked and not assigned since */
	uint32_t num;			/* its busid (control_num_busid) */
	uint8_t public_key[32];
	struct control_vm *vm;		/* assignment, or NULL */
	char assigned[ENCODE_TIME_LEN + 1];
	TAILQ_ENTRY(control_token) vm_entry;
	/* While a VM imports it through this node: */
	bool importing;			/* claim and load under way */
	char session_vm[ENCODE_ID_LEN + 1];	/* the VM it was attached for */
	struct export_device *dev;	/* owned; attached */
	struct control_flush *flush;	/* writes being made durable */
	/* Churn (control_churn.c): sessions not yet recorded one by one. */
	bool session_quiet;		/* this session's attach unrecorded */
	unsigned churn_pending;
	time_t churn_first, churn_last;
	double churn_level;		/* recorded sessions' bucket */
	time_t churn_at;		/* its level's time; 0: full */
	/* Its agent, as this node saw it (control_agent.c). */
	uint32_t attach_gen;		/* sessions begun through this node */
	uint32_t auth_gen;		/* attach_gen at the last auth.ok */
	time_t auth_ok_at;		/* the last success, 0: none */
	time_t auth_recorded_at;	/* the last auth.ok record */
	bool auth_failing;		/* the last outcome recorded a failure */
	char auth_peer[48];		/* where the last success came from */
	time_t alive_noted_at;		/* control_alive.c: last batched */
	/*
	 * The session's byte counters as the store has them (control_node.c
	 * reports only changed ones): valid while beat_gen == attach_gen.
	 */
	uint32_t beat_gen;
	uint64_t beat_in, beat_out;
};

struct control_stats {
	unsigned long long attaches, detaches;
	unsigned long long store_errors;
	unsigned long long auth_ok, auth_fail, auth_flood;
	unsigned long long auth_quiet;	/* successes with no record */
	unsigned long long audit_suppressed;	/* see control_audit_refusal */
	unsigned long long changes_applied;	/* from the feed */
	unsigned long long kicks;		/* sessions cut by a change */
};

/* What the controller needs from the configuration. */
struct control_params {
	const char *data_dir;		/* state: SQLite database, keys */
	const char *backend;		/* "sqlite" or "postgresql" */
	const char *dsn;		/* PostgreSQL connection string */
	const char *password;		/* PostgreSQL; NULL: libpq's means */
	const char *node;		/* this node's name */
	const char *usbip_addr;		/* advertised in the nodes table */
	const char *api_addr;
	const char *controller_url;	/* written into new tokens */
	const char *tls_cert;		/* the API's certificate, or "" */
	const char *audit_key_file;	/* NULL or "": DATA_DIR/audit.key */
	bool allow_insecure_data_dir;	/* warn instead of refusing */
	/*
	 * An agent's unchanged success is recorded again only after this
	 * many seconds (agent.record_every; 0: every success).
	 */
	unsigned auth_record_every;
	struct control_auth_limits agent;
	unsigned lease_s;		/* a node's claims expire after this */
	unsigned heartbeat_s;		/* how often a node renews it */
};

/* Audit records of refused requests, per source address (IPv6 /64). */
#define CONTROL_REFUSALS_PER_MIN	60
#define CONTROL_REFUSAL_BUCKETS		100000

struct control_index;
struct control_node;
struct control_release;
struct control_alarm;
struct control_alive;

struct control {
	struct event_base *base;
	struct export *exp;		/* borrowed */
	struct store_worker *worker;	/* owns the store */
	struct control_index *ix;	/* the replica's indexes */
	struct control_node *node;	/* lease, heartbeat, change feed */
	char *node_name;
	char *controller_url;
	char ca_sha256[65];		/* pin of the API certificate, or "" */
	unsigned usbip_port;		/* this node's USB/IP port, or 0 */
	unsigned lease_s;
	unsigned ntokens, nvms;
	struct control_stats stats;
	struct control_auth auth;	/* agent challenge-response state */
	struct ratelimit refusal_rate;	/* see control_audit_refusal */
	unsigned churning;		/* tokens with churn_pending > 0 */
	unsigned auth_record_every;	/* see control_params */
	struct control_key_set keys;	/* REST API keys */
	struct control_release *release_retry;	/* control_session.c */
	struct control_alarm *alarm;	/* control_alarm.c, or NULL */
	json_t *docs;			/* control_doc.c: kind -> key -> doc */
	struct control_alive *alive;	/* control_alive.c */
	json_t *agent_seen;		/* control_agentmgr.c: VM id -> report */
	void (*audit_bell)(void *);	/* control_audit_watch */
	void *audit_bell_arg;
	bool store_down;		/* the last store call could not reach it */
	char store_why[256];		/* why, for /healthz */
	char store_stuck[64];		/* control_health's text */
};

/*
 * Opens the store, loads the replica (metadata only), moves the image
 * files of an older data directory into the store, loads the API keys
 * (making the first admin key when there is none), registers this node
 * and installs the export hooks.  NULL after logging.
 */
struct control *control_open(struct event_base *base,
    const struct control_params *p, struct export *exp);
/*
 * Ends what is in flight (every queued store write completes, this
 * node's claims are released) and frees the state.  Sessions must have
 * ended.  NULL is a no-op.
 */
void control_close(struct control *ctl);

/* Lookups in the replica. */
struct control_token *control_token_find(struct control *ctl,
    const char *id_or_name);
struct control_token *control_token_by_id(struct control *ctl,
    const char *id);
struct control_token *control_token_by_num(struct control *ctl,
    uint32_t num);
struct control_vm *control_vm_find(struct control *ctl,
    const char *id_or_name);
/* True for [A-Za-z0-9][A-Za-z0-9._-]{0,63} that is not 16 hex digits. */
bool control_name_valid(const char *name);
/* True when the peer at sa may list and import tok. */
bool control_token_visible(const struct control_token *tok,
    const struct sockaddr *sa);
/*
 * Token numbers and busids: number N is bus 1 + (N-1)/65535, port
 * 1 + (N-1)%65535, so that more than 65,535 tokens fit (vhci takes the
 * bus number from the import reply).  join: 0 for no valid number.
 */
#define CONTROL_PORTS_PER_BUS	65535u
void control_num_split(uint32_t num, uint32_t *busnum, uint32_t *devnum);
uint32_t control_num_join(uint32_t busnum, uint32_t devnum);
/*
 * The lowest number no token, token being made or open device uses
 * (for --serve-image devices, which must not take a token's busid); 0
 * when none is left.
 */
uint32_t control_num_free(struct control *ctl);
/* The token's busid ("BUS-PORT") into out (32 bytes). */
void control_token_busid(const struct control_token *tok, char out[32]);

/*
 * Pages: tokens in busid order after the one numbered `after` (0: from
 * the start), VMs in name order after the one named `after` ("" or
 * NULL: from the start).  Fill out[] with at most max; return how many.
 * *more says whether any follow.
 */
size_t control_tokens_page(struct control *ctl, uint32_t after,
    struct control_token **out, size_t max, bool *more);
size_t control_vms_page(struct control *ctl, const char *after,
    struct control_vm **out, size_t max, bool *more);

/*
 * The callbacks of changes: err is NULL on success, and id names the
 * object made or changed (valid during the call).  They run on the event
 * loop, always after the call that started the change has returned.
 */
typedef void control_done_fn(void *arg, const struct vt_error *err,
    const char *id);
/*
 * Bulk create: ids[0..n) of the tokens made; err says why it stopped
 * short of the count (n may be 0), NULL when all were made.
 */
typedef void control_bulk_fn(void *arg, const struct vt_error *err,
    char (*ids)[ENCODE_ID_LEN + 1], size_t n);

/*
 * The changes; actor names who asks (e.g. "api:admin").  Each returns 0
 * when the change is under way (done runs later), or -1 with *err set
 * when it was refused at once (done does not run).
 */
int control_token_create(struct control *ctl, const char *actor,
    const char *name, uint64_t size, bool writable, control_done_fn *done,
    void *arg, struct vt_error *err);
/*
 * count tokens named PREFIX-0001 ... (at least 4 digits), one
 * transaction per batch of CONTROL_BULK_BATCH.
 */
int control_token_create_bulk(struct control *ctl, const char *actor,
    const char *prefix, unsigned count, uint64_t size, bool writable,
    control_bulk_fn *done, void *arg, struct vt_error *err);
int control_token_delete(struct control *ctl, const char *actor,
    struct control_token *tok, control_done_fn *done, void *arg,
    struct vt_error *err);
/* addrs: n strings, each a CIDR or a bare address. */
int control_vm_add(struct control *ctl, const char *actor, const char *name,
    const char *const *addrs, size_t n, control_done_fn *done, void *arg,
    struct vt_error *err);
int control_vm_set_addresses(struct control *ctl, const char *actor,
    struct control_vm *vm, const char *const *addrs, size_t n,
    control_done_fn *done, void *arg, struct vt_error *err);
int control_vm_delete(struct control *ctl, const char *actor,
    struct control_vm *vm, control_done_fn *done, void *arg,
    struct vt_error *err);
int control_assign(struct control *ctl, const char *actor,
    struct control_token *tok, struct control_vm *vm, control_done_fn *done,
    void *arg, struct vt_error *err);
int control_revoke(struct control *ctl, const char *actor,
    struct control_token *tok, control_done_fn *done, void *arg,
    struct vt_error *err);

/*
 * The token's disk image, for an export by actor: audited as
 * token.export (the image holds the private key) before it is given out.
 * done gets the image (size bytes, the callee wipes and frees it after
 * the call) or an error.
 */
typedef void control_image_fn(void *arg, const struct vt_error *err,
    uint8_t *image, uint64_t size);
int control_token_export(struct control *ctl, const char *actor,
    const struct control_token *tok, control_image_fn *done, void *arg,
    struct vt_error *err);

/*
 * Audits a refused request (attach.denied, api.auth_failed), consuming
 * detail, at most CONTROL_REFUSALS_PER_MIN a minute per source address:
 * anyone who reaches a port can cause these, and one fsync'd record each
 * would let them grow the database without bound.  Refusals past the
 * limit are counted (metrics) and the next record written for that
 * address carries "suppressed": N.
 */
void control_audit_refusal(struct control *ctl, const char *peer_host,
    const char *actor, const char *action, const char *subject,
    json_t *detail);

/*
 * Agent authentication: checks an answer to a challenge, then that the
 * token is assigned and peer (a numeric address) belongs to its VM, and
 * audits auth.ok / auth.fail with the reason.  done gets the result once
 * the record is written (AUTH_STORE_ERROR when it could not be: a
 * success that is not on the record is not granted).  Returns
 * AUTH_RATE_LIMITED when refused at once (not audited, done not called),
 * else AUTH_OK: under way.
 */
typedef void control_auth_fn(void *arg, enum control_auth_result r,
    const char *vm_name);
enum control_auth_result control_agent_verify(struct control *ctl, struct control_token *tok,
    const char *peer, const struct sockaddr *sa, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *sig, size_t sig_len,
    control_auth_fn *done, void *arg);
/* Takes one request from peer's agent rate bucket; false when empty. */
bool control_agent_rate_address(struct control *ctl, const char *peer);
/*
 * Issues a nonce for tok to peer (sa, the same address) when tok is
 * assigned and peer is an address of its VM; *expires is wall-clock time.
 * Otherwise returns why (audited as auth.fail, rate-limited) and issues
 * nothing.  Needs no database.
 */
enum control_auth_result control_agent_challenge(struct control *ctl,
    struct control_token *tok, const char *peer, const struct sockaddr *sa,
    uint8_t nonce[VTAUTH_NONCE_LEN], time_t *expires);

/*
 * The API key presented (borrowed, not kept), or NULL.  Runs in time
 * independent of which key matched.
 */
const struct control_key_entry *control_key_check(const struct control *ctl,
    const char *key, size_t len);
/*
 * A new key named name with role (expires: 0 for never); done gets the
 * entry and the secret (shown once: the caller must not keep or log it)
 * or the error.  Names are unique; 409 for an existing one.
 */
typedef void control_key_made_fn(void *arg, const struct vt_error *err,
    const struct control_key_entry *k, const char *secret);
int control_key_create(struct control *ctl, const char *actor,
    const char *name, const char *role, time_t expires,
    control_key_made_fn *done, void *arg, struct vt_error *err);
/* Deletes the key with that id or name (not the last admin key). */
int control_key_delete(struct control *ctl, const char *actor,
    const char *id_or_name, control_done_fn *done, void *arg,
    struct vt_error *err);

/*
 * Audit records with seq > after, at most limit, in order, as a JSON
 * array, and the newest record's seq; or an error.
 */
typedef void control_audit_fn(void *arg, const struct vt_error *err,
    json_t *records, int64_t last_seq);
void control_audit_list(struct control *ctl, int64_t after, unsigned limit,
    control_audit_fn *done, void *arg);
/*
 * fn(arg) runs on the event loop whenever the audit log may have grown:
 * after this node committed records, and when another node's commit is
 * announced (PostgreSQL).  It may ring for nothing; read to know.  One
 * watcher (NULL: none).
 */
void control_audit_watch(struct control *ctl, void (*fn)(void *),
    void *arg);
/*
 * Walks the whole chain (see control_audit_verify), checking it against
 * a head known from elsewhere when head_seq > 0.
 */
typedef void control_verify_fn(void *arg, const struct vt_error *err,
    const struct control_audit_result *res);
void control_audit_check(struct control *ctl, int64_t head_seq,
    const char *head_hash, control_verify_fn *done, void *arg);

/*
 * Rows of the cluster-wide tables, as JSON arrays: sessions (claims,
 * with the node holding each and its last reported byte counts) and
 * nodes (name, addresses, version, up since, heartbeat, state).
 */
typedef void control_rows_fn(void *arg, const struct vt_error *err,
    json_t *rows);
/*
 * Sessions in token id order after token id `after` ("" from the start),
 * at most limit; rows holds limit + 1 when more follow (the caller drops
 * the last and pages on).
 */
void control_sessions_list(struct control *ctl, const char *after,
    unsigned limit, control_rows_fn *done, void *arg);
void control_nodes_list(struct control *ctl, control_rows_fn *done,
    void *arg);

/*
 * Alarms (control_alarm.h has the engine): the list, newest first
 * (state "active", "cleared" or NULL for all; at most limit), and the
 * acknowledgement of one (audited as alarm.ack; 404 unknown, 409 done
 * already).  rows: the alarms as JSON (the acknowledged one for ack).
 */
typedef void control_alarm_fn(void *arg, const struct vt_error *err,
    json_t *rows);
void control_alarm_list(struct control *ctl, const char *state,
    unsigned limit, control_alarm_fn *done, void *arg);
void control_alarm_ack(struct control *ctl, const char *actor,
    const char *id, control_alarm_fn *done, void *arg);
/* Store work queued or running (for tests and /metrics). */
size_t control_pending(const struct control *ctl);
/* The store's counters (commits, group commits, ...). */
struct store_stats control_store_stats(struct control *ctl);
/*
 * "ok", or "degraded" with the reason in *why (for /healthz): the last
 * store call could not reach the store, or a store job has been running
 * for more than CONTROL_STORE_STUCK_S (a database that is up but does
 * not answer).
 */
#define CONTROL_STORE_STUCK_S	5.0
const char *control_health(struct control *ctl, const char **why);

/*
 * The embedded default's demo: a token "demo" assigned to a VM "local"
 * at 127.0.0.1, created when missing.  done gets the token's id.
 */
void control_demo_setup(struct control *ctl, control_done_fn *done,
    void *arg);

/* ---- agents managed from the centre (docs/AGENT.md) ---- */

/* Policies (control_policy.c). */
#define CONTROL_POLICY_DEFAULT_KEY	"default"
#define CONTROL_POLICY_INTERVAL_MIN	5
#define CONTROL_POLICY_INTERVAL_MAX	3600
#define CONTROL_POLICY_INTERVAL_DEFAULT	30
#define CONTROL_POLICY_GRACE_MIN	10
#define CONTROL_POLICY_GRACE_MAX	86400
#define CONTROL_POLICY_GRACE_DEFAULT	90
#define CONTROL_POLICY_COMMAND_MAX	1024
/*
 * A checked, normalised copy of policy (new reference), or NULL with
 * *err (VT_EINVAL) saying what is wrong.  A "source" member is ignored.
 */
json_t *control_policy_check(const json_t *policy, struct vt_error *err);
/* The cluster default (new reference). */
json_t *control_policy_default(struct control *ctl);
/* vm's own policy or the default (new reference); *own says which. */
json_t *control_policy_effective(struct control *ctl,
    const struct control_vm *vm, bool *own);
/*
 * Sets vm's own policy (vm NULL: the default), audited as policy.set;
 * clears vm's, audited as policy.cleared (VT_ENOTFOUND when it has none).
 * -1 with *err when refused at once, else 0 and done later.
 */
int control_policy_set(struct control *ctl, const char *actor,
    const struct control_vm *vm, const json_t *policy,
    control_done_fn *done, void *arg, struct vt_error *err);
int control_policy_clear(struct control *ctl, const char *actor,
    const struct control_vm *vm, control_done_fn *done, void *arg,
    struct vt_error *err);

/* Reports of agents (control_agentmgr.c). */
#define CONTROL_FACT_MAX	255	/* bytes of one reported string */
/*
 * What token_id's agent reported with a successful verify from peer
 * (report: the request's "facts", "update" and "policy_fired", borrowed;
 * NULL: none) is kept and audited as it changes; returns the members
 * the answer adds: "policy" and, when a rollout wants another version
 * on the VM, "update" (new reference).
 */
json_t *control_agent_report(struct control *ctl, const char *token_id,
    const char *peer, const json_t *report);
/* vm's facts as GET /v1/vms/{id} shows them (new reference), or NULL. */
json_t *control_vm_facts(struct control *ctl, const struct control_vm *vm);
/* GET /v1/agents: every VM's agent version, target, update result. */
json_t *control_agents_json(struct control *ctl);

/* Releases and the rollout (control_agentrel.c). */
#define CONTROL_RELEASE_MAX	(16u << 20)	/* bytes of an artifact */
#define CONTROL_VERSION_MAX	64
/* True for 1-64 characters of [0-9A-Za-z.+~-], starting alphanumeric. */
bool control_version_valid(const char *v);
/*
 * Adds a release: version, its SHA-256 (64 hex digits, checked against
 * the artifact), the base64 Ed25519 signature (64 bytes; not verified:
 * agents do), the artifact (len bytes, copied).  Audited as
 * agent.release_added.  -1 + *err when refused at once.
 */
int control_release_add(struct control *ctl, const char *actor,
    const char *version, const char *sha256, const char *signature,
    const uint8_t *artifact, size_t len, control_done_fn *done, void *arg,
    struct vt_error *err);
int control_release_delete(struct control *ctl, const char *actor,
    const char *version, control_done_fn *done, void *arg,
    struct vt_error *err);
/* Every release's metadata (new reference, an array). */
json_t *control_releases_json(struct control *ctl);
/* One release's metadata (borrowed), or NULL. */
const json_t *control_release_get(struct control *ctl, const char *version);
/*
 * Reads version's artifact: done(arg, err, data, len) on the event loop;
 * err NULL with data (valid for the call), or VT_ENOTFOUND, VT_EUNAVAIL
 * or VT_EINTERNAL.
 */
typedef void control_artifact_fn(void *arg, const struct vt_error *err,
    const uint8_t *data, size_t len);
void control_release_artifact(struct control *ctl, const char *version,
    control_artifact_fn *done, void *arg);
/*
 * The rollout: {"version", "vms"?: [VM ids], "percent"} (rollout is
 * checked here: VM ids or names, percent 1-100).  Audited as
 * agent.rollout / agent.rollout_stopped.
 */
int control_rollout_set(struct control *ctl, const char *actor,
    const json_t *rollout, control_done_fn *done, void *arg,
    struct vt_error *err);
int control_rollout_stop(struct control *ctl, const char *actor,
    control_done_fn *done, void *arg, struct vt_error *err);
/* The current rollout (borrowed), or NULL. */
const json_t *control_rollout_get(struct control *ctl);
/* The version the rollout wants on vm, or NULL. */
const char *control_rollout_target(struct control *ctl,
    const struct control_vm *vm);
/* A VM whose addresses hold sa (artifact, bootstrap), or NULL. */
struct control_vm *control_peer_vm(struct control *ctl,
    const struct sockaddr *sa);

#endif
