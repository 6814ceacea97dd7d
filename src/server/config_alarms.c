/*
 * config_alarms: the alarms.rules list of the configuration: each item a
 * mapping
 *
 *   - name: many-revokes          # [a-z0-9_-]{1,48}, unique
 *     actions: [revoke]           # audit actions it counts (required)
 *     per: token                  # token | vm | address | none
 *     token: NAME-OR-ID           # only records about it (optional)
 *     vm: NAME-OR-ID              # likewise
 *     address: 127.0.0.9          # likewise (the peer's address)
 *     count: 20                   # records within window raise it
 *     window: 60                  # seconds
 *     severity: warning           # critical | warning | info
 *     deliver: [webhook, syslog]  # default: both
 *
 * Errors name the item's line; the rules are checked as a whole too
 * (names unique, not those of the built-in rules).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/xmalloc.h"
#include "common/yamlconf.h"
#include "server/config.h"

static const char *const builtin_names[] = { "copied_token",
    "attach_denied", "agent_silent", "audit_verify", "store_unavailable",
    "disk_low", "identity_changed", "agent_update_failed",
    "agent_policy_fired", NULL };

static bool
rule_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 48)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '-'))
			return false;
	for (size_t i = 0; builtin_names[i] != NULL; i++)
		if (strcmp(s, builtin_names[i]) == 0)
			return false;
	return true;
}

static const char *
scalar(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ?
	    (const char *)n->data.scalar.value : NULL;
}

/* ",a,b," from a sequence of scalars; NULL when it is not one. */
static char *
rule_list(yaml_document_t *doc, yaml_node_t *seq)
{
	size_t cap = 2, len = 1;
	char *out;

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE ||
	    seq->data.sequence.items.start == seq->data.sequence.items.top)
		return NULL;
	out = xstrdup(",");
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	    it < seq->data.sequence.items.top; it++) {
		const char *v = scalar(yaml_document_get_node(doc, *it));

		if (v == NULL || *v == '\0' || strchr(v, ',') != NULL) {
			free(out);
			return NULL;
		}
		cap = len + strlen(v) + 2;
		out = xreallocarray(out, cap, 1);
		len += (size_t)snprintf(out + len, cap - len, "%s,", v);
	}
	return out;
}

static bool
one_of(const char *v, const char *const *set)
{
	for (size_t i = 0; set[i] != NULL; i++)
		if (strcmp(v, set[i]) == 0)
			return true;
	return false;
}

/* One "key: value" of a rule; NULL, or why it is wrong. */
static const char *
rule_field(struct config_alarm_rule *r, yaml_document_t *doc, const char *k,
    yaml_node_t *vn)
{
	static const char *const pers[] = { "token", "vm", "address", "none",
	    NULL };
	static const char *const sevs[] = { "critical", "warning", "info",
	    NULL };
	const char *v = scalar(vn);
	unsigned long u;

	if (strcmp(k, "actions") == 0 || strcmp(k, "deliver") == 0) {
		char *list = rule_list(doc, vn), *save = NULL;

		if (list == NULL)
			return "expected a list of names";
		if (strcmp(k, "actions") == 0) {
			free(r->actions);
			r->actions = list;
			return NULL;
		}
		r->webhook = strstr(list, ",webhook,") != NULL;
		r->syslog = strstr(list, ",syslog,") != NULL;
		for (char *p = strtok_r(list, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save))
			if (strcmp(p, "webhook") != 0 && strcmp(p, "syslog") != 0)
				v = "deliver: webhook or syslog";
		free(list);
		return v == scalar(vn) ? NULL : v;
	}
	if (v == NULL)
		return "expected a single value";
	if (strcmp(k, "count") == 0 || strcmp(k, "window") == 0) {
		if (yamlconf_parse_uint(v, false, &u) < 0 || u < 1 ||
		    u > 1000000)
			return "expected 1 to 1000000";
		*(strcmp(k, "count") == 0 ? &r->count : &r->window) =
		    (unsigned)u;
		return NULL;
	}
	if (strcmp(k, "per") == 0 && !one_of(v, pers))
		return "expected token, vm, address or none";
	if (strcmp(k, "severity") == 0 && !one_of(v, sevs))
		return "expected critical, warning or info";
	if (strcmp(k, "name") == 0 && !rule_name_ok(v))
		return "[a-z0-9_-]{1,48}, not a built-in rule's name";
	if (strlen(v) > 256)
		return "too long";
	if (strcmp(k, "name") == 0)
		config_set_string(&r->name, v);
	else if (strcmp(k, "per") == 0)
		config_set_string(&r->per, v);
	else if (strcmp(k, "severity") == 0)
		config_set_string(&r->severity, v);
	else if (strcmp(k, "token") == 0)
		config_set_string(&r->token, v);
	else if (strcmp(k, "vm") == 0)
		config_set_string(&r->vm, v);
	else if (strcmp(k, "address") == 0)
		config_set_string(&r->address, v);
	else
		return "unknown key";
	return NULL;
}

static void
rule_defaults(struct config_alarm_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->per = xstrdup("none");
	r->token = xstrdup("");
	r->vm = xstrdup("");
	r->address = xstrdup("");
	r->severity = xstrdup("warning");
	r->count = 1;
	r->window = 60;
	r->webhook = r->syslog = true;
}

static void
rule_free(struct config_alarm_rule *r)
{
	free(r->name);
	free(r->actions);
	free(r->per);
	free(r->token);
	free(r->vm);
	free(r->address);
	free(r->severity);
}

/* Parses one item; true when it is a whole rule. */
static bool
rule_parse(struct config_alarm_rule *r, yaml_document_t *doc,
    yaml_node_t *map, struct yamlconf_errs *e)
{
	bool ok = true;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(doc, p->value);
		const char *k = scalar(kn), *why;

		if (k == NULL || vn == NULL) {
			yamlconf_err(e, kn ? &kn->start_mark : NULL,
			    "alarms.rules: expected a key name");
			ok = false;
		} else if ((why = rule_field(r, doc, k, vn)) != NULL) {
			yamlconf_err(e, &vn->start_mark, "alarms.rules: %s: %s",
			    k, why);
			ok = false;
		}
	}
	if (ok && (r->name == NULL || r->actions == NULL)) {
		yamlconf_err(e, &map->start_mark, "alarms.rules: a rule needs "
		    "a name and actions");
		ok = false;
	}
	return ok;
}

void
config_alarm_rules(struct vtd_config *cfg, void *docp, void *seqp,
    struct yamlconf_errs *e)
{
	yaml_document_t *doc = docp;
	yaml_node_t *seq = seqp;

	if (seq->type != YAML_SEQUENCE_NODE) {
		yamlconf_err(e, &seq->start_mark, "alarms.rules: expected a "
		    "list");
		return;
	}
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	    it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(doc, *it);
		struct config_alarm_rule r;

		if (n == NULL || n->type != YAML_MAPPING_NODE) {
			yamlconf_err(e, n ? &n->start_mark : NULL,
			    "alarms.rules: expected a mapping");
			continue;
		}
		rule_defaults(&r);
		if (!rule_parse(&r, doc, n, e)) {
			rule_free(&r);
			continue;
		}
		for (size_t i = 0; i < cfg->alarms.nrules; i++)
			if (strcmp(cfg->alarms.rules[i].name, r.name) == 0) {
				yamlconf_err(e, &n->start_mark, "alarms.rules: "
				    "two rules named %s", r.name);
				break;
			}
		cfg->alarms.rules = xreallocarray(cfg->alarms.rules,
		    cfg->alarms.nrules + 1, sizeof(r));
		cfg->alarms.rules[cfg->alarms.nrules++] = r;
	}
}

void
config_alarm_rules_free(struct vtd_config *cfg)
{
	for (size_t i = 0; i < cfg->alarms.nrules; i++)
		rule_free(&cfg->alarms.rules[i]);
	free(cfg->alarms.rules);
	cfg->alarms.rules = NULL;
	cfg->alarms.nrules = 0;
}
