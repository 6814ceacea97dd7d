/*
 * fleet_proc: what /proc says of a process (CPU, writes), and what the
 * PostgreSQL server costs by it: the postmaster's utime + stime + cutime
 * + cstime (its reaped children: autovacuum workers come and go) plus the
 * utime + stime of every live process whose parent it is (backends, WAL
 * writer, checkpointer), and the same processes' write_bytes (a reaped
 * child's writes are not counted: the long-lived ones write nearly all).
 * RSS adds the processes' VmRSS, which counts shared buffers once per
 * process that touched them: an upper bound.  Differences of two samples
 * give the window's cost.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet.h"

int
fleet_stat(int pid, int *ppid, double *own, double *kids)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	long cut, cst;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld",
	    ppid, &ut, &st, &cut, &cst) != 5)
		return -1;
	*own = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	*kids = (double)(cut + cst) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

long long
fleet_wbytes(int pid)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/io", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "write_bytes: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

double
fleet_cpu(int pid)
{
	double own, kids;
	int ppid;

	return fleet_stat(pid, &ppid, &own, &kids) < 0 ? -1 : own;
}

static void
fleet_pg_add(int pid, struct fleet_proc *p)
{
	long rss = proc_rss_kib(pid);
	long long w = fleet_wbytes(pid);

	p->wbytes += w > 0 ? w : 0;
	p->rss_kib += rss > 0 ? rss : 0;
	p->fds++;		/* here: processes */
}

void
fleet_pg_sample(int pid, struct fleet_proc *p)
{
	struct dirent *e;
	double own, kids;
	int ppid;
	DIR *dir;

	*p = (struct fleet_proc){ .cpu = -1, .audit = -1 };
	if (pid <= 0 || fleet_stat(pid, &ppid, &own, &kids) < 0)
		return;
	p->cpu = own + kids;
	fleet_pg_add(pid, p);
	if ((dir = opendir("/proc")) == NULL)
		return;
	while ((e = readdir(dir)) != NULL) {
		char *end;
		long c = strtol(e->d_name, &end, 10);

		if (*end != '\0' || c <= 0 || fleet_stat((int)c, &ppid,
		    &own, &kids) < 0 || ppid != pid)
			continue;
		p->cpu += own;
		fleet_pg_add((int)c, p);
	}
	closedir(dir);
}
