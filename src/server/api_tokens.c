/*
 * api_tokens: /v1/tokens.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/audit.h"
#include "server/api.h"
#include "server/api_view.h"
#include "server/vtokend.h"

/* Looks up r->arg as a token; answers 404 itself when unknown. */
static struct ctl_token *
api_token_arg(struct api_req *r)
{
	struct ctl_token *t = ctl_token_find(r->vtd->ctl, r->arg);

	if (t == NULL)
		api_reply_error(r, 404, "not_found", "no token \"%.64s\"",
		    r->arg);
	return t;
}

void
api_tokens_list(struct api_req *r)
{
	json_t *arr = json_array();
	struct ctl_token *t;

	TAILQ_FOREACH(t, &r->vtd->ctl->tokens, entry)
		json_array_append_new(arr, api_view_token(t));
	api_reply_json(r, 200, json_pack("{s:o}", "tokens", arr));
}

void
api_tokens_show(struct api_req *r)
{
	struct ctl_token *t = api_token_arg(r);

	if (t != NULL)
		api_reply_json(r, 200, api_view_token(t));
}

/* Accepts 4194304 or "4M" / "4096K"; 0, or -1 after answering 400. */
static int
api_token_size(struct api_req *r, json_t *v, uint64_t *size)
{
	if (v == NULL)
		*size = CTL_TOKEN_SIZE_DEFAULT;
	else if (json_is_integer(v) && json_integer_value(v) > 0)
		*size = (uint64_t)json_integer_value(v);
	else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		unsigned long long n = strtoull(s, &end, 10);

		if (end == s || *s == '-' || *s == '+' || n > 1u << 20)
			goto bad;
		if (strcmp(end, "M") == 0 || strcmp(end, "m") == 0)
			n <<= 20;
		else if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0)
			n <<= 10;
		else if (*end != '\0')
			goto bad;
		*size = n;
	} else
		goto bad;
	if (*size >= CTL_TOKEN_SIZE_MIN && *size <= CTL_TOKEN_SIZE_MAX &&
	    *size % 512 == 0)
		return 0;
bad:
	api_reply_error(r, 400, "bad_request", "size must be 1M..64M bytes, "
	    "a multiple of 512 (an integer or a string like \"4M\")");
	return -1;
}

void
api_tokens_create(struct api_req *r)
{
	static const char *const fields[] = { "name", "size", "writable",
	    NULL };
	json_t *body = api_body_object(r, fields), *name, *w;
	struct ctl_token *tok;
	struct vt_error err;
	uint64_t size;

	if (body == NULL)
		return;
	name = json_object_get(body, "name");
	w = json_object_get(body, "writable");
	if (!json_is_string(name))
		api_reply_error(r, 400, "bad_request", "name: a string is "
		    "required");
	else if (w != NULL && !json_is_boolean(w))
		api_reply_error(r, 400, "bad_request", "writable: expected "
		    "true or false");
	else if (api_token_size(r, json_object_get(body, "size"), &size) < 0)
		;	/* answered */
	else if (ctl_token_create(r->vtd->ctl, r->actor,
	    json_string_value(name), size, json_is_true(w), &tok, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_json(r, 201, api_view_token(tok));
	json_decref(body);
}

void
api_tokens_delete(struct api_req *r)
{
	struct ctl_token *t = api_token_arg(r);
	struct vt_error err;

	if (t == NULL)
		return;
	if (ctl_token_delete(r->vtd->ctl, r->actor, t, &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_reply_empty(r, 204);
}

void
api_tokens_image(struct api_req *r)
{
	struct ctl_token *t = api_token_arg(r);
	struct evbuffer *b;
	struct evbuffer_iovec v;
	char *subject;

	if (t == NULL)
		return;
	b = evbuffer_new();
	if (b == NULL || evbuffer_reserve_space(b, (ev_ssize_t)t->size, &v,
	    1) != 1 || ctl_token_read_image(t, 0, v.iov_base, t->size) < 0) {
		if (b != NULL)
			evbuffer_free(b);
		api_reply_error(r, 500, "internal", "cannot read the image");
		return;
	}
	v.iov_len = t->size;
	evbuffer_commit_space(b, &v, 1);
	/* The image holds the private key: its export is on the record. */
	subject = xasprintf("token:%s", t->id);
	if (audit_event(r->vtd->ctl->store, r->actor, "token.export",
	    subject, NULL) < 0) {
		free(subject);
		evbuffer_free(b);
		api_reply_error(r, 500, "internal", "cannot audit the export");
		return;
	}
	free(subject);
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Content-Type", "application/octet-stream");
	r->answered = true;
	r->api->stats.by_class[2]++;
	evhttp_send_reply(r->req, 200, NULL, b);
	evbuffer_free(b);
}
