/*
 * load_setup: descriptor limits, the daemon's configuration, and the
 * REST calls that give it tokens, VMs and assignments.
 *
 * Address plan: VM v owns the per_vm addresses 127.1.0.0 + v * per_vm
 * onwards (one CIDR block), and token j of VM v is imported from the
 * j-th address of that block.  The REST cycle's extra VM is
 * 127.2.0.1/32.  Nothing leaves 127.0.0.0/8.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "load.h"

/* Descriptors beyond one per session: DEVLIST, REST, logs, SQLite. */
#define LOAD_FD_SLACK	512
#define LOAD_MIN_SESSIONS 16
#define LOAD_ADDR_BASE	(127u << 24 | 1u << 16)		/* 127.1.0.0 */
#define LOAD_ADDR_EXTRA	(127u << 24 | 2u << 16 | 1u)	/* 127.2.0.1 */

void
load_addr_str(uint32_t a, char buf[16])
{
	struct in_addr in = { htonl(a) };

	if (inet_ntop(AF_INET, &in, buf, 16) == NULL)
		snprintf(buf, 16, "0.0.0.0");
}

/*
 * The daemon inherits this process's limits, and both ends need one
 * descriptor per session.  As root the hard limit can be raised; when it
 * cannot, run fewer sessions and say so rather than fail on EMFILE.
 */
int
load_rlimit(struct load_opts *o, char *note, size_t notelen)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)o->sessions + LOAD_FD_SLACK;

	note[0] = '\0';
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "vtoken-load: getrlimit: %s\n",
		    strerror(errno));
		return -1;
	}
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		struct rlimit up = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return 0;
	}
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 ||
	    rl.rlim_cur < LOAD_MIN_SESSIONS + LOAD_FD_SLACK) {
		fprintf(stderr, "vtoken-load: RLIMIT_NOFILE %llu is too low "
		    "for %u sessions and cannot be raised\n",
		    (unsigned long long)rl.rlim_cur, o->sessions);
		return -1;
	}
	if (rl.rlim_cur >= need)
		return 0;
	snprintf(note, notelen, "RLIMIT_NOFILE hard limit is %llu and "
	    "could not be raised (not root?): running %llu sessions instead "
	    "of %u", (unsigned long long)rl.rlim_max,
	    (unsigned long long)(rl.rlim_cur - LOAD_FD_SLACK), o->sessions);
	fprintf(stderr, "vtoken-load: warning: %s\n", note);
	o->sessions = (unsigned)(rl.rlim_cur - LOAD_FD_SLACK);
	return 0;
}

int
load_start_daemon(struct load_ctx *x)
{
	char cfg[1024], path[512];
	const char *args[] = { "-c", path, NULL };
	unsigned max_sessions = 2 * x->o.sessions + 256;

	if (max_sessions < 4096)
		max_sessions = 4096;
	if (vtd_init(&x->d) < 0)
		goto fail;
	/*
	 * Limits: every session plus the DEVLIST churn and the REST cycle's
	 * import must fit; one address carries at most per_vm sessions.
	 */
	snprintf(cfg, sizeof(cfg),
	    "log_level: info\n"
	    "usbip:\n"
	    "  max_sessions: %u\n"
	    "  max_per_peer: 4096\n", max_sessions);
	if (vtd_write_file(&x->d, "load.yaml", cfg) < 0) {
		snprintf(x->d.err, sizeof(x->d.err), "cannot write config");
		goto fail;
	}
	vtd_path(&x->d, "load.yaml", path, sizeof(path));
	if (vtd_start(&x->d, args) < 0)
		goto fail;
	snprintf(x->key, sizeof(x->key), "%s", vt_admin_key(&x->d));
	if (x->key[0] == '\0') {
		snprintf(x->d.err, sizeof(x->d.err), "no admin key");
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "vtoken-load: daemon: %s\n", x->d.err);
	return -1;
}

int
load_api(struct load_ctx *x, const char *method, const char *path,
    const char *body, struct vt_http_resp *r)
{
	char url[512];

	return vt_http(method, vt_api_url(&x->d, path, url, sizeof(url)),
	    x->key, body, r);
}

/* POST path body, expecting 201; copies string fields of the reply. */
static int
load_post(struct load_ctx *x, const char *path, const char *body,
    const char *f1, char *v1, const char *f2, char *v2)
{
	struct vt_http_resp r;
	const char *s;
	int rc = -1;

	if (load_api(x, "POST", path, body, &r) < 0 || r.status != 201) {
		fprintf(stderr, "vtoken-load: POST %s %s: %ld %s\n", path, body,
		    r.status, r.body ? r.body : "");
		goto out;
	}
	if (f1 != NULL) {
		if ((s = json_string_value(json_object_get(r.json, f1))) ==
		    NULL)
			goto out;
		snprintf(v1, 32, "%s", s);
	}
	if (f2 != NULL) {
		if ((s = json_string_value(json_object_get(r.json, f2))) ==
		    NULL)
			goto out;
		snprintf(v2, 32, "%s", s);
	}
	rc = 0;
out:
	vt_http_resp_free(&r);
	return rc;
}

static int
load_vms(struct load_ctx *x)
{
	unsigned per = x->o.per_vm, prefix = 32;
	char body[256], a[16];

	while ((1u << (32 - prefix)) < per)
		prefix--;
	x->nvm = (x->o.sessions + per - 1) / per;
	x->vm = calloc(x->nvm, sizeof(*x->vm));
	if (x->vm == NULL)
		return -1;
	for (unsigned v = 0; v < x->nvm; v++) {
		struct load_vm *vm = &x->vm[v];

		vm->base = LOAD_ADDR_BASE + v * per;
		vm->first = v * per;
		vm->ntok = x->o.sessions - vm->first < per ?
		    x->o.sessions - vm->first : per;
		snprintf(vm->name, sizeof(vm->name), "load-vm-%u", v);
		load_addr_str(vm->base, a);
		snprintf(body, sizeof(body), "{\"name\": \"%s\", "
		    "\"addresses\": [\"%s/%u\"]}", vm->name, a, prefix);
		if (load_post(x, "/v1/vms", body, "id", vm->id, NULL,
		    NULL) < 0)
			return -1;
	}
	x->extra_addr = LOAD_ADDR_EXTRA;
	load_addr_str(x->extra_addr, a);
	snprintf(body, sizeof(body), "{\"name\": \"load-extra\", "
	    "\"addresses\": [\"%s/32\"]}", a);
	return load_post(x, "/v1/vms", body, "id", x->extra_vm, NULL, NULL);
}

static int
load_tokens(struct load_ctx *x)
{
	char body[256];

	x->tok = calloc(x->o.sessions, sizeof(*x->tok));
	if (x->tok == NULL)
		return -1;
	for (unsigned i = 0; i < x->o.sessions; i++) {
		struct load_token *t = &x->tok[i];

		t->vm = i / x->o.per_vm;
		t->addr = x->vm[t->vm].base + i % x->o.per_vm;
		snprintf(t->name, sizeof(t->name), "load-tok-%u", i);
		snprintf(body, sizeof(body), "{\"name\": \"%s\", \"size\": "
		    "\"1M\"}", t->name);
		if (load_post(x, "/v1/tokens", body, "id", t->id, "busid",
		    t->busid) < 0)
			return -1;
		snprintf(body, sizeof(body), "{\"token\": \"%s\", \"vm\": "
		    "\"%s\"}", t->id, x->vm[t->vm].id);
		if (load_post(x, "/v1/assignments", body, NULL, NULL, NULL,
		    NULL) < 0)
			return -1;
	}
	return 0;
}

/* Fetches the whole image of k tokens spread over the range. */
static int
load_images(struct load_ctx *x)
{
	struct vt_http_resp r;
	char path[128];
	unsigned k = x->o.verify < x->o.sessions ? x->o.verify :
	    x->o.sessions;

	for (unsigned j = 0; j < k; j++) {
		struct load_token *t = &x->tok[(uint64_t)j * x->o.sessions / k];

		snprintf(path, sizeof(path), "/v1/tokens/%s/image", t->id);
		if (load_api(x, "GET", path, NULL, &r) < 0 ||
		    r.status != 200 || r.len != LOAD_TOKEN_SIZE) {
			fprintf(stderr, "vtoken-load: GET %s: %ld, %zu bytes\n",
			    path, r.status, r.len);
			vt_http_resp_free(&r);
			return -1;
		}
		t->image = (uint8_t *)r.body;
		r.body = NULL;
		vt_http_resp_free(&r);
		if (t->image[510] != 0x55 || t->image[511] != 0xaa) {
			fprintf(stderr, "vtoken-load: image of %s has no boot "
			    "signature\n", t->id);
			return -1;
		}
	}
	return 0;
}

int
load_populate(struct load_ctx *x)
{
	if (load_vms(x) < 0 || load_tokens(x) < 0 || load_images(x) < 0)
		return -1;
	return 0;
}
