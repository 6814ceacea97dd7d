/*
 * control_job: what every change's store job shares: the transaction
 * frame, the audit record and feed row inside it, the mapping of store
 * results to the errors the API shows, and fire-and-forget audit records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"

void
control_op_init(struct control_op *op, struct control *ctl,
    const char *actor, control_done_fn *done, void *arg)
{
	op->ctl = ctl;
	op->done = done;
	op->arg = arg;
	op->node = ctl->node_name;
	snprintf(op->actor, sizeof(op->actor), "%s", actor);
}

int
control_op_result(struct control *ctl, int result, const char *errtext,
    const char *what, struct vt_error *err)
{
	if (result >= 0) {
		if (ctl->store_down)
			log_info("store: reachable again");
		ctl->store_down = false;
		return 0;
	}
	switch (result) {
	case STORE_CONFLICT:
	case STORE_CONFLICT_NUM:
		return vt_fail(err, VT_ECONFLICT, "%s: %s", what, errtext ?
		    errtext : "conflict");
	case STORE_NOTFOUND:
		return vt_fail(err, VT_ENOTFOUND, "%s: %s", what, errtext ?
		    errtext : "not found");
	case STORE_UNAVAILABLE:
		if (!ctl->store_down)
			log_error("store unavailable: %s", errtext ? errtext :
			    "?");
		ctl->store_down = true;
		snprintf(ctl->store_why, sizeof(ctl->store_why), "%s",
		    errtext ? errtext : "unreachable");
		return vt_fail(err, VT_EUNAVAIL, "the store is unavailable");
	default:
		ctl->stats.store_errors++;
		log_error("%s: %s", what, errtext ? errtext : "store error");
		return vt_fail(err, VT_EINTERNAL, "%s: store error", what);
	}
}

void
control_op_finish(struct control_op *op, const struct vt_error *err)
{
	if (op->done != NULL)
		op->done(op->arg, err, err == NULL ? op->id : NULL);
}

void
control_post(struct control *ctl, store_run_fn *run, store_done_fn *done,
    void *arg)
{
	store_worker_post(ctl->worker, run, done, arg);
}

void
control_post_tx(struct control *ctl, store_run_fn *body, store_done_fn *done,
    void *arg)
{
	store_worker_post_tx(ctl->worker, body, done, arg);
}

int
control_tx_audit_run(struct store *st, const char *node, const char *actor,
    const char *action, const char *subject, const json_t *detail)
{
	int64_t seq = control_audit_append(st, node, actor, action, subject,
	    detail);

	return seq < 0 ? (int)seq : 0;
}

int
control_tx_change_run(struct store *st, const char *node, const char *kind,
    const char *key)
{
	return store_change_insert(st, kind, key, node);
}

int
control_tx_run(struct store *st, int (*body)(struct store *, void *),
    void *arg)
{
	int r = store_begin(st);

	if (r == 0)
		r = body(st, arg);
	if (r == 0)
		r = store_commit(st);
	if (r != 0)
		store_rollback(st);
	return r;
}

/* A fire-and-forget audit record. */
struct control_audit_job {
	struct control *ctl;
	const char *node;
	char *actor, *action, *subject;
	json_t *detail;			/* owned */
};

static int
control_audit_job_body(struct store *st, void *arg)
{
	struct control_audit_job *j = arg;

	return control_tx_audit_run(st, j->node, j->actor, j->action,
	    j->subject, j->detail);
}

static void
control_audit_job_done(void *arg, int result, const char *err)
{
	struct control_audit_job *j = arg;
	struct vt_error e;
	char what[160];

	snprintf(what, sizeof(what), "audit %s %s", j->action, j->subject);
	(void)control_op_result(j->ctl, result, err, what, &e);
	free(j->actor);
	free(j->action);
	free(j->subject);
	json_decref(j->detail);
	free(j);
}

void
control_audit_post(struct control *ctl, const char *actor,
    const char *action, const char *subject, json_t *detail)
{
	struct control_audit_job *j = xcalloc(1, sizeof(*j));

	j->ctl = ctl;
	j->node = ctl->node_name;
	j->actor = xstrdup(actor);
	j->action = xstrdup(action);
	j->subject = xstrdup(subject);
	j->detail = detail;
	control_post_tx(ctl, control_audit_job_body, control_audit_job_done, j);
}
