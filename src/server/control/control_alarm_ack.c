/*
 * control_alarm_ack: the alarms as the API sees them: the list (from the
 * store, so every node shows the cluster's) and the acknowledgement, one
 * transaction with its alarm.ack audit record; the acknowledging node
 * delivers the news.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_alarm_impl.h"
#include "server/control/control_impl.h"

struct alarm_read {
	struct control *ctl;
	char state[16];			/* "" all */
	unsigned limit;
	char id[STORE_ID_LEN + 1];	/* ack */
	char actor[96];
	char when[STORE_TIME_LEN + 1];
	const char *node;
	json_t *rows;
	bool missing;			/* ack: no such alarm */
	control_alarm_fn *done;
	void *arg;
};

static int
alarm_read_row(void *arg, const struct store_alarm *r)
{
	struct alarm_read *x = arg;

	return json_array_append_new(x->rows, control_alarm_to_json(r)) == 0 ?
	    0 : STORE_ERR;
}

static int
alarm_list_run(struct store *st, void *arg)
{
	struct alarm_read *x = arg;

	json_array_clear(x->rows);
	return store_alarm_foreach(st, x->state[0] ? x->state : NULL,
	    x->limit, alarm_read_row, x);
}

static void
alarm_read_done(void *arg, int result, const char *err)
{
	struct alarm_read *x = arg;
	struct vt_error e, *ep = NULL;

	if (x->missing)
		ep = vt_fail(&e, VT_ENOTFOUND, "no alarm %s", x->id) < 0 ?
		    &e : NULL;
	else if (result == STORE_NOTFOUND) {
		vt_fail(&e, VT_ECONFLICT, "alarm %s is already "
		    "acknowledged", x->id);
		ep = &e;
	} else if (control_op_result(x->ctl, result, err, "alarms", &e) < 0)
		ep = &e;
	x->done(x->arg, ep, x->rows);
	json_decref(x->rows);
	free(x);
}

static struct alarm_read *
alarm_read_new(struct control *ctl, control_alarm_fn *done, void *arg)
{
	struct alarm_read *x = xcalloc(1, sizeof(*x));

	x->ctl = ctl;
	x->node = ctl->node_name;
	x->rows = json_array();
	x->done = done;
	x->arg = arg;
	return x;
}

void
control_alarm_list(struct control *ctl, const char *state, unsigned limit,
    control_alarm_fn *done, void *arg)
{
	struct alarm_read *x = alarm_read_new(ctl, done, arg);

	snprintf(x->state, sizeof(x->state), "%s", state ? state : "");
	x->limit = limit;
	control_post(ctl, alarm_list_run, alarm_read_done, x);
}

static int
alarm_ack_body(struct store *st, void *arg)
{
	struct alarm_read *x = arg;
	char subject[64];
	json_t *detail;
	int r;

	json_array_clear(x->rows);
	x->missing = false;
	if ((r = store_alarm_get(st, x->id, alarm_read_row, x)) != 0)
		return r;
	if (json_array_size(x->rows) == 0) {
		x->missing = true;
		return 0;
	}
	if ((r = store_alarm_ack(st, x->id, x->actor, x->when)) != 0)
		return r;
	snprintf(subject, sizeof(subject), "alarm:%s", x->id);
	detail = json_pack("{s:O, s:O}", "rule", json_object_get(
	    json_array_get(x->rows, 0), "rule"), "key", json_object_get(
	    json_array_get(x->rows, 0), "key"));
	r = control_tx_audit_run(st, x->node, x->actor, "alarm.ack", subject,
	    detail);
	json_decref(detail);
	if (r == 0) {
		json_array_clear(x->rows);
		r = store_alarm_get(st, x->id, alarm_read_row, x);
	}
	return r;
}

static int
alarm_ack_run(struct store *st, void *arg)
{
	return control_tx_run(st, alarm_ack_body, arg);
}

/* Delivers the acknowledgement, then answers as a read does. */
static void
alarm_ack_done(void *arg, int result, const char *err)
{
	struct alarm_read *x = arg;
	struct control_alarm *a = x->ctl->alarm;
	json_t *o = json_array_get(x->rows, 0);

	if (result == 0 && !x->missing && a != NULL && o != NULL) {
		log_info("%s: acknowledged alarm %s (%s)", x->actor, x->id,
		    json_string_value(json_object_get(o, "rule")));
		alarm_deliver(a, o, "acknowledged", true, true);
	}
	alarm_read_done(x, result, err);
}

void
control_alarm_ack(struct control *ctl, const char *actor, const char *id,
    control_alarm_fn *done, void *arg)
{
	struct alarm_read *x = alarm_read_new(ctl, done, arg);

	snprintf(x->id, sizeof(x->id), "%s", id);
	snprintf(x->actor, sizeof(x->actor), "%s", actor);
	encode_time(time(NULL), x->when);
	control_post(ctl, alarm_ack_run, alarm_ack_done, x);
}
