/*
 * agent_state: transitions and the grace deadline (see agent_state.h).
 */
#include "agent/agent_state.h"

#include <stdio.h>
#include <string.h>

static bool agent_state_enter(struct agent_state *s, enum agent_st st,
    const char *reason);

void
agent_state_init(struct agent_state *s, double now, double grace)
{
	memset(s, 0, sizeof(*s));
	s->st = AGENT_ST_NO_TOKEN;
	snprintf(s->reason, sizeof(s->reason), "token missing");
	s->since = now;
	s->grace = grace;
}

/*
 * Moves to st with reason unless already there; after the policy ran
 * the state stays POLICY_RUN and only the reason follows the events.
 */
static bool
agent_state_enter(struct agent_state *s, enum agent_st st,
    const char *reason)
{
	if (s->st == AGENT_ST_POLICY_RUN)
		st = AGENT_ST_POLICY_RUN;
	if (s->st == st && strcmp(s->reason, reason) == 0)
		return false;
	s->st = st;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	return true;
}

bool
agent_state_token_gone(struct agent_state *s, double now)
{
	if (s->st == AGENT_ST_AUTHENTICATED)
		s->since = now;
	return agent_state_enter(s, AGENT_ST_NO_TOKEN, "token missing");
}

bool
agent_state_auth_ok(struct agent_state *s)
{
	if (s->st == AGENT_ST_AUTHENTICATED)
		return false;
	s->st = AGENT_ST_AUTHENTICATED;
	s->reason[0] = '\0';
	return true;
}

bool
agent_state_auth_fail(struct agent_state *s, double now, const char *reason)
{
	if (s->st == AGENT_ST_AUTHENTICATED)
		s->since = now;
	return agent_state_enter(s, AGENT_ST_FAILING, reason);
}

bool
agent_state_policy_due(const struct agent_state *s, double now)
{
	double d = agent_state_deadline(s);

	return d >= 0 && now >= d;
}

void
agent_state_policy_ran(struct agent_state *s)
{
	s->st = AGENT_ST_POLICY_RUN;
}

double
agent_state_deadline(const struct agent_state *s)
{
	if (s->st == AGENT_ST_AUTHENTICATED || s->st == AGENT_ST_POLICY_RUN)
		return -1;
	return s->since + s->grace;
}

const char *
agent_state_name(enum agent_st st)
{
	switch (st) {
	case AGENT_ST_NO_TOKEN:
		return "NO_TOKEN";
	case AGENT_ST_AUTHENTICATED:
		return "AUTHENTICATED";
	case AGENT_ST_FAILING:
		return "FAILING";
	case AGENT_ST_POLICY_RUN:
		return "POLICY_RUN";
	}
	return "?";
}
