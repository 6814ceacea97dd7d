/*
 * fleet_operator: an operator at work while the fleet runs: a thread that
 * reads through the REST API the way a console or vtokenctl does (pages
 * of sessions, tokens and the audit log, one token and one VM by id, the
 * active alarms, the nodes, /metrics), each a new HTTPS connection with
 * the admin key, at o.oper_rate requests a second, round robin over the
 * nodes.  It changes nothing, so the fleet's audit figure stays the
 * agents'.  Latencies are kept for the window; a failed or non-2xx
 * request is an error.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fleet.h"

#define FLEET_OPER_KINDS	8

static void
fleet_oper_path(struct fleet_ctx *x, unsigned i, char *buf, size_t len)
{
	const struct fleet_vm *v = &x->vm[(i * 7919u) % x->o.n];

	switch (i % FLEET_OPER_KINDS) {
	case 0: snprintf(buf, len, "/v1/sessions?limit=100"); break;
	case 1: snprintf(buf, len, "/v1/tokens?limit=100"); break;
	case 2: snprintf(buf, len, "/v1/tokens/%s", v->tok); break;
	case 3: snprintf(buf, len, "/v1/vms/%s", v->vm_id); break;
	case 4: snprintf(buf, len, "/v1/audit?limit=100"); break;
	case 5: snprintf(buf, len, "/v1/alarms?state=active"); break;
	case 6: snprintf(buf, len, "/v1/nodes"); break;
	default: snprintf(buf, len, "/metrics"); break;
	}
}

static void *
fleet_oper_run(void *arg)
{
	struct fleet_ctx *x = arg;
	uint64_t step = FLEET_NS / x->o.oper_rate, t = load_now_ns();
	char path[128];

	for (unsigned i = 0; !atomic_load(&x->stop_oper); i++) {
		struct vt_http_resp r;
		uint64_t t0, now;
		struct timespec ts;

		t += step;
		if ((now = load_now_ns()) < t) {
			ts.tv_sec = (time_t)((t - now) / FLEET_NS);
			ts.tv_nsec = (long)((t - now) % FLEET_NS);
			nanosleep(&ts, NULL);
		} else if (now > t + FLEET_NS)
			t = now;	/* fell behind: do not burst */
		fleet_oper_path(x, i, path, sizeof(path));
		t0 = load_now_ns();
		if (fleet_api(x, i % x->o.nodes, "GET", path, NULL, &r) < 0)
			load_error("operator: GET %s failed", path);
		else if (atomic_load(&x->in_window))
			hist_add(&x->h_oper, load_now_ns() - t0);
		vt_http_resp_free(&r);
		x->oper_reqs++;
	}
	return NULL;
}

int
fleet_operator_start(struct fleet_ctx *x)
{
	atomic_store(&x->stop_oper, false);
	if (x->o.oper_rate <= 0)
		return 0;
	if (pthread_create(&x->oper_th, NULL, fleet_oper_run, x) != 0)
		return -1;
	x->oper_on = true;
	return 0;
}

void
fleet_operator_stop(struct fleet_ctx *x)
{
	if (!x->oper_on)
		return;
	atomic_store(&x->stop_oper, true);
	pthread_join(x->oper_th, NULL);
	x->oper_on = false;
}
