/*
 * load_stats: latency histogram, the shared error counter, the clock in
 * nanoseconds and what /proc says about the daemon and the machine.
 */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/monotime.h"
#include "load.h"

#define LOAD_ERRORS_SHOWN	20

static atomic_ulong load_nerrors;
static pthread_mutex_t load_err_mtx = PTHREAD_MUTEX_INITIALIZER;

static unsigned
hist_bucket(uint64_t ns)
{
	double b;

	if (ns < 2)
		return 0;
	b = log2((double)ns) * HIST_PER_OCTAVE;
	return b >= HIST_BUCKETS - 1 ? HIST_BUCKETS - 1 : (unsigned)b;
}

void
hist_add(struct hist *h, uint64_t ns)
{
	h->n[hist_bucket(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

void
hist_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->n[i] += src->n[i];
	dst->count += src->count;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;
	double edge;

	if (h->count == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)h->count);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= want) {
			edge = exp2((double)(i + 1) / HIST_PER_OCTAVE);
			return edge > (double)h->max ? h->max : (uint64_t)edge;
		}
	}
	return h->max;
}

void
load_error(const char *fmt, ...)
{
	unsigned long n = atomic_fetch_add(&load_nerrors, 1);
	va_list ap;

	if (n >= LOAD_ERRORS_SHOWN)
		return;
	pthread_mutex_lock(&load_err_mtx);
	fprintf(stderr, "vtoken-load: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (n + 1 == LOAD_ERRORS_SHOWN)
		fprintf(stderr, "vtoken-load: (further errors counted, not "
		    "shown)\n");
	pthread_mutex_unlock(&load_err_mtx);
}

unsigned long
load_errors(void)
{
	return atomic_load(&load_nerrors);
}

/* monotime's clock in the histograms' unit. */
uint64_t
load_now_ns(void)
{
	return (uint64_t)(monotime_sec() * 1e9);
}

long
proc_rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int
proc_fd_count(int pid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

void
proc_machine(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256], model[200] = "unknown CPU";
	struct utsname u;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *p = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && p != NULL) {
			snprintf(model, sizeof(model), "%s", p + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	snprintf(buf, len, "%s, %ld CPUs online, Linux %s", model,
	    sysconf(_SC_NPROCESSORS_ONLN), u.release);
}
