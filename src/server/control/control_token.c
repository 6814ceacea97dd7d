/*
 * control_token: making, deleting and exporting tokens.  A token is a key
 * pair (the private half only inside its disk), a FAT image built in
 * memory by src/token, and rows in the store: the token, the image's
 * non-zero blocks, the audit record and a feed row, in one transaction.
 * The key pair and the image are made on the store thread, so that
 * minting a thousand tokens never holds up a session.
 *
 * Busid numbers are reserved in the replica before the job runs; when
 * another node took one meanwhile (STORE_CONFLICT_NUM), the job runs
 * again with fresh numbers, the taken ones staying reserved until the
 * other node's token arrives through the feed.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cause.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"
#include "server/device/dev_image.h"
#include "server/export/export.h"
#include "token/token_image.h"

#define CONTROL_NUM_RETRIES	8

struct control_create {
	struct control_op op;
	control_bulk_fn *bulk_done;	/* bulk requests; else op.done */
	char *controller_url;
	char ca_sha256[65];
	size_t n;			/* tokens asked for */
	size_t made;			/* committed (store thread writes) */
	struct store_token *rows;	/* [n] */
	unsigned retries;
};

static int
control_create_write(void *arg, uint64_t off, const void *buf, size_t len)
{
	return dev_image_write(arg, off, buf, len);
}

/* Stores one block of the image being made. */
static int
control_create_block(void *arg, uint32_t idx, const uint8_t *data)
{
	const struct store_token *t = ((void **)arg)[1];

	return store_block_put(((void **)arg)[0], t->id, idx, data);
}

/* Store thread: builds row's key pair and image, writes them; STORE_*. */
static int
control_create_one(struct store *st, struct control_create *c,
    struct store_token *row)
{
	struct token_image_info info;
	struct token_image_opts opts;
	struct token_cred *cred;
	struct dev_image *img = NULL;
	void *pair[2] = { st, row };
	char *cause = NULL;
	uint32_t serial;
	int r = STORE_ERR;

	if ((cred = token_cred_generate(&cause)) == NULL ||
	    token_cred_public(cred, row->public_key, &cause) < 0 ||
	    RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1 ||
	    (img = dev_image_new(row->size)) == NULL)
		goto out;
	memset(&info, 0, sizeof(info));
	info.token_id = row->id;
	info.name = row->name;
	info.controller = c->controller_url;
	info.ca_sha256 = c->ca_sha256[0] != '\0' ? c->ca_sha256 : NULL;
	opts.size = row->size;
	opts.serial = serial;
	opts.now = time(NULL);
	if (token_image_write(control_create_write, img, &opts, &info, cred,
	    &cause) < 0)
		goto out;
	r = store_token_insert(st, row);
	if (r == 0)
		r = dev_image_foreach_chunk(img, control_create_block, pair);
out:
	if (r == STORE_ERR && cause != NULL)
		snprintf(st->err, sizeof(st->err), "%s", cause);
	else if (r == STORE_ERR && st->err[0] == '\0')
		snprintf(st->err, sizeof(st->err), "cannot make the key pair "
		    "or the image");
	free(cause);
	token_cred_free(cred);
	dev_image_free(img);	/* wipes: it holds the private key */
	return r;
}

static int
control_create_audit(struct store *st, struct control_create *c,
    const struct store_token *row)
{
	char subject[64], busid[32];
	uint32_t bus, port;
	json_t *detail;
	int r;

	control_num_split(row->num, &bus, &port);
	snprintf(busid, sizeof(busid), "%u-%u", bus, port);
	snprintf(subject, sizeof(subject), "token:%s", row->id);
	detail = json_pack("{s:s, s:I, s:b, s:s}", "name", row->name, "size",
	    (json_int_t)row->size, "writable", row->writable, "busid", busid);
	r = control_tx_audit_run(st, c->op.node, c->op.actor, "token.create",
	    subject, detail);
	json_decref(detail);
	if (r == 0)
		r = control_tx_change_run(st, c->op.node, "token", row->id);
	return r;
}

/* Store thread: one transaction per batch; stops at the first failure. */
static int
control_create_run(struct store *st, void *arg)
{
	struct control_create *c = arg;
	int r = 0;

	while (r == 0 && c->made < c->n) {
		size_t end = c->made + CONTROL_BULK_BATCH;

		if (end > c->n)
			end = c->n;
		if ((r = store_begin(st)) != 0)
			break;
		for (size_t i = c->made; r == 0 && i < end; i++) {
			r = control_create_one(st, c, &c->rows[i]);
			if (r == 0)
				r = control_create_audit(st, c, &c->rows[i]);
		}
		if (r == 0)
			r = store_commit(st);
		if (r != 0)
			store_rollback(st);
		else
			c->made = end;
	}
	return r;
}

static void control_create_done(void *arg, int result, const char *err);

/* Reserves numbers for rows [from, n); -1 when none is left. */
static int
control_create_number(struct control *ctl, struct control_create *c,
    size_t from)
{
	for (size_t i = from; i < c->n; i++)
		if ((c->rows[i].num = control_index_num_reserve(ctl->ix,
		    ctl->exp)) == 0) {
			while (i-- > from)
				control_index_num_release(ctl->ix,
				    c->rows[i].num);
			return -1;
		}
	return 0;
}

static void
control_create_free(struct control_create *c)
{
	free(c->controller_url);
	free(c->rows);
	free(c);
}

static void
control_create_done(void *arg, int result, const char *err)
{
	struct control_create *c = arg;
	struct control *ctl = c->op.ctl;
	char (*ids)[ENCODE_ID_LEN + 1] = NULL;
	struct vt_error e, *ep = NULL;

	for (size_t i = 0; i < c->made; i++) {
		control_apply_token(ctl, &c->rows[i]);
		log_info("%s: created token %s (%s), %llu bytes, %s",
		    c->op.actor, c->rows[i].id, c->rows[i].name,
		    (unsigned long long)c->rows[i].size,
		    c->rows[i].writable ? "rw" : "ro");
	}
	if (result == STORE_CONFLICT_NUM &&
	    c->retries++ < CONTROL_NUM_RETRIES &&
	    control_create_number(ctl, c, c->made) == 0) {
		control_post(ctl, control_create_run, control_create_done, c);
		return;	/* the taken numbers stay reserved */
	}
	for (size_t i = c->made; i < c->n; i++)
		control_index_num_release(ctl->ix, c->rows[i].num);
	if (control_op_result(ctl, result, err, "token create", &e) < 0)
		ep = &e;
	if (c->bulk_done != NULL) {
		ids = xcalloc(c->made ? c->made : 1, sizeof(*ids));
		for (size_t i = 0; i < c->made; i++)
			memcpy(ids[i], c->rows[i].id, sizeof(ids[i]));
		c->bulk_done(c->op.arg, ep, ids, c->made);
		free(ids);
	} else {
		if (c->made == 1)
			memcpy(c->op.id, c->rows[0].id, sizeof(c->op.id));
		control_op_finish(&c->op, ep);
	}
	control_create_free(c);
}

/* Checks what a create asks for; 0 or -1 with *err. */
static int
control_create_check(struct control *ctl, uint64_t size, size_t count,
    struct vt_error *err)
{
	if (size < CONTROL_TOKEN_SIZE_MIN || size > CONTROL_TOKEN_SIZE_MAX ||
	    size % 512 != 0)
		return vt_fail(err, VT_EINVAL, "size must be 1M..64M, a "
		    "multiple of 512");
	if (ctl->ntokens + count > CONTROL_MAX_TOKENS)
		return vt_fail(err, VT_ECONFLICT, "%u tokens at most",
		    (unsigned)CONTROL_MAX_TOKENS);
	return 0;
}

/* A job for count rows, names and ids filled by the caller. */
static struct control_create *
control_create_new(struct control *ctl, const char *actor, size_t count,
    uint64_t size, bool writable)
{
	struct control_create *c = xcalloc(1, sizeof(*c));

	control_op_init(&c->op, ctl, actor, NULL, NULL);
	c->controller_url = xstrdup(ctl->controller_url);
	snprintf(c->ca_sha256, sizeof(c->ca_sha256), "%s", ctl->ca_sha256);
	c->n = count;
	c->rows = xcalloc(count, sizeof(*c->rows));
	for (size_t i = 0; i < count; i++) {
		c->rows[i].size = size;
		c->rows[i].writable = writable;
		encode_time(time(NULL), c->rows[i].created);
	}
	return c;
}

/* Gives row a fresh id, unknown to the replica. */
static int
control_create_id(struct control *ctl, struct store_token *row)
{
	for (int tries = 0; tries < 8; tries++)
		if (encode_random_id(row->id) == 0 &&
		    control_index_token_id(ctl->ix, row->id) == NULL)
			return 0;
	return -1;
}

/* Ids and numbers for every row, then the job; 0 or -1 with *err. */
static int
control_create_start(struct control *ctl, struct control_create *c,
    struct vt_error *err)
{
	for (size_t i = 0; i < c->n; i++)
		if (control_create_id(ctl, &c->rows[i]) < 0) {
			control_create_free(c);
			return vt_fail(err, VT_EINTERNAL, "cannot make an id");
		}
	if (control_create_number(ctl, c, 0) < 0) {
		control_create_free(c);
		return vt_fail(err, VT_ECONFLICT, "no free busid left");
	}
	control_post(ctl, control_create_run, control_create_done, c);
	return 0;
}

int
control_token_create(struct control *ctl, const char *actor,
    const char *name, uint64_t size, bool writable, control_done_fn *done,
    void *arg, struct vt_error *err)
{
	struct control_create *c;

	if (!control_name_valid(name))
		return vt_fail(err, VT_EINVAL, "invalid token name");
	if (control_create_check(ctl, size, 1, err) < 0)
		return -1;
	if (control_index_token_name(ctl->ix, name) != NULL)
		return vt_fail(err, VT_ECONFLICT, "a token named %s exists",
		    name);
	c = control_create_new(ctl, actor, 1, size, writable);
	c->op.done = done;
	c->op.arg = arg;
	snprintf(c->rows[0].name, sizeof(c->rows[0].name), "%s", name);
	return control_create_start(ctl, c, err);
}

int
control_token_create_bulk(struct control *ctl, const char *actor,
    const char *prefix, unsigned count, uint64_t size, bool writable,
    control_bulk_fn *done, void *arg, struct vt_error *err)
{
	struct control_create *c;
	char probe[STORE_NAME_MAX + 16];

	if (count == 0 || count > CONTROL_BULK_MAX)
		return vt_fail(err, VT_EINVAL, "count must be 1..%u",
		    (unsigned)CONTROL_BULK_MAX);
	snprintf(probe, sizeof(probe), "%s-%04u", prefix, count);
	if (!control_name_valid(prefix) || !control_name_valid(probe))
		return vt_fail(err, VT_EINVAL, "invalid token name prefix");
	if (control_create_check(ctl, size, count, err) < 0)
		return -1;
	c = control_create_new(ctl, actor, count, size, writable);
	c->bulk_done = done;
	c->op.arg = arg;
	for (unsigned i = 0; i < count; i++) {
		snprintf(c->rows[i].name, sizeof(c->rows[i].name), "%s-%04u",
		    prefix, i + 1);
		if (control_index_token_name(ctl->ix, c->rows[i].name) !=
		    NULL) {
			vt_fail(err, VT_ECONFLICT, "a token named %s exists",
			    c->rows[i].name);
			control_create_free(c);
			return -1;
		}
	}
	return control_create_start(ctl, c, err);
}

/* ---- delete ---- */

struct control_delete {
	struct control_op op;
	char name[STORE_NAME_MAX + 1];
	bool attached;			/* here, when asked */
};

struct control_revoked {
	struct store_assignment a;
	bool found;
	char vm_name[STORE_NAME_MAX + 1];
};

static int
control_revoked_asg(void *arg, const struct store_assignment *a)
{
	struct control_revoked *x = arg;

	x->a = *a;
	x->found = true;
	return 0;
}

static int
control_revoked_vm(void *arg, const struct store_vm *v)
{
	struct control_revoked *x = arg;

	snprintf(x->vm_name, sizeof(x->vm_name), "%s", v->name);
	return 0;
}

/*
 * Store thread: the revoke's rows and record in the open transaction,
 * as the store has the assignment now (the replica may be behind).
 */
int
control_revoke_rows_run(struct store *st, const char *node,
    const char *actor, const char *token_id, bool attached,
    char vm_id[ENCODE_ID_LEN + 1])
{
	struct control_revoked x;
	char subject[64];
	json_t *detail;
	int r;

	memset(&x, 0, sizeof(x));
	if ((r = store_assignment_get(st, token_id, control_revoked_asg,
	    &x)) != 0)
		return r;
	if (!x.found) {
		snprintf(st->err, sizeof(st->err), "token %s is not assigned",
		    token_id);
		return STORE_NOTFOUND;
	}
	if ((r = store_vm_get(st, x.a.vm_id, control_revoked_vm, &x)) != 0 ||
	    (r = store_assignment_delete(st, token_id)) != 0 ||
	    (r = store_token_set_revoked(st, token_id, true)) != 0)
		return r;
	if (vm_id != NULL)
		memcpy(vm_id, x.a.vm_id, ENCODE_ID_LEN + 1);
	snprintf(subject, sizeof(subject), "token:%s", token_id);
	detail = json_pack("{s:s, s:s, s:b}", "vm", x.a.vm_id, "vm_name",
	    x.vm_name, "attached", attached);
	r = control_tx_audit_run(st, node, actor, "revoke", subject, detail);
	json_decref(detail);
	return r;
}

static int
control_delete_body(struct store *st, void *arg)
{
	struct control_delete *d = arg;
	char subject[64];
	json_t *detail;
	int r = 0;

	r = control_revoke_rows_run(st, d->op.node, d->op.actor, d->op.id,
	    d->attached, NULL);
	if (r == STORE_NOTFOUND)
		r = 0;	/* not assigned */
	if (r == 0)
		r = store_token_delete(st, d->op.id);
	if (r == 0 && (r = store_doc_delete(st, CONTROL_DOC_ALIVE,
	    d->op.id)) == STORE_NOTFOUND)
		r = 0;		/* its agent never succeeded */
	snprintf(subject, sizeof(subject), "token:%s", d->op.id);
	detail = json_pack("{s:s}", "name", d->name);
	if (r == 0)
		r = control_tx_audit_run(st, d->op.node, d->op.actor,
		    "token.delete", subject, detail);
	json_decref(detail);
	if (r == 0)
		r = control_tx_change_run(st, d->op.node, "token", d->op.id);
	return r;
}

static int
control_delete_run(struct store *st, void *arg)
{
	return control_tx_run(st, control_delete_body, arg);
}

static void
control_delete_done(void *arg, int result, const char *err)
{
	struct control_delete *d = arg;
	struct control *ctl = d->op.ctl;
	struct vt_error e;

	if (control_op_result(ctl, result, err, "token delete", &e) < 0) {
		control_op_finish(&d->op, &e);
	} else {
		control_apply_token_gone(ctl, d->op.id);
		log_info("%s: deleted token %s (%s)", d->op.actor, d->op.id,
		    d->name);
		control_op_finish(&d->op, NULL);
	}
	free(d);
}

int
control_token_delete(struct control *ctl, const char *actor,
    struct control_token *tok, control_done_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_delete *d = xcalloc(1, sizeof(*d));

	(void)err;
	control_op_init(&d->op, ctl, actor, done, arg);
	memcpy(d->op.id, tok->id, sizeof(d->op.id));
	memcpy(d->name, tok->name, sizeof(d->name));
	d->attached = tok->dev != NULL;
	control_post(ctl, control_delete_run, control_delete_done, d);
	return 0;
}

/* ---- export ---- */

struct control_export {
	struct control_op op;
	control_image_fn *done;
	uint64_t size;
	uint8_t *image;			/* [size], filled on the store thread */
};

static int
control_export_block(void *arg, const struct store_block *b)
{
	struct control_export *x = arg;
	uint64_t off = (uint64_t)b->idx * STORE_BLOCK_SIZE;

	if (off >= x->size)
		return 0;
	memcpy(x->image + off, b->data, x->size - off < STORE_BLOCK_SIZE ?
	    (size_t)(x->size - off) : STORE_BLOCK_SIZE);
	return 0;
}

static int
control_export_body(struct store *st, void *arg)
{
	struct control_export *x = arg;
	char subject[64];
	int r;

	/* The image holds the private key: its export is on the record. */
	snprintf(subject, sizeof(subject), "token:%s", x->op.id);
	r = control_tx_audit_run(st, x->op.node, x->op.actor, "token.export",
	    subject, NULL);
	if (r == 0)
		r = store_block_foreach(st, x->op.id, control_export_block, x);
	return r;
}

static int
control_export_run(struct store *st, void *arg)
{
	return control_tx_run(st, control_export_body, arg);
}

static void
control_export_done(void *arg, int result, const char *err)
{
	struct control_export *x = arg;
	struct vt_error e;

	if (control_op_result(x->op.ctl, result, err, "token export", &e) < 0)
		x->done(x->op.arg, &e, NULL, 0);
	else
		x->done(x->op.arg, NULL, x->image, x->size);
	explicit_bzero(x->image, x->size);
	free(x->image);
	free(x);
}

int
control_token_export(struct control *ctl, const char *actor,
    const struct control_token *tok, control_image_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_export *x = xcalloc(1, sizeof(*x));

	control_op_init(&x->op, ctl, actor, NULL, arg);
	memcpy(x->op.id, tok->id, sizeof(x->op.id));
	x->done = done;
	x->size = tok->size;
	if ((x->image = calloc(1, tok->size)) == NULL) {
		free(x);
		return vt_fail(err, VT_EINTERNAL, "out of memory");
	}
	control_post(ctl, control_export_run, control_export_done, x);
	return 0;
}
