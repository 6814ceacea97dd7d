/*
 * agent_policy: running the configured policy command (lock, power off,
 * ...) as `/bin/sh -c COMMAND' in a child process.  The caller reaps it
 * (SIGCHLD) and logs the status.
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

/*
 * Starts cmd; reason and token_id (may be NULL) are borrowed for the
 * call.  Returns the child's pid, or -1 with *cause.
 */
pid_t agent_policy_spawn(const char *cmd, const char *reason,
    const char *token_id, char **cause);
/* "exit status N" or "killed by signal N" for a wait status (allocated). */
char *agent_policy_status(int status);

#endif
