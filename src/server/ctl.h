/*
 * ctl: the controller.  Tokens, VMs and assignments live in memory (for
 * the USB/IP fast path) and in the store (for durability); every change
 * is written to the store together with its audit record first and
 * applied in memory only after the commit succeeded.
 *
 * Access rule: a peer sees and may import a token only when the token is
 * assigned to a VM one of whose CIDRs contains the peer's address.
 * Revoking, deleting the token or deleting the VM ends a live session at
 * once.
 *
 * Ownership: the ctl owns its tokens and VMs; the registry owns the
 * devices (each token's `dev`).  Pointers returned by lookups are
 * borrowed and valid until the next change through this interface.
 */
#ifndef VTOKEN_CTL_H
#define VTOKEN_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "common/encode.h"
#include "server/auth.h"
#include "server/ratelimit.h"
#include "server/registry.h"
#include "server/store.h"
#include "server/vterr.h"

struct vtokend;
struct usbip_conn;

#define CTL_TOKEN_SIZE_DEFAULT	(4u << 20)
#define CTL_TOKEN_SIZE_MIN	(1u << 20)
#define CTL_TOKEN_SIZE_MAX	(64u << 20)
#define CTL_VM_MAX_ADDRS	64

struct ctl_vm {
	char id[ENCODE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	char created[ENCODE_TIME_LEN + 1];
	struct vt_acl *acl;		/* owned; assigned devices borrow it */
	unsigned ntokens;		/* tokens assigned to it */
	TAILQ_ENTRY(ctl_vm) entry;
};
TAILQ_HEAD(ctl_vm_list, ctl_vm);

struct ctl_token {
	char id[ENCODE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	char created[ENCODE_TIME_LEN + 1];
	uint64_t size;
	bool writable;
	unsigned port;
	uint8_t public_key[32];
	struct ctl_vm *vm;		/* assignment, or NULL */
	bool revoked;			/* revoked and not assigned since */
	char assigned[ENCODE_TIME_LEN + 1];
	struct vt_device *dev;		/* NULL when its image failed to load */
	TAILQ_ENTRY(ctl_token) entry;
};
TAILQ_HEAD(ctl_token_list, ctl_token);

struct ctl_stats {
	unsigned long long attaches, detaches, denials;
	unsigned long long bytes_in, bytes_out;	/* of ended sessions */
	unsigned long long store_errors;
	unsigned long long auth_ok, auth_fail;
	unsigned long long audit_suppressed;	/* see ctl_audit_refusal */
};

/* Audit records of refused requests, per source address (IPv6 /64). */
#define CTL_REFUSALS_PER_MIN	60
#define CTL_REFUSAL_BUCKETS	100000

struct ctl {
	struct vtokend *vtd;
	struct store *store;
	char *token_dir;		/* data_dir/tokens */
	char host[64];			/* this server, for the sessions table */
	char ca_sha256[65];		/* pin of the API certificate, or "" */
	struct ctl_token_list tokens;
	struct ctl_vm_list vms;
	unsigned ntokens, nvms;
	struct ctl_stats stats;
	struct auth auth;		/* agent challenge-response state */
	struct ratelimit refusal_rate;	/* see ctl_audit_refusal */
};

/*
 * Opens the store under data_dir, loads tokens (with their images), VMs
 * and assignments, and registers the tokens' devices.  NULL after logging.
 */
struct ctl *ctl_open(struct vtokend *vtd);
/* Frees memory state; sessions must be closed first. */
void ctl_close(struct ctl *ctl);

struct ctl_token *ctl_token_find(struct ctl *ctl, const char *id_or_name);
struct ctl_vm *ctl_vm_find(struct ctl *ctl, const char *id_or_name);
/* True for [A-Za-z0-9][A-Za-z0-9._-]{0,63} that is not 16 hex digits. */
bool ctl_name_valid(const char *name);

/* The changes; actor is e.g. "api:admin".  0, or -1 with *err set. */
int ctl_token_create(struct ctl *ctl, const char *actor, const char *name,
    uint64_t size, bool writable, struct ctl_token **out,
    struct vt_error *err);
int ctl_token_delete(struct ctl *ctl, const char *actor,
    struct ctl_token *tok, struct vt_error *err);
/* addrs: n strings, each a CIDR or a bare address. */
int ctl_vm_add(struct ctl *ctl, const char *actor, const char *name,
    const char *const *addrs, size_t n, struct ctl_vm **out,
    struct vt_error *err);
int ctl_vm_delete(struct ctl *ctl, const char *actor, struct ctl_vm *vm,
    struct vt_error *err);
int ctl_assign(struct ctl *ctl, const char *actor, struct ctl_token *tok,
    struct ctl_vm *vm, struct vt_error *err);
int ctl_revoke(struct ctl *ctl, const char *actor, struct ctl_token *tok,
    struct vt_error *err);

/*
 * USB/IP hooks: audit and session bookkeeping.  ctl_on_attach records the
 * session and its "attach" record before the import is answered: -1 (after
 * logging) means it could not, and the import must be refused, since a
 * token served without its record would be an unaudited use.  The others
 * never fail the caller.
 */
int ctl_on_attach(struct ctl *ctl, struct vt_device *dev,
    const struct usbip_conn *c);
void ctl_on_detach(struct ctl *ctl, struct vt_device *dev,
    const struct usbip_conn *c);
void ctl_on_denied(struct ctl *ctl, const char *busid, const char *peer,
    const char *peer_host, const char *reason);

/*
 * Audits a refused request (attach.denied, api.auth_failed), consuming
 * detail, at most CTL_REFUSALS_PER_MIN a minute per source address: anyone
 * who reaches a port can cause these, and one fsync'd record each would
 * let them grow the database without bound and stall the event loop.
 * Refusals past the limit are counted (metrics) and the next record
 * written for that address carries "suppressed": N.
 */
void ctl_audit_refusal(struct ctl *ctl, const char *peer_host,
    const char *actor, const char *action, const char *subject,
    json_t *detail);

/*
 * Agent authentication: checks an answer to a challenge, then that the
 * token is assigned and peer (a numeric address) belongs to its VM.
 * Audits auth.ok / auth.fail with the reason; returns the result.
 */
enum auth_result ctl_agent_verify(struct ctl *ctl, struct ctl_token *tok,
    const char *peer, const struct sockaddr *sa, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *sig, size_t sig_len);

/* Takes one request from peer's agent rate bucket; false when empty. */
bool ctl_agent_rate_address(struct ctl *ctl, const char *peer);

/*
 * Issues a nonce for tok to peer (sa, the same address) when tok is
 * assigned and peer is an address of its VM; *expires is wall-clock time.
 * Otherwise returns why (audited as auth.fail, rate-limited) and issues
 * nothing.
 */
enum auth_result ctl_agent_challenge(struct ctl *ctl, struct ctl_token *tok,
    const char *peer, const struct sockaddr *sa,
    uint8_t nonce[AUTH_NONCE_LEN], time_t *expires);

/*
 * The embedded default's demo: a token "demo" assigned to a VM "local"
 * at 127.0.0.1, created when missing.  Returns the token or NULL.
 */
struct ctl_token *ctl_demo_setup(struct ctl *ctl);

/* Writes the token's current image bytes [off, off+len) into buf. */
int ctl_token_read_image(const struct ctl_token *tok, uint64_t off,
    void *buf, size_t len);

#endif
