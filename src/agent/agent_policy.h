/*
 * agent_policy: starting the agent's child processes: the operator's
 * policy command as `/bin/sh -c COMMAND', and the programs the built-in
 * actions and the update run (agent_action.h, agent_update.h).  The
 * caller reaps them (SIGCHLD) and logs the status.
 *
 * The child starts with default signal dispositions and an empty signal
 * mask, stdin from /dev/null, stdout/stderr inherited (the journal), no
 * other descriptors, and in its own session.  It gets the reason in the
 * environment as VTOKEN_REASON and the token id, when one is known, as
 * VTOKEN_TOKEN_ID.  Nothing here logs.
 */
#ifndef VTOKEN_AGENT_POLICY_H
#define VTOKEN_AGENT_POLICY_H

#include <sys/types.h>

#define AGENT_POLICY_SHELL	"/bin/sh"

/* One child: everything borrowed for the call. */
struct agent_policy_exec {
	const char *path;		/* the program (execve) */
	char *const *argv;		/* its argv, NULL-terminated */
	const char *reason;		/* VTOKEN_REASON, or NULL: not set */
	const char *token_id;		/* VTOKEN_TOKEN_ID, or NULL */
	const char *const *env;		/* more NAME=VALUE, or NULL */
	const char *input;		/* stdin (< 64 KiB), or NULL: null */
};

/*
 * Starts x->path as described above (stdin from x->input through a
 * pipe).  Returns the child's pid, or -1 with *cause.
 */
pid_t agent_policy_exec(const struct agent_policy_exec *x, char **cause);
/*
 * Starts cmd; reason and token_id (may be NULL) are borrowed for the
 * call.  Returns the child's pid, or -1 with *cause.
 */
pid_t agent_policy_spawn(const char *cmd, const char *reason,
    const char *token_id, char **cause);
/* "exit status N" or "killed by signal N" for a wait status (allocated). */
char *agent_policy_status(int status);

#endif
