/*
 * config: the key table and the libyaml document walker (see config.h).
 * Defaults are written as text in the table and go through the same
 * parsers as file values, so a default can never be out of bounds.
 */
#include "server/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/netaddr.h"
#include "common/yamlconf.h"
#include "common/xmalloc.h"

enum cfg_type {
	CFG_STR,	/* char * */
	CFG_UINT,	/* unsigned, decimal or 0x hex */
	CFG_SIZE,	/* unsigned bytes, optional K/M suffix */
	CFG_LOGLEVEL,	/* enum log_level */
	CFG_HOSTPORT,	/* usbip.listen */
	CFG_API_HOSTPORT, /* api.listen */
	CFG_BOOL,	/* bool: true/false/yes/no */
	CFG_IMAGES,	/* sequence of "PATH[:rw]" */
	CFG_ALARM_RULES, /* sequence of rule mappings (config_alarms.c) */
};

struct cfg_key {
	const char *path;
	enum cfg_type type;
	size_t off;
	unsigned long min, max;
	const char *def;
	bool reload;		/* SIGHUP may change it */
};

#define OFF(f) offsetof(struct vtd_config, f)

static const struct cfg_key cfg_keys[] = {
	{ "data_dir", CFG_STR, OFF(data_dir), 1, 4096, "./var", false },
	{ "log_level", CFG_LOGLEVEL, OFF(log_level), 0, 0, "info", true },
	{ "usbip.listen", CFG_HOSTPORT, OFF(usbip.listen), 0, 0,
	  "127.0.0.1:3240", false },
	{ "usbip.max_sessions", CFG_UINT, OFF(usbip.max_sessions), 1,
	  1000000, "4096", true },
	{ "usbip.max_per_peer", CFG_UINT, OFF(usbip.max_per_peer), 1,
	  1000000, "16", true },
	{ "usbip.vm_reserve", CFG_UINT, OFF(usbip.vm_reserve), 0, 1000000,
	  "1024", true },
	{ "usbip.handshake_timeout", CFG_UINT, OFF(usbip.handshake_timeout),
	  1, 3600, "10", true },
	{ "usbip.pdu_timeout", CFG_UINT, OFF(usbip.pdu_timeout), 1, 3600,
	  "30", true },
	{ "usbip.tx_timeout", CFG_UINT, OFF(usbip.tx_timeout), 1, 3600,
	  "30", true },
	{ "usbip.max_urbs", CFG_UINT, OFF(usbip.max_urbs), 1, 4096, "64",
	  true },
	{ "usbip.max_bulk_transfer", CFG_SIZE, OFF(usbip.max_bulk), 512,
	  16u << 20, "1M", true },
	{ "usbip.max_control_transfer", CFG_SIZE, OFF(usbip.max_control), 64,
	  65535, "65535", true },
	{ "api.listen", CFG_API_HOSTPORT, OFF(api.listen), 0, 0,
	  "127.0.0.1:3241", false },
	{ "api.tls.cert", CFG_STR, OFF(api.tls_cert), 0, 4096, "", false },
	{ "api.tls.key", CFG_STR, OFF(api.tls_key), 0, 4096, "", false },
	{ "api.public_url", CFG_STR, OFF(api.public_url), 0, 2048, "",
	  false },
	{ "api.insecure", CFG_BOOL, OFF(api.insecure), 0, 0, "false", false },
	{ "api.max_body", CFG_SIZE, OFF(api.max_body), 1024, 64u << 20, "1M",
	  false },
	{ "api.timeout", CFG_UINT, OFF(api.timeout), 1, 3600, "30", false },
	{ "api.max_connections", CFG_UINT, OFF(api.max_connections), 1,
	  1000000, "256", false },
	{ "api.max_connections_per_address", CFG_UINT,
	  OFF(api.max_per_address), 1, 1000000, "16", false },
	{ "api.vm_reserve", CFG_UINT, OFF(api.vm_reserve), 0, 1000000, "64",
	  false },
	{ "api.max_body_unauthenticated", CFG_SIZE, OFF(api.max_body_anon),
	  256, 1u << 20, "4K", false },
	{ "ui.dir", CFG_STR, OFF(ui_dir), 0, 4000, "", false },
	{ "agent.nonce_ttl", CFG_UINT, OFF(agent.nonce_ttl), 1, 3600, "30",
	  false },
	{ "agent.rate_per_token", CFG_UINT, OFF(agent.rate_per_token), 1,
	  100000, "30", false },
	{ "agent.rate_per_address", CFG_UINT, OFF(agent.rate_per_address), 1,
	  1000000, "120", false },
	{ "agent.record_every", CFG_UINT, OFF(agent.record_every), 0, 86400,
	  "150", false },
	{ "agent.max_nonces", CFG_UINT, OFF(agent.max_nonces), 16, 10000000,
	  "100000", false },
	{ "usb.vendor_id", CFG_UINT, OFF(usb.vendor_id), 0, 0xffff, "0x1209",
	  false },
	{ "usb.product_id", CFG_UINT, OFF(usb.product_id), 0, 0xffff,
	  "0x0001", false },
	{ "usb.manufacturer", CFG_STR, OFF(usb.manufacturer), 1, 126,
	  "vtoken", false },
	{ "usb.product", CFG_STR, OFF(usb.product), 1, 126,
	  "vtoken virtual token", false },
	{ "store.backend", CFG_STR, OFF(store.backend), 1, 32, "sqlite",
	  false },
	{ "store.dsn", CFG_STR, OFF(store.dsn), 0, 4096, "", false },
	{ "store.password_file", CFG_STR, OFF(store.password_file), 0, 4096,
	  "", false },
	{ "node.name", CFG_STR, OFF(node.name), 0, 64, "", false },
	{ "node.lease", CFG_UINT, OFF(node.lease), 3, 3600, "15", false },
	{ "node.heartbeat", CFG_UINT, OFF(node.heartbeat), 1, 600, "2",
	  false },
	{ "alarms.builtin", CFG_BOOL, OFF(alarms.builtin), 0, 0, "true",
	  false },
	{ "alarms.copied_token.count", CFG_UINT, OFF(alarms.copied_count), 1,
	  100000, "5", false },
	{ "alarms.copied_token.window", CFG_UINT, OFF(alarms.copied_window),
	  1, 86400, "300", false },
	{ "alarms.attach_denied.count", CFG_UINT, OFF(alarms.denied_count), 1,
	  100000, "20", false },
	{ "alarms.attach_denied.window", CFG_UINT, OFF(alarms.denied_window),
	  1, 86400, "60", false },
	{ "alarms.agent_silent.grace", CFG_UINT, OFF(alarms.agent_grace), 0,
	  86400, "300", false },
	{ "alarms.audit_verify.interval", CFG_UINT,
	  OFF(alarms.verify_interval), 0, 604800, "3600", false },
	{ "alarms.disk_low.min_free_mib", CFG_UINT,
	  OFF(alarms.disk_min_free_mib), 0, 100000000, "1024", false },
	{ "alarms.webhook.url", CFG_STR, OFF(alarms.webhook_url), 0, 2048, "",
	  false },
	{ "alarms.webhook.secret_file", CFG_STR,
	  OFF(alarms.webhook_secret_file), 0, 4096, "", false },
	{ "alarms.webhook.attempts", CFG_UINT, OFF(alarms.webhook_attempts),
	  1, 100, "8", false },
	{ "alarms.webhook.backoff", CFG_UINT, OFF(alarms.webhook_backoff), 1,
	  3600, "1", false },
	{ "alarms.syslog", CFG_STR, OFF(alarms.syslog), 0, 512, "", false },
	{ "alarms.queue", CFG_UINT, OFF(alarms.queue), 1, 1000000, "1000",
	  false },
	{ "alarms.rules", CFG_ALARM_RULES, 0, 0, 0, NULL, false },
	{ "audit.forward", CFG_STR, OFF(audit.forward), 0, 512, "", false },
	{ "audit.key_file", CFG_STR, OFF(audit.key_file), 0, 4096, "",
	  false },
	{ "serve_images", CFG_IMAGES, 0, 0, 0, NULL, false },
};

#define NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))





int
config_image_parse(const char *spec, struct config_image *out,
    const char **why)
{
	size_t n = strlen(spec);

	out->writable = false;
	if (n >= 3 && strcmp(spec + n - 3, ":rw") == 0) {
		out->writable = true;
		n -= 3;
	} else if (n >= 3 && strcmp(spec + n - 3, ":ro") == 0)
		n -= 3;
	if (n == 0) {
		*why = "empty image path";
		return -1;
	}
	out->path = xmalloc(n + 1);
	memcpy(out->path, spec, n);
	out->path[n] = '\0';
	return 0;
}

void
config_add_image(struct vtd_config *cfg, const char *path, bool writable)
{
	struct config_image *n;

	n = xreallocarray(cfg->images, cfg->nimages + 1, sizeof(*n));
	cfg->images = n;
	cfg->images[cfg->nimages].path = xstrdup(path);
	cfg->images[cfg->nimages].writable = writable;
	cfg->nimages++;
}

int
config_set_listen(struct vtd_config *cfg, const char *hostport,
    const char **why)
{
	if (netaddr_parse_hostport(hostport, &cfg->usbip.addr,
	    &cfg->usbip.addrlen, why) < 0)
		return -1;
	free(cfg->usbip.listen);
	cfg->usbip.listen = xstrdup(hostport);
	return 0;
}

int
config_set_api_listen(struct vtd_config *cfg, const char *hostport,
    const char **why)
{
	if (netaddr_parse_hostport(hostport, &cfg->api.addr,
	    &cfg->api.addrlen, why) < 0)
		return -1;
	free(cfg->api.listen);
	cfg->api.listen = xstrdup(hostport);
	return 0;
}

void
config_set_string(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

void
config_set_data_dir(struct vtd_config *cfg, const char *dir)
{
	config_set_string(&cfg->data_dir, dir);
}

int
config_set_store(struct vtd_config *cfg, const char *spec, const char **why)
{
	if (strcmp(spec, "sqlite") == 0) {
		config_set_string(&cfg->store.backend, "sqlite");
		return 0;
	}
	if (strncmp(spec, "postgresql:", 11) != 0 || spec[11] == '\0') {
		*why = "expected sqlite or postgresql:DSN";
		return -1;
	}
	config_set_string(&cfg->store.backend, "postgresql");
	config_set_string(&cfg->store.dsn, spec + 11);
	return 0;
}

/* Stores a scalar into cfg for key k; returns NULL or a static reason. */
static const char *
cfg_set_scalar(struct vtd_config *cfg, const struct cfg_key *k,
    const char *v)
{
	char *base = (char *)cfg;
	unsigned long u;
	const char *why = NULL;

	switch (k->type) {
	case CFG_STR:
		if (strlen(v) < k->min || strlen(v) > k->max)
			return "string length out of range";
		free(*(char **)(void *)(base + k->off));
		*(char **)(void *)(base + k->off) = xstrdup(v);
		return NULL;
	case CFG_UINT:
	case CFG_SIZE:
		if (yamlconf_parse_uint(v, k->type == CFG_SIZE, &u) < 0)
			return k->type == CFG_SIZE ?
			    "expected a size such as 65536, 64K or 1M" :
			    "expected a non-negative integer";
		if (u < k->min || u > k->max)
			return "value out of range";
		*(unsigned *)(void *)(base + k->off) = (unsigned)u;
		return NULL;
	case CFG_LOGLEVEL:
		if (log_level_parse(v, (enum log_level *)(void *)
		    (base + k->off)) < 0)
			return "expected error, warn, info or debug";
		return NULL;
	case CFG_HOSTPORT:
		if (config_set_listen(cfg, v, &why) < 0)
			return why;
		return NULL;
	case CFG_API_HOSTPORT:
		if (config_set_api_listen(cfg, v, &why) < 0)
			return why;
		return NULL;
	case CFG_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
			*(bool *)(void *)(base + k->off) = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
			*(bool *)(void *)(base + k->off) = false;
		else
			return "expected true or false";
		return NULL;
	case CFG_IMAGES:
	case CFG_ALARM_RULES:
		return "expected a list";
	}
	return "unsupported type";
}

static const struct cfg_key *
cfg_find(const char *path)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].path, path) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* True when some key lives below "prefix." (a section name). */
static bool
cfg_is_section(const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < NKEYS; i++)
		if (strncmp(cfg_keys[i].path, prefix, n) == 0 &&
		    cfg_keys[i].path[n] == '.')
			return true;
	return false;
}

struct vtd_config *
config_default(void)
{
	struct vtd_config *cfg = xcalloc(1, sizeof(*cfg));

	for (size_t i = 0; i < NKEYS; i++) {
		if (cfg_keys[i].def == NULL)
			continue;
		if (cfg_set_scalar(cfg, &cfg_keys[i], cfg_keys[i].def) != NULL)
			fatalx("config: bad default for %s", cfg_keys[i].path);
	}
	return cfg;
}

void
config_free(struct vtd_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		if (cfg_keys[i].type == CFG_STR ||
		    cfg_keys[i].type == CFG_HOSTPORT ||
		    cfg_keys[i].type == CFG_API_HOSTPORT)
			free(*(char **)(void *)((char *)cfg + cfg_keys[i].off));
	for (size_t i = 0; i < cfg->nimages; i++)
		free(cfg->images[i].path);
	free(cfg->images);
	config_alarm_rules_free(cfg);
	free(cfg);
}

static void
cfg_images(struct vtd_config *cfg, yaml_document_t *doc, yaml_node_t *seq,
    struct yamlconf_errs *e)
{
	yaml_node_item_t *it;

	if (seq->type != YAML_SEQUENCE_NODE) {
		yamlconf_err(e, &seq->start_mark, "serve_images: expected a list");
		return;
	}
	for (it = seq->data.sequence.items.start;
	    it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(doc, *it);
		struct config_image img;
		const char *why;

		if (n == NULL || n->type != YAML_SCALAR_NODE) {
			yamlconf_err(e, n ? &n->start_mark : NULL,
			    "serve_images: expected \"PATH[:rw]\"");
			continue;
		}
		if (config_image_parse((const char *)n->data.scalar.value,
		    &img, &why) < 0) {
			yamlconf_err(e, &n->start_mark, "serve_images: %s", why);
			continue;
		}
		config_add_image(cfg, img.path, img.writable);
		free(img.path);
	}
}

static void cfg_mapping(struct vtd_config *, yaml_document_t *,
    yaml_node_t *, const char *, struct yamlconf_errs *);

static void
cfg_pair(struct vtd_config *cfg, yaml_document_t *doc, yaml_node_t *kn,
    yaml_node_t *vn, const char *prefix, struct yamlconf_errs *e)
{
	char path[256];
	const struct cfg_key *k;
	const char *why;

	if (kn->type != YAML_SCALAR_NODE) {
		yamlconf_err(e, &kn->start_mark, "expected a key name");
		return;
	}
	snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
	    (const char *)kn->data.scalar.value);
	k = cfg_find(path);
	if (k == NULL && cfg_is_section(path)) {
		if (vn->type != YAML_MAPPING_NODE)
			yamlconf_err(e, &vn->start_mark, "%s: expected a mapping",
			    path);
		else
			cfg_mapping(cfg, doc, vn, path, e);
		return;
	}
	if (k == NULL) {
		yamlconf_err(e, &kn->start_mark, "unknown key \"%s\"", path);
		return;
	}
	if (k->type == CFG_IMAGES) {
		cfg_images(cfg, doc, vn, e);
		return;
	}
	if (k->type == CFG_ALARM_RULES) {
		config_alarm_rules(cfg, doc, vn, e);
		return;
	}
	if (vn->type != YAML_SCALAR_NODE) {
		yamlconf_err(e, &vn->start_mark, "%s: expected a single value",
		    path);
		return;
	}
	why = cfg_set_scalar(cfg, k, (const char *)vn->data.scalar.value);
	if (why != NULL)
		yamlconf_err(e, &vn->start_mark, "%s: %s", path, why);
}

static void
cfg_mapping(struct vtd_config *cfg, yaml_document_t *doc, yaml_node_t *map,
    const char *prefix, struct yamlconf_errs *e)
{
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(doc, p->value);

		if (kn != NULL && vn != NULL)
			cfg_pair(cfg, doc, kn, vn, prefix, e);
	}
}


/* yamlconf_root_fn: the top-level keys. */
static void
cfg_root(yaml_document_t *doc, yaml_node_t *root, void *arg,
    struct yamlconf_errs *e)
{
	cfg_mapping(arg, doc, root, "", e);
}

static bool
cfg_syslog_target_ok(const char *t)
{
	return t[0] == '\0' || strncmp(t, "unix:/", 6) == 0 ||
	    strncmp(t, "udp:", 4) == 0 || strncmp(t, "tcp:", 4) == 0;
}

/* Where alarms and audit records go (the sockets are checked at start). */
static void
cfg_check_delivery(const struct vtd_config *cfg, struct yamlconf_errs *e)
{
	const char *url = cfg->alarms.webhook_url;

	if (url[0] != '\0' && strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0)
		yamlconf_err(e, NULL, "alarms.webhook.url: http:// or "
		    "https:// expected");
	if (url[0] != '\0' && cfg->alarms.webhook_secret_file[0] == '\0')
		yamlconf_err(e, NULL, "alarms.webhook.secret_file: required "
		    "with alarms.webhook.url (the key that signs each POST)");
	if (!cfg_syslog_target_ok(cfg->alarms.syslog))
		yamlconf_err(e, NULL, "alarms.syslog: unix:/PATH, "
		    "udp:HOST:PORT or tcp:HOST:PORT expected");
	if (!cfg_syslog_target_ok(cfg->audit.forward))
		yamlconf_err(e, NULL, "audit.forward: unix:/PATH, "
		    "udp:HOST:PORT or tcp:HOST:PORT expected");
}

/* What no single key can check: how keys go together. */
static void
cfg_check(const struct vtd_config *cfg, struct yamlconf_errs *e)
{
	bool pg = strcmp(cfg->store.backend, "postgresql") == 0;

	if (!pg && strcmp(cfg->store.backend, "sqlite") != 0)
		yamlconf_err(e, NULL, "store.backend: expected sqlite or "
		    "postgresql");
	if (pg && cfg->store.dsn[0] == '\0')
		yamlconf_err(e, NULL, "store.dsn: a PostgreSQL connection "
		    "string is required with store.backend: postgresql");
	if (cfg->node.heartbeat * 2 > cfg->node.lease)
		yamlconf_err(e, NULL, "node.heartbeat: at most half of "
		    "node.lease, so that one late heartbeat loses nothing");
	cfg_check_delivery(cfg, e);
	if (cfg->alarms.builtin && cfg->alarms.agent_grace > 0 &&
	    cfg->agent.record_every >= cfg->alarms.agent_grace)
		yamlconf_err(e, NULL, "agent.record_every (%u) must be less "
		    "than alarms.agent_silent.grace (%u): an agent back from "
		    "a silence is recorded before it is called silent",
		    cfg->agent.record_every, cfg->alarms.agent_grace);
}

struct vtd_config *
config_load_buffer(const char *name, const char *buf, size_t len,
    char **errors)
{
	struct yamlconf_errs e = { .file = name };
	struct vtd_config *cfg = config_default();

	*errors = NULL;
	yamlconf_parse(buf, len, cfg_root, cfg, &e);
	if (e.n == 0)
		cfg_check(cfg, &e);
	if (e.n == 0)
		return cfg;
	config_free(cfg);
	*errors = e.text;
	return NULL;
}

struct vtd_config *
config_load(const char *path, char **errors)
{
	struct yamlconf_errs e = { .file = path };
	struct vtd_config *cfg;
	size_t len = 0;
	char *buf;

	*errors = NULL;
	buf = yamlconf_read_file(path, CONFIG_MAX_FILE_SIZE, &len, &e);
	if (buf == NULL) {
		*errors = e.text;
		return NULL;
	}
	cfg = config_load_buffer(path, buf, len, errors);
	free(buf);
	return cfg;
}

const char *
config_restart_key(const struct vtd_config *a, const struct vtd_config *b)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *pa = (const char *)a + k->off;
		const char *pb = (const char *)b + k->off;

		if (k->reload)
			continue;
		switch (k->type) {
		case CFG_STR:
		case CFG_HOSTPORT:
		case CFG_API_HOSTPORT:
			if (strcmp(*(char *const *)(const void *)pa,
			    *(char *const *)(const void *)pb) != 0)
				return k->path;
			break;
		case CFG_BOOL:
			if (*(const bool *)(const void *)pa !=
			    *(const bool *)(const void *)pb)
				return k->path;
			break;
		case CFG_UINT:
		case CFG_SIZE:
			if (*(const unsigned *)(const void *)pa !=
			    *(const unsigned *)(const void *)pb)
				return k->path;
			break;
		case CFG_IMAGES:
			if (a->nimages != b->nimages)
				return k->path;
			for (size_t j = 0; j < a->nimages; j++)
				if (strcmp(a->images[j].path,
				    b->images[j].path) != 0 ||
				    a->images[j].writable !=
				    b->images[j].writable)
					return k->path;
			break;
		case CFG_ALARM_RULES:
			if (a->alarms.nrules != b->alarms.nrules)
				return k->path;
			break;
		default:
			break;
		}
	}
	return NULL;
}
