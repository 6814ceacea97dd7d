/*
 * agent_policy: fork/exec of the policy command (see agent_policy.h).
 */
#include "agent/agent_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cause.h"
#include "common/xmalloc.h"

static char **agent_policy_env(const char *reason, const char *token_id);
static void agent_policy_env_free(char **env);
static void agent_policy_child(char **argv, char **env)
    __attribute__((noreturn));
static void agent_policy_close_from(int lowfd);

extern char **environ;

/*
 * The child's environment: ours without VTOKEN_* plus the two values.
 * Built before fork(), so the child only calls async-signal-safe
 * functions.
 */
static char **
agent_policy_env(const char *reason, const char *token_id)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	env = xcalloc(n + 3, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "VTOKEN_", 7) != 0)
			env[k++] = xstrdup(environ[i]);
	env[k++] = xasprintf("VTOKEN_REASON=%s", reason != NULL ? reason :
	    "");
	if (token_id != NULL)
		env[k++] = xasprintf("VTOKEN_TOKEN_ID=%s", token_id);
	return env;
}

static void
agent_policy_env_free(char **env)
{
	for (size_t i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* Closes every descriptor from lowfd up. */
static void
agent_policy_close_from(int lowfd)
{
	if (close_range((unsigned)lowfd, ~0u, 0) == 0)
		return;
	for (int fd = lowfd; fd < 65536; fd++)
		close(fd);
}

/* In the child: a clean process state, then the shell.  Never returns. */
static void
agent_policy_child(char **argv, char **env)
{
	sigset_t none;
	int fd;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	agent_policy_close_from(STDERR_FILENO + 1);
	execve(AGENT_POLICY_SHELL, argv, env);
	_exit(127);
}

pid_t
agent_policy_spawn(const char *cmd, const char *reason, const char *token_id,
    char **cause)
{
	char **env = agent_policy_env(reason, token_id);
	char *argv[] = { xstrdup("sh"), xstrdup("-c"), xstrdup(cmd), NULL };
	pid_t pid = fork();

	if (pid == 0)
		agent_policy_child(argv, env);
	if (pid < 0)
		cause_set(cause, "fork: %s", strerror(errno));
	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	agent_policy_env_free(env);
	return pid;
}

char *
agent_policy_status(int status)
{
	if (WIFEXITED(status))
		return xasprintf("exit status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return xasprintf("killed by signal %d", WTERMSIG(status));
	return xasprintf("wait status 0x%x", (unsigned)status);
}
