/*
 * agent_cpolicy: the policy the controller hands out (docs/AGENT.md,
 * "Policy"): interval, grace, action and, for "command", the command.
 * Parsing and range checks of its JSON form (the verify answer and the
 * state file use the same), and the fallback made from the local
 * configuration for an agent that never reached its controller.  Pure;
 * nothing here logs.
 */
#ifndef VTOKEN_AGENT_CPOLICY_H
#define VTOKEN_AGENT_CPOLICY_H

#include <jansson.h>
#include <stdbool.h>

#include "agent/agent_action.h"

#define AGENT_CPOLICY_INTERVAL_MIN	5
#define AGENT_CPOLICY_INTERVAL_MAX	3600
#define AGENT_CPOLICY_GRACE_MIN		10
#define AGENT_CPOLICY_GRACE_MAX		86400
#define AGENT_CPOLICY_COMMAND_MAX	1024	/* bytes */

struct agent_cpolicy {
	unsigned interval;	/* seconds between authentications */
	unsigned grace;		/* seconds unauthenticated before action */
	enum agent_act action;
	char command[AGENT_CPOLICY_COMMAND_MAX + 1];	/* "" unless command */
	/*
	 * The controller's USB/IP port (0: not said), which isolate-network
	 * lets through with the API port so that a token can be attached
	 * again while the network is cut.
	 */
	unsigned usbip_port;
};

/*
 * Reads and checks a policy object j (borrowed): 0, or -1 with *cause
 * ("grace: out of range" and the like); *p is untouched on error.
 */
int agent_cpolicy_from_json(const json_t *j, struct agent_cpolicy *p,
    char **cause);
/* The JSON object of p (a new reference). */
json_t *agent_cpolicy_to_json(const struct agent_cpolicy *p);
/*
 * The fallback from cfg (interval, grace, action, policy); the local
 * file's ranges are wider than the controller's and are kept as they are.
 */
void agent_cpolicy_local(const struct agent_config *cfg,
    struct agent_cpolicy *p);
bool agent_cpolicy_equal(const struct agent_cpolicy *a,
    const struct agent_cpolicy *b);
/* "interval 30 s, grace 90 s, action log" into buf; returns buf. */
char *agent_cpolicy_describe(const struct agent_cpolicy *p, char *buf,
    size_t len);

#endif
