/*
 * control_alarm: alarms, a first-class object (docs/API.md, "Alarms").
 *
 * Rules count audit records: a rule names the actions it counts, may be
 * narrowed to a token, a VM or a peer address, and groups what it counts
 * per token, VM, address or not at all; `count` records of one group
 * within `window` seconds raise an alarm for that group (its key).  The
 * alarm is raised once, updated while records keep coming, and cleared
 * when fewer than `count` fall in the last window.  Built-in rules
 * (copied_token, attach_denied) are rules of that kind; three more watch
 * conditions rather than records: agent_silent (an attached token whose
 * agent has not authenticated within a grace period), audit_verify (the
 * chain, verified every interval), store_unavailable (this node cannot
 * reach the store).
 *
 * Every node reads the cluster's whole audit log and judges it the same
 * way; the store keeps one active alarm per rule and key (store.h), and
 * only the node whose write raised, cleared or acknowledged an alarm
 * delivers that news (notify.h: webhook, syslog), so a cluster does not
 * send it twice.  Records written by this node are also forwarded to
 * the audit syslog destination when one is configured.
 *
 * Ownership: the controller owns the engine (control_alarm_start, freed
 * by control_close); the notify destinations are the caller's and must
 * outlive the controller.
 */
#ifndef VTOKEN_CONTROL_ALARM_H
#define VTOKEN_CONTROL_ALARM_H

#include <stdbool.h>
#include <stddef.h>

struct control;
struct notify;

enum control_alarm_per {
	ALARM_PER_NONE,
	ALARM_PER_TOKEN,
	ALARM_PER_VM,
	ALARM_PER_ADDRESS,
};

struct control_alarm_rule {
	char name[49];
	char actions[512];		/* ",a,b," */
	enum control_alarm_per per;
	char token[80], vm[80], address[64];	/* "" any */
	unsigned count, window;
	char severity[16];		/* "critical", "warning", "info" */
	bool webhook, syslog;
};

struct control_alarm_params {
	bool builtin;
	unsigned copied_count, copied_window;
	unsigned denied_count, denied_window;
	unsigned agent_grace;		/* seconds; 0: off */
	unsigned verify_interval;	/* seconds; 0: off */
	/* The disk of the SQLite store: below this, disk_low (0: off). */
	const char *disk_path;		/* NULL: none watched (PostgreSQL) */
	unsigned long long disk_min_free;	/* bytes */
	const struct control_alarm_rule *rules;	/* borrowed during start */
	size_t nrules;
	struct notify *webhook;		/* NULL: none; borrowed */
	struct notify *syslog;
	struct notify *audit_forward;
};

/* Starts the engine (after control_open); 0, or -1 after logging. */
int control_alarm_start(struct control *ctl,
    const struct control_alarm_params *p);
/*
 * What delivery did, summed over the destinations (webhook, syslog,
 * audit forwarding), for /metrics.
 */
struct notify_stats;
void control_alarm_deliveries(const struct control *ctl,
    struct notify_stats *sum);
/* Active alarms by severity, as of the last count (for /metrics). */
void control_alarm_firing(const struct control *ctl, unsigned *critical,
    unsigned *warning, unsigned *info);

#endif
