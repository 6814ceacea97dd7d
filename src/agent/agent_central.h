/*
 * agent_central: what the controller manages in a running daemon
 * (docs/AGENT.md): the effective policy (the one the controller sent
 * last, kept in the state file, else the local configuration's
 * fallback), the facts and reports that ride on every verify, the
 * policy action when the grace period ran out (recorded as
 * policy_fired until a verify succeeds), and the network isolation's
 * life: installed by isolate-network, removed at the next successful
 * authentication, and at start-up only when the state file says the
 * agent is not isolated (a restart while locked out stays isolated).
 *
 * Logs what it does, once per change.  The state file is agent_store's;
 * without a usable state_dir everything works in memory only.
 */
#ifndef VTOKEN_AGENT_CENTRAL_H
#define VTOKEN_AGENT_CENTRAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "agent/agent_cpolicy.h"
#include "agent/agent_facts.h"
#include "agent/agent_http.h"
#include "agent/agent_store.h"

struct agent_config;
struct agent_msg_answer;
struct agent_msg_extra;

struct agent_central {
	const struct agent_config *cfg;		/* borrowed */
	struct agent_store store;
	bool persist;			/* store is open */
	struct agent_saved saved;
	struct agent_cpolicy local;	/* the configuration's fallback */
	struct agent_facts facts;	/* read for the current verify */
	pid_t action_pid;		/* the running action, or -1 */
	pid_t unisolate_pid;		/* nft removing the table, or -1 */
	char base[2050];		/* the controller last used, or "" */
	char peer_ip[AGENT_HTTP_IP_MAX];	/* where it was reached */
	unsigned peer_port;
	char last_why[128];		/* last invalid answer part logged */
};

/* Loads the state (logging any problem) and removes a stale isolation. */
void agent_central_open(struct agent_central *c,
    const struct agent_config *cfg);
void agent_central_close(struct agent_central *c);
/* The policy in force (borrowed). */
const struct agent_cpolicy *agent_central_policy(
    const struct agent_central *c);
/* Writes the state if it changed; a failure is logged. */
void agent_central_save(struct agent_central *c);
/* Fills *x for the next verify (facts read now; reports). */
void agent_central_extra(struct agent_central *c,
    struct agent_msg_extra *x);
/*
 * A verify succeeded through h to base: takes the policy, forgets the
 * reported action, lifts the isolation.  True when the policy changed.
 */
bool agent_central_ok(struct agent_central *c,
    const struct agent_msg_answer *ans, const struct agent_http *h,
    const char *base);
/* The grace period ran out: starts the policy's action once. */
void agent_central_fire(struct agent_central *c, const char *reason,
    const char *token_id);
/* A child was reaped: true when it was one of ours (then logged). */
bool agent_central_reaped(struct agent_central *c, pid_t pid, int status);

#endif
