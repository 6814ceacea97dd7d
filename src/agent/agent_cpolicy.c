/*
 * agent_cpolicy: the controller's policy (see agent_cpolicy.h).
 */
#include "agent/agent_cpolicy.h"

#include <stdio.h>
#include <string.h>

#include "agent/agent_config.h"
#include "common/cause.h"

static int cpolicy_uint(const json_t *j, const char *key, unsigned min,
    unsigned max, unsigned *out, char **cause);

/* j[key] as an integer in min..max. */
static int
cpolicy_uint(const json_t *j, const char *key, unsigned min, unsigned max,
    unsigned *out, char **cause)
{
	json_t *v = json_object_get(j, key);
	json_int_t i;

	if (!json_is_integer(v))
		return cause_set(cause, "%s: expected an integer", key);
	i = json_integer_value(v);
	if (i < (json_int_t)min || i > (json_int_t)max)
		return cause_set(cause, "%s: out of range %u..%u", key, min,
		    max);
	*out = (unsigned)i;
	return 0;
}

int
agent_cpolicy_from_json(const json_t *j, struct agent_cpolicy *p,
    char **cause)
{
	struct agent_cpolicy n;
	json_t *a, *c;
	size_t clen;

	memset(&n, 0, sizeof(n));
	if (!json_is_object(j))
		return cause_set(cause, "not an object");
	if (cpolicy_uint(j, "interval", AGENT_CPOLICY_INTERVAL_MIN,
	    AGENT_CPOLICY_INTERVAL_MAX, &n.interval, cause) < 0 ||
	    cpolicy_uint(j, "grace", AGENT_CPOLICY_GRACE_MIN,
	    AGENT_CPOLICY_GRACE_MAX, &n.grace, cause) < 0)
		return -1;
	if (n.grace <= n.interval)
		return cause_set(cause, "grace: not more than interval");
	a = json_object_get(j, "action");
	if (!json_is_string(a) ||
	    agent_action_parse(json_string_value(a), &n.action) < 0)
		return cause_set(cause, "action: unknown");
	c = json_object_get(j, "command");
	if (n.action != AGENT_ACT_COMMAND) {
		if (c != NULL && !json_is_null(c))
			return cause_set(cause, "command: only with action "
			    "command");
	} else {
		clen = json_string_length(c);
		if (!json_is_string(c) || clen == 0 ||
		    clen > AGENT_CPOLICY_COMMAND_MAX ||
		    strlen(json_string_value(c)) != clen)
			return cause_set(cause, "command: 1..%d bytes, no NUL",
			    AGENT_CPOLICY_COMMAND_MAX);
		memcpy(n.command, json_string_value(c), clen + 1);
	}
	if (json_object_get(j, "usbip_port") != NULL && cpolicy_uint(j,
	    "usbip_port", 1, 65535, &n.usbip_port, cause) < 0)
		return -1;
	*p = n;
	return 0;
}

json_t *
agent_cpolicy_to_json(const struct agent_cpolicy *p)
{
	json_t *j = json_pack("{s:I, s:I, s:s}", "interval",
	    (json_int_t)p->interval, "grace", (json_int_t)p->grace, "action",
	    agent_action_name(p->action));

	if (j != NULL && p->action == AGENT_ACT_COMMAND)
		json_object_set_new(j, "command", json_string(p->command));
	if (j != NULL && p->usbip_port != 0)
		json_object_set_new(j, "usbip_port", json_integer(
		    p->usbip_port));
	return j;
}

void
agent_cpolicy_local(const struct agent_config *cfg, struct agent_cpolicy *p)
{
	memset(p, 0, sizeof(*p));
	p->interval = cfg->interval;
	p->grace = cfg->grace;
	if (cfg->action[0] != '\0')
		agent_action_parse(cfg->action, &p->action);
	else
		p->action = cfg->policy[0] != '\0' ? AGENT_ACT_COMMAND :
		    AGENT_ACT_LOG;
	if (p->action == AGENT_ACT_COMMAND)
		snprintf(p->command, sizeof(p->command), "%s", cfg->policy);
}

bool
agent_cpolicy_equal(const struct agent_cpolicy *a,
    const struct agent_cpolicy *b)
{
	return a->interval == b->interval && a->grace == b->grace &&
	    a->action == b->action && strcmp(a->command, b->command) == 0 &&
	    a->usbip_port == b->usbip_port;
}

char *
agent_cpolicy_describe(const struct agent_cpolicy *p, char *buf, size_t len)
{
	snprintf(buf, len, "interval %u s, grace %u s, action %s",
	    p->interval, p->grace, agent_action_name(p->action));
	return buf;
}
