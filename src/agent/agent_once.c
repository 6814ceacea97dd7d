/*
 * agent_once: --once.  Finds the token (waiting up to device_wait
 * seconds for it to appear), reads it and authenticates a single time.
 * The outcome goes to the terminal: a line on stdout on success, the
 * reason on stderr otherwise.  The verify carries the facts; --once
 * keeps no state (state_dir is not touched): it neither applies the
 * controller's policy nor installs updates.
 */
#include "agent/agent.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent/agent_auth.h"
#include "agent/agent_config.h"
#include "agent/agent_facts.h"
#include "agent/agent_http.h"
#include "agent/agent_msg.h"
#include "agent/agent_token.h"
#include "agent/agent_udev.h"
#include "common/log.h"
#include "common/monotime.h"

#define ONCE_FIXED_POLL_MS	250	/* re-check of a fixed path */

static bool once_find(struct agent *a);

/*
 * Waits (bounded by device_wait) until a token is there: on the udev
 * monitor, or re-checking a fixed path every ONCE_FIXED_POLL_MS.
 */
static bool
once_find(struct agent *a)
{
	double deadline = monotime_sec() + a->cfg->device_wait, left;
	struct pollfd pfd;
	int ms;

	while (!agent_source_scan(a)) {
		left = deadline - monotime_sec();
		if (left <= 0)
			return false;
		ms = (int)(left * 1000) + 1;
		if (a->udev == NULL) {
			poll(NULL, 0, ms < ONCE_FIXED_POLL_MS ? ms :
			    ONCE_FIXED_POLL_MS);
			continue;
		}
		pfd.fd = agent_udev_fd(a->udev);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) > 0)
			agent_source_events(a);
	}
	return true;
}

int
agent_once_run(struct agent *a)
{
	struct agent_msg_answer ans = { 0 };
	struct agent_msg_extra extra = { 0 };
	struct agent_facts facts;
	char *why = NULL, *reason = NULL;
	int rc = 1;

	if (!a->fixed && agent_source_open(a, &why) < 0) {
		fprintf(stderr, "vtoken-agent: %s\n", why);
		free(why);
		return 1;
	}
	if (!once_find(a)) {
		fprintf(stderr, "vtoken-agent: no token found within %u s\n",
		    a->cfg->device_wait);
		goto out;
	}
	if (agent_token_load(a->tok, &why) < 0) {
		fprintf(stderr, "vtoken-agent: unreadable token: %s\n", why);
		free(why);
		goto out;
	}
	log_debug("token %s read from %s; controller %s",
	    a->tok->info.token_id, a->tok->path, agent_auth_base(a->cfg,
	    a->tok));
	agent_facts_read(NULL, &facts);
	extra.facts = &facts;
	if (agent_auth_run(a->cfg, a->tok, NULL, &extra, &a->http, &ans,
	    &reason) < 0) {
		fprintf(stderr, "vtoken-agent: token %s: authentication "
		    "failed: %s\n", a->tok->info.token_id, reason);
		goto out;
	}
	printf("token %s authenticated for VM %s\n", a->tok->info.token_id,
	    ans.vm);
	rc = 0;
out:
	agent_msg_answer_clear(&ans);
	free(reason);
	agent_http_free(a->http);
	a->http = NULL;
	agent_source_close(a);
	return rc;
}
