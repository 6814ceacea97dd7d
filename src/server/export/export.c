/*
 * export: exported devices, sessions and the policy hooks (see export.h).
 */
#include "server/export/export.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/xmalloc.h"
#include "server/device/dev_image.h"

#define EXPORT_PORT_MAX	65535u

struct export_import {
	struct export_session *s;
	export_import_cb *cb;
	void *cb_arg;
};

static void export_attach(struct export_session *s,
    struct export_device *dev);

struct export *
export_new(uint16_t vendor, uint16_t product, const char *manufacturer,
    const char *product_name)
{
	struct export *exp = xcalloc(1, sizeof(*exp));

	TAILQ_INIT(&exp->open);
	TAILQ_INIT(&exp->sessions);
	exp->ident.vendor = vendor;
	exp->ident.product = product;
	exp->ident.bcd_device = 0x0100;
	exp->ident.manufacturer = xstrdup(manufacturer);
	exp->ident.product_name = xstrdup(product_name);
	return exp;
}

void
export_free(struct export *exp)
{
	struct export_device *d;

	if (exp == NULL)
		return;
	while ((d = TAILQ_FIRST(&exp->open)) != NULL) {
		TAILQ_REMOVE(&exp->open, d, entry);
		export_device_free(d);
	}
	free((char *)(uintptr_t)exp->ident.manufacturer);
	free((char *)(uintptr_t)exp->ident.product_name);
	free(exp);
}

void
export_set_hooks(struct export *exp, const struct export_hooks *hooks,
    void *arg)
{
	exp->hooks = hooks;
	exp->hooks_arg = arg;
}

void
export_busid_format(uint32_t busnum, uint32_t devnum,
    char out[EXPORT_BUSID_SIZE])
{
	snprintf(out, EXPORT_BUSID_SIZE, "%u-%u", busnum, devnum);
}

/* One decimal number in 1..EXPORT_PORT_MAX, no sign, no leading zero. */
static int
export_busid_num(const char *s, size_t len, uint32_t *out)
{
	uint32_t v = 0;

	if (len == 0 || len > 5 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > EXPORT_PORT_MAX)
		return -1;
	*out = v;
	return 0;
}

int
export_busid_parse(const char *busid, uint32_t *busnum, uint32_t *devnum)
{
	const char *dash = strchr(busid, '-');

	if (dash == NULL ||
	    export_busid_num(busid, (size_t)(dash - busid), busnum) < 0 ||
	    export_busid_num(dash + 1, strlen(dash + 1), devnum) < 0)
		return -1;
	return 0;
}

struct export_device *
export_device_new(struct export *exp, uint32_t busnum, uint32_t devnum,
    const char *id, const char *name, struct dev_image *img)
{
	struct export_device *d;
	struct dev_ident ident;

	if (busnum == 0 || busnum > EXPORT_PORT_MAX || devnum == 0 ||
	    devnum > EXPORT_PORT_MAX) {
		dev_image_free(img);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->busnum = busnum;
	d->devnum = devnum;
	export_busid_format(busnum, devnum, d->busid);
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->img = img;
	ident = exp->ident;
	ident.serial = d->id;
	dev_usb_init(&d->usb, &ident, img);
	return d;
}

void
export_device_free(struct export_device *dev)
{
	if (dev == NULL)
		return;
	dev_usb_detach(&dev->usb);
	dev_image_free(dev->img);
	free(dev);
}

void
export_publish(struct export *exp, struct export_device *dev)
{
	dev->open = true;
	TAILQ_INSERT_TAIL(&exp->open, dev, entry);
}

struct export_device *
export_open_find(struct export *exp, uint32_t busnum, uint32_t devnum)
{
	struct export_device *d;

	TAILQ_FOREACH(d, &exp->open, entry)
		if (d->busnum == busnum && d->devnum == devnum)
			return d;
	return NULL;
}

void
export_device_info(const struct export_device *dev,
    struct export_devinfo *info)
{
	info->busid = dev->busid;
	info->busnum = dev->busnum;
	info->devnum = dev->devnum;
	info->name = dev->name;
}

void
export_devlist(struct export *exp, const struct sockaddr *sa,
    export_emit_cb *emit, void *emit_arg)
{
	struct export_device *d;
	struct export_devinfo info;

	if (exp->hooks != NULL && exp->hooks->devlist != NULL)
		exp->hooks->devlist(exp->hooks_arg, sa, emit, emit_arg);
	TAILQ_FOREACH(d, &exp->open, entry) {
		export_device_info(d, &info);
		emit(emit_arg, &info);
	}
}

int
export_peer_tokens(struct export *exp, const struct sockaddr *sa)
{
	if (exp->hooks == NULL || exp->hooks->peer_tokens == NULL)
		return -1;
	return exp->hooks->peer_tokens(exp->hooks_arg, sa);
}

struct export_session *
export_session_new(struct export *exp, const struct sockaddr *sa,
    socklen_t salen, void (*kick)(void *, const char *), void *kick_arg)
{
	struct export_session *s = xcalloc(1, sizeof(*s));

	s->exp = exp;
	memcpy(&s->peer, sa, salen < sizeof(s->peer) ? salen :
	    sizeof(s->peer));
	netaddr_format(sa, s->peer_str, sizeof(s->peer_str));
	netaddr_format_host(sa, s->peer_host, sizeof(s->peer_host));
	s->kick = kick;
	s->kick_arg = kick_arg;
	return s;
}

static void
export_attach(struct export_session *s, struct export_device *dev)
{
	struct export *exp = s->exp;

	s->dev = dev;
	dev->session = s;
	TAILQ_INSERT_TAIL(&exp->sessions, s, entry);
	s->linked = true;
	exp->stats.sessions++;
	exp->stats.imports++;
}

void
export_session_end(struct export_session *s)
{
	struct export *exp = s->exp;
	struct export_device *dev = s->dev;

	if (dev == NULL)
		return;
	dev_usb_detach(&dev->usb);
	dev->session = NULL;
	if (s->linked) {
		TAILQ_REMOVE(&exp->sessions, s, entry);
		s->linked = false;
		exp->stats.sessions--;
	}
	exp->stats.bytes_in += s->bytes_in;
	exp->stats.bytes_out += s->bytes_out;
	if (!dev->open && exp->hooks != NULL && exp->hooks->detached != NULL)
		exp->hooks->detached(exp->hooks_arg, s);
	s->dev = NULL;
}

void
export_session_free(struct export_session *s)
{
	if (s == NULL)
		return;
	if (s->pending != NULL) {
		/* The policy is still deciding: free once it answers. */
		s->pending->cb = NULL;
		s->kick = NULL;
		return;
	}
	export_session_end(s);
	free(s);
}

void
export_session_kick(struct export_session *s, const char *why)
{
	if (s->kick != NULL)
		s->kick(s->kick_arg, why);
	else
		export_session_end(s);
}

void
export_import(struct export_session *s, const char *busid,
    export_import_cb *cb, void *cb_arg)
{
	struct export *exp = s->exp;
	struct export_import *imp;
	struct export_device *dev;
	uint32_t busnum, devnum;

	s->since = time(NULL);
	if (export_busid_parse(busid, &busnum, &devnum) == 0 &&
	    (dev = export_open_find(exp, busnum, devnum)) != NULL) {
		if (dev->session != NULL) {
			exp->stats.denied++;
			cb(cb_arg, s, EXPORT_BUSY, "already attached");
			return;
		}
		export_attach(s, dev);
		cb(cb_arg, s, EXPORT_OK, NULL);
		return;
	}
	if (exp->hooks == NULL || exp->hooks->import == NULL) {
		exp->stats.denied++;
		cb(cb_arg, s, EXPORT_NODEV, "no such device");
		return;
	}
	imp = xcalloc(1, sizeof(*imp));
	imp->s = s;
	imp->cb = cb;
	imp->cb_arg = cb_arg;
	s->pending = imp;
	exp->hooks->import(exp->hooks_arg, imp, busid, s);
}

void
export_import_done(struct export_import *imp, enum export_status st,
    struct export_device *dev, const char *reason)
{
	struct export_session *s = imp->s;
	export_import_cb *cb = imp->cb;
	void *cb_arg = imp->cb_arg;

	s->pending = NULL;
	free(imp);
	if (st == EXPORT_OK && (dev == NULL || dev->session != NULL)) {
		st = EXPORT_BUSY;	/* a policy bug; never two sessions */
		reason = "already attached";
	}
	if (st == EXPORT_OK)
		export_attach(s, dev);
	else
		s->exp->stats.denied++;
	if (cb == NULL) {		/* the transport went meanwhile */
		export_session_free(s);
		return;
	}
	cb(cb_arg, s, st, reason != NULL ? reason : "refused");
}

void
export_import_refused(struct export_session *s, const char *busid,
    const char *reason)
{
	struct export *exp = s->exp;

	exp->stats.denied++;
	if (exp->hooks != NULL && exp->hooks->refused != NULL)
		exp->hooks->refused(exp->hooks_arg, s, busid, reason);
}
