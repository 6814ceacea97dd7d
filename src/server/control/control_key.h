/*
 * control_key: REST API keys and the roles they carry.  Keys are 32
 * random bytes shown once as "vtk_" + base64url; only their SHA-256 is
 * stored.  A presented key is hashed and compared in constant time
 * against every known hash.  On the first start (no keys) an admin key is
 * made, written to DATA_DIR/admin.key with mode 0600, and never logged.
 *
 * A role is a set of permissions; each API route names the permission it
 * needs (docs/API.md, "Roles"):
 *   admin         everything
 *   operator      tokens, VMs, assignments, sessions, audit, alarms and
 *                 their acknowledgement; never the token image (it holds
 *                 the private key) or keys
 *   auditor       read only: lists, audit, verify, events, alarms, metrics
 *   orchestrator  what VM orchestration needs and no more: VMs, assign
 *                 and revoke, and reading the lists
 */
#ifndef VTOKEN_CONTROL_KEY_H
#define VTOKEN_CONTROL_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/encode.h"
#include "server/store/store.h"

#define CONTROL_KEY_TEXT_MAX	128	/* a key as presented, with its NUL */

enum control_perm {
	PERM_READ = 1u << 0,	/* tokens, VMs, assignments, sessions, nodes */
	PERM_METRICS = 1u << 1,	/* /metrics */
	PERM_AUDIT = 1u << 2,	/* the audit log, verify, events */
	PERM_ALARMS = 1u << 3,	/* list alarms */
	PERM_ALARM_ACK = 1u << 4,
	PERM_TOKENS = 1u << 5,	/* create and delete tokens */
	PERM_VMS = 1u << 6,	/* create, change and delete VMs */
	PERM_ASSIGN = 1u << 7,	/* assign and revoke */
	PERM_IMAGE = 1u << 8,	/* export a token's image (its private key) */
	PERM_KEYS = 1u << 9,	/* manage API keys */
	PERM_SELF = 1u << 10,	/* see its own key (GET /v1/whoami) */
	PERM_POLICY = 1u << 11,	/* set agents' policies */
	PERM_RELEASES = 1u << 12,	/* agent releases and the rollout */
};

/* The permissions of role; 0 for no such role. */
unsigned control_role_perms(const char *role);

struct control_key_entry {
	char id[ENCODE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	char role[16];
	unsigned perms;
	uint8_t hash[32];
	char created[STORE_TIME_LEN + 1];
	char expires[STORE_TIME_LEN + 1];	/* "" for never */
	time_t expires_at;			/* 0 for never */
};

/* The keys this node knows (all of the cluster's, from the store). */
struct control_key_set {
	struct control_key_entry *keys;
	size_t n;
	/*
	 * The audit key (borrowed from the store) that every row's MAC must
	 * verify under; NULL accepts rows as they are.  Rows that fail are
	 * left out and counted: a row written into the database by hand
	 * grants nothing.
	 */
	const uint8_t *mac_key;
	unsigned rejected;
};

/*
 * The MAC of a key row (HMAC-SHA256 under a key derived from the audit
 * key, over every field but the MAC) as 64 hex digits; 0 or -1.
 */
int control_key_mac(const uint8_t audit_key[32], const struct store_apikey *row,
    char out[65]);

/* store_apikey_cb: adds row to the set (arg); 0. */
int control_key_set_add(void *set, const struct store_apikey *row);
/* Frees the set's entries (wiped first); the set stays usable. */
void control_key_clear(struct control_key_set *set);
/*
 * The entry whose key is `key` (borrowed, not kept), or NULL.  Runs in
 * time independent of which key matched.
 */
const struct control_key_entry *control_key_match(
    const struct control_key_set *set, const char *key, size_t len);
/* The entry with this id or name, or NULL. */
const struct control_key_entry *control_key_find(
    const struct control_key_set *set, const char *id_or_name);
/* True when the key has expired by now. */
bool control_key_expired(const struct control_key_entry *k, time_t now);

#endif
