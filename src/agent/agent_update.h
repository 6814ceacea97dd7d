/*
 * agent_update: installing the agent releases the controller offers
 * (docs/AGENT.md, "The agent's update flow").
 *
 *   offer (verify answer "update", version != ours)
 *     -> download STATE_DIR/update/download (capped at the announced
 *        size and AGENT_RELEASE_MAX) -> size, SHA-256, signature
 *        (agent_release.h; no release_key: refused)
 *     -> pending {version, previous: ours, starts: 0} saved
 *     -> update_command (sh -c, VTOKEN_UPDATE_FILE, VTOKEN_UPDATE_VERSION)
 *     -> exit 0: artifacts rotated (current -> previous, new ->
 *        current), the caller re-executes update_exec
 *   start with pending: ours == pending -> "installed" (cleared when a
 *     verify succeeds); ours == previous -> "failed: new version did not
 *     start"; started 3 times without authenticating -> update_command
 *     on update/previous, "rolled_back".
 *
 * A version that was refused or failed is not tried again within
 * AGENT_UPDATE_RETRY seconds.  The outcome is in the state's report,
 * which agent_central sends with every verify until the controller names
 * another target or none.  Logs what it does.
 */
#ifndef VTOKEN_AGENT_UPDATE_H
#define VTOKEN_AGENT_UPDATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "agent/agent_store.h"

#define AGENT_UPDATE_RETRY	3600	/* seconds before a failed retry */
#define AGENT_UPDATE_STARTS	3	/* starts without auth: roll back */
#define AGENT_UPDATE_DIR	"update"

struct agent_central;
struct agent_config;
struct agent_http;
struct agent_msg_answer;

enum agent_update_job {
	AGENT_UPDATE_IDLE = 0,
	AGENT_UPDATE_INSTALL,		/* update_command on the new one */
	AGENT_UPDATE_ROLLBACK,		/* update_command on the previous */
};

struct agent_update {
	struct agent_central *c;	/* borrowed: state and config */
	enum agent_update_job job;
	pid_t pid;			/* its child, or -1 */
	char version[AGENT_STORE_VERSION_MAX + 1];	/* the job's */
	bool key_logged;		/* "no release key" said once */
	bool reexec;			/* set: the caller re-executes */
};

/* At start-up: the pending install's outcome, maybe the rollback. */
void agent_update_init(struct agent_update *u, struct agent_central *c);
/*
 * A verify succeeded: settles the report and the pending state and
 * acts on an offer (downloads through h from base, blocking for the
 * download, then starts the install).
 */
void agent_update_answer(struct agent_update *u,
    const struct agent_msg_answer *ans, struct agent_http *h,
    const char *base);
/* A child was reaped: true when it was the update's (u->reexec set). */
bool agent_update_reaped(struct agent_update *u, pid_t pid, int status);

/* STATE_DIR/update/NAME (allocated). */
char *agent_update_path(const char *state_dir, const char *name);

#endif
