/*
 * vtokend_alarms: turns the alarms and audit sections of the
 * configuration into notify destinations and the controller's alarm
 * rules, and starts the engine (control_alarm.h).
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/config.h"
#include "server/control/control.h"
#include "server/control/control_alarm.h"
#include "server/notify/notify.h"
#include "server/vtokend.h"

/* The webhook secret: the file's bytes up to the first line end. */
static int
read_secret(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL) {
		log_warn("alarms.webhook.secret_file %s", path);
		return -1;
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0) {
		log_error("alarms.webhook.secret_file %s: empty", path);
		return -1;
	}
	*len = n;
	return 0;
}

static void
limits(const struct vtd_config *cfg, struct notify_limits *lim,
    bool webhook)
{
	memset(lim, 0, sizeof(*lim));
	lim->queue = cfg->alarms.queue;
	lim->attempts = webhook ? cfg->alarms.webhook_attempts : 5;
	lim->backoff_min = webhook ? (double)cfg->alarms.webhook_backoff : 1.0;
	lim->backoff_max = 300.0;
	lim->timeout_s = 5;
}

static int
open_destinations(struct vtokend *vtd, const char *host)
{
	const struct vtd_config *cfg = vtd->cfg;
	struct notify_limits lim;
	uint8_t secret[1024];
	size_t slen = 0;
	char *cause = NULL;

	if (cfg->alarms.webhook_url[0] != '\0') {
		limits(cfg, &lim, true);
		if (read_secret(cfg->alarms.webhook_secret_file, secret,
		    sizeof(secret), &slen) < 0)
			return -1;
		vtd->webhook = notify_webhook_new(cfg->alarms.webhook_url,
		    secret, slen, &lim, &cause);
		OPENSSL_cleanse(secret, sizeof(secret));
		if (vtd->webhook == NULL)
			goto fail;
	}
	limits(cfg, &lim, false);
	if (cfg->alarms.syslog[0] != '\0' &&
	    (vtd->syslog = notify_syslog_new(cfg->alarms.syslog, host,
	    "vtokend", &lim, &cause)) == NULL)
		goto fail;
	if (cfg->audit.forward[0] != '\0' &&
	    (vtd->audit_forward = notify_syslog_new(cfg->audit.forward, host,
	    "vtokend", &lim, &cause)) == NULL)
		goto fail;
	return 0;
fail:
	log_error("alarms: %s", cause);
	free(cause);
	return -1;
}

static enum control_alarm_per
rule_per(const char *s)
{
	return strcmp(s, "token") == 0 ? ALARM_PER_TOKEN : strcmp(s, "vm") ==
	    0 ? ALARM_PER_VM : strcmp(s, "address") == 0 ? ALARM_PER_ADDRESS :
	    ALARM_PER_NONE;
}

int
vtokend_alarms_start(struct vtokend *vtd)
{
	const struct vtd_config *cfg = vtd->cfg;
	struct control_alarm_params p;
	struct control_alarm_rule *rules;
	char host[256] = "";
	int rc;

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	if (open_destinations(vtd, host) < 0)
		return -1;
	rules = xcalloc(cfg->alarms.nrules + 1, sizeof(*rules));
	for (size_t i = 0; i < cfg->alarms.nrules; i++) {
		const struct config_alarm_rule *c = &cfg->alarms.rules[i];
		struct control_alarm_rule *r = &rules[i];

		snprintf(r->name, sizeof(r->name), "%s", c->name);
		snprintf(r->actions, sizeof(r->actions), "%s", c->actions);
		r->per = rule_per(c->per);
		snprintf(r->token, sizeof(r->token), "%s", c->token);
		snprintf(r->vm, sizeof(r->vm), "%s", c->vm);
		snprintf(r->address, sizeof(r->address), "%s", c->address);
		r->count = c->count;
		r->window = c->window;
		snprintf(r->severity, sizeof(r->severity), "%s", c->severity);
		r->webhook = c->webhook;
		r->syslog = c->syslog;
	}
	memset(&p, 0, sizeof(p));
	p.builtin = cfg->alarms.builtin;
	p.copied_count = cfg->alarms.copied_count;
	p.copied_window = cfg->alarms.copied_window;
	p.denied_count = cfg->alarms.denied_count;
	p.denied_window = cfg->alarms.denied_window;
	p.agent_grace = cfg->alarms.agent_grace;
	p.verify_interval = cfg->alarms.verify_interval;
	if (strcmp(cfg->store.backend, "sqlite") == 0)
		p.disk_path = cfg->data_dir;
	p.disk_min_free = (unsigned long long)cfg->alarms.disk_min_free_mib <<
	    20;
	p.rules = rules;
	p.nrules = cfg->alarms.nrules;
	p.webhook = vtd->webhook;
	p.syslog = vtd->syslog;
	p.audit_forward = vtd->audit_forward;
	rc = control_alarm_start(vtd->ctl, &p);
	free(rules);
	return rc;
}

void
vtokend_alarms_free(struct vtokend *vtd)
{
	notify_free(vtd->webhook);
	notify_free(vtd->syslog);
	notify_free(vtd->audit_forward);
	vtd->webhook = vtd->syslog = vtd->audit_forward = NULL;
}
