/*
 * agent_state: the agent's state machine and its grace timer.  Pure: the
 * caller passes monotonic seconds in, so tests drive the clock; nothing
 * here logs, reads devices or talks to the network.
 *
 *   NO_TOKEN       no token device (at start, or it went away)
 *   AUTHENTICATED  the last authentication succeeded
 *   FAILING        a token is there but authentication fails (reason:
 *                  revoked, wrong address, controller unreachable, ...)
 *   POLICY_RUN     unauthenticated for `grace' seconds: the policy ran;
 *                  stays until an authentication succeeds
 *
 * The unauthenticated period starts when the agent starts, when the
 * token goes away, or at the first failed authentication after a
 * success.  Every kind of failure counts, "controller unreachable"
 * included: a stolen VM can simply be cut off from the controller.  An
 * authentication success ends the period and re-arms the policy, which
 * runs at most once per period.
 */
#ifndef VTOKEN_AGENT_STATE_H
#define VTOKEN_AGENT_STATE_H

#include <stdbool.h>

#define AGENT_STATE_REASON_MAX	160

enum agent_st {
	AGENT_ST_NO_TOKEN = 0,
	AGENT_ST_AUTHENTICATED,
	AGENT_ST_FAILING,
	AGENT_ST_POLICY_RUN,
};

struct agent_state {
	enum agent_st st;
	char reason[AGENT_STATE_REASON_MAX];	/* why not authenticated */
	double since;		/* start of the unauthenticated period */
	double grace;		/* seconds */
};

/* Starts in NO_TOKEN at now ("token missing"). */
void agent_state_init(struct agent_state *s, double now, double grace);

/*
 * The events.  Each returns true when the state or its reason changed,
 * which the caller logs once (agent_state_name, s->reason).
 */
bool agent_state_token_gone(struct agent_state *s, double now);
bool agent_state_auth_ok(struct agent_state *s);
bool agent_state_auth_fail(struct agent_state *s, double now,
    const char *reason);

/*
 * True when the policy is due at now: unauthenticated for grace
 * seconds and not yet run in this period.  agent_state_policy_ran then
 * moves to POLICY_RUN.
 */
bool agent_state_policy_due(const struct agent_state *s, double now);
void agent_state_policy_ran(struct agent_state *s);
/* When the policy becomes due, or a negative value when it never will. */
double agent_state_deadline(const struct agent_state *s);

/* "NO_TOKEN", "AUTHENTICATED", "FAILING", "POLICY_RUN". */
const char *agent_state_name(enum agent_st st);

#endif
