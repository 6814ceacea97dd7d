/*
 * control_audit: the tamper-evident audit log, a chain of records each
 * bound to the one before it.
 *
 * Each record's hash is over prev_hash's bytes and the canonical record
 * (the compact, key-sorted JSON of {seq, time, actor, action, subject,
 * detail} and, from schema 3 on, the node that wrote it); the first
 * record's prev_hash is all zeros.  Since the audit key exists (docs/
 * SECURITY.md, "The audit log"), that hash is HMAC-SHA256 under a
 * 32-byte key kept in a file only vtokend reads (audit.key_file), never
 * in the database: someone who can write the database but not read the
 * key can no longer recompute the chain after deleting, inserting or
 * changing a record.  Records written before the key existed keep their
 * plain SHA-256 hashes; the first keyed record is the seal
 * ("audit.sealed", detail {unkeyed_records, unkeyed_head}), whose MAC
 * covers the plain chain's head and so protects the records before it.
 * A keyed chain without a valid seal fails verification: the seal cannot
 * be removed and the rest recomputed with the public formula.  Removing
 * records from the end is caught only against a head known from
 * elsewhere (a published head, or audit.forward's copy of each record).
 *
 * In a cluster every node appends to the one chain with the same key:
 * store_audit_last inside the transaction serialises the appends.
 * Records never hold secrets: callers pass identifiers, addresses and
 * counts only.
 */
#ifndef VTOKEN_CONTROL_AUDIT_H
#define VTOKEN_CONTROL_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

/*
 * Appends a record inside the caller's open transaction (store_begin).
 * detail is borrowed (NULL means {}).  Returns the new seq, or a
 * negative STORE_* result with the store's error set.
 */
int64_t control_audit_append(struct store *st, const char *node,
    const char *actor, const char *action, const char *subject,
    const json_t *detail);

/*
 * Appends a record in a transaction of its own (events that change no
 * other state: attach, detach, denials, auth).  Returns seq or -1.
 */
int64_t control_audit_record(struct store *st, const char *node,
    const char *actor, const char *action, const char *subject,
    const json_t *detail);

#define CONTROL_AUDIT_SEAL	"audit.sealed"
#define CONTROL_AUDIT_KEY_LEN	32

/*
 * Computes the hash of rec (seq..detail fields and prev_hash set): the
 * HMAC-SHA256 under key, or the plain SHA-256 when key is NULL (records
 * before the seal).
 */
int control_audit_hash(const struct store_audit *rec, const uint8_t *key,
    char out[STORE_HASH_HEX + 1]);

/*
 * A key of its own for another use of the audit key (the API key rows'
 * MACs, the agent challenges' tags): HMAC-SHA256(audit_key, label), so
 * that a MAC made for one use never passes for another.  0 or -1.
 */
int control_audit_subkey(const uint8_t audit_key[CONTROL_AUDIT_KEY_LEN],
    const char *label, uint8_t out[32]);

/*
 * Seals the chain with the store's audit key (store_set_audit_key) if
 * it is not sealed yet: an empty chain, or one whose newest record has a
 * plain hash, gets the seal record.  1 when it sealed now, 0 when the
 * newest record is already keyed; -2 with why set when the newest record
 * is neither (another key, or altered); another negative STORE_* result
 * on a store error.
 */
int control_audit_seal(struct store *st, const char *node, char *why,
    size_t len);

/*
 * Reads the audit key from path (control_audit_key.c), creating the file
 * with a random key when there is none (*created then true).  -1 after
 * logging why (an unsafe or malformed file is refused).
 */
int control_audit_key_load(const char *path, uint8_t key[32],
    bool *created);

struct control_audit_result {
	/* In: a head known from elsewhere (0: none) to check against. */
	int64_t head_seq;
	char head_hash[STORE_HASH_HEX + 1];
	/* Out. */
	int64_t records;		/* records checked */
	int64_t bad_seq;		/* first broken record, 0 if none */
	int64_t seal_seq;		/* the seal's seq, 0 if none */
	char reason[160];
	char last_hash[STORE_HASH_HEX + 1];
};

/*
 * Walks the whole chain, checking the keyed part with the store's audit
 * key and, when r->head_seq is set, that record head_seq exists and has
 * head_hash.  0 (see r->bad_seq), or -1 on a store error.
 */
int control_audit_verify(struct store *st, struct control_audit_result *r);

/* The record as a JSON object (detail parsed); the caller decrefs. */
json_t *control_audit_to_json(const struct store_audit *rec);

#endif
