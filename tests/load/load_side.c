/*
 * load_side: the traffic beside the sessions.
 *
 * DEVLIST churn: connect from an address of a random VM, OP_REQ_DEVLIST,
 * close, as fast as one thread can; the reply must list exactly that
 * VM's tokens (busid and path).  Every 16th probe comes from an address
 * no VM owns and must list nothing.
 *
 * REST: GET /v1/tokens, GET /v1/sessions and GET /metrics (each checked
 * against the live session count), then a token's whole life: create,
 * assign, import and read from the extra VM's address, revoke (the
 * session must be cut), delete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "../lib/usbip_client.h"

#define SIDE_MAX_ITER		10000000ul	/* bound on any side loop */
#define SIDE_TIMEOUT_MS		10000
#define SIDE_CUT_MS		5000	/* revoke to connection closed */
#define SIDE_STRANGER		(127u << 24 | 3u << 16)	/* 127.3.0.0 */
#define SIDE_STRANGER_EVERY	16

static uint64_t
side_rand(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

/* Is busid/path one of vm's tokens? */
static bool
side_listed_ok(const struct load_ctx *x, const struct load_vm *vm,
    const struct usbip_dev_info *d)
{
	char path[64];

	for (unsigned i = vm->first; i < vm->first + vm->ntok; i++) {
		if (strcmp(x->tok[i].busid, d->busid) != 0)
			continue;
		snprintf(path, sizeof(path), "/vtoken/%s", x->tok[i].name);
		return strcmp(path, d->path) == 0;
	}
	return false;
}

/* One probe; vm NULL means a stranger that must see nothing. */
static void
side_devlist(struct load_ctx *x, const struct load_vm *vm, uint32_t addr)
{
	struct usbip_dev_info devs[LOAD_MAX_PER_VM + 1];
	struct usbip_client c;
	struct usbip_client_opts o = { .timeout_ms = SIDE_TIMEOUT_MS };
	unsigned want = vm != NULL ? vm->ntok : 0;
	size_t n = 0;
	char a[16];

	load_addr_str(addr, a);
	o.src_addr = a;
	usbip_client_init(&c);
	if (usbip_client_connect(&c, x->d.host, x->d.port, &o) < 0 ||
	    usbip_client_devlist(&c, devs, LOAD_MAX_PER_VM + 1, &n) < 0) {
		load_error("DEVLIST from %s: %s", a, c.err);
		usbip_client_close(&c);
		return;
	}
	usbip_client_close(&c);
	if (n != want) {
		load_error("DEVLIST from %s: %zu devices, want %u", a, n, want);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!side_listed_ok(x, vm, &devs[i])) {
			load_error("DEVLIST from %s: unexpected %s (%s)", a,
			    devs[i].busid, devs[i].path);
			return;
		}
	atomic_fetch_add(&x->devlists, 1);
}

void *
load_devlist_run(void *arg)
{
	struct load_ctx *x = arg;
	uint64_t r = 0x243f6a8885a308d3ull;

	for (unsigned long i = 0; i < SIDE_MAX_ITER &&
	    !atomic_load(&x->stop_side); i++) {
		const struct load_vm *vm = &x->vm[side_rand(&r) % x->nvm];

		if (i % SIDE_STRANGER_EVERY == SIDE_STRANGER_EVERY - 1)
			side_devlist(x, NULL, SIDE_STRANGER +
			    (uint32_t)(side_rand(&r) % 65536));
		else
			side_devlist(x, vm, vm->base +
			    (uint32_t)(side_rand(&r) % x->o.per_vm));
	}
	return NULL;
}

/* --- REST ---------------------------------------------------------------- */

/* One timed request; 0 when the status is `want`. */
static int
side_call(struct load_ctx *x, enum load_rest_op op, const char *method,
    const char *path, const char *body, long want, struct vt_http_resp *r)
{
	uint64_t t0 = load_now_ns();
	int rc = load_api(x, method, path, body, r);

	hist_add(&x->rest[op].lat, load_now_ns() - t0);
	atomic_fetch_add(&x->rest[op].n, 1);
	if (rc < 0 || r->status != want) {
		load_error("%s %s: status %ld (want %ld) %.200s", method, path,
		    r->status, want, r->body ? r->body : "");
		return -1;
	}
	return 0;
}

/* GET path; the array `field` must hold `want` entries. */
static void
side_list(struct load_ctx *x, enum load_rest_op op, const char *path,
    const char *field)
{
	struct vt_http_resp r;
	json_t *arr;

	if (side_call(x, op, "GET", path, NULL, 200, &r) == 0) {
		arr = json_object_get(r.json, field);
		if (json_array_size(arr) != x->o.sessions)
			load_error("GET %s: %zu %s, want %u", path,
			    json_array_size(arr), field, x->o.sessions);
	}
	vt_http_resp_free(&r);
}

/* Every load token must show its live session. */
static void
side_tokens(struct load_ctx *x)
{
	struct vt_http_resp r;
	json_t *arr, *t;
	size_t i, live = 0;

	if (side_call(x, REST_TOKENS, "GET", "/v1/tokens", NULL, 200,
	    &r) == 0) {
		arr = json_object_get(r.json, "tokens");
		json_array_foreach(arr, i, t)
			if (json_is_object(json_object_get(t, "session")))
				live++;
		if (json_array_size(arr) != x->o.sessions ||
		    live != x->o.sessions)
			load_error("GET /v1/tokens: %zu tokens, %zu with a "
			    "session, want %u", json_array_size(arr), live,
			    x->o.sessions);
	}
	vt_http_resp_free(&r);
}

static void
side_metrics(struct load_ctx *x)
{
	struct vt_http_resp r;
	long long v;

	if (side_call(x, REST_METRICS, "GET", "/metrics", NULL, 200,
	    &r) == 0) {
		v = vt_metric(r.body, "vtoken_sessions");
		if (v != (long long)x->o.sessions)
			load_error("GET /metrics: vtoken_sessions %lld, want %u",
			    v, x->o.sessions);
	}
	vt_http_resp_free(&r);
}

/* Imports busid from the extra VM's address and reads sector 0. */
static int
side_import(struct load_ctx *x, const char *busid, struct usbip_client *c)
{
	struct usbip_client_opts o = { .timeout_ms = SIDE_TIMEOUT_MS };
	uint8_t sec[LOAD_SECTOR];
	char a[16];

	load_addr_str(x->extra_addr, a);
	o.src_addr = a;
	usbip_client_init(c);
	if (usbip_client_attach(c, x->d.host, x->d.port, &o, busid) < 0 ||
	    usbip_client_read10(c, 0, 1, sec) != 0) {
		load_error("extra token %s from %s: %s", busid, a, c->err);
		return -1;
	}
	if (sec[510] != 0x55 || sec[511] != 0xaa) {
		load_error("extra token %s: no boot signature", busid);
		return -1;
	}
	atomic_fetch_add(&x->extra_imports, 1);
	return 0;
}

/* Revokes id while c holds its session: the session must be cut. */
static void
side_revoke(struct load_ctx *x, const char *id, struct usbip_client *c,
    bool attached)
{
	struct vt_http_resp r;
	char path[128];

	snprintf(path, sizeof(path), "/v1/assignments/%s", id);
	if (side_call(x, REST_REVOKE, "DELETE", path, NULL, 204, &r) == 0 &&
	    attached && !usbip_client_expect_closed(c, SIDE_CUT_MS, NULL))
		load_error("revoke of %s did not end its session", id);
	vt_http_resp_free(&r);
}

/* create, assign, import, revoke, delete: nothing is left behind. */
static void
side_cycle(struct load_ctx *x, unsigned long k)
{
	struct vt_http_resp r;
	struct usbip_client c;
	char body[256], path[128], id[32] = "", busid[32] = "";
	bool attached;

	usbip_client_init(&c);
	snprintf(body, sizeof(body), "{\"name\": \"load-x-%lu\", \"size\": "
	    "\"1M\"}", k);
	if (side_call(x, REST_CREATE, "POST", "/v1/tokens", body, 201,
	    &r) == 0)
		snprintf(id, sizeof(id), "%s", json_string_value(
		    json_object_get(r.json, "id")));
	if (r.json != NULL && json_is_string(json_object_get(r.json, "busid")))
		snprintf(busid, sizeof(busid), "%s", json_string_value(
		    json_object_get(r.json, "busid")));
	vt_http_resp_free(&r);
	if (id[0] == '\0')
		return;
	snprintf(body, sizeof(body), "{\"token\": \"%s\", \"vm\": \"%s\"}",
	    id, x->extra_vm);
	if (side_call(x, REST_ASSIGN, "POST", "/v1/assignments", body, 201,
	    &r) == 0) {
		attached = side_import(x, busid, &c) == 0;
		side_revoke(x, id, &c, attached);
	}
	vt_http_resp_free(&r);
	usbip_client_close(&c);
	snprintf(path, sizeof(path), "/v1/tokens/%s", id);
	(void)side_call(x, REST_DELETE, "DELETE", path, NULL, 204, &r);
	vt_http_resp_free(&r);
}

void *
load_rest_run(void *arg)
{
	struct load_ctx *x = arg;

	for (unsigned long k = 0; k < SIDE_MAX_ITER &&
	    !atomic_load(&x->stop_side); k++) {
		side_tokens(x);
		side_list(x, REST_SESSIONS, "/v1/sessions", "sessions");
		side_metrics(x);
		side_cycle(x, k);
	}
	return NULL;
}
