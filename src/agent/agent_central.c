/*
 * agent_central: policy, reports and isolation in the daemon (see
 * agent_central.h).
 */
#include "agent/agent_central.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "agent/agent_action.h"
#include "agent/agent_config.h"
#include "agent/agent_msg.h"
#include "agent/agent_policy.h"
#include "common/encode.h"
#include "common/log.h"

static void central_unisolate(struct agent_central *c);
static void central_take_policy(struct agent_central *c,
    const struct agent_msg_answer *ans, bool *changed);
static void central_peer(struct agent_central *c, char ip[],
    unsigned *port);

void
agent_central_open(struct agent_central *c, const struct agent_config *cfg)
{
	char *why = NULL, desc[128];

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->action_pid = c->unisolate_pid = -1;
	agent_cpolicy_local(cfg, &c->local);
	if (cfg->state_dir[0] == '\0')
		log_warnx("no state_dir: the controller's policy and the "
		    "update state are kept in memory only; updates are off");
	else if (agent_store_open(&c->store, cfg->state_dir, &c->saved,
	    &why) < 0) {
		log_error("state: %s; running without it (updates are off)",
		    why);
		free(why);
	} else
		c->persist = true;
	if (c->saved.has_policy)
		log_info("policy from the controller (stored): %s",
		    agent_cpolicy_describe(&c->saved.policy, desc,
		    sizeof(desc)));
	if (c->saved.isolated)
		log_warnx("the network stays isolated until the next "
		    "successful authentication");
	else
		central_unisolate(c);
}

void
agent_central_close(struct agent_central *c)
{
	if (c->persist)
		agent_store_close(&c->store);
	c->persist = false;
}

const struct agent_cpolicy *
agent_central_policy(const struct agent_central *c)
{
	return c->saved.has_policy ? &c->saved.policy : &c->local;
}

void
agent_central_save(struct agent_central *c)
{
	char *why = NULL;

	if (!c->persist)
		return;
	if (agent_store_save(&c->store, &c->saved, &why) < 0) {
		log_error("state: %s", why);
		free(why);
	}
}

void
agent_central_extra(struct agent_central *c, struct agent_msg_extra *x)
{
	agent_facts_read(NULL, &c->facts);
	x->facts = &c->facts;
	x->update = &c->saved.report;
	x->fired = &c->saved.fired;
}

/* Removes the isolation table unless nft is missing or one runs. */
static void
central_unisolate(struct agent_central *c)
{
	char *why = NULL, *nft = agent_action_which(c->cfg->nft, "nft");

	if (nft == NULL) {
		if (c->saved.isolated)
			log_error("cannot lift the isolation: nft not found");
		else
			log_debug("nft not found: no isolation to remove");
		return;
	}
	free(nft);
	if (c->unisolate_pid > 0)
		return;
	if ((c->unisolate_pid = agent_action_unisolate(c->cfg, &why)) < 0) {
		log_error("removing the isolation: %s", why);
		free(why);
	}
}

static void
central_take_policy(struct agent_central *c,
    const struct agent_msg_answer *ans, bool *changed)
{
	char desc[128];

	*changed = false;
	if (ans->policy < 0 && strcmp(c->last_why, ans->why) != 0)
		log_warnx("ignoring the controller's %s", ans->why);
	snprintf(c->last_why, sizeof(c->last_why), "%s", ans->why);
	if (ans->policy <= 0 || (c->saved.has_policy &&
	    agent_cpolicy_equal(&c->saved.policy, &ans->pol)))
		return;
	c->saved.has_policy = true;
	c->saved.policy = ans->pol;
	*changed = true;
	log_info("policy from the controller: %s",
	    agent_cpolicy_describe(&ans->pol, desc, sizeof(desc)));
}

bool
agent_central_ok(struct agent_central *c, const struct agent_msg_answer *ans,
    const struct agent_http *h, const char *base)
{
	bool changed;

	snprintf(c->base, sizeof(c->base), "%s", base);
	agent_http_peer(h, c->peer_ip, &c->peer_port);
	central_take_policy(c, ans, &changed);
	c->saved.fired.action[0] = '\0';	/* reported with this verify */
	if (c->saved.isolated) {
		log_info("authenticated: lifting the network isolation");
		central_unisolate(c);
	}
	agent_central_save(c);
	return changed;
}

/* Where the controller is: as last reached, else the URL resolved. */
static void
central_peer(struct agent_central *c, char ip[], unsigned *port)
{
	char *why = NULL;

	ip[0] = '\0';
	*port = 0;
	if (c->peer_ip[0] != '\0') {
		memcpy(ip, c->peer_ip, AGENT_HTTP_IP_MAX);
		*port = c->peer_port;
		return;
	}
	if (c->base[0] == '\0' && c->cfg->controller[0] != '\0')
		snprintf(c->base, sizeof(c->base), "%s", c->cfg->controller);
	if (c->base[0] != '\0' && agent_http_resolve(c->base, ip, port,
	    &why) == 0)
		return;
	log_warnx("isolate-network: %s", why != NULL ? why :
	    "no controller known");
	free(why);
}

void
agent_central_fire(struct agent_central *c, const char *reason,
    const char *token_id)
{
	const struct agent_cpolicy *p = agent_central_policy(c);
	struct agent_action_run r = { .act = p->action, .command = p->command,
	    .reason = reason, .token_id = token_id, .cfg = c->cfg };
	struct agent_fired *f = &c->saved.fired;
	char ip[AGENT_HTTP_IP_MAX], *why = NULL;
	pid_t pid;

	memset(f, 0, sizeof(*f));
	snprintf(f->action, sizeof(f->action), "%s",
	    agent_action_name(p->action));
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
	encode_time(time(NULL), f->time);
	if (p->action == AGENT_ACT_ISOLATE) {
		central_peer(c, ip, &r.peer_port);
		r.peer_ip = ip;
		r.usbip_port = p->usbip_port;
		c->saved.isolated = true;	/* before nft: a crash stays */
	}
	if (c->action_pid > 0) {
		log_warnx("action (pid %d) still running; not started again",
		    (int)c->action_pid);
		snprintf(f->result, sizeof(f->result), "still running");
	} else if ((pid = agent_action_start(&r, &why)) < 0) {
		log_error("action %s: %s", f->action, why);
		snprintf(f->result, sizeof(f->result), "failed: %.48s", why);
		free(why);
	} else if (pid == 0) {
		log_warnx("not authenticated for %u s (%s): action %s (log "
		    "only)", p->grace, reason, f->action);
		snprintf(f->result, sizeof(f->result), "ok");
	} else {
		c->action_pid = pid;
		log_info("not authenticated for %u s (%s): running policy "
		    "action %s (pid %d)", p->grace, reason, f->action,
		    (int)pid);
		snprintf(f->result, sizeof(f->result), "started");
	}
	agent_central_save(c);
}

bool
agent_central_reaped(struct agent_central *c, pid_t pid, int status)
{
	char *what = agent_policy_status(status);
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (pid == c->action_pid) {
		log_info("policy (pid %d) finished: %s", (int)pid, what);
		if (c->saved.fired.action[0] != '\0')
			snprintf(c->saved.fired.result,
			    sizeof(c->saved.fired.result), "%s", ok ? "ok" :
			    what);
		c->action_pid = -1;
	} else if (pid == c->unisolate_pid) {
		if (ok && c->saved.isolated)
			log_info("network isolation lifted");
		else if (!ok)
			log_error("removing the isolation (nft) failed: %s",
			    what);
		if (ok)
			c->saved.isolated = false;
		c->unisolate_pid = -1;
	} else {
		free(what);
		return false;
	}
	free(what);
	agent_central_save(c);
	return true;
}
