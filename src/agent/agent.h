/*
 * agent: the vtoken-agent context, shared by its two modes.
 *
 * The agent proves to the controller that this machine holds a token:
 * it finds the token disk (agent_source), reads the credential from it
 * (agent_token), answers the controller's challenge (agent_auth) and,
 * as a daemon, keeps doing so every `interval', running the policy when
 * it has not been authenticated for `grace' seconds (agent_daemon,
 * agent_state, agent_policy).  --once authenticates a single time
 * (agent_once).  One thread; everything hangs off struct agent.  The
 * HTTPS connection to the controller and its TLS session are kept from
 * one round to the next (agent_http.h).
 */
#ifndef VTOKEN_AGENT_H
#define VTOKEN_AGENT_H

#include <stdbool.h>

struct agent_config;
struct agent_http;
struct agent_token;
struct agent_udev;

struct agent {
	const struct agent_config *cfg;	/* borrowed for the run */
	bool fixed;			/* cfg->device set: no discovery */
	struct agent_udev *udev;	/* discovery/monitor, or NULL */
	struct agent_token *tok;	/* the current token, or NULL */
	struct agent_http *http;	/* kept between rounds, or NULL */
	bool reexec;			/* set by the daemon after an update:
					   main() executes cfg->update_exec */
};

/* What agent_source_events saw (a bit mask). */
#define AGENT_SOURCE_GONE	0x1	/* the current token went away */
#define AGENT_SOURCE_NEW	0x2	/* a new current token was found */

/*
 * agent_source: where the token comes from.  With cfg->device it is that
 * path (a USB serial is then not checked); otherwise the first token
 * disk libudev finds.  The udev monitor is required for discovery and
 * optional (removal of a fixed /dev node) otherwise.  Logs what it
 * finds and what goes away.
 */
int agent_source_open(struct agent *a, char **cause);
/* Drops the token (wiping its key) and closes udev. */
void agent_source_close(struct agent *a);
/* Looks for a token unless there is one: true when a->tok is set. */
bool agent_source_scan(struct agent *a);
/* Handles all pending monitor events; AGENT_SOURCE_* bits. */
int agent_source_events(struct agent *a);
/*
 * Checks that the current token is still there (a missed event): false
 * after it was dropped.
 */
bool agent_source_check(struct agent *a);
/* Forgets the current token and wipes its key. */
void agent_source_drop(struct agent *a);

/* The daemon: runs until SIGTERM/SIGINT.  Exit status for main. */
int agent_daemon_run(struct agent *a);
/* --once: 0 authenticated, 1 not (reason on stderr). */
int agent_once_run(struct agent *a);

#endif
