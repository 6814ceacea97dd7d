/*
 * agent_config: key table and libyaml walker (see agent_config.h).
 */
#include "agent/agent_config.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "agent/agent_action.h"
#include "common/cause.h"
#include "common/encode.h"
#include "common/log.h"
#include "common/text.h"
#include "common/yamlconf.h"
#include "common/xmalloc.h"

enum acfg_type {
	ACFG_STR,	/* char *, length min..max */
	ACFG_URL,	/* char *, "" or http(s)://... */
	ACFG_SHA256,	/* char *, "" or 64 hex digits (stored lower case) */
	ACFG_UINT,	/* unsigned, decimal or 0x hex, min..max */
	ACFG_ACTION,	/* char *, "" or an action name (agent_action.h) */
};

struct acfg_key {
	const char *name;
	enum acfg_type type;
	size_t off;
	unsigned long min, max;
	const char *def;
};

#define OFF(f)	offsetof(struct agent_config, f)

static const struct acfg_key acfg_keys[] = {
	{ "controller", ACFG_URL, OFF(controller), 0, 2048, "" },
	{ "ca_file", ACFG_STR, OFF(ca_file), 0, 4096, "" },
	{ "ca_sha256", ACFG_SHA256, OFF(ca_sha256), 0, 0, "" },
	{ "interval", ACFG_UINT, OFF(interval), 1, 86400, "30" },
	{ "grace", ACFG_UINT, OFF(grace), 0, 7 * 86400, "90" },
	{ "policy", ACFG_STR, OFF(policy), 0, 1024, "" },
	{ "device", ACFG_STR, OFF(device), 0, 4096, "" },
	{ "vendor_id", ACFG_UINT, OFF(vendor_id), 0, 0xffff, "0x1209" },
	{ "product_id", ACFG_UINT, OFF(product_id), 0, 0xffff, "0x0001" },
	{ "timeout", ACFG_UINT, OFF(timeout), 1, 300, "10" },
	{ "device_wait", ACFG_UINT, OFF(device_wait), 0, 3600, "30" },
	{ "action", ACFG_ACTION, OFF(action), 0, 0, "" },
	{ "state_dir", ACFG_STR, OFF(state_dir), 0, 4096,
	    "/var/lib/vtoken-agent" },
	{ "release_key", ACFG_STR, OFF(release_key), 0, 4096, "" },
	{ "update_command", ACFG_STR, OFF(update_command), 1, 4096,
	    AGENT_CONFIG_UPDATE_COMMAND },
	{ "update_exec", ACFG_STR, OFF(update_exec), 1, 4096,
	    "/usr/sbin/vtoken-agent" },
	{ "nft", ACFG_STR, OFF(nft), 0, 4096, "" },
	{ "loginctl", ACFG_STR, OFF(loginctl), 0, 4096, "" },
	{ "systemctl", ACFG_STR, OFF(systemctl), 0, 4096, "" },
};

#define ACFG_NKEYS	(sizeof(acfg_keys) / sizeof(acfg_keys[0]))


static const char *acfg_check_url(const char *v);
static const char *acfg_set(struct agent_config *cfg,
    const struct acfg_key *k, const char *v);
static const struct acfg_key *acfg_find(const char *name);
static void acfg_pair(struct agent_config *cfg, yaml_node_t *kn,
    yaml_node_t *vn, bool *seen, struct yamlconf_errs *e);
static yamlconf_root_fn acfg_document;



/* NULL when v is "" or an http(s) URL of printable ASCII. */
static const char *
acfg_check_url(const char *v)
{
	if (v[0] == '\0')
		return NULL;
	if (strncasecmp(v, "http://", 7) != 0 &&
	    strncasecmp(v, "https://", 8) != 0)
		return "expected an http:// or https:// URL";
	if (!text_is_visible(v, strlen(v)))
		return "the URL may hold printable ASCII only";
	return NULL;
}

/* Stores v for key k; NULL, or a static reason. */
static const char *
acfg_set(struct agent_config *cfg, const struct acfg_key *k, const char *v)
{
	char **sp = (char **)(void *)((char *)cfg + k->off);
	enum agent_act act;
	unsigned long u;
	size_t len = strlen(v);
	const char *why;

	switch (k->type) {
	case ACFG_URL:
		if ((why = acfg_check_url(v)) != NULL)
			return why;
		/* FALLTHROUGH */
	case ACFG_STR:
		if (len < k->min || len > k->max)
			return "string length out of range";
		free(*sp);
		*sp = xstrdup(v);
		return NULL;
	case ACFG_ACTION:
		if (len != 0 && agent_action_parse(v, &act) < 0)
			return "expected log, lock-sessions, isolate-network, "
			    "poweroff or command";
		free(*sp);
		*sp = xstrdup(v);
		return NULL;
	case ACFG_SHA256:
		if (len != 0 && !encode_is_hex(v, AGENT_CONFIG_SHA256_LEN))
			return "expected 64 hex digits (SHA-256)";
		free(*sp);
		*sp = xstrdup(v);
		for (char *p = *sp; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
		return NULL;
	case ACFG_UINT:
		if (yamlconf_parse_uint(v, false, &u) < 0)
			return "expected a non-negative integer";
		if (u < k->min || u > k->max)
			return "value out of range";
		*(unsigned *)(void *)((char *)cfg + k->off) = (unsigned)u;
		return NULL;
	}
	return "unsupported type";
}

static const struct acfg_key *
acfg_find(const char *name)
{
	for (size_t i = 0; i < ACFG_NKEYS; i++)
		if (strcmp(acfg_keys[i].name, name) == 0)
			return &acfg_keys[i];
	return NULL;
}

struct agent_config *
agent_config_default(void)
{
	struct agent_config *cfg = xcalloc(1, sizeof(*cfg));

	for (size_t i = 0; i < ACFG_NKEYS; i++)
		if (acfg_set(cfg, &acfg_keys[i], acfg_keys[i].def) != NULL)
			fatalx("agent_config: bad default for %s",
			    acfg_keys[i].name);
	return cfg;
}

int
agent_config_set(struct agent_config *cfg, const char *key,
    const char *value, char **cause)
{
	const struct acfg_key *k = acfg_find(key);
	const char *why;

	if (k == NULL)
		return cause_set(cause, "unknown key \"%s\"", key);
	if ((why = acfg_set(cfg, k, value)) != NULL)
		return cause_set(cause, "%s: %s", key, why);
	return 0;
}

void
agent_config_free(struct agent_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < ACFG_NKEYS; i++)
		if (acfg_keys[i].type != ACFG_UINT)
			free(*(char **)(void *)((char *)cfg +
			    acfg_keys[i].off));
	free(cfg);
}

static void
acfg_pair(struct agent_config *cfg, yaml_node_t *kn, yaml_node_t *vn,
    bool *seen, struct yamlconf_errs *e)
{
	const struct acfg_key *k;
	const char *name, *why;

	if (kn->type != YAML_SCALAR_NODE) {
		yamlconf_err(e, &kn->start_mark, "expected a key name");
		return;
	}
	name = (const char *)kn->data.scalar.value;
	if ((k = acfg_find(name)) == NULL) {
		yamlconf_err(e, &kn->start_mark, "unknown key \"%s\"", name);
		return;
	}
	if (seen[k - acfg_keys]) {
		yamlconf_err(e, &kn->start_mark, "duplicate key \"%s\"", name);
		return;
	}
	seen[k - acfg_keys] = true;
	if (vn->type != YAML_SCALAR_NODE) {
		yamlconf_err(e, &vn->start_mark, "%s: expected a single value",
		    name);
		return;
	}
	if (strlen((const char *)vn->data.scalar.value) !=
	    vn->data.scalar.length) {
		yamlconf_err(e, &vn->start_mark, "%s: NUL in value", name);
		return;
	}
	why = acfg_set(cfg, k, (const char *)vn->data.scalar.value);
	if (why != NULL)
		yamlconf_err(e, &vn->start_mark, "%s: %s", name, why);
}


/* yamlconf_root_fn: every key is top-level. */
static void
acfg_document(yaml_document_t *doc, yaml_node_t *root, void *arg,
    struct yamlconf_errs *e)
{
	bool seen[ACFG_NKEYS] = { false };
	yaml_node_pair_t *p;

	for (p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(doc, p->value);

		if (kn != NULL && vn != NULL)
			acfg_pair(arg, kn, vn, seen, e);
	}
}

struct agent_config *
agent_config_load(const char *path, char **errors)
{
	struct yamlconf_errs e = { .file = path };
	struct agent_config *cfg = agent_config_default();
	size_t len = 0;
	char *buf;

	*errors = NULL;
	buf = yamlconf_read_file(path, AGENT_CONFIG_MAX_FILE, &len, &e);
	if (buf != NULL) {
		yamlconf_parse(buf, len, acfg_document, cfg, &e);
		free(buf);
	}
	if (e.n == 0)
		return cfg;
	agent_config_free(cfg);
	*errors = e.text;
	return NULL;
}
