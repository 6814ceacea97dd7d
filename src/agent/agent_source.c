/*
 * agent_source: the current token device, from a fixed path or from
 * libudev discovery and its monitor (see agent.h).
 */
#include "agent/agent.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent_config.h"
#include "agent/agent_token.h"
#include "agent/agent_udev.h"
#include "common/log.h"
#include "common/xmalloc.h"

static void agent_source_adopt(struct agent *a,
    const struct agent_udev_dev *d);
static bool agent_source_is_fixed_node(const struct agent *a,
    const char *devnode);

int
agent_source_open(struct agent *a, char **cause)
{
	char *why = NULL;

	a->udev = agent_udev_open(a->cfg->vendor_id, a->cfg->product_id,
	    &why);
	if (a->udev == NULL && !a->fixed) {
		*cause = why;
		return -1;
	}
	if (a->udev == NULL) {
		log_warnx("%s; removal of %s is noticed at the next "
		    "authentication only", why, a->cfg->device);
		free(why);
		return 0;
	}
	log_debug("udev monitor on %s events",
	    agent_udev_source(a->udev));
	return 0;
}

void
agent_source_close(struct agent *a)
{
	agent_source_drop(a);
	agent_udev_close(a->udev);
	a->udev = NULL;
}

void
agent_source_drop(struct agent *a)
{
	agent_token_free(a->tok);
	a->tok = NULL;
}

/* Makes the disk d the current token. */
static void
agent_source_adopt(struct agent *a, const struct agent_udev_dev *d)
{
	log_info("token disk %s (USB serial %s)", d->devnode, d->serial);
	a->tok = agent_token_new(d->devnode, d->serial, d->syspath);
}

bool
agent_source_scan(struct agent *a)
{
	struct agent_udev_dev d;
	struct stat st;
	char *why = NULL;
	int r;

	if (a->tok != NULL)
		return true;
	if (a->fixed) {
		if (stat(a->cfg->device, &st) == 0)
			a->tok = agent_token_new(a->cfg->device, NULL, NULL);
		return a->tok != NULL;
	}
	if ((r = agent_udev_find(a->udev, &d, &why)) < 0) {
		log_warnx("%s", why);
		free(why);
	} else if (r == 1)
		agent_source_adopt(a, &d);
	agent_udev_dev_clear(&d);
	return a->tok != NULL;
}

/* True when devnode is the fixed device (as named or resolved). */
static bool
agent_source_is_fixed_node(const struct agent *a, const char *devnode)
{
	char *real;
	bool same;

	if (devnode == NULL)
		return false;
	if (strcmp(devnode, a->cfg->device) == 0)
		return true;
	if ((real = realpath(a->cfg->device, NULL)) == NULL)
		return false;
	same = strcmp(real, devnode) == 0;
	free(real);
	return same;
}

bool
agent_source_check(struct agent *a)
{
	if (a->tok == NULL || agent_token_is_present(a->tok))
		return a->tok != NULL;
	log_info("token device %s is gone", a->tok->path);
	agent_source_drop(a);
	return false;
}

int
agent_source_events(struct agent *a)
{
	enum agent_udev_action act;
	struct agent_udev_dev d;
	int r, what = 0;

	if (a->udev == NULL)
		return 0;
	while ((r = agent_udev_receive(a->udev, &act, &d)) != 0) {
		if (r < 0) {
			log_warnx("udev events were lost; rescanning");
			if (a->tok != NULL && !agent_source_check(a))
				what |= AGENT_SOURCE_GONE;
		} else if (act == AGENT_UDEV_REMOVE && a->tok != NULL &&
		    agent_token_is_device(a->tok, d.syspath, d.devnode)) {
			log_info("token disk %s removed", a->tok->path);
			agent_source_drop(a);
			what |= AGENT_SOURCE_GONE;
		} else if (act == AGENT_UDEV_ADD && a->tok == NULL &&
		    (!a->fixed || agent_source_is_fixed_node(a, d.devnode))) {
			if (a->fixed)
				a->tok = agent_token_new(a->cfg->device, NULL,
				    NULL);
			else
				agent_source_adopt(a, &d);
			what |= AGENT_SOURCE_NEW;
		} else if (act == AGENT_UDEV_ADD)
			log_debug("ignoring token disk %s", d.devnode);
		agent_udev_dev_clear(&d);
	}
	if (a->tok == NULL && agent_source_scan(a))
		what |= AGENT_SOURCE_NEW;
	return what;
}
