/*
 * control_agentmgr: what agents report with a successful verify, and
 * what the controller answers them (docs/AGENT.md).
 *
 * Facts are stored (a document per VM, audited as vm.facts) only when
 * they change; the boot time stands for the uptime so that a running
 * machine's facts stay the same.  A changed machine-id or DMI UUID is
 * recorded as vm.identity_changed instead: a clone, or the token's
 * disk in another machine.  The time of the last report, the uptime
 * and the peer are kept in memory by the node that took the report
 * (ctl->agent_seen), so a quiet fleet costs no writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"
#include "common/log.h"
#include "common/text.h"
#include "server/control/control_impl.h"

/* A machine whose boot time moved less than this has not rebooted. */
#define FACTS_BOOT_SLACK_S	30

static const char *const fact_names[] = {
	"hostname", "os", "kernel", "machine_id", "dmi_vendor", "dmi_product",
	"dmi_uuid", "agent_version",
};
#define NFACTS	(sizeof(fact_names) / sizeof(fact_names[0]))

/* The reported facts as stored: every name, strings capped. */
static json_t *
facts_normalise(const json_t *in, time_t now, json_int_t *uptime)
{
	json_t *out = json_object(), *up;
	char buf[CONTROL_FACT_MAX + 1], when[ENCODE_TIME_LEN + 1];

	for (size_t i = 0; i < NFACTS; i++) {
		const char *v = json_string_value(json_object_get(in,
		    fact_names[i]));

		text_utf8_copy(v != NULL ? v : "", buf, sizeof(buf));
		json_object_set_new(out, fact_names[i], json_string(buf));
	}
	up = json_object_get(in, "uptime");
	*uptime = json_is_integer(up) && json_integer_value(up) >= 0 &&
	    json_integer_value(up) < now ? json_integer_value(up) : -1;
	if (*uptime >= 0) {
		encode_time(now - (time_t)*uptime, when);
		json_object_set_new(out, "booted", json_string(when));
	} else
		json_object_set_new(out, "booted", json_string(""));
	return out;
}

static const char *
fact(const json_t *f, const char *name)
{
	const char *v = json_string_value(json_object_get(f, name));

	return v != NULL ? v : "";
}

/* Whether the boot times of old and new differ by more than the slack. */
static bool
facts_rebooted(const json_t *old, const json_t *new)
{
	time_t a, b;

	if (encode_time_parse(fact(old, "booted"), &a) < 0 ||
	    encode_time_parse(fact(new, "booted"), &b) < 0)
		return strcmp(fact(old, "booted"), fact(new, "booted")) != 0;
	return a - b > FACTS_BOOT_SLACK_S || b - a > FACTS_BOOT_SLACK_S;
}

/*
 * The fields of new that differ from old ({name: new value}), or NULL
 * when nothing does; *identity when machine_id or dmi_uuid changed from
 * one known value to another.
 */
static json_t *
facts_diff(const json_t *old, const json_t *new, bool *identity)
{
	json_t *d = json_object();

	*identity = false;
	for (size_t i = 0; i < NFACTS; i++) {
		const char *n = fact_names[i];

		if (old != NULL && strcmp(fact(old, n), fact(new, n)) == 0)
			continue;
		json_object_set_new(d, n, json_string(fact(new, n)));
		if (old != NULL && (strcmp(n, "machine_id") == 0 ||
		    strcmp(n, "dmi_uuid") == 0) && *fact(old, n) != '\0' &&
		    *fact(new, n) != '\0')
			*identity = true;
	}
	if (old == NULL || facts_rebooted(old, new))
		json_object_set_new(d, "booted", json_string(fact(new,
		    "booted")));
	if (json_object_size(d) == 0) {
		json_decref(d);
		return NULL;
	}
	return d;
}

/* Keeps facts that changed, with their audit record. */
static void
agent_facts(struct control *ctl, const struct control_vm *vm,
    const char *token_id, const char *peer, const json_t *facts,
    time_t now, json_t *seen)
{
	const json_t *old = control_doc_get(ctl, CONTROL_DOC_FACTS, vm->id);
	struct control_doc_put put;
	json_int_t uptime;
	json_t *new, *diff, *detail;
	char actor[96], subject[8 + ENCODE_ID_LEN];
	bool identity;

	new = facts_normalise(facts, now, &uptime);
	json_object_set_new(seen, "uptime", json_integer(uptime));
	diff = facts_diff(old, new, &identity);
	if (diff == NULL) {
		json_decref(new);
		return;
	}
	detail = json_pack("{s:s, s:s, s:o}", "vm", vm->id, "token", token_id,
	    "changed", diff);
	if (identity) {
		json_object_set_new(detail, "old", json_pack("{s:s, s:s}",
		    "machine_id", fact(old, "machine_id"), "dmi_uuid",
		    fact(old, "dmi_uuid")));
		char a[80], b[80], c[80], d[80];

		/* What the agent says goes to the log made printable. */
		log_warnx("VM %s: its identity changed (machine-id %s -> %s, "
		    "DMI UUID %s -> %s) reported through token %s from %s",
		    vm->name, text_printable(fact(old, "machine_id"), a,
		    sizeof(a)), text_printable(fact(new, "machine_id"), b,
		    sizeof(b)), text_printable(fact(old, "dmi_uuid"), c,
		    sizeof(c)), text_printable(fact(new, "dmi_uuid"), d,
		    sizeof(d)), token_id, peer);
	}
	snprintf(actor, sizeof(actor), "agent:%s", peer);
	snprintf(subject, sizeof(subject), "vm:%s", vm->id);
	control_doc_put_json(&put, CONTROL_DOC_FACTS, vm->id, new);
	/* Cached at once, so the next report compares with these. */
	control_doc_set_local(ctl, CONTROL_DOC_FACTS, vm->id, new);
	control_doc_write(ctl, actor, &put, 1, identity ?
	    "vm.identity_changed" : "vm.facts", subject, detail, NULL, NULL);
}

/* Keeps a new update result, audited as agent.updated or .update_failed. */
static void
agent_update(struct control *ctl, const struct control_vm *vm,
    const char *token_id, const char *peer, const json_t *u, time_t now)
{
	const json_t *old = control_doc_get(ctl, CONTROL_DOC_AGENT, vm->id);
	const char *version = json_string_value(json_object_get(u, "version"));
	const char *result = json_string_value(json_object_get(u, "result"));
	const char *reason = json_string_value(json_object_get(u, "reason"));
	char actor[96], subject[8 + ENCODE_ID_LEN], when[ENCODE_TIME_LEN + 1];
	char vbuf[CONTROL_VERSION_MAX + 1], rbuf[CONTROL_FACT_MAX + 1];
	struct control_doc_put put;
	json_t *doc;
	bool ok;

	if (version == NULL || result == NULL || (strcmp(result, "installed")
	    != 0 && strcmp(result, "refused") != 0 && strcmp(result, "failed")
	    != 0 && strcmp(result, "rolled_back") != 0))
		return;		/* not a report this controller knows */
	text_utf8_copy(version, vbuf, sizeof(vbuf));
	text_utf8_copy(reason != NULL ? reason : "", rbuf, sizeof(rbuf));
	if (old != NULL && strcmp(fact(old, "version"), vbuf) == 0 &&
	    strcmp(fact(old, "result"), result) == 0 &&
	    strcmp(fact(old, "reason"), rbuf) == 0)
		return;		/* heard already */
	ok = strcmp(result, "installed") == 0;
	encode_time(now, when);
	doc = json_pack("{s:s, s:s, s:s, s:s}", "version", vbuf, "result",
	    result, "reason", rbuf, "time", when);
	snprintf(actor, sizeof(actor), "agent:%s", peer);
	snprintf(subject, sizeof(subject), "vm:%s", vm->id);
	if (!ok) {
		char pv[CONTROL_VERSION_MAX + 1], pr[CONTROL_FACT_MAX + 1];

		log_warnx("VM %s: agent update to %s %s: %s", vm->name,
		    text_printable(vbuf, pv, sizeof(pv)), result,
		    text_printable(rbuf, pr, sizeof(pr)));
	}
	control_doc_put_json(&put, CONTROL_DOC_AGENT, vm->id, doc);
	control_doc_set_local(ctl, CONTROL_DOC_AGENT, vm->id,
	    json_deep_copy(doc));
	json_object_del(doc, "time");
	json_object_set_new(doc, "vm", json_string(vm->id));
	json_object_set_new(doc, "token", json_string(token_id));
	control_doc_write(ctl, actor, &put, 1, ok ? "agent.updated" :
	    "agent.update_failed", subject, doc, NULL, NULL);
}

/* Records a policy that ran while the agent was locked out, once. */
static void
agent_policy_fired(struct control *ctl, const struct control_vm *vm,
    const char *token_id, const char *peer, const json_t *pf, json_t *seen)
{
	const char *t = json_string_value(json_object_get(pf, "time"));
	const char *last = json_string_value(json_object_get(seen,
	    "policy_fired"));
	char actor[96], subject[8 + ENCODE_ID_LEN], buf[CONTROL_FACT_MAX + 1];
	json_t *detail;

	if (t == NULL || (last != NULL && strcmp(last, t) == 0))
		return;
	json_object_set_new(seen, "policy_fired", json_string(t));
	detail = json_pack("{s:s, s:s}", "vm", vm->id, "token", token_id);
	for (const char *const *k = (const char *const[]){ "action", "reason",
	    "time", "result", NULL }; *k != NULL; k++) {
		text_utf8_copy(fact(pf, *k), buf, sizeof(buf));
		json_object_set_new(detail, *k, json_string(buf));
	}
	snprintf(actor, sizeof(actor), "agent:%s", peer);
	snprintf(subject, sizeof(subject), "vm:%s", vm->id);
	control_audit_post(ctl, actor, "agent.policy_fired", subject, detail);
}

/* The "update" member of the answer, or NULL. */
static json_t *
agent_offer(struct control *ctl, const struct control_vm *vm,
    const char *running)
{
	const char *target = control_rollout_target(ctl, vm);
	const json_t *rel;
	char url[64 + CONTROL_VERSION_MAX];

	if (target == NULL || strcmp(target, running) == 0 ||
	    (rel = control_release_get(ctl, target)) == NULL)
		return NULL;
	snprintf(url, sizeof(url), "/v1/agent/releases/%s/artifact", target);
	return json_pack("{s:s, s:O, s:O, s:O, s:s}", "version", target,
	    "size", json_object_get(rel, "size"), "sha256",
	    json_object_get(rel, "sha256"), "signature",
	    json_object_get(rel, "signature"), "url", url);
}

json_t *
control_agent_report(struct control *ctl, const char *token_id,
    const char *peer, const json_t *report)
{
	const struct control_token *tok = control_token_by_id(ctl, token_id);
	const struct control_vm *vm = tok != NULL ? tok->vm : NULL;
	const json_t *facts = json_object_get(report, "facts");
	json_t *out, *seen, *offer;
	time_t now = time(NULL);
	char when[ENCODE_TIME_LEN + 1];

	out = json_pack("{s:o}", "policy", control_policy_effective(ctl, vm,
	    NULL));
	/* isolate-network lets it through with the API port. */
	if (ctl->usbip_port != 0)
		json_object_set_new(json_object_get(out, "policy"),
		    "usbip_port", json_integer(ctl->usbip_port));
	if (vm == NULL)
		return out;
	if (ctl->agent_seen == NULL)
		ctl->agent_seen = json_object();
	if ((seen = json_object_get(ctl->agent_seen, vm->id)) == NULL) {
		seen = json_object();
		json_object_set_new(ctl->agent_seen, vm->id, seen);
	}
	encode_time(now, when);
	json_object_set_new(seen, "reported", json_string(when));
	json_object_set_new(seen, "peer", json_string(peer));
	if (json_is_object(facts))
		agent_facts(ctl, vm, token_id, peer, facts, now, seen);
	if (json_is_object(json_object_get(report, "update")))
		agent_update(ctl, vm, token_id, peer, json_object_get(report,
		    "update"), now);
	if (json_is_object(json_object_get(report, "policy_fired")))
		agent_policy_fired(ctl, vm, token_id, peer,
		    json_object_get(report, "policy_fired"), seen);
	offer = agent_offer(ctl, vm, fact(control_doc_get(ctl,
	    CONTROL_DOC_FACTS, vm->id), "agent_version"));
	if (offer != NULL)
		json_object_set_new(out, "update", offer);
	return out;
}

json_t *
control_vm_facts(struct control *ctl, const struct control_vm *vm)
{
	const json_t *f = control_doc_get(ctl, CONTROL_DOC_FACTS, vm->id);
	const json_t *seen = json_object_get(ctl->agent_seen, vm->id);
	json_t *out;
	time_t booted;

	if (f == NULL)
		return NULL;
	out = json_deep_copy(f);
	if (json_object_get(seen, "reported") != NULL) {
		json_object_set(out, "reported", json_object_get(seen,
		    "reported"));
		json_object_set(out, "peer", json_object_get(seen, "peer"));
	} else
		json_object_set_new(out, "reported", json_null());
	if (encode_time_parse(fact(f, "booted"), &booted) == 0)
		json_object_set_new(out, "uptime", json_integer(time(NULL) -
		    booted));
	else
		json_object_set_new(out, "uptime", json_null());
	return out;
}

json_t *
control_agents_json(struct control *ctl)
{
	struct control_vm *vms[256];
	const char *after = NULL;
	char last[STORE_NAME_MAX + 1];
	json_t *out = json_array();
	bool more = true;

	while (more) {
		size_t n = control_vms_page(ctl, after, vms, 256, &more);

		for (size_t i = 0; i < n; i++) {
			const struct control_vm *vm = vms[i];
			const json_t *f = control_doc_get(ctl,
			    CONTROL_DOC_FACTS, vm->id);
			const json_t *u = control_doc_get(ctl,
			    CONTROL_DOC_AGENT, vm->id);
			const char *target = control_rollout_target(ctl, vm);
			json_t *seen = json_object_get(ctl->agent_seen, vm->id);

			json_array_append_new(out, json_pack("{s:s, s:s, s:s?,"
			    " s:s?, s:O?, s:O?}", "vm", vm->id, "vm_name",
			    vm->name, "version", f != NULL && *fact(f,
			    "agent_version") != '\0' ? fact(f, "agent_version")
			    : NULL, "target", target,
			    "reported", json_object_get(seen, "reported"),
			    "update", u));
			snprintf(last, sizeof(last), "%s", vm->name);
			after = last;
		}
		if (n == 0)
			break;
	}
	return out;
}
