/*
 * control_audit: the tamper-evident, hash-chained audit log.
 *
 * hash = SHA-256(prev_hash bytes || canonical record), where the
 * canonical record is the compact, key-sorted JSON of {seq, time, actor,
 * action, subject, detail} and, from schema 3 on, the node that wrote it;
 * the first record's prev_hash is all zeros.  In a cluster every node
 * appends to the one chain: store_audit_last inside the transaction
 * serialises the appends.
 * Changing, removing or reordering any stored record breaks the chain at
 * that record.  Records never hold secrets: callers pass identifiers,
 * addresses and counts only.
 */
#ifndef VTOKEN_CONTROL_AUDIT_H
#define VTOKEN_CONTROL_AUDIT_H

#include <jansson.h>
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

/* Computes the hash of rec (seq..detail fields and prev_hash set). */
int control_audit_hash(const struct store_audit *rec,
    char out[STORE_HASH_HEX + 1]);

struct control_audit_result {
	int64_t records;		/* records checked */
	int64_t bad_seq;		/* first broken record, 0 if none */
	char reason[128];
	char last_hash[STORE_HASH_HEX + 1];
};

/* Walks the whole chain.  0 (see r->bad_seq), or -1 on a store error. */
int control_audit_verify(struct store *st, struct control_audit_result *r);

/* The record as a JSON object (detail parsed); the caller decrefs. */
json_t *control_audit_to_json(const struct store_audit *rec);

#endif
