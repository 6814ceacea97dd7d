/*
 * vtokend: the daemon's one context.  Everything mutable that outlives a
 * single call hangs off struct vtokend, which only the assembling files
 * (vtokend.c, serve_image.c) see: every layer below takes narrow
 * parameters (docs/ARCHITECTURE.md), so two daemons could run in one
 * test process.
 */
#ifndef VTOKEN_VTOKEND_H
#define VTOKEN_VTOKEND_H

#include <stdbool.h>

#include "server/config.h"

struct event_base;
struct event;
struct export;
struct usbip_server;
struct control;
struct api_server;
struct vtd_args;

struct vtokend {
	struct event_base *base;
	struct vtd_config *cfg;		/* owned; replaced on reload */
	char *config_path;		/* NULL: built-in defaults */
	const struct vtd_args *args;	/* command line; wins on reload too */
	struct export *exp;		/* devices and sessions */
	struct control *ctl;
	struct usbip_server *usbip;
	struct api_server *api;
	struct notify *webhook, *syslog, *audit_forward;	/* or NULL */
	struct event *ev_sigterm, *ev_sigint, *ev_sighup;
	bool stopping;
	/* Descriptor shares (vtokend_fds.c); 0: caps as configured. */
	unsigned fd_usbip, fd_api;
};

/*
 * vtokend_alarms.c: the alarm destinations from the configuration
 * (webhook, syslog, audit forwarding) and the alarm engine's start; 0,
 * or -1 after logging.  vtokend_alarms_free after control_close.
 */
int vtokend_alarms_start(struct vtokend *vtd);
void vtokend_alarms_free(struct vtokend *vtd);

/*
 * vtokend_fds.c: raises the soft descriptor limit as far as the caps need
 * and sets fd_usbip and fd_api, the connections each listener may hold
 * within RLIMIT_NOFILE; logs the budget once.
 */
void vtokend_fds_budget(struct vtokend *vtd);

#endif
