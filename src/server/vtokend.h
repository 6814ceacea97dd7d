/*
 * vtokend: the daemon's one context.  Everything mutable that outlives a
 * single call hangs off struct vtokend; modules receive it explicitly, so
 * two daemons could run in one test process.
 */
#ifndef VTOKEN_VTOKEND_H
#define VTOKEN_VTOKEND_H

#include <stdbool.h>

#include "server/config.h"
#include "server/registry.h"

struct event_base;
struct event;
struct usbip_server;
struct ctl;
struct api_server;
struct vtd_args;

struct vtokend {
	struct event_base *base;
	struct vtd_config *cfg;		/* owned; replaced on reload */
	char *config_path;		/* NULL: built-in defaults */
	const struct vtd_args *args;	/* command line; wins on reload too */
	struct registry reg;
	struct ctl *ctl;
	struct usbip_server *usbip;
	struct api_server *api;
	struct event *ev_sigterm, *ev_sigint, *ev_sighup;
	bool stopping;
};

#endif
