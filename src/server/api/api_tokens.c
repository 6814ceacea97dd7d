/*
 * api_tokens: /v1/tokens.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control.h"
#include "server/export/export.h"
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

/* The number after which a page starts: "after" is a busid; -1 on 400. */
static int
api_tokens_after(struct api_req *r, const struct evkeyvalq *q,
    uint32_t *after)
{
	const char *v = evhttp_find_header(q, "after");
	uint32_t bus, port;

	*after = 0;
	if (v == NULL || v[0] == '\0')
		return 0;
	if (export_busid_parse(v, &bus, &port) < 0 ||
	    (*after = control_num_join(bus, port)) == 0) {
		api_reply_error(r, 400, "bad_request", "after: a busid such "
		    "as 1-2 is required");
		return -1;
	}
	return 0;
}

void
api_tokens_list(struct api_req *r)
{
	struct control_token **page;
	struct evkeyvalq q;
	long long limit;
	uint32_t after;
	bool more;
	size_t n;
	json_t *arr;
	char next[32];

	if (api_query_parse(r, &q) < 0)
		return;
	if (api_tokens_after(r, &q, &after) < 0 || api_query_int(r, &q,
	    "limit", 1, API_PAGE_MAX, API_PAGE_MAX, &limit) < 0) {
		evhttp_clear_headers(&q);
		return;
	}
	evhttp_clear_headers(&q);
	page = xcalloc((size_t)limit, sizeof(*page));
	n = control_tokens_page(r->ctl, after, page, (size_t)limit, &more);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, api_view_token(page[i]));
	if (more)
		control_token_busid(page[n - 1], next);
	api_reply_json(r, 200, json_pack("{s:o, s:s?}", "tokens", arr, "next",
	    more ? next : NULL));
	free(page);
}

void
api_tokens_show(struct api_req *r)
{
	struct control_token *t = api_token_arg(r);

	if (t != NULL)
		api_reply_json(r, 200, api_view_token(t));
}

/* A change's answer: 201 with the token made. */
static void
api_tokens_created(void *arg, const struct vt_error *err, const char *id)
{
	struct api_req *r = arg;
	struct control_token *t;

	if (err != NULL)
		api_reply_vterr(r, err);
	else if ((t = control_token_by_id(r->ctl, id)) == NULL)
		api_reply_error(r, 500, "internal", "the token is gone");
	else
		api_reply_json(r, 201, api_view_token(t));
}

static void
api_tokens_bulk_created(void *arg, const struct vt_error *err,
    char (*ids)[ENCODE_ID_LEN + 1], size_t n)
{
	struct api_req *r = arg;
	struct control_token *t;
	const char *code;
	json_t *arr, *o;

	if (err != NULL && n == 0) {
		api_reply_vterr(r, err);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		if ((t = control_token_by_id(r->ctl, ids[i])) != NULL)
			json_array_append_new(arr, api_view_token(t));
	o = json_pack("{s:o, s:I}", "tokens", arr, "count", (json_int_t)n);
	/* Some batches were made: they stay, and the answer says why not all. */
	if (err != NULL && o != NULL) {
		(void)api_vterr_status(err, &code);
		json_object_set_new(o, "error", json_pack("{s:s, s:s}", "code",
		    code, "message", err->msg));
	}
	api_reply_json(r, 201, o);
}

void
api_tokens_create(struct api_req *r)
{
	struct api_token_create tc;
	struct vt_error err;
	const char *body;
	char why[512];
	size_t len;
	int rc;

	body = api_body(r, &len);
	if (api_decode_token_create(body, len, &tc, why, sizeof(why)) < 0) {
		api_reply_error(r, 400, "bad_request", "%s", why);
		return;
	}
	if (tc.count > 0)
		rc = control_token_create_bulk(r->ctl, r->actor, tc.prefix,
		    tc.count, tc.size, tc.writable, api_tokens_bulk_created,
		    r, &err);
	else
		rc = control_token_create(r->ctl, r->actor, tc.name, tc.size,
		    tc.writable, api_tokens_created, r, &err);
	if (rc < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
	api_token_create_clear(&tc);
}

/* A change answered with no body. */
void
api_reply_done(void *arg, const struct vt_error *err, const char *id)
{
	struct api_req *r = arg;

	(void)id;
	if (err != NULL)
		api_reply_vterr(r, err);
	else
		api_reply_empty(r, 204);
}

void
api_tokens_delete(struct api_req *r)
{
	struct control_token *t = api_token_arg(r);
	struct vt_error err;

	if (t == NULL)
		return;
	if (control_token_delete(r->ctl, r->actor, t, api_reply_done, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
}

/* evbuffer cleanup for an exported image: wipe, then free. */
static void
api_tokens_wipe(const void *data, size_t len, void *arg)
{
	(void)arg;
	explicit_bzero((void *)(uintptr_t)data, len);
	free((void *)(uintptr_t)data);
}

static void
api_tokens_exported(void *arg, const struct vt_error *err, uint8_t *image,
    uint64_t size)
{
	struct api_req *r = arg;
	struct evbuffer *b;
	uint8_t *copy;

	if (err != NULL) {
		api_reply_vterr(r, err);
		return;
	}
	/*
	 * A reference, not a copy: libevent moves it to the connection and
	 * calls the cleanup once it is sent, which wipes the private key
	 * before freeing it.  (The controller wipes its own buffer.)
	 */
	b = evbuffer_new();
	copy = malloc(size ? size : 1);
	if (b == NULL || copy == NULL) {
		free(copy);
		if (b != NULL)
			evbuffer_free(b);
		api_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	memcpy(copy, image, size);
	if (evbuffer_add_reference(b, copy, size, api_tokens_wipe,
	    NULL) < 0) {
		api_tokens_wipe(copy, size, NULL);
		evbuffer_free(b);
		api_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	api_reply_buffer(r, 200, "application/octet-stream", b);
	evbuffer_free(b);
}

void
api_tokens_image(struct api_req *r)
{
	struct control_token *t = api_token_arg(r);
	struct vt_error err;

	if (t == NULL)
		return;
	if (control_token_export(r->ctl, r->actor, t, api_tokens_exported, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
}
