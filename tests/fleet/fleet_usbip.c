/*
 * fleet_usbip: each VM's USB/IP session.  Import threads connect from
 * the VM's address and import its token (the latency of connect plus
 * OP_REQ_IMPORT is measured), then enumerate it and mark the VM ready;
 * in a storm VM i starts at t0 + i * spread / N.  One reader thread then
 * keeps every session in use: a 4 KiB READ(10) per session per interval,
 * round robin.  The blocking test client is enough at these rates.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"

#define FLEET_MAX_THREADS	32
#define FLEET_READ_SECTORS	8	/* 4 KiB */

struct fleet_imp {
	struct fleet_ctx *x;
	unsigned idx, n;
	uint64_t t0;
	pthread_t th;
};

static struct fleet_imp fleet_imps[FLEET_MAX_THREADS];
static unsigned fleet_nimps;
static pthread_t fleet_reader_th;

static void
fleet_sleep_until(uint64_t t)
{
	uint64_t now = load_now_ns();
	struct timespec ts;

	if (now >= t)
		return;
	ts.tv_sec = (time_t)((t - now) / FLEET_NS);
	ts.tv_nsec = (long)((t - now) % FLEET_NS);
	nanosleep(&ts, NULL);
}

static void
fleet_import_one(struct fleet_ctx *x, struct fleet_vm *v)
{
	struct usbip_client_opts co = { .src_addr = v->addr };
	uint32_t status = 1;
	uint64_t t0 = load_now_ns(), dt;

	usbip_client_init(&v->uc);
	if (usbip_client_connect(&v->uc, x->d.host, x->d.port, &co) < 0 ||
	    usbip_client_import(&v->uc, v->busid, &status, NULL) < 0 ||
	    status != 0) {
		load_error("import of %s from %s: %s (status %u)", v->busid,
		    v->addr, v->uc.err, status);
		usbip_client_close(&v->uc);
		return;
	}
	dt = load_now_ns() - t0;
	if (usbip_client_enumerate(&v->uc) < 0) {
		load_error("enumerate %s from %s: %s", v->busid, v->addr,
		    v->uc.err);
		usbip_client_close(&v->uc);
		return;
	}
	pthread_mutex_lock(&x->mtx);
	hist_add(&x->h_import, dt);
	pthread_mutex_unlock(&x->mtx);
	atomic_fetch_add(&x->imports, 1);
	atomic_store(&v->ready, true);
}

static void *
fleet_import_run(void *arg)
{
	struct fleet_imp *im = arg;
	struct fleet_ctx *x = im->x;
	uint64_t spread = x->o.storm ? (uint64_t)x->o.storm_s * FLEET_NS : 0;

	for (unsigned i = im->idx; i < x->o.n; i += im->n) {
		struct fleet_vm *v = &x->vm[i];

		v->t_sched = im->t0 + spread * i / x->o.n;
		fleet_sleep_until(v->t_sched);
		fleet_import_one(x, v);
	}
	return NULL;
}

int
fleet_import_all(struct fleet_ctx *x, uint64_t t0, bool wait)
{
	fleet_nimps = x->o.threads < FLEET_MAX_THREADS ? x->o.threads :
	    FLEET_MAX_THREADS;
	if (fleet_nimps == 0)
		fleet_nimps = 1;
	for (unsigned i = 0; i < fleet_nimps; i++) {
		fleet_imps[i] = (struct fleet_imp){ x, i, fleet_nimps, t0, 0 };
		if (pthread_create(&fleet_imps[i].th, NULL, fleet_import_run,
		    &fleet_imps[i]) != 0)
			return -1;
	}
	return wait ? fleet_import_join(x) : 0;
}

int
fleet_import_join(struct fleet_ctx *x)
{
	for (unsigned i = 0; i < fleet_nimps; i++)
		pthread_join(fleet_imps[i].th, NULL);
	fleet_nimps = 0;
	return atomic_load(&x->imports) == x->o.n ? 0 : -1;
}

static void *
fleet_reader_run(void *arg)
{
	struct fleet_ctx *x = arg;
	static uint8_t buf[FLEET_READ_SECTORS * 512];
	uint64_t step = (uint64_t)(x->o.interval * FLEET_NS) / x->o.n;
	uint64_t t = load_now_ns();
	uint32_t lba = 0;

	while (!atomic_load(&x->stop_usbip)) {
		for (unsigned i = 0; i < x->o.n &&
		    !atomic_load(&x->stop_usbip); i++) {
			struct fleet_vm *v = &x->vm[i];
			int rc;

			t += step;
			fleet_sleep_until(t);
			if (!atomic_load(&v->ready) || v->uc.fd < 0)
				continue;
			lba = (lba + 97) % (2048 - FLEET_READ_SECTORS);
			rc = usbip_client_read10(&v->uc, lba,
			    FLEET_READ_SECTORS, buf);
			if (rc != 0) {
				load_error("READ(10) on %s from %s: %s",
				    v->busid, v->addr, rc < 0 ? v->uc.err :
				    "check condition");
				usbip_client_close(&v->uc);
				continue;
			}
			atomic_fetch_add(&x->reads, 1);
		}
		if (load_now_ns() > t + FLEET_NS)
			t = load_now_ns();	/* fell behind: do not burst */
	}
	return NULL;
}

int
fleet_reader_start(struct fleet_ctx *x)
{
	atomic_store(&x->stop_usbip, false);
	return pthread_create(&fleet_reader_th, NULL, fleet_reader_run, x) ==
	    0 ? 0 : -1;
}

void
fleet_reader_stop(struct fleet_ctx *x)
{
	atomic_store(&x->stop_usbip, true);
	pthread_join(fleet_reader_th, NULL);
}

void
fleet_close_sessions(struct fleet_ctx *x)
{
	for (unsigned i = 0; i < x->o.n; i++)
		if (atomic_load(&x->vm[i].ready))
			usbip_client_close(&x->vm[i].uc);
}
