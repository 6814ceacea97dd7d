/*
 * control_session: the controller's export hooks.  A peer lists and may
 * import only the tokens assigned to a VM one of whose addresses it has;
 * anything else is "no such device", never revealing that a token exists,
 * and is audited as attach.denied (rate-limited per address).
 *
 * An import is decided from the replica, then made on the store thread:
 * the claim (one session per token in the whole cluster; a claim of a
 * node whose lease ran out is taken over), the attach record, and the
 * token's blocks, which become the device's image.  A token served
 * without its record would be an unaudited use, so an attach that cannot
 * be recorded is refused.  When the session ends the device is dropped
 * (its unflushed writes handed to the store first), the claim released
 * and the detach recorded.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"
#include "server/device/dev_image.h"
#include "server/export/export.h"

struct control_devlist {
	export_emit_cb *emit;
	void *emit_arg;
};

static void
control_session_list_vm(void *arg, struct control_vm *vm)
{
	struct control_devlist *l = arg;
	const struct control_token *t;
	struct export_devinfo info;
	char busid[32];

	TAILQ_FOREACH(t, &vm->tokens, vm_entry) {
		control_token_busid(t, busid);
		control_num_split(t->num, &info.busnum, &info.devnum);
		info.busid = busid;
		info.name = t->name;
		l->emit(l->emit_arg, &info);
	}
}

static void
control_session_devlist(void *arg, const struct sockaddr *sa,
    export_emit_cb *emit, void *emit_arg)
{
	struct control *ctl = arg;
	struct control_devlist l = { emit, emit_arg };

	control_index_vms_of_peer(ctl->ix, sa, control_session_list_vm, &l);
}

/* Audits a refused import of busid (peer-chosen: shown printable). */
static void
control_session_denied(struct control *ctl, const struct export_session *s,
    const char *busid, const char *reason)
{
	char actor[96], subject[64], shown[EXPORT_BUSID_SIZE];

	snprintf(actor, sizeof(actor), "usbip:%s", s->peer_str);
	snprintf(subject, sizeof(subject), "busid:%s",
	    text_printable(busid, shown, sizeof(shown)));
	control_audit_refusal(ctl, s->peer_host, actor, "attach.denied",
	    subject, json_pack("{s:s}", "reason", reason));
}

/* An import on its way through the store thread. */
struct control_claim {
	struct control *ctl;
	const char *node;
	struct export_import *imp;
	struct export_session *s;	/* kept by export until answered */
	struct store_session row;
	char peer[EXPORT_PEER_MAX];
	char busid[EXPORT_BUSID_SIZE];
	unsigned lease_s;
	uint64_t size;
	bool quiet;			/* no attach record (churn) */
	json_t *coalesced;		/* sessions before it, or NULL */
	size_t n, cap;			/* the blocks read */
	uint32_t *idx;
	uint8_t *data;			/* n x STORE_BLOCK_SIZE */
};

static int
control_claim_block(void *arg, const struct store_block *b)
{
	struct control_claim *c = arg;

	if ((uint64_t)b->idx * STORE_BLOCK_SIZE >= c->size)
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->idx = xreallocarray(c->idx, c->cap, sizeof(*c->idx));
		c->data = xreallocarray(c->data, c->cap, STORE_BLOCK_SIZE);
	}
	c->idx[c->n] = b->idx;
	memcpy(c->data + c->n * STORE_BLOCK_SIZE, b->data, STORE_BLOCK_SIZE);
	c->n++;
	return 0;
}

static int
control_claim_body(struct store *st, void *arg)
{
	struct control_claim *c = arg;
	char actor[96], subject[64];
	int r;

	r = store_session_claim(st, &c->row, c->lease_s);
	snprintf(actor, sizeof(actor), "usbip:%s", c->peer);
	snprintf(subject, sizeof(subject), "token:%s", c->row.token_id);
	if (r == 0 && !c->quiet) {
		json_t *detail = json_pack("{s:s}", "vm", c->row.vm_id);

		if (c->coalesced != NULL)
			json_object_set(detail, "coalesced", c->coalesced);
		r = control_tx_audit_run(st, c->node, actor, "attach", subject,
		    detail);
		json_decref(detail);
	}
	return r;
}

static int
control_claim_run(struct store *st, void *arg)
{
	struct control_claim *c = arg;
	int r = control_tx_run(st, control_claim_body, c);

	if (r == 0)
		r = store_block_foreach(st, c->row.token_id,
		    control_claim_block, c);
	return r;
}

static void
control_claim_free(struct control_claim *c)
{
	if (c->data != NULL)
		explicit_bzero(c->data, c->n * STORE_BLOCK_SIZE);
	json_decref(c->coalesced);
	free(c->data);
	free(c->idx);
	free(c);
}

/*
 * The releasing of a claim and its detach record.  When the store cannot
 * be reached, the job waits on ctl->release_retry and is posted again
 * after the next heartbeat that reaches it: a claim left behind would
 * keep the token busy in the whole cluster until this node stops.
 */
struct control_release {
	struct control_release *next;	/* on ctl->release_retry */
	struct control *ctl;
	const char *node;
	char token_id[ENCODE_ID_LEN + 1];
	char actor[96];
	json_t *detail;			/* NULL: no detach record */
};

static int
control_release_body(struct store *st, void *arg)
{
	struct control_release *x = arg;
	char subject[64];
	int r = store_session_release(st, x->token_id, x->node);

	/*
	 * No claim of ours: another node's heartbeat released it (this
	 * node was lost) and recorded that detach.  Nothing to add.
	 */
	if (r == STORE_NOTFOUND)
		return 0;
	snprintf(subject, sizeof(subject), "token:%s", x->token_id);
	if (r == 0 && x->detail != NULL)
		r = control_tx_audit_run(st, x->node, x->actor, "detach",
		    subject, x->detail);
	return r;
}

static void
control_release_done(void *arg, int result, const char *err)
{
	struct control_release *x = arg;
	struct vt_error e;
	char what[96];

	snprintf(what, sizeof(what), "recording the detach of %s",
	    x->token_id);
	(void)control_op_result(x->ctl, result, err, what, &e);
	if (result == STORE_UNAVAILABLE) {
		x->next = x->ctl->release_retry;
		x->ctl->release_retry = x;
		return;
	}
	json_decref(x->detail);
	free(x);
}

void
control_release_retry(struct control *ctl)
{
	struct control_release *x = ctl->release_retry, *next;

	ctl->release_retry = NULL;
	for (; x != NULL; x = next) {
		next = x->next;
		log_info("token %s: releasing its claim again (the store is "
		    "back)", x->token_id);
		control_post_tx(ctl, control_release_body, control_release_done,
		    x);
	}
}

void
control_release_forget(struct control *ctl)
{
	struct control_release *x = ctl->release_retry, *next;

	ctl->release_retry = NULL;
	for (; x != NULL; x = next) {
		next = x->next;
		json_decref(x->detail);
		free(x);
	}
}

static void
control_release_post(struct control *ctl, const char *token_id,
    const char *peer, json_t *detail)
{
	struct control_release *x = xcalloc(1, sizeof(*x));

	x->ctl = ctl;
	x->node = ctl->node_name;
	snprintf(x->token_id, sizeof(x->token_id), "%s", token_id);
	snprintf(x->actor, sizeof(x->actor), "usbip:%s", peer);
	x->detail = detail;
	control_post_tx(ctl, control_release_body, control_release_done, x);
}

/* The device of tok, from the blocks the claim read; NULL when short. */
static struct export_device *
control_claim_device(struct control *ctl, struct control_token *tok,
    const struct control_claim *c)
{
	struct dev_image *img = dev_image_new(tok->size);
	uint32_t bus, port;

	if (img == NULL)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (dev_image_load_chunk(img, c->idx[i], c->data + i *
		    STORE_BLOCK_SIZE) < 0) {
			dev_image_free(img);
			return NULL;
		}
	dev_image_set_readonly(img, !tok->writable);
	control_num_split(tok->num, &bus, &port);
	return export_device_new(ctl->exp, bus, port, tok->id, tok->name, img);
}

/* Why a failed claim is refused, and how. */
static enum export_status
control_claim_refusal(int result, const char **why)
{
	switch (result) {
	case STORE_CONFLICT:
		*why = "already attached";
		return EXPORT_BUSY;
	case STORE_NOTFOUND:
		*why = "not assigned to this peer";
		return EXPORT_NODEV;
	case STORE_UNAVAILABLE:
		*why = "the store is unavailable (the attach cannot be "
		    "recorded)";
		return EXPORT_ERROR;
	default:
		*why = "the attach could not be recorded";
		return EXPORT_ERROR;
	}
}

static void
control_claim_done(void *arg, int result, const char *err)
{
	struct control_claim *c = arg;
	struct control *ctl = c->ctl;
	struct control_token *tok = control_index_token_id(ctl->ix,
	    c->row.token_id);
	enum export_status st;
	const char *why;
	struct vt_error e;

	if (tok != NULL)
		tok->importing = false;
	if (result < 0) {
		if (result != STORE_CONFLICT && result != STORE_NOTFOUND)
			(void)control_op_result(ctl, result, err,
			    "recording an attach", &e);
		st = control_claim_refusal(result, &why);
		control_session_denied(ctl, c->s, c->busid, why);
		export_import_done(c->imp, st, NULL, why);
		control_claim_free(c);
		return;
	}
	(void)control_op_result(ctl, 0, NULL, NULL, &e);
	if (tok != NULL && !c->quiet)	/* the attach record is made */
		control_churn_recorded(ctl, tok, time(NULL));
	if (tok == NULL || !control_token_visible(tok,
	    (const struct sockaddr *)&c->s->peer) || tok->dev != NULL ||
	    (tok->dev = control_claim_device(ctl, tok, c)) == NULL) {
		/* Revoked or deleted while we claimed it (or no memory). */
		control_release_post(ctl, c->row.token_id, c->peer,
		    json_pack("{s:s}", "reason", "refused after the claim"));
		export_import_done(c->imp, EXPORT_NODEV, NULL,
		    "not assigned to this peer");
		control_claim_free(c);
		return;
	}
	if (tok->writable)
		control_flush_attach(ctl, tok);
	memcpy(tok->session_vm, c->row.vm_id, sizeof(tok->session_vm));
	tok->session_quiet = c->quiet;
	tok->attach_gen++;	/* its agent's next success is recorded */
	ctl->stats.attaches++;
	export_import_done(c->imp, EXPORT_OK, tok->dev, NULL);
	control_claim_free(c);
}

static void
control_session_import(void *arg, struct export_import *imp,
    const char *busid, struct export_session *s)
{
	struct control *ctl = arg;
	struct control_token *tok = NULL;
	struct control_claim *c;
	uint32_t bus, port;
	const char *why = "no such device";

	if (export_busid_parse(busid, &bus, &port) == 0)
		tok = control_index_token_num(ctl->ix,
		    control_num_join(bus, port));
	if (tok != NULL && !control_token_visible(tok,
	    (const struct sockaddr *)&s->peer))
		why = "not assigned to this peer";
	else if (tok != NULL && (tok->dev != NULL || tok->importing))
		why = "already attached";
	else if (tok != NULL)
		why = NULL;
	if (why != NULL) {
		control_session_denied(ctl, s, busid, why);
		export_import_done(imp, strcmp(why, "already attached") == 0 ?
		    EXPORT_BUSY : EXPORT_NODEV, NULL, why);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->node = ctl->node_name;
	c->imp = imp;
	c->s = s;
	c->lease_s = ctl->lease_s;
	c->size = tok->size;
	snprintf(c->row.token_id, sizeof(c->row.token_id), "%s", tok->id);
	snprintf(c->row.vm_id, sizeof(c->row.vm_id), "%s", tok->vm->id);
	snprintf(c->peer, sizeof(c->peer), "%s", s->peer_str);
	snprintf(c->busid, sizeof(c->busid), "%s", busid);
	c->row.node = ctl->node_name;
	c->row.peer = c->peer;
	encode_time(s->since, c->row.since);
	/*
	 * Recorded, it carries the count of the unrecorded sessions before
	 * it, which is forgotten only when the record is made.
	 */
	c->quiet = control_churn_quiet(tok, time(NULL));
	if (!c->quiet)
		c->coalesced = control_churn_count(tok);
	tok->importing = true;
	control_post(ctl, control_claim_run, control_claim_done, c);
}

static void
control_session_detached(void *arg, const struct export_session *s)
{
	struct control *ctl = arg;
	struct control_token *tok = control_index_token_id(ctl->ix,
	    s->dev->id);

	ctl->stats.detaches++;
	if (tok == NULL || tok->dev != s->dev)
		return;		/* not ours: cannot happen */
	control_flush_detach(ctl, tok);
	if (tok->session_quiet) {
		/* Counted, recorded with its burst (control_churn.c). */
		control_churn_detached(ctl, tok, time(NULL));
		control_release_post(ctl, tok->id, s->peer_str, NULL);
		export_device_free(tok->dev);
		tok->dev = NULL;
		return;
	}
	control_release_post(ctl, tok->id, s->peer_str, json_pack(
	    "{s:s, s:I, s:I, s:I, s:I}", "vm", tok->session_vm,
	    "bytes_in", (json_int_t)s->bytes_in,
	    "bytes_out", (json_int_t)s->bytes_out, "urbs",
	    (json_int_t)s->urbs, "duration_s",
	    (json_int_t)(time(NULL) - s->since)));
	/* The session is over: the token's disk leaves memory. */
	export_device_free(tok->dev);
	tok->dev = NULL;
}

static void
control_session_refused(void *arg, const struct export_session *s,
    const char *busid, const char *reason)
{
	control_session_denied(arg, s, busid, reason);
}

static void
control_session_count_vm(void *arg, struct control_vm *vm)
{
	int *n = arg;

	*n = (*n < 0 ? 0 : *n) + (int)(vm->ntokens < 1000000 ? vm->ntokens :
	    1000000);
}

/*
 * The tokens of the VMs at sa, or -1 when sa is no VM's: the USB/IP
 * listener keeps connection slots for VM addresses (one per assigned
 * token, on top of its per-address cap), from the replica's address index.
 */
static int
control_session_peer_tokens(void *arg, const struct sockaddr *sa)
{
	struct control *ctl = arg;
	int n = -1;

	control_index_vms_of_peer(ctl->ix, sa, control_session_count_vm, &n);
	return n;
}

const struct export_hooks control_export_hooks = {
	.devlist = control_session_devlist,
	.import = control_session_import,
	.detached = control_session_detached,
	.refused = control_session_refused,
	.peer_tokens = control_session_peer_tokens,
};
