/*
 * control: the controller.  Tokens, VMs and assignments live in memory
 * (for the USB/IP fast path) and in the store (for durability); every
 * change is written to the store together with its audit record first
 * and applied in memory only after the commit succeeded.
 *
 * Access rule: a peer sees and may import a token only when the token is
 * assigned to a VM one of whose CIDRs contains the peer's address.
 * Revoking, deleting the token or deleting the VM ends a live session at
 * once.  The controller enforces this through the export layer's hooks
 * (control_session.c), which it installs at open; it never sees the wire.
 *
 * Ownership: the controller owns its tokens, VMs and their exported
 * devices (each token's `dev`).  Pointers returned by lookups are
 * borrowed and valid until the next change through this interface.
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

struct export;
struct export_device;

#define CONTROL_TOKEN_SIZE_DEFAULT	(4u << 20)
#define CONTROL_TOKEN_SIZE_MIN		(1u << 20)
#define CONTROL_TOKEN_SIZE_MAX		(64u << 20)
#define CONTROL_VM_MAX_ADDRS		64
#define CONTROL_MAX_TOKENS		100000

/* The source addresses of a VM: the CIDRs its connections come from. */
struct control_acl {
	size_t n;
	struct netaddr_cidr cidr[];
};

struct control_vm {
	char id[ENCODE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	char created[ENCODE_TIME_LEN + 1];
	struct control_acl *acl;	/* owned */
	unsigned ntokens;		/* tokens assigned to it */
	TAILQ_ENTRY(control_vm) entry;
};
TAILQ_HEAD(control_vm_list, control_vm);

struct control_token {
	char id[ENCODE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	char created[ENCODE_TIME_LEN + 1];
	uint64_t size;
	bool writable;
	unsigned port;			/* busid 1-port */
	uint8_t public_key[32];
	struct control_vm *vm;		/* assignment, or NULL */
	bool revoked;			/* revoked and not assigned since */
	char assigned[ENCODE_TIME_LEN + 1];
	struct export_device *dev;	/* owned; NULL when its image failed */
	TAILQ_ENTRY(control_token) entry;
};
TAILQ_HEAD(control_token_list, control_token);

struct control_stats {
	unsigned long long attaches, detaches;
	unsigned long long store_errors;
	unsigned long long auth_ok, auth_fail;
	unsigned long long audit_suppressed;	/* see control_audit_refusal */
};

/* What the controller needs from the configuration. */
struct control_params {
	const char *data_dir;		/* state: database, token images */
	const char *controller_url;	/* written into new tokens */
	const char *tls_cert;		/* the API's certificate, or "" */
	struct control_auth_limits agent;
};

/* Audit records of refused requests, per source address (IPv6 /64). */
#define CONTROL_REFUSALS_PER_MIN	60
#define CONTROL_REFUSAL_BUCKETS		100000

struct control {
	struct export *exp;		/* borrowed */
	struct store *store;
	char *token_dir;		/* data_dir/tokens */
	char *controller_url;
	char host[64];			/* this server, for the sessions table */
	char ca_sha256[65];		/* pin of the API certificate, or "" */
	struct control_token_list tokens;
	struct control_vm_list vms;
	unsigned ntokens, nvms;
	struct control_stats stats;
	struct control_auth auth;	/* agent challenge-response state */
	struct ratelimit refusal_rate;	/* see control_audit_refusal */
	struct control_key_set keys;	/* REST API keys */
};

/*
 * Opens the store under p->data_dir, loads tokens (with their images),
 * VMs, assignments and API keys (making the first admin key when there
 * is none), and installs the export hooks.  NULL after logging.
 */
struct control *control_open(const struct control_params *p,
    struct export *exp);
/* Frees the state and removes the hooks; sessions must have ended. */
void control_close(struct control *ctl);

struct control_token *control_token_find(struct control *ctl,
    const char *id_or_name);
/* The token exported as busid ("1-PORT"), or NULL. */
struct control_token *control_token_by_busid(struct control *ctl,
    const char *busid);
struct control_vm *control_vm_find(struct control *ctl,
    const char *id_or_name);
/* True for [A-Za-z0-9][A-Za-z0-9._-]{0,63} that is not 16 hex digits. */
bool control_name_valid(const char *name);
/* True when port (bus 1) is a token's. */
bool control_port_used(const struct control *ctl, unsigned port);
/* The lowest port (bus 1) no token or open device uses; 0 if none. */
unsigned control_port_free(struct control *ctl);
/* True when the peer at sa may list and import tok. */
bool control_token_visible(const struct control_token *tok,
    const struct sockaddr *sa);

/* The changes; actor is e.g. "api:admin".  0, or -1 with *err set. */
int control_token_create(struct control *ctl, const char *actor,
    const char *name, uint64_t size, bool writable,
    struct control_token **out, struct vt_error *err);
int control_token_delete(struct control *ctl, const char *actor,
    struct control_token *tok, struct vt_error *err);
/* addrs: n strings, each a CIDR or a bare address. */
int control_vm_add(struct control *ctl, const char *actor, const char *name,
    const char *const *addrs, size_t n, struct control_vm **out,
    struct vt_error *err);
int control_vm_delete(struct control *ctl, const char *actor,
    struct control_vm *vm, struct vt_error *err);
int control_assign(struct control *ctl, const char *actor,
    struct control_token *tok, struct control_vm *vm, struct vt_error *err);
int control_revoke(struct control *ctl, const char *actor,
    struct control_token *tok, struct vt_error *err);

/*
 * The token's image, len bytes from off, into buf, for an export by
 * actor: audited as token.export (the image holds the private key)
 * before it is given out.  0, or -1 with *err set.
 */
int control_token_export(struct control *ctl, const char *actor,
    const struct control_token *tok, void *buf, size_t len,
    struct vt_error *err);

/*
 * Audits a refused request (attach.denied, api.auth_failed), consuming
 * detail, at most CONTROL_REFUSALS_PER_MIN a minute per source address:
 * anyone who reaches a port can cause these, and one fsync'd record each
 * would let them grow the database without bound and stall the event
 * loop.  Refusals past the limit are counted (metrics) and the next
 * record written for that address carries "suppressed": N.
 */
void control_audit_refusal(struct control *ctl, const char *peer_host,
    const char *actor, const char *action, const char *subject,
    json_t *detail);

/*
 * Agent authentication: checks an answer to a challenge, then that the
 * token is assigned and peer (a numeric address) belongs to its VM.
 * Audits auth.ok / auth.fail with the reason; returns the result.
 */
enum control_auth_result control_agent_verify(struct control *ctl,
    struct control_token *tok, const char *peer, const struct sockaddr *sa,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *sig,
    size_t sig_len);
/* Takes one request from peer's agent rate bucket; false when empty. */
bool control_agent_rate_address(struct control *ctl, const char *peer);
/*
 * Issues a nonce for tok to peer (sa, the same address) when tok is
 * assigned and peer is an address of its VM; *expires is wall-clock time.
 * Otherwise returns why (audited as auth.fail, rate-limited) and issues
 * nothing.
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
 * Audit records with seq > after, at most limit (0: all), in order, and
 * the newest record's seq in *last.  0, or -1 after logging.
 */
int control_audit_list(struct control *ctl, int64_t after, unsigned limit,
    store_audit_cb *cb, void *arg, int64_t *last);
/* Walks the whole audit chain (see control_audit_verify); 0 or -1
 * after logging.  A broken chain is logged as a warning. */
int control_audit_check(struct control *ctl,
    struct control_audit_result *res);

/*
 * The embedded default's demo: a token "demo" assigned to a VM "local"
 * at 127.0.0.1, created when missing.  Returns the token or NULL.
 */
struct control_token *control_demo_setup(struct control *ctl);

#endif
