/*
 * control_alarm_impl: what the alarm engine's files share
 * (control_alarm.c: intake and timers; control_alarm_eval.c: rules and
 * windows; control_alarm_job.c: the store and delivery).
 */
#ifndef VTOKEN_CONTROL_ALARM_IMPL_H
#define VTOKEN_CONTROL_ALARM_IMPL_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "common/strmap.h"
#include "server/control/control_alarm.h"
#include "server/store/store.h"

#define ALARM_MAX_STATES	10000	/* groups counted at once */
#define ALARM_TICK_S		2
#define ALARM_DISK_EVERY_S	10	/* free space looked at */
#define ALARM_NOTIFY_UPDATE_S	60	/* "updated" news at most this often */
#define ALARM_READ_BATCH	500

/* Rule numbers of the condition rules (after the configured ones). */
enum alarm_special {
	ALARM_R_AGENT = -1,
	ALARM_R_VERIFY = -2,
	ALARM_R_STORE = -3,
	ALARM_R_DISK = -4,
};

/* One group a rule counts: its recent record times and whether it fired. */
struct alarm_state {
	int rule;			/* index in rules, or enum alarm_special */
	char key[80];
	time_t *ring;			/* the last `count` times; owned */
	unsigned n, head;
	time_t first, last;		/* of this episode */
	int64_t total;			/* records while active */
	bool active;
	time_t notified;		/* last "updated" delivery */
};

/* An attached token, for agent_silent. */
struct alarm_agent {
	char id[40];			/* the token's */
	time_t attached, last_auth;	/* 0: not attached */
	bool active;
};

struct control_alarm {
	struct control *ctl;
	struct control_alarm_rule *rules;	/* owned */
	size_t nrules;
	struct control_alarm_rule special[4];	/* agent, verify, store, disk */
	char *disk_path;		/* NULL: not watched */
	unsigned long long disk_min_free;
	time_t next_disk;
	unsigned agent_grace, verify_interval;
	struct notify *webhook, *syslog, *audit_forward;	/* borrowed */
	struct strmap *states;		/* "RULE\x1fKEY" -> alarm_state */
	struct strmap *agents;		/* token id -> alarm_agent */
	int64_t last_seq;		/* newest record read; -1 not yet */
	bool reading, reread, counting, verifying;
	bool agents_checking;		/* a control_alive_check is out */
	struct event *ev_tick;
	time_t next_verify;
	/* The head the last good verify saw (and published), checked next. */
	int64_t head_seq;
	char head_hash[STORE_HASH_HEX + 1];
	unsigned firing[3];		/* critical, warning, info */
};

/* The rule of a state (configured or special). */
const struct control_alarm_rule *alarm_rule(const struct control_alarm *a,
    int rule);

/* control_alarm_eval.c */
/* Counts rec (an audit record as GET /v1/audit shows it) in every rule. */
void alarm_eval_record(struct control_alarm *a, const json_t *rec);
/* Clears what no longer holds at now; raises agent_silent. */
void alarm_eval_tick(struct control_alarm *a, time_t now);
/* The state of (rule, key), made when missing; NULL when full. */
struct alarm_state *alarm_state_get(struct control_alarm *a, int rule,
    const char *key);

/* control_alarm_job.c */
/* The store learns of it and, if this node changed it, the world does. */
void alarm_job_raise(struct control_alarm *a, struct alarm_state *s,
    const char *message);
void alarm_job_clear(struct control_alarm *a, struct alarm_state *s);
/* store_unavailable went down (true) or came back: news and history. */
void alarm_store_episode(struct control_alarm *a, struct alarm_state *s,
    bool down);
/* Re-counts the active alarms by severity (for /metrics). */
void alarm_job_count(struct control_alarm *a);
/* Sends a record written by this node to the audit destination. */
void alarm_forward_record(struct control_alarm *a, const json_t *rec);
/* A success of token_id's agent that left no record (control_agent.c). */
void alarm_agent_ok(struct control_alarm *a, const char *token_id, time_t t);
/*
 * Publishes a verified head (record seq has hash): a log line, and to
 * audit.forward's syslog (else alarms.syslog) so that a copy lives
 * outside the database for a later "verify against a known head".
 */
void alarm_publish_head(struct control_alarm *a, int64_t seq,
    const char *hash);
/* Delivers news of alarm (a JSON alarm object) as event. */
void alarm_deliver(struct control_alarm *a, const json_t *alarm,
    const char *event, bool webhook, bool syslog);

#endif
