/*
 * agent_update: download, check, install, confirm, roll back (see
 * agent_update.h).
 */
#include "agent/agent_update.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_auth.h"
#include "agent/agent_central.h"
#include "agent/agent_config.h"
#include "agent/agent_http.h"
#include "agent/agent_msg.h"
#include "agent/agent_policy.h"
#include "agent/agent_release.h"
#include "agent/agent_version.h"
#include "common/log.h"
#include "common/xmalloc.h"

static void update_report(struct agent_update *u, const char *version,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void update_clear_pending(struct agent_saved *s);
static void update_rotate(const char *state_dir);
static int update_spawn(struct agent_update *u, const char *name,
    const char *version, enum agent_update_job job);
static void update_rollback(struct agent_update *u);
static void update_settle(struct agent_update *u,
    const struct agent_msg_answer *ans);
static bool update_wanted(struct agent_update *u,
    const struct agent_msg_offer *o);
static int update_download(struct agent_update *u,
    const struct agent_msg_offer *o, struct agent_http *h,
    const char *base, const char *dl);
static void update_fetch(struct agent_update *u,
    const struct agent_msg_offer *o, struct agent_http *h,
    const char *base);
static void update_install_done(struct agent_update *u, bool ok,
    const char *what);
static void update_rollback_done(struct agent_update *u, bool ok,
    const char *what);

char *
agent_update_path(const char *state_dir, const char *name)
{
	return xasprintf("%s/" AGENT_UPDATE_DIR "%s%s", state_dir,
	    name[0] != '\0' ? "/" : "", name);
}

/* Records (and logs) an outcome; a failure also blocks retries. */
static void
update_report(struct agent_update *u, const char *version,
    const char *result, const char *fmt, ...)
{
	struct agent_saved *s = &u->c->saved;
	va_list ap;

	snprintf(s->report.version, sizeof(s->report.version), "%s", version);
	snprintf(s->report.result, sizeof(s->report.result), "%s", result);
	va_start(ap, fmt);
	vsnprintf(s->report.reason, sizeof(s->report.reason), fmt, ap);
	va_end(ap);
	if (strcmp(result, "installed") != 0) {
		snprintf(s->tried_version, sizeof(s->tried_version), "%s",
		    version);
		s->tried_time = (long long)time(NULL);
		log_error("update to %s %s: %s", version, result,
		    s->report.reason);
	} else
		log_info("update to %s installed", version);
	agent_central_save(u->c);
}

static void
update_clear_pending(struct agent_saved *s)
{
	s->pending_version[0] = s->pending_previous[0] = '\0';
	s->pending_starts = 0;
}

/* new -> current, the old current -> previous (when there is a new). */
static void
update_rotate(const char *state_dir)
{
	char *nw = agent_update_path(state_dir, "new");
	char *cur = agent_update_path(state_dir, "current");
	char *prev = agent_update_path(state_dir, "previous");

	if (access(nw, F_OK) == 0) {
		if (rename(cur, prev) < 0 && errno != ENOENT)
			log_warn("update: %s", prev);
		if (rename(nw, cur) < 0)
			log_warn("update: %s", cur);
	}
	free(nw);
	free(cur);
	free(prev);
}

/* update_command on update/NAME: 0 with u->pid, or -1 (logged). */
static int
update_spawn(struct agent_update *u, const char *name, const char *version,
    enum agent_update_job job)
{
	const struct agent_config *cfg = u->c->cfg;
	char *file = agent_update_path(cfg->state_dir, name), *why = NULL;
	char *e_file = xasprintf("VTOKEN_UPDATE_FILE=%s", file);
	char *e_ver = xasprintf("VTOKEN_UPDATE_VERSION=%s", version);
	const char *env[] = { e_file, e_ver, NULL };
	char *argv[] = { xstrdup("sh"), xstrdup("-c"),
	    xstrdup(cfg->update_command), NULL };
	struct agent_policy_exec x = { .path = AGENT_POLICY_SHELL,
	    .argv = argv, .env = env };

	u->pid = agent_policy_exec(&x, &why);
	if (u->pid > 0) {
		u->job = job;
		snprintf(u->version, sizeof(u->version), "%s", version);
		log_info("update: running update_command for %s (%s, pid %d)",
		    version, file, (int)u->pid);
	} else {
		log_error("update: update_command: %s", why);
		free(why);
	}
	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(e_file);
	free(e_ver);
	free(file);
	return u->pid > 0 ? 0 : -1;
}

/* The new version never authenticated: put the previous one back. */
static void
update_rollback(struct agent_update *u)
{
	struct agent_saved *s = &u->c->saved;
	char *prev = agent_update_path(u->c->cfg->state_dir, "previous");
	bool have = access(prev, R_OK) == 0;

	free(prev);
	log_error("update to %s: started %u times without authenticating; "
	    "rolling back to %s", s->pending_version, s->pending_starts,
	    s->pending_previous);
	if (!have || update_spawn(u, "previous", s->pending_previous,
	    AGENT_UPDATE_ROLLBACK) < 0) {
		update_report(u, s->pending_version, "failed", "did not "
		    "authenticate after %d starts; %s", AGENT_UPDATE_STARTS,
		    have ? "the rollback did not start" : "no previous "
		    "artifact to roll back to");
		update_clear_pending(s);
		agent_central_save(u->c);
	}
}

void
agent_update_init(struct agent_update *u, struct agent_central *c)
{
	struct agent_saved *s = &c->saved;
	const char *own = agent_version();

	memset(u, 0, sizeof(*u));
	u->c = c;
	u->pid = -1;
	if (!c->persist || s->pending_version[0] == '\0')
		return;
	if (strcmp(own, s->pending_version) == 0) {
		update_rotate(c->cfg->state_dir);
		if (s->pending_starts >= AGENT_UPDATE_STARTS) {
			update_rollback(u);
			return;
		}
		s->pending_starts++;
		if (strcmp(s->report.version, own) != 0 ||
		    strcmp(s->report.result, "installed") != 0)
			update_report(u, own, "installed", "%s", "");
		log_info("update to %s: start %u; confirmed at the first "
		    "successful authentication", own, s->pending_starts);
	} else if (strcmp(own, s->pending_previous) == 0) {
		update_report(u, s->pending_version, "failed",
		    "new version did not start");
		update_clear_pending(s);
	} else
		update_clear_pending(s);
	agent_central_save(c);
}

/* Confirms a pending install and drops a report that is answered. */
static void
update_settle(struct agent_update *u, const struct agent_msg_answer *ans)
{
	struct agent_saved *s = &u->c->saved;

	if (s->pending_version[0] != '\0' &&
	    strcmp(s->pending_version, agent_version()) == 0) {
		log_info("update to %s confirmed", s->pending_version);
		update_clear_pending(s);
	}
	if (s->report.version[0] != '\0' &&
	    (strcmp(s->report.result, "installed") == 0 ||
	    ans->update != 1 ||
	    strcmp(ans->offer.version, s->report.version) != 0))
		memset(&s->report, 0, sizeof(s->report));
	agent_central_save(u->c);
}

/* An offer this agent should act on now. */
static bool
update_wanted(struct agent_update *u, const struct agent_msg_offer *o)
{
	const struct agent_saved *s = &u->c->saved;
	const struct agent_config *cfg = u->c->cfg;

	if (strcmp(o->version, agent_version()) == 0 ||
	    u->job != AGENT_UPDATE_IDLE || !u->c->persist)
		return false;
	if (cfg->release_key[0] == '\0') {
		if (!u->key_logged)
			log_warnx("update to %s offered, but no release_key "
			    "is configured: updates are off", o->version);
		u->key_logged = true;
		if (strcmp(s->report.version, o->version) != 0)
			update_report(u, o->version, "refused",
			    "no release key configured");
		return false;
	}
	return strcmp(s->tried_version, o->version) != 0 ||
	    (long long)time(NULL) - s->tried_time >= AGENT_UPDATE_RETRY ||
	    (long long)time(NULL) < s->tried_time;
}

/* Downloads o into dl (0600): 0, or -1 after the refusal is recorded. */
static int
update_download(struct agent_update *u, const struct agent_msg_offer *o,
    struct agent_http *h, const char *base, const char *dl)
{
	char *url = agent_auth_url(base, o->url), *why = NULL;
	unsigned long long got = 0;
	long status = 0;
	int fd, rv;

	unlink(dl);
	fd = open(dl, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		update_report(u, o->version, "refused", "download: %s: %s",
		    dl, strerror(errno));
		free(url);
		return -1;
	}
	log_info("update to %s offered: downloading %llu bytes", o->version,
	    (unsigned long long)o->size);
	rv = agent_http_get_file(h, url, fd, o->size, &status, &got, &why);
	if (close(fd) < 0 && rv == 0)
		rv = -1;
	if (rv < 0 || status != 200) {
		unlink(dl);
		if (why != NULL)
			update_report(u, o->version, "refused",
			    "download: %s", why);
		else
			update_report(u, o->version, "refused",
			    "download: HTTP %ld", status);
		rv = -1;
	}
	free(why);
	free(url);
	return rv;
}

static void
update_fetch(struct agent_update *u, const struct agent_msg_offer *o,
    struct agent_http *h, const char *base)
{
	const struct agent_config *cfg = u->c->cfg;
	struct agent_saved *s = &u->c->saved;
	struct agent_release r = { .version = o->version,
	    .sha256 = o->sha256, .size = o->size, .sig = o->sig };
	char *dir = agent_update_path(cfg->state_dir, "");
	char *dl = agent_update_path(cfg->state_dir, "download");
	char *nw = agent_update_path(cfg->state_dir, "new"), *why = NULL;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		update_report(u, o->version, "refused", "%s: %s", dir,
		    strerror(errno));
	else if (update_download(u, o, h, base, dl) < 0)
		;	/* recorded */
	else if (agent_release_check(cfg->release_key, dl, &r, &why) < 0) {
		unlink(dl);
		update_report(u, o->version, "refused", "%s", why);
	} else if (rename(dl, nw) < 0) {
		unlink(dl);
		update_report(u, o->version, "refused", "%s: %s", nw,
		    strerror(errno));
	} else {
		snprintf(s->pending_version, sizeof(s->pending_version),
		    "%s", o->version);
		snprintf(s->pending_previous, sizeof(s->pending_previous),
		    "%s", agent_version());
		s->pending_starts = 0;
		agent_central_save(u->c);
		if (update_spawn(u, "new", o->version,
		    AGENT_UPDATE_INSTALL) < 0) {
			update_clear_pending(s);
			update_report(u, o->version, "failed",
			    "update_command did not start");
		}
	}
	free(why);
	free(dir);
	free(dl);
	free(nw);
}

void
agent_update_answer(struct agent_update *u,
    const struct agent_msg_answer *ans, struct agent_http *h,
    const char *base)
{
	update_settle(u, ans);
	if (ans->update == 1 && update_wanted(u, &ans->offer))
		update_fetch(u, &ans->offer, h, base);
}

static void
update_install_done(struct agent_update *u, bool ok, const char *what)
{
	struct agent_saved *s = &u->c->saved;
	char *nw;

	if (ok) {
		update_rotate(u->c->cfg->state_dir);
		log_info("update to %s installed; executing %s", u->version,
		    u->c->cfg->update_exec);
		u->reexec = true;
		return;
	}
	nw = agent_update_path(u->c->cfg->state_dir, "new");
	unlink(nw);
	free(nw);
	update_clear_pending(s);
	update_report(u, u->version, "failed", "update_command: %s", what);
}

static void
update_rollback_done(struct agent_update *u, bool ok, const char *what)
{
	struct agent_saved *s = &u->c->saved;
	char *cur = agent_update_path(u->c->cfg->state_dir, "current");
	char *prev = agent_update_path(u->c->cfg->state_dir, "previous");
	char failed[AGENT_STORE_VERSION_MAX + 1];

	snprintf(failed, sizeof(failed), "%s", s->pending_version);
	update_clear_pending(s);
	if (ok) {
		if (rename(prev, cur) < 0)
			log_warn("update: %s", cur);
		update_report(u, failed, "rolled_back", "did not authenticate "
		    "after %d starts; %s reinstalled", AGENT_UPDATE_STARTS,
		    u->version);
		u->reexec = true;
	} else
		update_report(u, failed, "failed", "did not authenticate "
		    "after %d starts; the rollback failed: %s",
		    AGENT_UPDATE_STARTS, what);
	free(cur);
	free(prev);
}

bool
agent_update_reaped(struct agent_update *u, pid_t pid, int status)
{
	char *what;
	bool ok;

	if (u->pid <= 0 || pid != u->pid)
		return false;
	what = agent_policy_status(status);
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	log_info("update_command (pid %d) finished: %s", (int)pid, what);
	if (u->job == AGENT_UPDATE_INSTALL)
		update_install_done(u, ok, what);
	else if (u->job == AGENT_UPDATE_ROLLBACK)
		update_rollback_done(u, ok, what);
	u->job = AGENT_UPDATE_IDLE;
	u->pid = -1;
	free(what);
	return true;
}
