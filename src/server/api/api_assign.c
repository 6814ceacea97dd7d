/*
 * api_assign: /v1/assignments and /v1/sessions.
 */
#include "server/api/api.h"
#include "server/api/api_decode.h"
#include "server/api/api_view.h"
#include "server/export/export.h"

void
api_assign_list(struct api_req *r)
{
	json_t *arr = json_array();
	struct control_token *t;

	TAILQ_FOREACH(t, &r->ctl->tokens, entry)
		if (t->vm != NULL)
			json_array_append_new(arr, api_view_assignment(t));
	api_reply_json(r, 200, json_pack("{s:o}", "assignments", arr));
}

void
api_assign_create(struct api_req *r)
{
	struct api_assign_create ac;
	struct control *ctl = r->ctl;
	struct control_token *tok;
	struct control_vm *vm;
	struct vt_error err;
	const char *body;
	char why[512];
	size_t len;

	body = api_body(r, &len);
	if (api_decode_assign_create(body, len, &ac, why, sizeof(why)) < 0)
		api_reply_error(r, 400, "bad_request", "%s", why);
	else if ((tok = control_token_find(ctl, ac.token)) == NULL)
		api_reply_error(r, 404, "not_found", "no token \"%.64s\"",
		    ac.token);
	else if ((vm = control_vm_find(ctl, ac.vm)) == NULL)
		api_reply_error(r, 404, "not_found", "no VM \"%.64s\"",
		    ac.vm);
	else if (control_assign(ctl, r->actor, tok, vm, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_json(r, 201, api_view_assignment(tok));
	api_assign_create_clear(&ac);
}

void
api_assign_delete(struct api_req *r)
{
	struct control_token *tok = control_token_find(r->ctl, r->arg);
	struct vt_error err;

	if (tok == NULL)
		api_reply_error(r, 404, "not_found", "no token \"%.64s\"",
		    r->arg);
	else if (control_revoke(r->ctl, r->actor, tok, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_empty(r, 204);
}

void
api_sessions_list(struct api_req *r)
{
	json_t *arr = json_array();
	const struct export_session *s;

	TAILQ_FOREACH(s, &r->api->exp->sessions, entry)
		json_array_append_new(arr, api_view_session(r->ctl, s, true));
	api_reply_json(r, 200, json_pack("{s:o}", "sessions", arr));
}
