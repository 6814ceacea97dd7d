/*
 * api_tokens: /v1/tokens.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_audit.h"
#include "server/api/api.h"
#include "server/api/api_decode.h"
#include "server/api/api_view.h"

/* Looks up r->arg as a token; answers 404 itself when unknown. */
static struct control_token *
api_token_arg(struct api_req *r)
{
	struct control_token *t = control_token_find(r->ctl, r->arg);

	if (t == NULL)
		api_reply_error(r, 404, "not_found", "no token \"%.64s\"",
		    r->arg);
	return t;
}

void
api_tokens_list(struct api_req *r)
{
	json_t *arr = json_array();
	struct control_token *t;

	TAILQ_FOREACH(t, &r->ctl->tokens, entry)
		json_array_append_new(arr, api_view_token(r->ctl, t));
	api_reply_json(r, 200, json_pack("{s:o}", "tokens", arr));
}

void
api_tokens_show(struct api_req *r)
{
	struct control_token *t = api_token_arg(r);

	if (t != NULL)
		api_reply_json(r, 200, api_view_token(r->ctl, t));
}

void
api_tokens_create(struct api_req *r)
{
	struct api_token_create tc;
	struct control_token *tok;
	struct vt_error err;
	const char *body;
	char why[512];
	size_t len;

	body = api_body(r, &len);
	if (api_decode_token_create(body, len, &tc, why, sizeof(why)) < 0)
		api_reply_error(r, 400, "bad_request", "%s", why);
	else if (control_token_create(r->ctl, r->actor, tc.name, tc.size,
	    tc.writable, &tok, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_json(r, 201, api_view_token(r->ctl, tok));
	api_token_create_clear(&tc);
}

void
api_tokens_delete(struct api_req *r)
{
	struct control_token *t = api_token_arg(r);
	struct vt_error err;

	if (t == NULL)
		return;
	if (control_token_delete(r->ctl, r->actor, t, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_empty(r, 204);
}

/* evbuffer cleanup for an exported image: wipe, then free. */
static void
api_tokens_wipe(const void *data, size_t len, void *arg)
{
	(void)arg;
	explicit_bzero((void *)(uintptr_t)data, len);
	free((void *)(uintptr_t)data);
}

void
api_tokens_image(struct api_req *r)
{
	struct control_token *t = api_token_arg(r);
	struct vt_error err;
	struct evbuffer *b;
	uint8_t *data;

	if (t == NULL)
		return;
	/*
	 * A reference, not a copy: libevent moves it to the connection and
	 * calls the cleanup once it is sent, which wipes the copy of the
	 * private key before freeing it.
	 */
	b = evbuffer_new();
	data = malloc(t->size ? t->size : 1);
	if (b == NULL || data == NULL) {
		vt_fail(&err, VT_EINTERNAL, "out of memory");
		goto fail;
	}
	if (control_token_export(r->ctl, r->actor, t, data, t->size,
	    &err) < 0)
		goto fail;
	if (evbuffer_add_reference(b, data, t->size, api_tokens_wipe,
	    NULL) < 0) {
		vt_fail(&err, VT_EINTERNAL, "out of memory");
		goto fail;
	}
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Content-Type", "application/octet-stream");
	r->answered = true;
	r->api->stats.by_class[2]++;
	evhttp_send_reply(r->req, 200, NULL, b);
	evbuffer_free(b);
	return;
fail:
	if (data != NULL)
		api_tokens_wipe(data, t->size, NULL);
	if (b != NULL)
		evbuffer_free(b);
	api_reply_vterr(r, &err);
}
