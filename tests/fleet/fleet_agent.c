/*
 * fleet_agent: N agents on libcurl multi handles, in the main thread.
 * Each VM has one easy handle, bound to its own address (CURLOPT_INTERFACE
 * "host!ADDR"), whose connection stays in the multi's cache between
 * rounds (keep-alive; api.timeout is set above the interval); the TLS
 * sessions are in one CURLSH share, so a new connection resumes.  A round
 * is what vtoken-agent does: POST /v1/agent/challenge, sign
 * vtauth_message() with the token's Ed25519 key, POST /v1/agent/verify;
 * its latency runs from the challenge's start to the verify's answer.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "fleet.h"
#include "vtoken/vtauth.h"

#define FLEET_RESP_MAX	65536
#define FLEET_CELL	16		/* VMs per multi handle */
#define FLEET_M(a, v)	((a)->cell[((v) - (a)->x->vm) / FLEET_CELL].m)
#define FLEET_SCAN_NS	2000000ull	/* 2 ms */

struct fleet_cell {
	CURLM *m;
	uint64_t t_timer;	/* libcurl's timeout for m, or UINT64_MAX */
	bool hot;		/* in the list of timers due at once */
	struct fleet_agents *a;
};

struct fleet_agents {
	struct fleet_cell *cell;
	unsigned ncell;
	struct fleet_ctx *x;
	int ep;			/* epoll: every multi's sockets */
	unsigned *hot;		/* cells whose timer libcurl set to 0 */
	unsigned nhot;
	CURLSH *sh;
	struct curl_slist *hdr;
	char url_ch[FLEET_MAX_NODES][160], url_ver[FLEET_MAX_NODES][160];
	uint64_t interval;	/* ns */
	unsigned firsts;	/* VMs with their first verify done */
};

static size_t
fleet_agent_write(char *p, size_t sz, size_t n, void *arg)
{
	struct fleet_vm *v = arg;
	size_t len = sz * n;

	if (v->rlen + len + 1 > FLEET_RESP_MAX)
		return 0;
	if (v->rlen + len + 1 > v->rcap) {
		size_t cap = v->rlen + len + 1 < 2048 ? 2048 : FLEET_RESP_MAX;
		char *nb = realloc(v->rbuf, cap);

		if (nb == NULL)
			return 0;
		v->rbuf = nb;
		v->rcap = cap;
	}
	memcpy(v->rbuf + v->rlen, p, len);
	v->rlen += len;
	v->rbuf[v->rlen] = '\0';
	return len;
}

static int
fleet_agent_sock(CURL *e, curl_socket_t s, int what, void *arg, void *sp)
{
	struct fleet_cell *c = arg;
	struct fleet_agents *a = c->a;
	struct epoll_event ev = { 0 };

	(void)e;
	(void)sp;
	if (what == CURL_POLL_REMOVE) {
		(void)epoll_ctl(a->ep, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.u64 = (uint64_t)(c - a->cell) << 32 | (uint32_t)s;
	if (epoll_ctl(a->ep, EPOLL_CTL_MOD, s, &ev) < 0 &&
	    epoll_ctl(a->ep, EPOLL_CTL_ADD, s, &ev) < 0)
		load_error("epoll_ctl: %s", strerror(errno));
	return 0;
}

static int
fleet_agent_timer(CURLM *m, long ms, void *arg)
{
	struct fleet_cell *c = arg;

	(void)m;
	c->t_timer = ms < 0 ? UINT64_MAX : load_now_ns() +
	    (uint64_t)ms * 1000000u;
	if (ms == 0 && !c->hot) {
		c->hot = true;
		c->a->hot[c->a->nhot++] = (unsigned)(c - c->a->cell);
	}
	return 0;
}

struct fleet_agents *
fleet_agents_new(struct fleet_ctx *x)
{
	struct fleet_agents *a = calloc(1, sizeof(*a));
	char iface[64];

	if (a == NULL)
		return NULL;
	a->x = x;
	a->interval = (uint64_t)(x->o.interval * FLEET_NS);
	a->ep = epoll_create1(EPOLL_CLOEXEC);
	a->ncell = (x->o.n + FLEET_CELL - 1) / FLEET_CELL;
	a->hot = calloc(a->ncell, sizeof(*a->hot));
	a->cell = calloc(a->ncell, sizeof(*a->cell));
	if (a->hot == NULL || a->cell == NULL) {
		free(a->hot);
		free(a->cell);
		free(a);
		return NULL;
	}
	for (unsigned i = 0; i < a->ncell; i++) {
		struct fleet_cell *c = &a->cell[i];

		c->a = a;
		c->t_timer = UINT64_MAX;
		c->m = curl_multi_init();
		curl_multi_setopt(c->m, CURLMOPT_SOCKETFUNCTION,
		    fleet_agent_sock);
		curl_multi_setopt(c->m, CURLMOPT_SOCKETDATA, c);
		curl_multi_setopt(c->m, CURLMOPT_TIMERFUNCTION,
		    fleet_agent_timer);
		curl_multi_setopt(c->m, CURLMOPT_TIMERDATA, c);
		/* Every VM's connection stays cached between its rounds. */
		curl_multi_setopt(c->m, CURLMOPT_MAXCONNECTS,
		    (long)FLEET_CELL + 4);
	}
	a->sh = curl_share_init();
	curl_share_setopt(a->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	a->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	for (unsigned k = 0; k < x->o.nodes; k++) {
		snprintf(a->url_ch[k], sizeof(a->url_ch[k]),
		    "%s/v1/agent/challenge", x->base[k]);
		snprintf(a->url_ver[k], sizeof(a->url_ver[k]),
		    "%s/v1/agent/verify", x->base[k]);
	}
	for (unsigned i = 0; i < x->o.n; i++) {
		struct fleet_vm *v = &x->vm[i];
		CURL *h = curl_easy_init();

		snprintf(iface, sizeof(iface), "host!%s", v->addr);
		curl_easy_setopt(h, CURLOPT_INTERFACE, iface);
		curl_easy_setopt(h, CURLOPT_CAINFO, x->cert);
		curl_easy_setopt(h, CURLOPT_SHARE, a->sh);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, a->hdr);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fleet_agent_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, v);
		curl_easy_setopt(h, CURLOPT_PRIVATE, v);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
		curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, 3600L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		v->h = h;
		v->st = AG_IDLE;
		v->due = UINT64_MAX;
	}
	return a;
}

void
fleet_agents_free(struct fleet_agents *a)
{
	if (a == NULL)
		return;
	for (unsigned i = 0; i < a->x->o.n; i++) {
		struct fleet_vm *v = &a->x->vm[i];

		if (v->st != AG_IDLE)
			curl_multi_remove_handle(FLEET_M(a, v), v->h);
		curl_easy_cleanup(v->h);
		v->h = NULL;
		free(v->rbuf);
		v->rbuf = NULL;
	}
	for (unsigned i = 0; i < a->ncell; i++)
		curl_multi_cleanup(a->cell[i].m);
	close(a->ep);
	free(a->hot);
	free(a->cell);
	curl_share_cleanup(a->sh);
	curl_slist_free_all(a->hdr);
	free(a);
}

void
fleet_agents_spread(struct fleet_agents *a, uint64_t start)
{
	for (unsigned i = 0; i < a->x->o.n; i++)
		a->x->vm[i].due = start + a->interval * i / a->x->o.n;
}

static void
fleet_agent_post(struct fleet_agents *a, struct fleet_vm *v, const char *url)
{
	v->rlen = 0;
	curl_easy_setopt(v->h, CURLOPT_URL, url);
	curl_easy_setopt(v->h, CURLOPT_POSTFIELDS, v->body);
	curl_multi_add_handle(FLEET_M(a, v), v->h);
}

static void
fleet_agent_start(struct fleet_agents *a, struct fleet_vm *v, uint64_t now)
{
	v->t0 = now;
	v->st = AG_CHALLENGE;
	snprintf(v->body, sizeof(v->body), "{\"token\": \"%s\"}", v->tok);
	fleet_agent_post(a, v, a->url_ch[v->node]);
}

/* Signs the nonce of the challenge's answer into v->body (the verify). */
static int
fleet_agent_sign(struct fleet_vm *v, const char *nonce_b64)
{
	uint8_t nonce[VTAUTH_NONCE_LEN + 1], msg[VTAUTH_MSG_LEN], sig[64];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx;
	char *b64;
	int ok;

	if (nonce_b64 == NULL || decode_base64(nonce_b64, nonce,
	    sizeof(nonce)) != VTAUTH_NONCE_LEN || vtauth_message(v->tok,
	    nonce, VTAUTH_NONCE_LEN, msg) != VTAUTH_MSG_LEN)
		return -1;
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL,
	    v->key) == 1 && EVP_DigestSign(ctx, sig, &siglen, msg,
	    sizeof(msg)) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || (b64 = encode_base64(sig, siglen)) == NULL)
		return -1;
	snprintf(v->body, sizeof(v->body), "{\"token\": \"%s\", \"nonce\": "
	    "\"%s\", \"signature\": \"%s\"}", v->tok, nonce_b64, b64);
	free(b64);
	return 0;
}

/* One transfer of v ended with res: the next step, or the round's end. */
static void
fleet_agent_done(struct fleet_agents *a, struct fleet_vm *v, CURLcode res,
    uint64_t now)
{
	struct fleet_ctx *x = a->x;
	long status = 0, nconn = 0;
	json_t *j = NULL;
	enum fleet_agent_state st = v->st;

	curl_multi_remove_handle(FLEET_M(a, v), v->h);
	curl_easy_getinfo(v->h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(v->h, CURLINFO_NUM_CONNECTS, &nconn);
	x->conns += (unsigned long)nconn;
	if (res == CURLE_OK && v->rbuf != NULL)
		j = json_loadb(v->rbuf, v->rlen, 0, NULL);
	if (res != CURLE_OK || status != 200 || j == NULL) {
		load_error("%s of %s from %s: %s, HTTP %ld %.120s",
		    st == AG_CHALLENGE ? "challenge" : "verify", v->tok,
		    v->addr, curl_easy_strerror(res), status,
		    v->rbuf != NULL && v->rlen > 0 ? v->rbuf : "");
		goto next;
	}
	if (st == AG_CHALLENGE) {
		if (fleet_agent_sign(v, json_string_value(json_object_get(j,
		    "nonce"))) < 0) {
			load_error("challenge of %s: no usable nonce", v->tok);
			goto next;
		}
		json_decref(j);
		v->st = AG_VERIFY;
		fleet_agent_post(a, v, a->url_ver[v->node]);
		return;
	}
	if (!json_is_true(json_object_get(j, "ok"))) {
		load_error("verify of %s: not ok: %.120s", v->tok, v->rbuf);
		goto next;
	}
	if (x->in_window)
		hist_add(&x->h_verify, now - v->t0);
	if (!v->first_done) {
		v->first_done = true;
		a->firsts++;
		hist_add(&x->h_first, now - v->t0);
		if (x->o.storm)
			hist_add(&x->h_boot, now - v->t_sched);
	}
	atomic_fetch_add(&x->auths, 1);
next:
	if (!v->first_done && x->o.storm) {
		/* A failed first round still ends that VM's storm. */
		v->first_done = true;
		a->firsts++;
	}
	json_decref(j);
	v->st = AG_IDLE;
	v->due = v->t0 + a->interval;
	if (v->due < now)
		v->due = now;
}

/* Hands finished transfers of cell c to fleet_agent_done. */
static void
fleet_agent_msgs(struct fleet_agents *a, struct fleet_cell *c)
{
	struct fleet_vm *v;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		v = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&v);
		fleet_agent_done(a, v, msg->data.result, load_now_ns());
	}
}

/* Runs cell c's timer if it is due. */
static void
fleet_agent_timeout(struct fleet_agents *a, struct fleet_cell *c,
    uint64_t now)
{
	int running;

	if (c->t_timer > now)
		return;
	c->t_timer = UINT64_MAX;
	curl_multi_socket_action(c->m, CURL_SOCKET_TIMEOUT, 0, &running);
	fleet_agent_msgs(a, c);
}

/* Runs the timers libcurl wants run at once (set from callbacks). */
static void
fleet_agent_hot(struct fleet_agents *a)
{
	while (a->nhot > 0) {
		struct fleet_cell *c = &a->cell[a->hot[--a->nhot]];

		c->hot = false;
		fleet_agent_timeout(a, c, load_now_ns());
	}
}

/*
 * Every FLEET_SCAN_NS the VMs are scanned for rounds due and timers
 * expired; libcurl's "at once" timers go through the hot list instead,
 * so that a round's steps do not wait for the scan.
 */
void
fleet_agents_run(struct fleet_agents *a, uint64_t until, bool storm)
{
	struct fleet_ctx *x = a->x;
	struct epoll_event evs[512];
	uint64_t next_scan = 0;
	int running, n;

	for (;;) {
		uint64_t now = load_now_ns();

		if (now >= until || (storm && a->firsts >= x->o.n))
			break;
		for (unsigned i = 0; now >= next_scan && i < a->ncell; i++)
			fleet_agent_timeout(a, &a->cell[i], now);
		for (unsigned i = 0; now >= next_scan && i < x->o.n; i++) {
			struct fleet_vm *v = &x->vm[i];

			if (v->st != AG_IDLE || !atomic_load(&v->ready))
				continue;
			if (storm ? !v->first_done : now >= v->due)
				fleet_agent_start(a, v, now);
		}
		if (now >= next_scan)
			next_scan = now + FLEET_SCAN_NS;
		fleet_agent_hot(a);
		n = epoll_wait(a->ep, evs, 512, 1);
		for (int k = 0; k < n; k++) {
			struct fleet_cell *c = &a->cell[evs[k].data.u64 >> 32];
			int fd = (int)(uint32_t)evs[k].data.u64, f = 0;

			if (evs[k].events & EPOLLIN)
				f |= CURL_CSELECT_IN;
			if (evs[k].events & EPOLLOUT)
				f |= CURL_CSELECT_OUT;
			if (evs[k].events & (EPOLLERR | EPOLLHUP))
				f |= CURL_CSELECT_ERR;
			curl_multi_socket_action(c->m, fd, f, &running);
			fleet_agent_msgs(a, c);
		}
		fleet_agent_hot(a);
	}
}
