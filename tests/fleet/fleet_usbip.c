/*
 * fleet_usbip: the USB/IP process, each VM's session.  Import threads
 * connect from the VM's address to its node and import its token (the
 * latency of connect plus OP_REQ_IMPORT is measured), then enumerate it
 * and mark the VM ready; in a storm VM i starts at t0 + i * spread / N.
 * The process's main thread keeps every session in use: a 4 KiB READ(10)
 * per session per interval, round robin, from the start.  The blocking
 * test client is enough at these rates.
 *
 * The process is forked from the main one and shares only its two
 * MAP_SHARED mappings (the context and the VMs, fleet.h); it ends with
 * _exit, so nothing of the main process's state is torn down twice.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"

#define FLEET_MAX_THREADS	32
#define FLEET_READ_SECTORS	8	/* 4 KiB */

struct fleet_imp {
	struct fleet_ctx *x;
	unsigned idx, n;
	uint64_t t0;
	pthread_t th;
};

/* Counts an error and publishes the process's count to the main one. */
#define FLEET_UERR(x, ...) do {						\
	load_error(__VA_ARGS__);					\
	atomic_store(&(x)->usbip_errors, load_errors());		\
} while (0)

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

	const struct vtd *d = &x->d[v->node];

	usbip_client_init(&v->uc);
	if (usbip_client_connect(&v->uc, d->host, d->port, &co) < 0 ||
	    usbip_client_import(&v->uc, v->busid, &status, NULL) < 0 ||
	    status != 0) {
		FLEET_UERR(x, "import of %s from %s: %s (status %u)", v->busid,
		    v->addr, v->uc.err, status);
		usbip_client_close(&v->uc);
		return;
	}
	dt = load_now_ns() - t0;
	if (usbip_client_enumerate(&v->uc) < 0) {
		FLEET_UERR(x, "enumerate %s from %s: %s", v->busid, v->addr,
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
		atomic_fetch_add(&x->imports_tried, 1);
	}
	return NULL;
}

static void
fleet_reader_run(struct fleet_ctx *x)
{
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
				FLEET_UERR(x, "READ(10) on %s from %s: %s",
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
}

/* The USB/IP process: never returns. */
static void
fleet_usbip_main(struct fleet_ctx *x, uint64_t t0)
{
	struct fleet_imp imps[FLEET_MAX_THREADS];
	unsigned n = x->o.threads < FLEET_MAX_THREADS ? x->o.threads :
	    FLEET_MAX_THREADS, started = 0;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (n == 0)
		n = 1;
	for (unsigned i = 0; i < n; i++, started++) {
		imps[i] = (struct fleet_imp){ x, i, n, t0, 0 };
		if (pthread_create(&imps[i].th, NULL, fleet_import_run,
		    &imps[i]) != 0) {
			FLEET_UERR(x, "cannot start import thread %u", i);
			break;
		}
	}
	if (started < n)	/* their VMs count as tried */
		atomic_store(&x->imports_tried, x->o.n);
	fleet_reader_run(x);
	for (unsigned i = 0; i < started; i++)
		pthread_join(imps[i].th, NULL);
	for (unsigned i = 0; i < x->o.n; i++)
		if (atomic_load(&x->vm[i].ready)) {
			atomic_store(&x->vm[i].ready, false);
			usbip_client_close(&x->vm[i].uc);
		}
	atomic_store(&x->usbip_errors, load_errors());
	_exit(0);
}

int
fleet_usbip_start(struct fleet_ctx *x, uint64_t t0)
{
	pid_t pid;

	atomic_store(&x->stop_usbip, false);
	fflush(NULL);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0)
		fleet_usbip_main(x, t0);
	x->usbip_pid = pid;
	return 0;
}

int
fleet_usbip_imports(struct fleet_ctx *x, uint64_t until)
{
	while (atomic_load(&x->imports_tried) < x->o.n &&
	    load_now_ns() < until && x->usbip_pid > 0 &&
	    waitpid(x->usbip_pid, NULL, WNOHANG) == 0)
		usleep(10000);
	return atomic_load(&x->imports) == x->o.n ? 0 : -1;
}

void
fleet_usbip_stop(struct fleet_ctx *x)
{
	uint64_t until = load_now_ns() + 30 * FLEET_NS;

	if (x->usbip_pid <= 0)
		return;
	atomic_store(&x->stop_usbip, true);
	/* It stops after the read in progress: bounded, then killed. */
	while (waitpid(x->usbip_pid, NULL, WNOHANG) == 0) {
		if (load_now_ns() > until) {
			load_error("USB/IP process did not stop: killed");
			kill(x->usbip_pid, SIGKILL);
			waitpid(x->usbip_pid, NULL, 0);
			break;
		}
		usleep(10000);
	}
	x->usbip_pid = 0;
}
