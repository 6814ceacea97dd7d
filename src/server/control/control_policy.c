/*
 * control_policy: what an agent does when it cannot authenticate
 * (docs/AGENT.md, "Policy"): one policy per VM that has its own, and the
 * cluster default, kept as documents (control_doc.c).  The agent gets
 * its effective policy in every verify answer.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "server/control/control_impl.h"

static const char *const policy_actions[] = {
	"log", "lock-sessions", "isolate-network", "poweroff", "command",
};

static bool
policy_action_valid(const char *a)
{
	for (size_t i = 0; i < sizeof(policy_actions) /
	    sizeof(policy_actions[0]); i++)
		if (strcmp(a, policy_actions[i]) == 0)
			return true;
	return false;
}

/* A whole number member of in within [lo, hi] into *out; -1 + err. */
static int
policy_int(const json_t *in, const char *name, json_int_t lo, json_int_t hi,
    json_int_t *out, struct vt_error *err)
{
	json_t *v = json_object_get(in, name);

	if (!json_is_integer(v))
		return vt_fail(err, VT_EINVAL, "%s: a whole number of seconds "
		    "is required", name);
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return vt_fail(err, VT_EINVAL, "%s: must be %lld to %lld",
		    name, (long long)lo, (long long)hi);
	return 0;
}

json_t *
control_policy_check(const json_t *in, struct vt_error *err)
{
	static const char *const fields[] = { "interval", "grace", "action",
	    "command", "source" };
	const char *action, *cmd = NULL;
	json_int_t interval, grace;
	size_t known = 0;
	json_t *v;

	if (!json_is_object(in)) {
		vt_fail(err, VT_EINVAL, "a policy is a JSON object");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		known += json_object_get(in, fields[i]) != NULL;
	if (known != json_object_size(in)) {
		vt_fail(err, VT_EINVAL, "unknown field: a policy has interval, "
		    "grace, action and command");
		return NULL;
	}
	if (policy_int(in, "interval", CONTROL_POLICY_INTERVAL_MIN,
	    CONTROL_POLICY_INTERVAL_MAX, &interval, err) < 0 ||
	    policy_int(in, "grace", CONTROL_POLICY_GRACE_MIN,
	    CONTROL_POLICY_GRACE_MAX, &grace, err) < 0)
		return NULL;
	if (grace <= interval) {
		vt_fail(err, VT_EINVAL, "grace must be more than interval");
		return NULL;
	}
	action = json_string_value(json_object_get(in, "action"));
	if (action == NULL || !policy_action_valid(action)) {
		vt_fail(err, VT_EINVAL, "action: one of log, lock-sessions, "
		    "isolate-network, poweroff, command");
		return NULL;
	}
	v = json_object_get(in, "command");
	if (strcmp(action, "command") == 0) {
		cmd = json_string_value(v);
		if (cmd == NULL || cmd[0] == '\0' ||
		    json_string_length(v) > CONTROL_POLICY_COMMAND_MAX ||
		    strlen(cmd) != json_string_length(v)) {
			vt_fail(err, VT_EINVAL, "command: 1 to %d bytes, no NUL, "
			    "with action command", CONTROL_POLICY_COMMAND_MAX);
			return NULL;
		}
	} else if (v != NULL && !json_is_null(v)) {
		vt_fail(err, VT_EINVAL, "command: only with action command");
		return NULL;
	}
	v = json_pack("{s:I, s:I, s:s}", "interval", interval, "grace", grace,
	    "action", action);
	if (cmd != NULL)
		json_object_set_new(v, "command", json_string(cmd));
	return v;
}

json_t *
control_policy_default(struct control *ctl)
{
	json_t *d = control_doc_get(ctl, CONTROL_DOC_POLICY,
	    CONTROL_POLICY_DEFAULT_KEY);

	if (d != NULL)
		return json_deep_copy(d);
	return json_pack("{s:i, s:i, s:s}", "interval",
	    CONTROL_POLICY_INTERVAL_DEFAULT, "grace",
	    CONTROL_POLICY_GRACE_DEFAULT, "action", "log");
}

json_t *
control_policy_effective(struct control *ctl, const struct control_vm *vm,
    bool *own)
{
	json_t *d = vm == NULL ? NULL : control_doc_get(ctl,
	    CONTROL_DOC_POLICY, vm->id);

	if (own != NULL)
		*own = d != NULL;
	return d != NULL ? json_deep_copy(d) : control_policy_default(ctl);
}

int
control_policy_set(struct control *ctl, const char *actor,
    const struct control_vm *vm, const json_t *policy,
    control_done_fn *done, void *arg, struct vt_error *err)
{
	struct control_doc_put put;
	const char *key = vm != NULL ? vm->id : CONTROL_POLICY_DEFAULT_KEY;
	json_t *p = control_policy_check(policy, err);
	char subject[8 + ENCODE_ID_LEN];

	if (p == NULL)
		return -1;
	snprintf(subject, sizeof(subject), vm != NULL ? "vm:%s" : "policy:%s",
	    key);
	control_doc_put_json(&put, CONTROL_DOC_POLICY, key, p);
	control_doc_write(ctl, actor, &put, 1, "policy.set", subject,
	    json_pack("{s:O}", "policy", p), done, arg);
	json_decref(p);
	return 0;
}

int
control_policy_clear(struct control *ctl, const char *actor,
    const struct control_vm *vm, control_done_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_doc_put put;
	char subject[8 + ENCODE_ID_LEN];

	if (control_doc_get(ctl, CONTROL_DOC_POLICY, vm->id) == NULL)
		return vt_fail(err, VT_ENOTFOUND, "VM %s has no policy of its "
		    "own", vm->name);
	snprintf(subject, sizeof(subject), "vm:%s", vm->id);
	control_doc_put_json(&put, CONTROL_DOC_POLICY, vm->id, NULL);
	control_doc_write(ctl, actor, &put, 1, "policy.cleared", subject, NULL,
	    done, arg);
	return 0;
}
