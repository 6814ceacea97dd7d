/*
 * control_alarm_job: an alarm's way into the store and out to the
 * world.  Raising and clearing are store jobs (store.h keeps one active
 * alarm per rule and key); the node whose job inserted, cleared or
 * acknowledged a row delivers that news to the webhook and syslog
 * destinations of the alarm's rule, so a cluster sends it once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_alarm_impl.h"
#include "server/control/control_impl.h"
#include "server/notify/notify.h"

#define ALARM_SD_ID	"alarm@32473"	/* 32473: the example PEN */
#define AUDIT_SD_ID	"audit@32473"

struct alarm_job {
	struct control_alarm *a;
	bool clear;
	bool history;			/* insert raised and cleared at once */
	bool retried;
	bool notify_update;		/* deliver an "updated" */
	char rule[49], key[80], severity[16], message[256];
	bool webhook, syslog;
	struct store_alarm row;
	char id[STORE_ID_LEN + 1];
	bool inserted;
};

static int
alarm_severity_num(const char *sev)
{
	return strcmp(sev, "critical") == 0 ? 2 : strcmp(sev, "warning") ==
	    0 ? 4 : 6;
}

void
alarm_deliver(struct control_alarm *a, const json_t *alarm, const char *event,
    bool webhook, bool syslog)
{
	char sd[1024], v[7][160], *body;
	static const char *const f[] = { "id", "rule", "key", "severity",
	    "node", "message", NULL };
	json_t *doc;

	if (webhook && a->webhook != NULL) {
		doc = json_pack("{s:s, s:O}", "event", event, "alarm", alarm);
		body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
		if (body == NULL || !notify_post(a->webhook, 0, NULL, NULL,
		    body))
			log_warnx("alarms: the webhook queue is full; dropped "
			    "the %s of %s", event, json_string_value(
			    json_object_get(alarm, "rule")));
		free(body);
		json_decref(doc);
	}
	if (!syslog || a->syslog == NULL)
		return;
	for (int i = 0; f[i] != NULL; i++) {
		const char *s = json_string_value(json_object_get(alarm, f[i]));

		notify_sd_escape(s != NULL ? s : "", v[i], sizeof(v[i]));
	}
	snprintf(sd, sizeof(sd), "[" ALARM_SD_ID " id=\"%s\" rule=\"%s\" "
	    "key=\"%s\" severity=\"%s\" node=\"%s\" event=\"%s\" count=\"%"
	    JSON_INTEGER_FORMAT "\"]", v[0], v[1], v[2], v[3], v[4], event,
	    json_integer_value(json_object_get(alarm, "count")));
	if (!notify_post(a->syslog, alarm_severity_num(v[3]), "alarm", sd,
	    json_string_value(json_object_get(alarm, "message"))))
		log_warnx("alarms: the syslog queue is full; dropped the %s of "
		    "%s", event, v[1]);
}

json_t *
control_alarm_to_json(const struct store_alarm *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s?,"
	    " s:s?, s:s?, s:s}", "id", r->id, "rule", r->rule, "key", r->key,
	    "severity", r->severity, "state", r->state, "message", r->message,
	    "count", (json_int_t)r->count, "first_seen", r->first_seen,
	    "last_seen", r->last_seen, "cleared", r->cleared[0] ? r->cleared :
	    NULL, "acked_by", r->acked_by != NULL && r->acked_by[0] ?
	    r->acked_by : NULL, "acked_at", r->acked_at[0] ? r->acked_at :
	    NULL, "node", r->node);
}

static int
alarm_job_body(struct store *st, void *arg)
{
	struct alarm_job *j = arg;
	char id[STORE_ID_LEN + 1];
	int r;

	if (j->clear && !j->history)
		return store_alarm_clear(st, j->rule, j->key,
		    j->row.cleared, j->id);
	r = store_alarm_raise(st, &j->row, j->id, &j->inserted);
	if (r == 0 && j->history)
		r = store_alarm_clear(st, j->rule, j->key, j->row.cleared, id);
	return r;
}

static int
alarm_job_run(struct store *st, void *arg)
{
	return control_tx_run(st, alarm_job_body, arg);
}

static void
alarm_job_done(void *arg, int result, const char *err)
{
	struct alarm_job *j = arg;
	struct control_alarm *a = j->a;
	struct vt_error e;
	json_t *o;

	if (result == STORE_CONFLICT && !j->retried) {
		/* Another node inserted it first: update theirs. */
		j->retried = true;
		control_post(a->ctl, alarm_job_run, alarm_job_done, j);
		return;
	}
	if (result == STORE_NOTFOUND || control_op_result(a->ctl, result, err,
	    "alarms", &e) < 0) {
		free(j);
		return;
	}
	memcpy(j->row.id, j->id, sizeof(j->row.id));
	j->row.state = j->clear ? "cleared" : "active";
	o = control_alarm_to_json(&j->row);
	if (j->clear && !j->history)
		alarm_deliver(a, o, "cleared", j->webhook, j->syslog);
	else if (j->inserted && !j->history)
		alarm_deliver(a, o, "raised", j->webhook, j->syslog);
	else if (j->notify_update)
		alarm_deliver(a, o, "updated", j->webhook, j->syslog);
	if (j->clear || j->inserted)
		log_info("alarm %s %s: %s%s%s", j->rule, j->clear ? "cleared" :
		    "raised", j->key, j->key[0] ? ": " : "", j->message);
	json_decref(o);
	free(j);
	alarm_job_count(a);
}

static struct alarm_job *
alarm_job_new(struct control_alarm *a, struct alarm_state *s)
{
	const struct control_alarm_rule *r = alarm_rule(a, s->rule);
	struct alarm_job *j = xcalloc(1, sizeof(*j));

	j->a = a;
	snprintf(j->rule, sizeof(j->rule), "%s", r->name);
	snprintf(j->key, sizeof(j->key), "%s", s->key);
	snprintf(j->severity, sizeof(j->severity), "%s", r->severity);
	j->webhook = r->webhook;
	j->syslog = r->syslog;
	j->row.rule = j->rule;
	j->row.key = j->key;
	j->row.severity = j->severity;
	j->row.message = j->message;
	j->row.node = a->ctl->node_name;
	j->row.acked_by = "";
	j->row.count = s->total;
	encode_time(s->first, j->row.first_seen);
	encode_time(s->last, j->row.last_seen);
	if (encode_random_id(j->row.id) < 0) {
		free(j);
		return NULL;
	}
	return j;
}

void
alarm_job_raise(struct control_alarm *a, struct alarm_state *s,
    const char *message)
{
	struct alarm_job *j = alarm_job_new(a, s);
	time_t now = time(NULL);

	if (j == NULL)
		return;
	snprintf(j->message, sizeof(j->message), "%s", message);
	if (s->total > 1 && now - s->notified >= ALARM_NOTIFY_UPDATE_S) {
		j->notify_update = true;
		s->notified = now;
	}
	if (s->notified == 0)
		s->notified = now;
	control_post(a->ctl, alarm_job_run, alarm_job_done, j);
}

void
alarm_job_clear(struct control_alarm *a, struct alarm_state *s)
{
	struct alarm_job *j = alarm_job_new(a, s);

	if (j == NULL)
		return;
	j->clear = true;
	j->row.state = "cleared";
	encode_time(time(NULL), j->row.cleared);
	snprintf(j->message, sizeof(j->message), "%s cleared", j->rule);
	s->notified = 0;
	control_post(a->ctl, alarm_job_run, alarm_job_done, j);
}

/*
 * store_unavailable: this node cannot write the alarm while it lasts, so
 * the news goes out at once; the episode is stored when the store is
 * back, as history (raised and cleared).
 */
void
alarm_store_episode(struct control_alarm *a, struct alarm_state *s,
    bool down)
{
	struct alarm_job *j = alarm_job_new(a, s);
	json_t *o;

	if (j == NULL)
		return;
	snprintf(j->message, sizeof(j->message), "node %s cannot reach the "
	    "store", a->ctl->node_name);
	j->row.state = down ? "active" : "cleared";
	if (!down)
		encode_time(time(NULL), j->row.cleared);
	o = control_alarm_to_json(&j->row);
	alarm_deliver(a, o, down ? "raised" : "cleared", j->webhook,
	    j->syslog);
	json_decref(o);
	log_warnx("alarm %s %s: %s", j->rule, down ? "raised" : "cleared",
	    j->message);
	if (down) {
		free(j);
		return;
	}
	j->history = true;
	control_post(a->ctl, alarm_job_run, alarm_job_done, j);
}

/* ---- counting the active ones (for /metrics) ---- */

struct alarm_count {
	struct control_alarm *a;
	unsigned n[3];
};

static int
alarm_count_row(void *arg, const struct store_alarm *r)
{
	struct alarm_count *c = arg;

	c->n[strcmp(r->severity, "critical") == 0 ? 0 :
	    strcmp(r->severity, "warning") == 0 ? 1 : 2]++;
	return 0;
}

static int
alarm_count_run(struct store *st, void *arg)
{
	struct alarm_count *c = arg;

	memset(c->n, 0, sizeof(c->n));
	return store_alarm_foreach(st, "active", 0, alarm_count_row, c);
}

static void
alarm_count_done(void *arg, int result, const char *err)
{
	struct alarm_count *c = arg;

	(void)err;
	c->a->counting = false;
	if (result == 0)
		memcpy(c->a->firing, c->n, sizeof(c->n));
	free(c);
}

void
alarm_job_count(struct control_alarm *a)
{
	struct alarm_count *c;

	if (a->counting)
		return;
	a->counting = true;
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	control_post(a->ctl, alarm_count_run, alarm_count_done, c);
}

/* ---- audit forwarding ---- */

void
alarm_publish_head(struct control_alarm *a, int64_t seq, const char *hash)
{
	struct notify *to = a->audit_forward != NULL ? a->audit_forward :
	    a->syslog;
	char sd[256], body[160];

	log_info("audit head: record %lld, hash %s", (long long)seq, hash);
	if (to == NULL)
		return;
	snprintf(sd, sizeof(sd), "[" AUDIT_SD_ID " seq=\"%lld\" hash=\"%s\"]",
	    (long long)seq, hash);
	snprintf(body, sizeof(body), "audit head: record %lld verified",
	    (long long)seq);
	(void)notify_post(to, 6, "audit-head", sd, body);
}

void
alarm_forward_record(struct control_alarm *a, const json_t *rec)
{
	static const char *const f[] = { "action", "actor", "subject", "node",
	    NULL };
	char sd[1024], v[4][200], *detail;

	for (int i = 0; f[i] != NULL; i++) {
		const char *s = json_string_value(json_object_get(rec, f[i]));

		notify_sd_escape(s != NULL ? s : "", v[i], sizeof(v[i]));
	}
	snprintf(sd, sizeof(sd), "[" AUDIT_SD_ID " seq=\"%" JSON_INTEGER_FORMAT
	    "\" action=\"%s\" actor=\"%s\" subject=\"%s\" node=\"%s\" "
	    "hash=\"%s\"]", json_integer_value(json_object_get(rec, "seq")),
	    v[0], v[1], v[2], v[3], json_is_string(json_object_get(rec,
	    "hash")) ? json_string_value(json_object_get(rec, "hash")) : "");
	detail = json_dumps(json_object_get(rec, "detail"), JSON_COMPACT);
	(void)notify_post(a->audit_forward, 6, "audit", sd, detail != NULL ?
	    detail : "{}");
	free(detail);
}
