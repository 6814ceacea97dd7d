/*
 * control_read: the reads the API asks of the store (they are not in
 * the replica): audit records and their verification, the cluster's
 * sessions and nodes.  Each runs on the store thread and builds its JSON
 * there; the event loop only adds what it knows better (the live byte
 * counters of this node's own sessions, names from the replica).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"
#include "server/export/export.h"

struct control_read {
	struct control *ctl;
	int64_t after;
	char after_id[ENCODE_ID_LEN + 1];	/* sessions */
	unsigned limit;
	json_t *rows;			/* built on the store thread */
	int64_t last;
	struct control_audit_result res;
	void (*finish)(struct control_read *, const struct vt_error *);
	union {				/* the caller's callback */
		control_audit_fn *audit;
		control_verify_fn *verify;
		control_rows_fn *rows;
	} cb;
	void *arg;
};

static void
control_read_done(void *arg, int result, const char *err)
{
	struct control_read *x = arg;
	struct vt_error e;

	if (control_op_result(x->ctl, result, err, "reading the store",
	    &e) < 0)
		x->finish(x, &e);
	else
		x->finish(x, NULL);
	json_decref(x->rows);
	free(x);
}

static struct control_read *
control_read_new(struct control *ctl, void *arg)
{
	struct control_read *x = xcalloc(1, sizeof(*x));

	x->ctl = ctl;
	x->arg = arg;
	x->rows = json_array();
	return x;
}

/* ---- audit ---- */

static int
control_read_audit_row(void *arg, const struct store_audit *rec)
{
	return json_array_append_new(arg, control_audit_to_json(rec)) == 0 ?
	    0 : STORE_ERR;
}

static int
control_read_audit_run(struct store *st, void *arg)
{
	struct control_read *x = arg;
	char hash[STORE_HASH_HEX + 1];
	int r = store_audit_foreach(st, x->after, x->limit,
	    control_read_audit_row, x->rows);

	if (r == 0)
		r = store_audit_last(st, &x->last, hash);
	return r;
}

static void
control_read_audit_finish(struct control_read *x, const struct vt_error *e)
{
	x->cb.audit(x->arg, e, x->rows, x->last);
}

void
control_audit_list(struct control *ctl, int64_t after, unsigned limit,
    control_audit_fn *done, void *arg)
{
	struct control_read *x = control_read_new(ctl, arg);

	x->cb.audit = done;
	x->after = after;
	x->limit = limit;
	x->finish = control_read_audit_finish;
	control_post(ctl, control_read_audit_run, control_read_done, x);
}

static int
control_read_verify_run(struct store *st, void *arg)
{
	struct control_read *x = arg;

	return control_audit_verify(st, &x->res);
}

static void
control_read_verify_finish(struct control_read *x, const struct vt_error *e)
{
	if (e == NULL && x->res.bad_seq != 0)
		log_warnx("audit verify: chain broken at record %lld: %s",
		    (long long)x->res.bad_seq, x->res.reason);
	x->cb.verify(x->arg, e, &x->res);
}

void
control_audit_check(struct control *ctl, int64_t head_seq,
    const char *head_hash, control_verify_fn *done, void *arg)
{
	struct control_read *x = control_read_new(ctl, arg);

	x->res.head_seq = head_seq;
	if (head_hash != NULL)
		snprintf(x->res.head_hash, sizeof(x->res.head_hash), "%s",
		    head_hash);
	x->cb.verify = done;
	x->finish = control_read_verify_finish;
	control_post(ctl, control_read_verify_run, control_read_done, x);
}

/* ---- sessions ---- */

static int
control_read_session_row(void *arg, const struct store_session *s)
{
	return json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s,"
	    " s:s, s:I, s:I}", "token", s->token_id, "vm", s->vm_id, "node",
	    s->node, "peer", s->peer, "since", s->since, "bytes_in",
	    (json_int_t)s->bytes_in, "bytes_out", (json_int_t)s->bytes_out)) ==
	    0 ? 0 : STORE_ERR;
}

static int
control_read_sessions_run(struct store *st, void *arg)
{
	struct control_read *x = arg;

	return store_session_foreach(st, NULL, x->after_id, x->limit + 1,
	    control_read_session_row, x->rows);
}

/* Adds names, the busid and, for this node's sessions, live counters. */
static void
control_read_session_fill(struct control *ctl, json_t *o)
{
	const char *id = json_string_value(json_object_get(o, "token"));
	const char *node = json_string_value(json_object_get(o, "node"));
	struct control_token *tok = id ? control_token_by_id(ctl, id) : NULL;
	const struct export_session *s;
	char busid[32];

	json_object_set_new(o, "token_name", tok ? json_string(tok->name) :
	    json_null());
	json_object_set_new(o, "vm_name", tok && tok->vm ?
	    json_string(tok->vm->name) : json_null());
	if (tok != NULL)
		control_token_busid(tok, busid);
	json_object_set_new(o, "busid", tok ? json_string(busid) :
	    json_null());
	/* Live figures only where the session is: other nodes report. */
	json_object_set_new(o, "live", json_false());
	json_object_set_new(o, "urbs", json_null());
	if (tok == NULL || tok->dev == NULL || node == NULL ||
	    strcmp(node, ctl->node_name) != 0 ||
	    (s = tok->dev->session) == NULL)
		return;
	json_object_set_new(o, "live", json_true());
	json_object_set_new(o, "peer", json_string(s->peer_str));
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)
	    s->bytes_in));
	json_object_set_new(o, "bytes_out", json_integer((json_int_t)
	    s->bytes_out));
	json_object_set_new(o, "urbs", json_integer((json_int_t)s->urbs));
}

static void
control_read_sessions_finish(struct control_read *x,
    const struct vt_error *e)
{
	size_t i;
	json_t *o;

	if (e == NULL)
		json_array_foreach(x->rows, i, o)
			control_read_session_fill(x->ctl, o);
	x->cb.rows(x->arg, e, x->rows);
}

void
control_sessions_list(struct control *ctl, const char *after, unsigned limit,
    control_rows_fn *done, void *arg)
{
	struct control_read *x = control_read_new(ctl, arg);

	snprintf(x->after_id, sizeof(x->after_id), "%s", after);
	x->limit = limit;
	x->cb.rows = done;
	x->finish = control_read_sessions_finish;
	control_post(ctl, control_read_sessions_run, control_read_done, x);
}

/* ---- nodes ---- */

static int
control_read_node_row(void *arg, const struct store_node *n)
{
	return json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s,"
	    " s:s, s:s, s:I, s:i}", "name", n->name, "usbip", n->usbip, "api",
	    n->api, "version", n->version, "started", n->started,
	    "heartbeat", n->heartbeat, "heartbeat_age_s", (json_int_t)n->age,
	    "sessions", (int)n->sessions)) == 0 ? 0 : STORE_ERR;
}

static int
control_read_nodes_run(struct store *st, void *arg)
{
	struct control_read *x = arg;

	return store_node_foreach(st, control_read_node_row, x->rows);
}

/* A node is "up" while its lease runs, "lost" after. */
static void
control_read_nodes_finish(struct control_read *x, const struct vt_error *e)
{
	size_t i;
	json_t *o;

	if (e == NULL)
		json_array_foreach(x->rows, i, o) {
			json_int_t age = json_integer_value(json_object_get(o,
			    "heartbeat_age_s"));

			json_object_set_new(o, "state", json_string(age <
			    (json_int_t)x->ctl->lease_s ? "up" : "lost"));
			json_object_set_new(o, "self", json_boolean(strcmp(
			    json_string_value(json_object_get(o, "name")),
			    x->ctl->node_name) == 0));
		}
	x->cb.rows(x->arg, e, x->rows);
}

void
control_nodes_list(struct control *ctl, control_rows_fn *done, void *arg)
{
	struct control_read *x = control_read_new(ctl, arg);

	x->cb.rows = done;
	x->finish = control_read_nodes_finish;
	control_post(ctl, control_read_nodes_run, control_read_done, x);
}
