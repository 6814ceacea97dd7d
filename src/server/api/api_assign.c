/*
 * api_assign: /v1/assignments, /v1/sessions and /v1/nodes.
 */
#include <ctype.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/encode.h"
#include "server/api/api.h"
#include "server/api/api_decode.h"
#include "server/api/api_view.h"
#include "server/export/export.h"

static control_done_fn api_assign_created;

/*
 * ?after=BUSID&limit=N: assignments in busid order.  "next" is set only
 * when another assignment follows, so the last page is never empty.
 */
void
api_assign_list(struct api_req *r)
{
	struct control_token *page[256], *last = NULL;
	struct evkeyvalq q;
	long long limit;
	uint32_t after = 0, bus, port;
	const char *v;
	bool more = true;
	size_t k = 0;
	json_t *arr;
	char next[32] = "";

	if (api_query_parse(r, &q) < 0)
		return;
	v = evhttp_find_header(&q, "after");
	if (v != NULL && (export_busid_parse(v, &bus, &port) < 0 ||
	    (after = control_num_join(bus, port)) == 0)) {
		evhttp_clear_headers(&q);
		api_reply_error(r, 400, "bad_request", "after: a busid "
		    "(BUS-PORT) is required");
		return;
	}
	if (api_query_int(r, &q, "limit", 1, API_PAGE_MAX, API_PAGE_MAX,
	    &limit) < 0) {
		evhttp_clear_headers(&q);
		return;
	}
	evhttp_clear_headers(&q);
	arr = json_array();
	while (more && next[0] == '\0') {
		size_t n = control_tokens_page(r->ctl, after, page, 256, &more);

		for (size_t i = 0; i < n && next[0] == '\0'; i++) {
			if (page[i]->vm == NULL)
				continue;
			if (k == (size_t)limit)	/* one more follows */
				control_token_busid(last, next);
			else {
				json_array_append_new(arr,
				    api_view_assignment(page[i]));
				last = page[i];
				k++;
			}
		}
		if (n == 0)
			break;
		after = page[n - 1]->num;
	}
	api_reply_json(r, 200, json_pack("{s:o, s:s?}", "assignments", arr,
	    "next", next[0] != '\0' ? next : NULL));
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
	else if (control_assign(ctl, r->actor, tok, vm, api_assign_created, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
	api_assign_create_clear(&ac);
}

static void
api_assign_created(void *arg, const struct vt_error *err, const char *id)
{
	struct api_req *r = arg;
	struct control_token *tok;

	if (err != NULL)
		api_reply_vterr(r, err);
	else if ((tok = control_token_by_id(r->ctl, id)) == NULL ||
	    tok->vm == NULL)
		api_reply_error(r, 409, "conflict", "changed meanwhile");
	else
		api_reply_json(r, 201, api_view_assignment(tok));
}

void
api_assign_delete(struct api_req *r)
{
	struct control_token *tok = control_token_find(r->ctl, r->arg);
	struct vt_error err;

	if (tok == NULL)
		api_reply_error(r, 404, "not_found", "no token \"%.64s\"",
		    r->arg);
	else if (control_revoke(r->ctl, r->actor, tok, api_reply_done, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
}

static void
api_sessions_listed(void *arg, const struct vt_error *err, json_t *rows)
{
	struct api_req *r = arg;
	const char *next = NULL;

	if (err != NULL) {
		api_reply_vterr(r, err);
		return;
	}
	/* One row beyond the page was asked for: it says more follow. */
	if (json_array_size(rows) > r->page_limit) {
		json_array_remove(rows, r->page_limit);
		next = json_string_value(json_object_get(json_array_get(rows,
		    r->page_limit - 1), "token"));
	}
	api_reply_json(r, 200, json_pack("{s:O, s:s?}", "sessions", rows,
	    "next", next));
}

/*
 * Every node's sessions (the claims in the store), in token id order:
 * ?after=TOKEN_ID&limit=N.
 */
void
api_sessions_list(struct api_req *r)
{
	struct evkeyvalq q;
	const char *v;
	long long limit;
	char after[ENCODE_ID_LEN + 1] = "";

	if (api_query_parse(r, &q) < 0)
		return;
	v = evhttp_find_header(&q, "after");
	if (v != NULL && (strlen(v) != ENCODE_ID_LEN ||
	    !encode_is_hex(v, ENCODE_ID_LEN))) {
		evhttp_clear_headers(&q);
		api_reply_error(r, 400, "bad_request", "after: a token id is "
		    "required");
		return;
	}
	for (size_t i = 0; v != NULL && i < ENCODE_ID_LEN; i++)
		after[i] = (char)toupper((unsigned char)v[i]);	/* ids are */
	if (api_query_int(r, &q, "limit", 1, API_PAGE_MAX, API_PAGE_MAX,
	    &limit) < 0) {
		evhttp_clear_headers(&q);
		return;
	}
	evhttp_clear_headers(&q);
	r->page_limit = (unsigned)limit;
	api_defer(r);
	control_sessions_list(r->ctl, after, (unsigned)limit,
	    api_sessions_listed, r);
}

static void
api_nodes_listed(void *arg, const struct vt_error *err, json_t *rows)
{
	struct api_req *r = arg;

	if (err != NULL)
		api_reply_vterr(r, err);
	else
		api_reply_json(r, 200, json_pack("{s:O}", "nodes", rows));
}

void
api_nodes_list(struct api_req *r)
{
	api_defer(r);
	control_nodes_list(r->ctl, api_nodes_listed, r);
}
