/*
 * api_view: controller objects as JSON.
 */
#include "server/api/api_view.h"

#include <stdlib.h>

#include "common/encode.h"
#include "server/export/export.h"

json_t *
api_view_session(const struct export_session *s)
{
	char since[ENCODE_TIME_LEN + 1];

	if (s == NULL || s->dev == NULL)
		return json_null();
	encode_time(s->since, since);
	return json_pack("{s:s, s:s, s:I, s:I, s:I}", "peer", s->peer_str,
	    "since", since, "bytes_in", (json_int_t)s->bytes_in, "bytes_out",
	    (json_int_t)s->bytes_out, "urbs", (json_int_t)s->urbs);
}

/*
 * Its agent as this node knows it (control_agent.c): the last success,
 * from where, and whether the last recorded outcome was a failure; null
 * before any success through this node.
 */
static json_t *
api_view_agent(const struct control_token *tok)
{
	char when[ENCODE_TIME_LEN + 1];

	if (tok->auth_ok_at == 0)
		return json_null();
	encode_time(tok->auth_ok_at, when);
	return json_pack("{s:s, s:s, s:b}", "last_ok", when, "peer",
	    tok->auth_peer, "failing", tok->auth_failing);
}

json_t *
api_view_token(const struct control_token *tok)
{
	char *pk = encode_base64(tok->public_key, sizeof(tok->public_key));
	char busid[32];
	json_t *o;

	control_token_busid(tok, busid);
	o = json_pack("{s:s, s:s, s:s, s:I, s:b, s:b, s:s, s:s, s:o, s:o,"
	    " s:o, s:o}", "id", tok->id, "name", tok->name, "busid", busid, "size",
	    (json_int_t)tok->size, "writable", tok->writable, "revoked",
	    tok->revoked, "created", tok->created, "public_key", pk,
	    "vm", tok->vm ? json_string(tok->vm->id) : json_null(),
	    "vm_name", tok->vm ? json_string(tok->vm->name) : json_null(),
	    "session", api_view_session(tok->dev ? tok->dev->session :
	    NULL), "agent", api_view_agent(tok));
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
