/*
 * control_audit: hash-chained records (see control_audit.h).
 */
#include "server/control/control_audit.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"

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
control_audit_hash(const struct store_audit *rec, char out[STORE_HASH_HEX + 1])
{
	uint8_t prev[32], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	char *canon;
	int ok;

	if (decode_hex(rec->prev_hash, prev, sizeof(prev)) < 0)
		return -1;
	canon = control_audit_canonical(rec);
	if (canon == NULL)
		return -1;
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, prev, sizeof(prev)) &&
	    EVP_DigestUpdate(ctx, canon, strlen(canon)) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	free(canon);
	if (!ok || mdlen != 32)
		return -1;
	encode_hex(md, 32, out, false);
	return 0;
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
	if (control_audit_hash(&rec, rec.hash) < 0) {
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

static int
control_audit_verify_row(void *arg, const struct store_audit *rec)
{
	struct control_audit_result *r = arg;
	char want[STORE_HASH_HEX + 1];

	if (rec->seq != r->records + 1)
		snprintf(r->reason, sizeof(r->reason), "sequence gap: "
		    "expected %lld", (long long)(r->records + 1));
	else if (strcmp(rec->prev_hash, r->last_hash) != 0)
		snprintf(r->reason, sizeof(r->reason), "prev_hash does not "
		    "match the previous record");
	else if (control_audit_hash(rec, want) < 0)
		snprintf(r->reason, sizeof(r->reason), "record is malformed");
	else if (strcmp(want, rec->hash) != 0)
		snprintf(r->reason, sizeof(r->reason), "hash mismatch: the "
		    "record was altered");
	else {
		r->records++;
		memcpy(r->last_hash, rec->hash, sizeof(r->last_hash));
		return 0;
	}
	r->bad_seq = rec->seq > 0 ? rec->seq : r->records + 1;
	return 1;	/* stop at the first broken record */
}

int
control_audit_verify(struct store *st, struct control_audit_result *r)
{
	memset(r, 0, sizeof(*r));
	memset(r->last_hash, '0', STORE_HASH_HEX);
	return store_audit_foreach(st, 0, 0, control_audit_verify_row, r) < 0 ?
	    -1 : 0;
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
