/*
 * api_view: controller objects as JSON.
 */
#include "server/api/api_view.h"

#include <stdlib.h>

#include "common/encode.h"
#include "server/export/export.h"

json_t *
api_view_session(struct control *ctl, const struct export_session *s,
    bool full)
{
	const struct control_token *tok;
	char since[ENCODE_TIME_LEN + 1];
	json_t *o;

	if (s == NULL || s->dev == NULL)
		return json_null();
	encode_time(s->since, since);
	o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "peer", s->peer_str,
	    "since", since, "bytes_in", (json_int_t)s->bytes_in, "bytes_out",
	    (json_int_t)s->bytes_out, "urbs", (json_int_t)s->urbs);
	if (!full || o == NULL)
		return o;
	tok = s->dev->open ? NULL : control_token_find(ctl, s->dev->id);
	json_object_set_new(o, "busid", json_string(s->dev->busid));
	json_object_set_new(o, "token", tok ? json_string(tok->id) :
	    json_null());
	json_object_set_new(o, "token_name", json_string(s->dev->name));
	json_object_set_new(o, "vm", tok && tok->vm ?
	    json_string(tok->vm->id) : json_null());
	json_object_set_new(o, "vm_name", tok && tok->vm ?
	    json_string(tok->vm->name) : json_null());
	return o;
}

json_t *
api_view_token(struct control *ctl, const struct control_token *tok)
{
	char *pk = encode_base64(tok->public_key, sizeof(tok->public_key));
	char busid[32];
	json_t *o;

	control_token_busid(tok, busid);
	o = json_pack("{s:s, s:s, s:s, s:I, s:b, s:b, s:s, s:s, s:o, s:o,"
	    " s:o}", "id", tok->id, "name", tok->name, "busid", busid, "size",
	    (json_int_t)tok->size, "writable", tok->writable, "revoked",
	    tok->revoked, "created", tok->created, "public_key", pk,
	    "vm", tok->vm ? json_string(tok->vm->id) : json_null(),
	    "vm_name", tok->vm ? json_string(tok->vm->name) : json_null(),
	    "session", api_view_session(ctl, tok->dev ? tok->dev->session :
	    NULL, false));
	free(pk);
	return o;
}

json_t *
api_view_vm(const struct control *ctl, const struct control_vm *vm)
{
	json_t *addrs = json_array(), *toks = json_array();
	const struct control_token *t;

	for (size_t i = 0; i < vm->acl->n; i++) {
		char one[64];

		netaddr_cidr_format(&vm->acl->cidr[i], one, sizeof(one));
		json_array_append_new(addrs, json_string(one));
	}
	(void)ctl;
	TAILQ_FOREACH(t, &vm->tokens, vm_entry)
		json_array_append_new(toks, json_string(t->id));
	return json_pack("{s:s, s:s, s:o, s:s, s:o}", "id", vm->id, "name",
	    vm->name, "addresses", addrs, "created", vm->created, "tokens",
	    toks);
}

json_t *
api_view_assignment(const struct control_token *tok)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "token", tok->id,
	    "token_name", tok->name, "vm", tok->vm->id, "vm_name",
	    tok->vm->name, "created", tok->assigned);
}
