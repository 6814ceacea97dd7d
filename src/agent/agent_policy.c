/*
 * agent_policy: fork/exec of the agent's children (see agent_policy.h).
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

static char **agent_policy_env(const struct agent_policy_exec *x);
static void agent_policy_env_free(char **env);
static void agent_policy_child(const char *path, char *const *argv,
    char **env, int infd) __attribute__((noreturn));
static void agent_policy_close_from(int lowfd);
static int agent_policy_input(const char *input, char **cause);

extern char **environ;

/*
 * The child's environment: ours without VTOKEN_* plus x's values.
 * Built before fork(), so the child only calls async-signal-safe
 * functions.
 */
static char **
agent_policy_env(const struct agent_policy_exec *x)
{
	size_t n = 0, k = 0, extra = 0;
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	while (x->env != NULL && x->env[extra] != NULL)
		extra++;
	env = xcalloc(n + extra + 3, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "VTOKEN_", 7) != 0)
			env[k++] = xstrdup(environ[i]);
	if (x->reason != NULL)
		env[k++] = xasprintf("VTOKEN_REASON=%s", x->reason);
	if (x->token_id != NULL)
		env[k++] = xasprintf("VTOKEN_TOKEN_ID=%s", x->token_id);
	for (size_t i = 0; i < extra; i++)
		env[k++] = xstrdup(x->env[i]);
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

/*
 * A pipe already holding input (it fits the pipe's buffer), its write
 * end closed: the read end, or /dev/null's descriptor without input.
 */
static int
agent_policy_input(const char *input, char **cause)
{
	size_t len, off = 0;
	ssize_t n;
	int p[2];

	if (input == NULL)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	len = strlen(input);
	if (len >= 65536 || pipe2(p, O_CLOEXEC) < 0)
		return cause_set(cause, "cannot pass the input: %s",
		    len >= 65536 ? "too long" : strerror(errno));
	while (off < len) {
		if ((n = write(p[1], input + off, len - off)) < 0 &&
		    errno == EINTR)
			continue;
		if (n <= 0) {
			close(p[0]);
			close(p[1]);
			return cause_set(cause, "cannot pass the input");
		}
		off += (size_t)n;
	}
	close(p[1]);
	return p[0];
}

/* In the child: a clean process state, then path.  Never returns. */
static void
agent_policy_child(const char *path, char *const *argv, char **env,
    int infd)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (infd >= 0 && infd != STDIN_FILENO) {
		dup2(infd, STDIN_FILENO);	/* clears O_CLOEXEC */
		close(infd);
	}
	agent_policy_close_from(STDERR_FILENO + 1);
	execve(path, argv, env);
	_exit(127);
}

pid_t
agent_policy_exec(const struct agent_policy_exec *x, char **cause)
{
	char **env;
	int infd;
	pid_t pid;

	if ((infd = agent_policy_input(x->input, cause)) < 0 &&
	    x->input != NULL)
		return -1;
	env = agent_policy_env(x);
	pid = fork();
	if (pid == 0)
		agent_policy_child(x->path, x->argv, env, infd);
	if (pid < 0)
		cause_set(cause, "fork: %s", strerror(errno));
	if (infd >= 0)
		close(infd);
	agent_policy_env_free(env);
	return pid;
}

pid_t
agent_policy_spawn(const char *cmd, const char *reason, const char *token_id,
    char **cause)
{
	char *argv[] = { xstrdup("sh"), xstrdup("-c"), xstrdup(cmd), NULL };
	struct agent_policy_exec x = {
		.path = AGENT_POLICY_SHELL, .argv = argv,
		.reason = reason != NULL ? reason : "", .token_id = token_id,
	};
	pid_t pid = agent_policy_exec(&x, cause);

	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
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
