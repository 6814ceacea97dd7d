/*
 * control_alarm: the alarm engine's intake and clock (see
 * control_alarm.h): it reads the audit log as it grows (rung like the
 * event streams), hands each record to the rules, and every
 * ALARM_TICK_S clears what no longer holds, watches the agents, the
 * store and, every interval, the audit chain.  Acknowledgement and the
 * list are for the API.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_alarm_impl.h"
#include "server/control/control_impl.h"
#include "server/notify/notify.h"

const struct control_alarm_rule *
alarm_rule(const struct control_alarm *a, int rule)
{
	if (rule >= 0)
		return &a->rules[rule];
	return &a->special[-rule - 1];
}

/* ---- intake ---- */

static void alarm_read(struct control_alarm *a);

static void
alarm_read_done(void *arg, const struct vt_error *err, json_t *records,
    int64_t last_seq)
{
	struct control_alarm *a = arg;
	size_t i;
	json_t *rec;

	a->reading = false;
	if (err != NULL)
		return;		/* logged; the next bell reads again */
	if (a->last_seq < 0)
		a->last_seq = last_seq;	/* from now on */
	json_array_foreach(records, i, rec) {
		alarm_eval_record(a, rec);
		a->last_seq = (int64_t)json_integer_value(json_object_get(rec,
		    "seq"));
	}
	if (json_array_size(records) >= ALARM_READ_BATCH || a->reread) {
		a->reread = false;
		alarm_read(a);
	}
}

static void
alarm_read(struct control_alarm *a)
{
	if (a->reading) {
		a->reread = true;
		return;
	}
	a->reading = true;
	control_audit_list(a->ctl, a->last_seq < 0 ? INT64_MAX : a->last_seq,
	    ALARM_READ_BATCH, alarm_read_done, a);
}

void
control_alarm_ring(struct control *ctl)
{
	if (ctl->alarm != NULL)
		alarm_read(ctl->alarm);
}

void
control_alarm_agent_ok(struct control *ctl, const char *token_id, time_t t)
{
	if (ctl->alarm != NULL)
		alarm_agent_ok(ctl->alarm, token_id, t);
}

/* ---- conditions ---- */

static void
alarm_verify_done(void *arg, const struct vt_error *err,
    const struct control_audit_result *res)
{
	struct control_alarm *a = arg;
	struct alarm_state *s = alarm_state_get(a, ALARM_R_VERIFY, "");
	char msg[256];

	a->verifying = false;
	if (err != NULL || s == NULL)
		return;
	if (res->bad_seq == 0) {
		a->head_seq = res->records;
		snprintf(a->head_hash, sizeof(a->head_hash), "%s",
		    res->last_hash);
		alarm_publish_head(a, res->records, res->last_hash);
		if (s->active) {
			s->active = false;
			alarm_job_clear(a, s);
		}
		return;
	}
	snprintf(msg, sizeof(msg), "the audit chain is broken at record "
	    "%lld: %s", (long long)res->bad_seq, res->reason);
	s->first = s->active ? s->first : time(NULL);
	s->last = time(NULL);
	s->total = s->active ? s->total + 1 : 1;
	s->active = true;
	alarm_job_raise(a, s, msg);
}

static void
alarm_watch_store(struct control_alarm *a)
{
	struct alarm_state *s = alarm_state_get(a, ALARM_R_STORE,
	    a->ctl->node_name);
	const char *why;
	bool down = strcmp(control_health(a->ctl, &why), "ok") != 0;

	if (s == NULL || down == s->active)
		return;
	s->active = down;
	if (down) {
		s->first = s->last = time(NULL);
		s->total = 1;
	} else
		s->last = time(NULL);
	alarm_store_episode(a, s, down);
}

/*
 * The SQLite store's disk: an alarm while less than disk_min_free is
 * left, before a full disk makes every audited action fail.  (A
 * PostgreSQL server's disk is its own monitoring's.)
 */
static void
alarm_watch_disk(struct control_alarm *a, time_t now)
{
	struct alarm_state *s;
	struct statvfs v;
	unsigned long long avail;
	char msg[256];

	if (a->disk_path == NULL || now < a->next_disk)
		return;
	a->next_disk = now + ALARM_DISK_EVERY_S;
	if (statvfs(a->disk_path, &v) < 0 ||
	    (s = alarm_state_get(a, ALARM_R_DISK, a->ctl->node_name)) == NULL)
		return;
	avail = (unsigned long long)v.f_bavail * v.f_frsize;
	if ((avail < a->disk_min_free) == s->active) {
		if (s->active)
			s->last = now;
		return;
	}
	if (s->active) {
		s->active = false;
		alarm_job_clear(a, s);
		return;
	}
	snprintf(msg, sizeof(msg), "node %s: %llu MiB free for the store in "
	    "%s (alarm below %llu MiB): audited actions fail when it is full",
	    a->ctl->node_name, avail >> 20, a->disk_path,
	    a->disk_min_free >> 20);
	s->first = s->last = now;
	s->total = 1;
	s->active = true;
	alarm_job_raise(a, s, msg);
}

static void
alarm_tickcb(evutil_socket_t fd, short what, void *arg)
{
	struct control_alarm *a = arg;
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	alarm_eval_tick(a, now);
	alarm_watch_store(a);
	alarm_watch_disk(a, now);
	if (a->verify_interval > 0 && now >= a->next_verify &&
	    !a->verifying) {
		a->verifying = true;
		a->next_verify = now + (time_t)a->verify_interval;
		control_audit_check(a->ctl, a->head_seq, a->head_hash,
		    alarm_verify_done, a);
	}
	alarm_job_count(a);
	alarm_read(a);		/* a bell lost is a tick late at most */
}

/* ---- start and stop ---- */

#define ALARM_BUILTIN_RULES	5	/* alarm_builtin's */

static void
alarm_special(struct control_alarm_rule *r, const char *name,
    const char *severity)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->severity, sizeof(r->severity), "%s", severity);
	r->count = 1;
	r->window = 1;
	r->webhook = r->syslog = true;
}

/* A built-in rule raised by each `action' record, per VM, for window s. */
static void
alarm_builtin_vm(struct control_alarm_rule *r, const char *name,
    const char *severity, const char *action, unsigned window)
{
	alarm_special(r, name, severity);
	snprintf(r->actions, sizeof(r->actions), ",%s,", action);
	r->per = ALARM_PER_VM;
	r->window = window;
}

static void
alarm_builtin(struct control_alarm *a, const struct control_alarm_params *p)
{
	struct control_alarm_rule *r;

	r = &a->rules[a->nrules++];
	alarm_special(r, "copied_token", "critical");
	snprintf(r->actions, sizeof(r->actions), ",auth.fail,");
	r->per = ALARM_PER_TOKEN;
	r->count = p->copied_count;
	r->window = p->copied_window;
	r = &a->rules[a->nrules++];
	alarm_special(r, "attach_denied", "warning");
	snprintf(r->actions, sizeof(r->actions), ",attach.denied,");
	r->per = ALARM_PER_ADDRESS;
	r->count = p->denied_count;
	r->window = p->denied_window;
	/* What agents report (docs/AGENT.md): one record is enough. */
	alarm_builtin_vm(&a->rules[a->nrules++], "identity_changed", "critical",
	    "vm.identity_changed", 86400);
	alarm_builtin_vm(&a->rules[a->nrules++], "agent_update_failed",
	    "warning", "agent.update_failed", 3600);
	alarm_builtin_vm(&a->rules[a->nrules++], "agent_policy_fired",
	    "warning", "agent.policy_fired", 3600);
}

static void
alarm_free_value(void *v)
{
	struct alarm_state *s = v;

	free(s->ring);
	free(s);
}

int
control_alarm_start(struct control *ctl, const struct control_alarm_params *p)
{
	struct control_alarm *a = xcalloc(1, sizeof(*a));
	struct timeval tv = { ALARM_TICK_S, 0 };

	a->ctl = ctl;
	a->last_seq = -1;
	a->rules = xcalloc(p->nrules + ALARM_BUILTIN_RULES,
	    sizeof(*a->rules));
	if (p->builtin)
		alarm_builtin(a, p);
	for (size_t i = 0; i < p->nrules; i++)
		a->rules[a->nrules++] = p->rules[i];
	alarm_special(&a->special[0], "agent_silent", "warning");
	alarm_special(&a->special[1], "audit_verify", "critical");
	alarm_special(&a->special[2], "store_unavailable", "critical");
	alarm_special(&a->special[3], "disk_low", "critical");
	if (p->builtin && p->disk_path != NULL && p->disk_min_free > 0)
		a->disk_path = xstrdup(p->disk_path);
	a->disk_min_free = p->disk_min_free;
	a->agent_grace = p->builtin ? p->agent_grace : 0;
	a->verify_interval = p->builtin ? p->verify_interval : 0;
	a->next_verify = time(NULL) + (time_t)a->verify_interval;
	a->webhook = p->webhook;
	a->syslog = p->syslog;
	a->audit_forward = p->audit_forward;
	a->states = strmap_new(ALARM_MAX_STATES, alarm_free_value);
	a->agents = strmap_new(ALARM_MAX_STATES, free);
	a->ev_tick = event_new(ctl->base, -1, EV_PERSIST, alarm_tickcb, a);
	if (a->ev_tick == NULL || event_add(a->ev_tick, &tv) < 0) {
		log_error("alarms: cannot start the timer");
		control_alarm_free(a);
		return -1;
	}
	ctl->alarm = a;
	alarm_read(a);		/* where the log is now */
	log_info("alarms: %zu rule(s)%s%s%s", a->nrules, a->webhook ?
	    ", webhook" : "", a->syslog ? ", syslog" : "", a->audit_forward ?
	    ", audit forwarded to syslog" : "");
	return 0;
}

void
control_alarm_stop(struct control_alarm *a)
{
	if (a != NULL && a->ev_tick != NULL) {
		event_free(a->ev_tick);
		a->ev_tick = NULL;
	}
}

void
control_alarm_free(struct control_alarm *a)
{
	if (a == NULL)
		return;
	control_alarm_stop(a);
	strmap_free(a->states);
	strmap_free(a->agents);
	free(a->disk_path);
	free(a->rules);
	free(a);
}

void
control_alarm_deliveries(const struct control *ctl, struct notify_stats *sum)
{
	const struct control_alarm *a = ctl->alarm;
	struct notify *dest[3];

	memset(sum, 0, sizeof(*sum));
	if (a == NULL)
		return;
	dest[0] = a->webhook;
	dest[1] = a->syslog;
	dest[2] = a->audit_forward;
	for (int i = 0; i < 3; i++) {
		struct notify_stats s = notify_stats(dest[i]);

		sum->delivered += s.delivered;
		sum->retried += s.retried;
		sum->failed += s.failed;
		sum->dropped += s.dropped;
		sum->queued += s.queued;
	}
}

void
control_alarm_firing(const struct control *ctl, unsigned *critical,
    unsigned *warning, unsigned *info)
{
	const struct control_alarm *a = ctl->alarm;

	*critical = a != NULL ? a->firing[0] : 0;
	*warning = a != NULL ? a->firing[1] : 0;
	*info = a != NULL ? a->firing[2] : 0;
}
