/*
 * api_keys: /v1/keys, the API keys and their roles (admin only), and
 * /v1/whoami, which any key may ask of itself (the console shows only
 * what the key's role may do).  The
 * secret of a new key is in the create answer and nowhere else: not in
 * the log, not in the audit record, not in the list.
 */
#include <string.h>
#include <time.h>

#include "server/api/api.h"
#include "server/api/api_decode.h"
#include "vtoken/vtapi.h"

static json_t *
api_view_key(const struct control_key_entry *k, time_t now)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:b}", VTAPI_F_ID, k->id,
	    VTAPI_F_NAME, k->name, VTAPI_F_ROLE, k->role, VTAPI_F_CREATED,
	    k->created, VTAPI_F_EXPIRES, k->expires[0] ? k->expires : NULL,
	    VTAPI_F_EXPIRED, control_key_expired(k, now));
}

void
api_keys_list(struct api_req *r)
{
	const struct control_key_set *set = &r->ctl->keys;
	time_t now = time(NULL);
	json_t *arr = json_array();

	for (size_t i = 0; i < set->n; i++)
		json_array_append_new(arr, api_view_key(&set->keys[i], now));
	api_reply_json(r, 200, json_pack("{s:o}", VTAPI_F_KEYS, arr));
}

static void
api_keys_made(void *arg, const struct vt_error *err,
    const struct control_key_entry *k, const char *secret)
{
	struct api_req *r = arg;
	json_t *o;

	if (err != NULL) {
		api_reply_vterr(r, err);
		return;
	}
	if (k == NULL) {
		api_reply_error(r, 500, "internal", "the key is gone");
		return;
	}
	o = api_view_key(k, time(NULL));
	json_object_set_new(o, VTAPI_F_KEY, json_string(secret));
	api_reply_json(r, 201, o);
}

void
api_keys_create(struct api_req *r)
{
	struct api_key_create kc;
	struct vt_error err;
	const char *body;
	char why[512];
	time_t expires;
	size_t len;

	body = api_body(r, &len);
	if (api_decode_key_create(body, len, &kc, why, sizeof(why)) < 0) {
		api_reply_error(r, 400, "bad_request", "%s", why);
		return;
	}
	expires = kc.expires_in > 0 ? time(NULL) + (time_t)kc.expires_in :
	    kc.expires_at;
	if (control_key_create(r->ctl, r->actor, kc.name, kc.role, expires,
	    api_keys_made, r, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
	api_key_create_clear(&kc);
}

void
api_keys_delete(struct api_req *r)
{
	struct vt_error err;

	if (control_key_delete(r->ctl, r->actor, r->arg, api_reply_done, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
}

/* The permission names /v1/whoami answers (docs/API.md, "Roles"). */
static const struct {
	unsigned perm;
	const char *name;
} api_perm_names[] = {
	{ PERM_READ, "read" }, { PERM_METRICS, "metrics" },
	{ PERM_AUDIT, "audit" }, { PERM_ALARMS, "alarms" },
	{ PERM_ALARM_ACK, "alarm_ack" }, { PERM_TOKENS, "tokens" },
	{ PERM_VMS, "vms" }, { PERM_ASSIGN, "assign" },
	{ PERM_IMAGE, "image" }, { PERM_KEYS, "keys" },
	{ PERM_POLICY, "policy" }, { PERM_RELEASES, "releases" },
};

void
api_whoami(struct api_req *r)
{
	json_t *o = api_view_key(r->key, time(NULL)), *perms = json_array();

	for (size_t i = 0; i < sizeof(api_perm_names) /
	    sizeof(api_perm_names[0]); i++)
		if ((r->perms & api_perm_names[i].perm) != 0)
			json_array_append_new(perms,
			    json_string(api_perm_names[i].name));
	json_object_set_new(o, VTAPI_F_PERMISSIONS, perms);
	api_reply_json(r, 200, o);
}
