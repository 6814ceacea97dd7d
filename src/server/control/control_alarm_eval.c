/*
 * control_alarm_eval: what an audit record means to the rules: which
 * rules count it, for which group (key), and whether a group's window
 * now holds enough records to raise its alarm; on each tick, which
 * alarms no longer hold.  See control_alarm.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_alarm_impl.h"
#include "server/control/control_impl.h"

/* "YYYY-MM-DDTHH:MM:SSZ" to time_t; now when unreadable. */
static time_t
rec_time(const json_t *rec)
{
	time_t t;

	if (encode_time_parse(json_string_value(json_object_get(rec, "time")),
	    &t) < 0)
		return time(NULL);
	return t;
}

static const char *
rec_str(const json_t *rec, const char *k)
{
	const char *v = json_string_value(json_object_get(rec, k));

	return v != NULL ? v : "";
}

/* The token a record is about ("token:ID"), or "". */
static const char *
rec_token(const json_t *rec)
{
	const char *s = rec_str(rec, "subject");

	return strncmp(s, "token:", 6) == 0 ? s + 6 : "";
}

/* The VM (id, or name in auth records) a record is about, or "". */
static const char *
rec_vm(const json_t *rec)
{
	const char *s = rec_str(rec, "subject");
	const char *d = json_string_value(json_object_get(json_object_get(rec,
	    "detail"), "vm"));

	if (strncmp(s, "vm:", 3) == 0)
		return s + 3;
	return d != NULL ? d : "";
}

/*
 * The peer's address (no port): from "usbip:ADDR:PORT" or
 * "agent:ADDR:PORT" actors, or the subject of api.* refusals.
 */
static void
rec_address(const json_t *rec, char *out, size_t len)
{
	const char *actor = rec_str(rec, "actor"), *p = NULL;
	const char *end;

	out[0] = '\0';
	if (strncmp(actor, "usbip:", 6) == 0 || strncmp(actor, "agent:", 6) == 0)
		p = actor + 6;
	else if (strncmp(rec_str(rec, "action"), "api.", 4) == 0)
		p = rec_str(rec, "subject");
	if (p == NULL || *p == '\0')
		return;
	if (*p == '[' && (end = strchr(p, ']')) != NULL)
		snprintf(out, len, "%.*s", (int)(end - p - 1), p + 1);
	else if ((end = strrchr(p, ':')) != NULL)
		snprintf(out, len, "%.*s", (int)(end - p), p);
	else
		snprintf(out, len, "%s", p);
}

/* A token named or numbered want is the one with id. */
static bool
token_is(struct control *ctl, const char *id, const char *want)
{
	const struct control_token *t;

	if (strcmp(id, want) == 0)
		return true;
	t = control_token_by_id(ctl, id);
	return t != NULL && strcmp(t->name, want) == 0;
}

/* A VM named or numbered want is the one v names (id or name). */
static bool
vm_is(struct control *ctl, const char *v, const char *want)
{
	const struct control_vm *vm = control_vm_find(ctl, want);

	if (strcmp(v, want) == 0)
		return true;
	return vm != NULL && (strcmp(vm->id, v) == 0 ||
	    strcmp(vm->name, v) == 0);
}

/* Whether rule r counts rec; its group into key. */
static bool
rule_matches(struct control_alarm *a, const struct control_alarm_rule *r,
    const json_t *rec, char *key, size_t keylen)
{
	char probe[72], addr[64];
	const char *tok = rec_token(rec), *vm = rec_vm(rec);

	snprintf(probe, sizeof(probe), ",%s,", rec_str(rec, "action"));
	if (strstr(r->actions, probe) == NULL)
		return false;
	rec_address(rec, addr, sizeof(addr));
	if ((r->token[0] != '\0' && (*tok == '\0' || !token_is(a->ctl, tok,
	    r->token))) || (r->vm[0] != '\0' && (*vm == '\0' ||
	    !vm_is(a->ctl, vm, r->vm))) || (r->address[0] != '\0' &&
	    strcmp(addr, r->address) != 0))
		return false;
	switch (r->per) {
	case ALARM_PER_TOKEN:
		snprintf(key, keylen, "%s", tok);
		break;
	case ALARM_PER_VM:
		snprintf(key, keylen, "%s", vm);
		break;
	case ALARM_PER_ADDRESS:
		snprintf(key, keylen, "%s", addr);
		break;
	default:
		key[0] = '\0';
	}
	return true;
}

static void
alarm_state_free(void *v)
{
	struct alarm_state *s = v;

	free(s->ring);
	free(s);
}

struct alarm_state *
alarm_state_get(struct control_alarm *a, int rule, const char *key)
{
	const struct control_alarm_rule *r = alarm_rule(a, rule);
	struct alarm_state *s;
	char k[160];

	snprintf(k, sizeof(k), "%d\x1f%s", rule, key);
	if ((s = strmap_get(a->states, k)) != NULL)
		return s;
	s = xcalloc(1, sizeof(*s));
	s->rule = rule;
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->ring = xcalloc(r->count > 0 ? r->count : 1, sizeof(*s->ring));
	if (strmap_put(a->states, k, s) < 0) {
		alarm_state_free(s);
		return NULL;
	}
	return s;
}

/* The records of s within window seconds before now. */
static unsigned
state_recent(const struct alarm_state *s, unsigned cap, time_t now,
    unsigned window)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->n && i < cap; i++)
		n += s->ring[i] + (time_t)window >= now;
	return n;
}

/* Counts one record at t for (rule, key); raises when it now holds. */
static void
count_record(struct control_alarm *a, int rule, const char *key, time_t t,
    const json_t *rec)
{
	const struct control_alarm_rule *r = alarm_rule(a, rule);
	struct alarm_state *s = alarm_state_get(a, rule, key);
	char msg[256];
	time_t oldest;

	if (s == NULL) {
		log_warnx("alarms: %d groups counted at once; %s not counted",
		    ALARM_MAX_STATES, r->name);
		return;
	}
	s->ring[s->head] = t;
	s->head = (s->head + 1) % r->count;
	if (s->n < r->count)
		s->n++;
	s->last = t;
	if (s->active) {
		s->total++;
	} else {
		oldest = s->ring[s->n < r->count ? 0 : s->head];
		if (s->n < r->count || t - oldest > (time_t)r->window)
			return;
		s->active = true;
		s->first = oldest;
		s->total = r->count;
	}
	snprintf(msg, sizeof(msg), "%lld record(s) of rule %s%s%.80s within "
	    "%u s (the last: %.64s)", (long long)s->total, r->name, key[0] ?
	    " for " : "", key, r->window, rec_str(rec, "action"));
	msg[strcspn(msg, "\n")] = '\0';
	alarm_job_raise(a, s, msg);
}

/* agent_silent: what attach, detach and auth.ok say about a token. */
static void
watch_agent_event(struct control_alarm *a, const char *tok,
    const char *action, time_t t)
{
	struct alarm_agent *g;
	struct alarm_state *s;

	if (a->agent_grace == 0 || *tok == '\0')
		return;
	g = strmap_get(a->agents, tok);
	/*
	 * An attach usually comes before the agent's first success: every
	 * attached token is followed, and judged once it has had an agent.
	 */
	if (strcmp(action, "auth.ok") == 0 || strcmp(action, "attach") == 0) {
		if (g == NULL) {
			g = xcalloc(1, sizeof(*g));
			snprintf(g->id, sizeof(g->id), "%s", tok);
			if (strmap_put(a->agents, tok, g) < 0) {
				free(g);
				return;
			}
		}
		if (strcmp(action, "attach") == 0)
			g->attached = t;
		else if (t > g->last_auth)
			g->last_auth = t;
	} else if (strcmp(action, "detach") == 0 && g != NULL)
		g->attached = 0;
	else
		return;
	if (g->active && (strcmp(action, "auth.ok") == 0 ||
	    strcmp(action, "detach") == 0) &&
	    (s = alarm_state_get(a, ALARM_R_AGENT, tok)) != NULL) {
		g->active = false;
		alarm_job_clear(a, s);
	}
}

static void
watch_agent(struct control_alarm *a, const json_t *rec, time_t t)
{
	watch_agent_event(a, rec_token(rec), rec_str(rec, "action"), t);
}

void
alarm_agent_ok(struct control_alarm *a, const char *token_id, time_t t)
{
	watch_agent_event(a, token_id, "auth.ok", t);
}

void
alarm_eval_record(struct control_alarm *a, const json_t *rec)
{
	time_t t = rec_time(rec);
	char key[80];

	if (a->audit_forward != NULL && strcmp(rec_str(rec, "node"),
	    a->ctl->node_name) == 0)
		alarm_forward_record(a, rec);
	for (size_t i = 0; i < a->nrules; i++)
		if (rule_matches(a, &a->rules[i], rec, key, sizeof(key)))
			count_record(a, (int)i, key, t, rec);
	watch_agent(a, rec, t);
}

/* tick: clears what no longer holds; forgets idle groups. */
static bool
tick_state(void *v, void *arg)
{
	struct alarm_state *s = v;
	struct control_alarm *a = arg;
	const struct control_alarm_rule *r;
	time_t now = time(NULL);

	if (s->rule < 0)
		return false;	/* the condition rules clear themselves */
	r = alarm_rule(a, s->rule);
	if (s->active && state_recent(s, r->count, now, r->window) <
	    r->count) {
		s->active = false;
		s->n = s->head = 0;
		alarm_job_clear(a, s);
		return false;
	}
	/* Idle groups go; their records are outside every window. */
	return !s->active && s->last + (time_t)r->window < now;
}

/* Tokens whose agents look silent here, to be checked in the store. */
#define AGENT_CHECK_MAX	1000	/* a tick's; the rest wait for the next */

struct agent_tick {
	struct control_alarm *a;
	time_t now;
	size_t n;
	char (*ids)[ENCODE_ID_LEN + 1];
};

/* When g's agent was last heard of (the attach, if later). */
static time_t
agent_since(const struct alarm_agent *g)
{
	return g->attached > g->last_auth ? g->attached : g->last_auth;
}

/*
 * agent_silent watches a token once an agent has authenticated for it
 * (a token without an agent is never "silent"): attached, and no success
 * for longer than the grace since the attach or the last one.  Quiet
 * successes leave no record (control_agent.c), and those through other
 * nodes are not seen here at all: a token that looks silent is checked
 * against the successes every node keeps in the store
 * (control_alive.c) before it is called silent.
 */
static bool
tick_agent(void *v, void *arg)
{
	struct alarm_agent *g = v;
	struct agent_tick *x = arg;

	if (g->attached == 0)
		return g->last_auth + 86400 < x->now;	/* forget, in a day */
	if (g->last_auth == 0)
		return false;	/* no agent yet: never silent */
	if (g->active || x->now - agent_since(g) <= (time_t)x->a->agent_grace
	    || x->n == AGENT_CHECK_MAX || strlen(g->id) != ENCODE_ID_LEN)
		return false;
	memcpy(x->ids[x->n++], g->id, ENCODE_ID_LEN + 1);
	return false;
}

static void
agent_raise(struct control_alarm *a, struct alarm_agent *g, time_t now)
{
	struct alarm_state *s = alarm_state_get(a, ALARM_R_AGENT, g->id);
	char msg[200];

	if (s == NULL)
		return;
	g->active = s->active = true;
	s->first = s->last = now;
	s->total = 1;
	snprintf(msg, sizeof(msg), "token %s is attached and its agent has "
	    "not authenticated for %lld s", g->id,
	    (long long)(now - agent_since(g)));
	alarm_job_raise(a, s, msg);
}

/* What the store says of the agents that looked silent. */
static void
agent_checked(void *arg, bool ok, const char (*ids)[ENCODE_ID_LEN + 1],
    const time_t *at, size_t n)
{
	struct control_alarm *a = arg;
	time_t now = time(NULL);

	a->agents_checking = false;
	/* Stopped (no tick): the store thread is going; raise nothing. */
	for (size_t i = 0; ok && a->ev_tick != NULL && i < n; i++) {
		struct alarm_agent *g = strmap_get(a->agents, ids[i]);

		if (g == NULL || g->active || g->attached == 0)
			continue;
		if (at[i] > g->last_auth)
			g->last_auth = at[i];	/* alive through some node */
		if (now - agent_since(g) > (time_t)a->agent_grace)
			agent_raise(a, g, now);
	}
}

void
alarm_eval_tick(struct control_alarm *a, time_t now)
{
	struct agent_tick x = { a, now, 0, NULL };

	strmap_prune(a->states, tick_state, a);
	if (a->agents_checking)
		return;		/* the last tick's check is still out */
	x.ids = xreallocarray(NULL, AGENT_CHECK_MAX, sizeof(*x.ids));
	strmap_prune(a->agents, tick_agent, &x);
	if (x.n > 0) {
		a->agents_checking = true;
		control_alive_check(a->ctl, (const char (*)[ENCODE_ID_LEN + 1])
		    x.ids, x.n, agent_checked, a);
	}
	free(x.ids);
}
