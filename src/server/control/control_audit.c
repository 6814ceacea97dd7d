/*
 * control_audit: hash-chained records, MACs under the audit key from
 * the seal on (see control_audit.h).
 */
#include "server/control/control_audit.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"
#include "common/xmalloc.h"

/* Canonical text of the hashed fields; the caller frees it. */
static char *
control_audit_canonical(const struct store_audit *rec)
{
	json_t *o, *detail;
	char *text;

	detail = json_loads(rec->detail, JSON_REJECT_DUPLICATES, NULL);
	if (detail == NULL || !json_is_object(detail)) {
		json_decref(detail);
		return NULL;
	}
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "seq",
	    (json_int_t)rec->seq, "time", rec->time, "actor", rec->actor,
	    "action", rec->action, "subject", rec->subject, "detail", detail);
	if (o == NULL)
		return NULL;
	/* Records from schema 3 on name their node; older ones hash as before. */
	if (rec->node != NULL && json_object_set_new(o, "node",
	    json_string(rec->node)) < 0) {
		json_decref(o);
		return NULL;
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	json_decref(o);
	return text;
}

int
control_audit_hash(const struct store_audit *rec, const uint8_t *key,
    char out[STORE_HASH_HEX + 1])
{
	uint8_t md[32], *buf;
	unsigned int mdlen = 0;
	size_t clen;
	char *canon;
	bool ok;

	canon = control_audit_canonical(rec);
	if (canon == NULL)
		return -1;
	/* The bytes hashed: prev_hash's 32, then the canonical record. */
	clen = strlen(canon);
	buf = xmalloc(32 + clen);
	memcpy(buf + 32, canon, clen);
	free(canon);
	if (decode_hex(rec->prev_hash, buf, 32) < 0) {
		free(buf);
		return -1;
	}
	if (key != NULL)
		ok = HMAC(EVP_sha256(), key, CONTROL_AUDIT_KEY_LEN, buf,
		    32 + clen, md, &mdlen) != NULL && mdlen == 32;
	else
		ok = SHA256(buf, 32 + clen, md) != NULL;
	free(buf);
	if (!ok)
		return -1;
	encode_hex(md, 32, out, false);
	return 0;
}

int
control_audit_subkey(const uint8_t audit_key[CONTROL_AUDIT_KEY_LEN],
    const char *label, uint8_t out[32])
{
	unsigned int n = 0;

	return HMAC(EVP_sha256(), audit_key, CONTROL_AUDIT_KEY_LEN,
	    (const uint8_t *)label, strlen(label), out, &n) != NULL &&
	    n == 32 ? 0 : -1;
}

/* The key appends use: the store's audit key, or NULL before any. */
static const uint8_t *
control_audit_key(const struct store *st)
{
	return st->audit_keyed ? st->audit_key : NULL;
}

int64_t
control_audit_append(struct store *st, const char *node, const char *actor,
    const char *action, const char *subject, const json_t *detail)
{
	struct store_audit rec;
	char *dtext;
	int r;

	memset(&rec, 0, sizeof(rec));
	if ((r = store_audit_last(st, &rec.seq, rec.prev_hash)) < 0)
		return r;
	rec.seq++;
	encode_time(time(NULL), rec.time);
	rec.node = node;
	rec.actor = actor;
	rec.action = action;
	rec.subject = subject;
	dtext = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII) : strdup("{}");
	if (dtext == NULL) {
		snprintf(st->err, sizeof(st->err), "audit: cannot encode");
		return -1;
	}
	rec.detail = dtext;
	if (control_audit_hash(&rec, control_audit_key(st), rec.hash) < 0) {
		free(dtext);
		snprintf(st->err, sizeof(st->err), "audit: cannot hash");
		return -1;
	}
	r = store_audit_insert(st, &rec);
	free(dtext);
	return r < 0 ? r : rec.seq;
}

int64_t
control_audit_record(struct store *st, const char *node, const char *actor,
    const char *action, const char *subject, const json_t *detail)
{
	int64_t seq;

	if (store_begin(st) < 0)
		return -1;
	seq = control_audit_append(st, node, actor, action, subject, detail);
	if (seq < 0 || store_commit(st) < 0) {
		store_rollback(st);
		return -1;
	}
	return seq;
}

/* The verify walk's state (control_audit_verify). */
struct control_audit_walk {
	struct control_audit_result *r;
	const uint8_t *key;		/* the store's audit key, or NULL */
	bool keyed;			/* past the seal: records are MACs */
	int64_t seal_seq;
};

/* Why rec breaks the chain, or NULL when it continues it. */
static const char *
control_audit_check_row(struct control_audit_walk *w,
    const struct store_audit *rec, char *why, size_t len)
{
	struct control_audit_result *r = w->r;
	char want[STORE_HASH_HEX + 1];
	bool seal = !w->keyed && w->key != NULL &&
	    strcmp(rec->action, CONTROL_AUDIT_SEAL) == 0;

	if (rec->seq != r->records + 1)
		snprintf(why, len, "sequence gap: expected %lld",
		    (long long)(r->records + 1));
	else if (strcmp(rec->prev_hash, r->last_hash) != 0)
		snprintf(why, len, "prev_hash does not match the previous "
		    "record");
	else if (control_audit_hash(rec, w->keyed || seal ? w->key : NULL,
	    want) < 0)
		snprintf(why, len, "record is malformed");
	else if (strcmp(want, rec->hash) != 0)
		snprintf(why, len, w->keyed || seal ? "MAC mismatch: the "
		    "record was altered or written without the audit key" :
		    "hash mismatch: the record was altered");
	else {
		if (seal) {
			w->keyed = true;
			w->seal_seq = rec->seq;
		}
		return NULL;
	}
	return why;
}

static int
control_audit_verify_row(void *arg, const struct store_audit *rec)
{
	struct control_audit_walk *w = arg;
	struct control_audit_result *r = w->r;

	if (control_audit_check_row(w, rec, r->reason,
	    sizeof(r->reason)) == NULL) {
		r->records++;
		memcpy(r->last_hash, rec->hash, sizeof(r->last_hash));
		if (r->head_seq == rec->seq && strcmp(r->head_hash,
		    rec->hash) != 0) {
			snprintf(r->reason, sizeof(r->reason), "the record "
			    "differs from the known head");
			r->bad_seq = rec->seq;
			return 1;
		}
		return 0;
	}
	r->bad_seq = rec->seq > 0 ? rec->seq : r->records + 1;
	return 1;	/* stop at the first broken record */
}

int
control_audit_verify(struct store *st, struct control_audit_result *r)
{
	struct control_audit_walk w = { r, control_audit_key(st), false, 0 };

	r->records = r->bad_seq = 0;
	r->reason[0] = '\0';
	memset(r->last_hash, '0', STORE_HASH_HEX);
	r->last_hash[STORE_HASH_HEX] = '\0';
	if (store_audit_foreach(st, 0, 0, control_audit_verify_row, &w) < 0)
		return -1;
	if (r->bad_seq != 0)
		return 0;
	if (w.key != NULL && !w.keyed && r->records > 0) {
		/* Rewritten with the public formula, seal and all. */
		snprintf(r->reason, sizeof(r->reason), "no record is sealed "
		    "with the audit key: the chain was rewritten");
		r->bad_seq = 1;
	} else if (r->head_seq > r->records) {
		snprintf(r->reason, sizeof(r->reason), "the chain ends at "
		    "record %lld, before the known head: records were "
		    "removed from its end", (long long)r->records);
		r->bad_seq = r->records + 1;
	}
	r->seal_seq = w.seal_seq;
	return 0;
}

/* What the newest record is (control_audit_seal). */
struct control_audit_newest {
	const uint8_t *key;
	bool found;
	bool keyed;			/* its hash is the MAC under key */
	bool plain;			/* its hash is the unkeyed one */
};

static int
control_audit_newest_cb(void *arg, const struct store_audit *rec)
{
	struct control_audit_newest *n = arg;
	char h[STORE_HASH_HEX + 1];

	n->found = true;
	n->keyed = control_audit_hash(rec, n->key, h) == 0 &&
	    strcmp(h, rec->hash) == 0;
	n->plain = control_audit_hash(rec, NULL, h) == 0 &&
	    strcmp(h, rec->hash) == 0;
	return 0;
}

int
control_audit_seal(struct store *st, const char *node, char *why,
    size_t len)
{
	struct control_audit_newest n = { control_audit_key(st), false,
	    false, false };
	char head[STORE_HASH_HEX + 1];
	json_t *detail;
	int64_t seq;
	int r;

	if (n.key == NULL) {
		snprintf(why, len, "no audit key");
		return -2;
	}
	if ((r = store_begin(st)) < 0)
		return r;
	/* In the transaction: no other node appends meanwhile. */
	if ((r = store_audit_last(st, &seq, head)) < 0 || (seq > 0 &&
	    (r = store_audit_foreach(st, seq - 1, 1, control_audit_newest_cb,
	    &n)) < 0)) {
		store_rollback(st);
		return r;
	}
	if (seq > 0 && (n.keyed || !n.plain)) {
		store_rollback(st);
		if (n.keyed)
			return 0;
		snprintf(why, len, "the newest audit record (%lld) is %s: "
		    "another node wrote it with a different audit.key_file, "
		    "or the log was altered (vtokenctl audit verify names the "
		    "first bad record)", (long long)seq, n.found ? "neither "
		    "sealed with this node's audit key nor a record of an "
		    "unsealed chain" : "missing");
		return -2;
	}
	detail = json_pack("{s:I, s:s}", "unkeyed_records", (json_int_t)seq,
	    "unkeyed_head", head);
	seq = control_audit_append(st, node, "system", CONTROL_AUDIT_SEAL,
	    "audit", detail);
	json_decref(detail);
	if (seq < 0 || (r = store_commit(st)) < 0) {
		store_rollback(st);
		return seq < 0 ? (int)seq : r;
	}
	return 1;
}

json_t *
control_audit_to_json(const struct store_audit *rec)
{
	json_t *detail = json_loads(rec->detail, 0, NULL);

	if (detail == NULL)
		detail = json_string(rec->detail);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s*}",
	    "seq", (json_int_t)rec->seq, "time", rec->time, "actor",
	    rec->actor, "action", rec->action, "subject", rec->subject,
	    "detail", detail, "prev_hash", rec->prev_hash, "hash", rec->hash,
	    "node", rec->node);
}
