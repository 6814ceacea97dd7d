/*
 * api_view: controller objects as JSON.
 */
#include "server/api_view.h"

#include <stdlib.h>

#include "common/encode.h"
#include "server/usbip_conn.h"

json_t *
api_view_session(const struct vt_device *dev, bool full)
{
	const struct usbip_conn *c = dev ? dev->session : NULL;
	const struct ctl_token *tok = dev ? dev->owner : NULL;
	char since[ENCODE_TIME_LEN + 1];
	json_t *o;

	if (c == NULL)
		return json_null();
	encode_time(c->since, since);
	o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "peer", c->peer_str,
	    "since", since, "bytes_in", (json_int_t)c->bytes_in, "bytes_out",
	    (json_int_t)c->bytes_out, "urbs", (json_int_t)c->urbs);
	if (full && o != NULL) {
		json_object_set_new(o, "busid", json_string(dev->busid));
		json_object_set_new(o, "token", tok ? json_string(tok->id) :
		    json_null());
		json_object_set_new(o, "token_name", json_string(dev->name));
		json_object_set_new(o, "vm", tok && tok->vm ?
		    json_string(tok->vm->id) : json_null());
		json_object_set_new(o, "vm_name", tok && tok->vm ?
		    json_string(tok->vm->name) : json_null());
	}
	return o;
}

json_t *
api_view_token(const struct ctl_token *tok)
{
	char *pk = encode_base64(tok->public_key, sizeof(tok->public_key));
	char busid[32];
	json_t *o;

	snprintf(busid, sizeof(busid), "1-%u", tok->port);
	o = json_pack("{s:s, s:s, s:s, s:I, s:b, s:s, s:s, s:o, s:o, s:o}",
	    "id", tok->id, "name", tok->name, "busid", busid, "size",
	    (json_int_t)tok->size, "writable", tok->writable, "created",
	    tok->created, "public_key", pk,
	    "vm", tok->vm ? json_string(tok->vm->id) : json_null(),
	    "vm_name", tok->vm ? json_string(tok->vm->name) : json_null(),
	    "session", api_view_session(tok->dev, false));
	free(pk);
	return o;
}

json_t *
api_view_vm(const struct ctl *ctl, const struct ctl_vm *vm)
{
	json_t *addrs = json_array(), *toks = json_array();
	const struct ctl_token *t;

	for (size_t i = 0; i < vm->acl->n; i++) {
		char one[64];

		netaddr_cidr_format(&vm->acl->cidr[i], one, sizeof(one));
		json_array_append_new(addrs, json_string(one));
	}
	TAILQ_FOREACH(t, &ctl->tokens, entry)
		if (t->vm == vm)
			json_array_append_new(toks, json_string(t->id));
	return json_pack("{s:s, s:s, s:o, s:s, s:o}", "id", vm->id, "name",
	    vm->name, "addresses", addrs, "created", vm->created, "tokens",
	    toks);
}

json_t *
api_view_assignment(const struct ctl_token *tok)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "token", tok->id,
	    "token_name", tok->name, "vm", tok->vm->id, "vm_name",
	    tok->vm->name, "created", tok->assigned);
}
