/*
 * agent_daemon: the long-running agent.  One thread around poll(2) on a
 * signalfd (SIGTERM/SIGINT stop, SIGCHLD reaps the policy, SIGHUP
 * re-authenticates now) and the udev monitor, with a timeout for the
 * next deadline: the next authentication or the policy's grace
 * deadline, whichever comes first.  A removed token is noticed from its
 * udev event at once; every `interval' the agent also re-checks the
 * device (in case an event was lost) and authenticates.
 *
 * What the controller manages (the policy in force, the facts and
 * reports sent with each verify, the action, the isolation) is
 * agent_central's; updates are agent_update's.  A new interval or grace
 * from the controller applies from the next round.  After an installed
 * update the loop ends with a->reexec set and main() executes the new
 * binary.
 *
 * State transitions are logged once each (agent_state.h has the
 * machine); the nonce, the signature and the key are never logged.
 */
#include "agent/agent.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_auth.h"
#include "agent/agent_central.h"
#include "agent/agent_config.h"
#include "agent/agent_http.h"
#include "agent/agent_msg.h"
#include "agent/agent_policy.h"
#include "agent/agent_state.h"
#include "agent/agent_token.h"
#include "agent/agent_udev.h"
#include "agent/agent_update.h"
#include "agent/agent_version.h"
#include "common/encode.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/xmalloc.h"

struct agent_daemon {
	struct agent *a;
	struct agent_state st;
	int sigfd;
	sigset_t sigs;			/* blocked; read from sigfd */
	sigset_t oldmask;
	struct agent_central c;		/* policy, reports, isolation */
	struct agent_update up;
	double next_auth;		/* monotonic seconds */
	char token_id[ENCODE_ID_LEN + 1];	/* last one loaded, or "" */
	bool stop;
};

static int daemon_signals_open(struct agent_daemon *d);
static void daemon_signals_close(struct agent_daemon *d);
static bool daemon_cancel(void *arg);
static void daemon_logstate(const struct agent_daemon *d, enum agent_st old,
    bool changed);
static void daemon_gone(struct agent_daemon *d);
static void daemon_fail(struct agent_daemon *d, const char *reason);
static bool daemon_load(struct agent_daemon *d);
static void daemon_log_http(const struct agent_daemon *d);
static void daemon_authenticate(struct agent_daemon *d);
static void daemon_answer(struct agent_daemon *d,
    const struct agent_msg_answer *ans);
static void daemon_start(struct agent_daemon *d);
static void daemon_policy(struct agent_daemon *d);
static void daemon_reap(struct agent_daemon *d);
static void daemon_read_signals(struct agent_daemon *d);
static int daemon_timeout(const struct agent_daemon *d, double now);
static void daemon_wait(struct agent_daemon *d);

static int
daemon_signals_open(struct agent_daemon *d)
{
	sigemptyset(&d->sigs);
	sigaddset(&d->sigs, SIGTERM);
	sigaddset(&d->sigs, SIGINT);
	sigaddset(&d->sigs, SIGCHLD);
	sigaddset(&d->sigs, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &d->sigs, &d->oldmask) < 0)
		return -1;
	d->sigfd = signalfd(-1, &d->sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0) {
		sigprocmask(SIG_SETMASK, &d->oldmask, NULL);
		return -1;
	}
	return 0;
}

static void
daemon_signals_close(struct agent_daemon *d)
{
	close(d->sigfd);
	sigprocmask(SIG_SETMASK, &d->oldmask, NULL);
}

/* Aborts an HTTP request once SIGTERM or SIGINT is pending. */
static bool
daemon_cancel(void *arg)
{
	sigset_t pending;

	(void)arg;
	if (sigpending(&pending) < 0)
		return false;
	return sigismember(&pending, SIGTERM) == 1 ||
	    sigismember(&pending, SIGINT) == 1;
}

static void
daemon_logstate(const struct agent_daemon *d, enum agent_st old,
    bool changed)
{
	const struct agent_state *s = &d->st;

	if (!changed)
		return;
	if (s->reason[0] != '\0')
		log_info("state %s -> %s (%s)", agent_state_name(old),
		    agent_state_name(s->st), s->reason);
	else
		log_info("state %s -> %s", agent_state_name(old),
		    agent_state_name(s->st));
}

static void
daemon_gone(struct agent_daemon *d)
{
	enum agent_st old = d->st.st;

	daemon_logstate(d, old, agent_state_token_gone(&d->st,
	    monotime_sec()));
}

static void
daemon_fail(struct agent_daemon *d, const char *reason)
{
	enum agent_st old = d->st.st;

	daemon_logstate(d, old, agent_state_auth_fail(&d->st, monotime_sec(),
	    reason));
}

/* Loads the current token unless it is loaded; false after a failure. */
static bool
daemon_load(struct agent_daemon *d)
{
	struct agent_token *t = d->a->tok;
	char *why = NULL, *reason;

	if (agent_token_is_loaded(t))
		return true;
	if (agent_token_load(t, &why) < 0) {
		reason = xasprintf("unreadable token: %s", why);
		daemon_fail(d, reason);
		free(reason);
		free(why);
		return false;
	}
	snprintf(d->token_id, sizeof(d->token_id), "%s", t->info.token_id);
	log_info("token %s (%s) read from %s; controller %s", d->token_id,
	    t->info.name, t->path, agent_auth_base(d->a->cfg, t));
	return true;
}

/* How the connection to the controller was used so far. */
static void
daemon_log_http(const struct agent_daemon *d)
{
	struct agent_http_stats st;

	if (d->a->http == NULL)
		return;
	agent_http_stats(d->a->http, &st);
	log_debug("controller: %lu requests, %lu connections (%lu resumed "
	    "TLS sessions)", st.requests, st.connects, st.resumed);
}

/* A verify succeeded: what the controller said. */
static void
daemon_answer(struct agent_daemon *d, const struct agent_msg_answer *ans)
{
	struct agent *a = d->a;
	const char *base = agent_auth_base(a->cfg, a->tok);

	agent_central_ok(&d->c, ans, a->http, base);
	d->st.grace = agent_central_policy(&d->c)->grace;
	agent_update_answer(&d->up, ans, a->http, base);
	if (d->up.reexec) {
		a->reexec = true;
		d->stop = true;
	}
}

/* One round: re-check the device, load it, authenticate. */
static void
daemon_authenticate(struct agent_daemon *d)
{
	struct agent_auth_cancel cancel = { daemon_cancel, NULL };
	struct agent_msg_answer ans;
	struct agent_msg_extra extra;
	struct agent *a = d->a;
	char *reason = NULL;
	enum agent_st old;

	if (!agent_source_check(a) && !agent_source_scan(a)) {
		daemon_gone(d);
		return;
	}
	if (!daemon_load(d))
		return;
	agent_central_extra(&d->c, &extra);
	if (agent_auth_run(a->cfg, a->tok, &cancel, &extra, &a->http, &ans,
	    &reason) == 0) {
		old = d->st.st;
		if (agent_state_auth_ok(&d->st)) {
			log_info("token %s authenticated for VM %s",
			    d->token_id, ans.vm);
			daemon_logstate(d, old, true);
		} else
			log_debug("token %s authenticated", d->token_id);
		daemon_answer(d, &ans);
		agent_msg_answer_clear(&ans);
	} else if (!daemon_cancel(NULL))
		daemon_fail(d, reason);
	daemon_log_http(d);
	free(reason);
}

/* The grace period ran out: the policy's action, once. */
static void
daemon_policy(struct agent_daemon *d)
{
	enum agent_st old = d->st.st;

	agent_state_policy_ran(&d->st);
	daemon_logstate(d, old, true);
	agent_central_fire(&d->c, d->st.reason, d->token_id[0] != '\0' ?
	    d->token_id : NULL);
}

static void
daemon_reap(struct agent_daemon *d)
{
	char *what;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (agent_central_reaped(&d->c, pid, status))
			continue;
		if (agent_update_reaped(&d->up, pid, status)) {
			if (d->up.reexec) {
				d->a->reexec = true;
				d->stop = true;
			}
			continue;
		}
		what = agent_policy_status(status);
		log_debug("child %d finished: %s", (int)pid, what);
		free(what);
	}
}

static void
daemon_read_signals(struct agent_daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: stopping", si.ssi_signo);
			d->stop = true;
			break;
		case SIGCHLD:
			daemon_reap(d);
			break;
		case SIGHUP:
			log_info("SIGHUP: authenticating now");
			d->next_auth = monotime_sec();
			break;
		default:
			break;
		}
	}
}

/* Milliseconds until the next deadline, rounded up. */
static int
daemon_timeout(const struct agent_daemon *d, double now)
{
	double when = d->next_auth, pd = agent_state_deadline(&d->st), ms;

	if (pd >= 0 && pd < when)
		when = pd;
	ms = (when - now) * 1000.0;
	if (ms <= 0)
		return 0;
	if (ms >= INT_MAX - 1)
		return INT_MAX;
	return (int)ms + ((double)(int)ms < ms);	/* rounded up */
}

static void
daemon_wait(struct agent_daemon *d)
{
	struct pollfd pfd[2];
	nfds_t n = 1;
	int what;

	pfd[0].fd = d->sigfd;
	pfd[0].events = POLLIN;
	if (d->a->udev != NULL) {
		pfd[1].fd = agent_udev_fd(d->a->udev);
		pfd[1].events = POLLIN;
		n = 2;
	}
	if (poll(pfd, n, daemon_timeout(d, monotime_sec())) < 0) {
		if (errno != EINTR)
			log_warn("poll");
		return;
	}
	if (pfd[0].revents != 0)
		daemon_read_signals(d);
	if (n < 2 || pfd[1].revents == 0)
		return;
	what = agent_source_events(d->a);
	if (what & AGENT_SOURCE_GONE)
		daemon_gone(d);
	if (d->a->tok != NULL && (what & AGENT_SOURCE_NEW))
		d->next_auth = monotime_sec();
}

/* The start-up log lines and state. */
static void
daemon_start(struct agent_daemon *d)
{
	const struct agent_config *cfg = d->a->cfg;
	const struct agent_cpolicy *p;
	char desc[128];

	agent_central_open(&d->c, cfg);
	agent_update_init(&d->up, &d->c);
	p = agent_central_policy(&d->c);
	agent_state_init(&d->st, monotime_sec(), p->grace);
	log_info("started (version %s): %s (%s); state %s",
	    agent_version(), agent_cpolicy_describe(p, desc, sizeof(desc)),
	    d->c.saved.has_policy ? "from the controller" :
	    "local fallback", agent_state_name(d->st.st));
	if (cfg->controller[0] == '\0')
		log_warnx("no controller configured: the token disk names it, "
		    "so a forged disk could name its own (set controller "
		    "and ca_sha256 or ca_file)");
}

int
agent_daemon_run(struct agent *a)
{
	struct agent_daemon d;
	char *why = NULL;

	memset(&d, 0, sizeof(d));
	d.a = a;
	if (daemon_signals_open(&d) < 0) {
		log_warn("signalfd");
		return 1;
	}
	if (agent_source_open(a, &why) < 0) {
		log_error("%s", why);
		free(why);
		daemon_signals_close(&d);
		return 1;
	}
	daemon_start(&d);
	agent_source_scan(a);
	d.next_auth = monotime_sec();
	while (!d.stop) {
		if (monotime_sec() >= d.next_auth) {
			daemon_authenticate(&d);
			d.next_auth = monotime_sec() +
			    agent_central_policy(&d.c)->interval;
		}
		if (!d.stop && agent_state_policy_due(&d.st, monotime_sec()))
			daemon_policy(&d);
		if (!d.stop)
			daemon_wait(&d);
	}
	agent_central_close(&d.c);
	agent_http_free(a->http);
	a->http = NULL;
	agent_source_close(a);
	daemon_signals_close(&d);
	return 0;
}
