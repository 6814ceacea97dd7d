/*
 * vtoken-bench: sequential read throughput of a token over USB/IP,
 * against raw loopback TCP measured in the same run.
 *
 * A USB/IP client that behaves like Linux usb-storage (CBW, then the data
 * URB, then the CSW, each waiting for the previous answer) imports a
 * served image from a real vtokend and reads it with READ(10) in 120 KiB
 * (what Linux sends to a high-speed device) and 1 MiB transfers.  The
 * report is Markdown for docs/PERFORMANCE.md.
 *
 * It also times single 4 KiB READ(10)s (CBW to CSW) against the same
 * minimal server answering 4 KiB commands.
 *
 * The measurements are interleaved for -r rounds and the medians
 * reported, so that load from elsewhere on the machine hits all of them.
 * With -P the client runs on CPU 0 and every server (vtokend, the
 * baselines' server threads) on CPU 1.
 *
 * usage: vtoken-bench [-P] [-s IMAGE_MIB] [-p PASSES] [-r ROUNDS]
 */
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "../lib/usbip_client.h"
#include "../lib/vtd_spawn.h"
#include "common/monotime.h"

#define SEED 0x5eed

#define ROUNDS_MAX 15
#define LAT_CMDS 2000	/* 4 KiB commands timed per round */
#define LAT_BLOCKS 8

struct bench_opts {
	unsigned image_mib;
	unsigned passes;
	unsigned rounds;
	bool pin;
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Reads the whole image `passes` times in nblocks-block READ(10)s. */
static double
bench_usbip_read(struct usbip_client *c, uint64_t sectors, unsigned nblocks,
    unsigned passes, long *bad)
{
	uint8_t *buf = malloc((size_t)nblocks * 512);
	double t0, dt;
	uint64_t bytes = 0;

	if (buf == NULL)
		return -1;
	t0 = monotime_sec();
	for (unsigned p = 0; p < passes; p++) {
		for (uint64_t lba = 0; lba < sectors; lba += nblocks) {
			unsigned n = sectors - lba < nblocks ?
			    (unsigned)(sectors - lba) : nblocks;

			if (usbip_client_read10(c, (uint32_t)lba, (uint16_t)n,
			    buf) != 0) {
				fprintf(stderr, "READ(10) at %llu: %s\n",
				    (unsigned long long)lba, c->err);
				free(buf);
				return -1;
			}
			/* Spot-check content: first and last sector. */
			if (vtd_pattern_check(SEED, lba, buf, 1) >= 0 ||
			    vtd_pattern_check(SEED, lba + n - 1,
			    buf + (size_t)(n - 1) * 512, 1) >= 0)
				(*bad)++;
			bytes += (uint64_t)n * 512;
		}
	}
	dt = monotime_sec() - t0;
	free(buf);
	return (double)bytes / (1 << 20) / dt;
}

/* Median microseconds of LAT_CMDS 4 KiB READ(10)s, CBW to CSW. */
static double
bench_usbip_lat(struct usbip_client *c, uint64_t sectors, long *bad)
{
	static double v[LAT_CMDS];
	uint8_t buf[LAT_BLOCKS * 512];

	for (unsigned i = 0; i < LAT_CMDS; i++) {
		uint64_t lba = (uint64_t)i * LAT_BLOCKS % (sectors -
		    LAT_BLOCKS);
		double t0 = monotime_sec();

		if (usbip_client_read10(c, (uint32_t)lba, LAT_BLOCKS,
		    buf) != 0) {
			fprintf(stderr, "READ(10) at %llu: %s\n",
			    (unsigned long long)lba, c->err);
			return -1;
		}
		v[i] = (monotime_sec() - t0) * 1e6;
		if (vtd_pattern_check(SEED, lba, buf, LAT_BLOCKS) >= 0)
			(*bad)++;
	}
	return median(v, LAT_CMDS);
}

/* Moves a process (0: this thread) to one CPU; a failure is reported. */
static void
bench_pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(pid, sizeof(set), &set) < 0)
		perror("sched_setaffinity");
}

static void
bench_machine(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256], model[256] = "?";
	struct utsname u;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');

			snprintf(model, sizeof(model), "%s", p ? p + 2 : line);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f != NULL)
		fclose(f);
	uname(&u);
	printf("Machine: %s, %ld CPUs, Linux %s\n\n", model,
	    sysconf(_SC_NPROCESSORS_ONLN), u.release);
}

static int
bench_parse(int argc, char **argv, struct bench_opts *o)
{
	int ch;

	o->image_mib = 256;
	o->passes = 2;
	o->rounds = 5;
	o->pin = false;
	while ((ch = getopt(argc, argv, "Ps:p:r:")) != -1) {
		switch (ch) {
		case 'P':
			o->pin = true;
			break;
		case 's':
			o->image_mib = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			o->passes = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o->rounds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			return -1;
		}
	}
	if (o->image_mib < 1 || o->image_mib > 4096 || o->passes < 1 ||
	    o->passes > 100 || o->rounds < 1 || o->rounds > ROUNDS_MAX)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	static const unsigned sizes[] = { 240, 2048 };	/* 120 KiB, 1 MiB */
	struct bench_opts o;
	struct vtd d;
	struct usbip_client c;
	struct usbip_client_opts co = { .timeout_ms = 30000 };
	char img[512], spec[560];
	const char *args[] = { "--serve-image", spec, NULL };
	uint64_t sectors;
	double raw_v[ROUNDS_MAX], v[2][ROUNDS_MAX], raw, r[2];
	double pat_v[2][ROUNDS_MAX], pat[2], rtt;
	double lat_v[ROUNDS_MAX], lat_pat_v[ROUNDS_MAX], lat, lat_pat;
	long bad = 0;

	if (bench_parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: vtoken-bench [-P] [-s IMAGE_MIB] "
		    "[-p PASSES] [-r ROUNDS]\n");
		return 2;
	}
	sectors = (uint64_t)o.image_mib << 11;
	memset(&d, 0, sizeof(d));
	if (vtd_init(&d) < 0 || vtd_make_pattern_image(vtd_path(&d,
	    "bench.img", img, sizeof(img)), sectors, SEED) < 0) {
		fprintf(stderr, "setup: %s\n", d.err);
		return 1;
	}
	snprintf(spec, sizeof(spec), "%s", img);
	if (vtd_start(&d, args) < 0) {
		fprintf(stderr, "vtokend: %s\n", d.err);
		return 1;
	}
	if (o.pin) {
		bench_pin(0, 0);
		bench_pin(d.pid, 1);
		bench_pin_servers = 1;
	}
	usbip_client_init(&c);
	if (usbip_client_attach(&c, d.host, d.port, &co, "1-1") < 0) {
		fprintf(stderr, "attach: %s\n", c.err);
		vtd_stop(&d);
		return 1;
	}
	for (unsigned k = 0; k < o.rounds; k++) {
		raw_v[k] = bench_tcp_mibps((uint64_t)o.image_mib * o.passes
		    << 20, 1u << 20);
		for (int i = 0; i < 2; i++) {
			v[i][k] = bench_usbip_read(&c, sectors, sizes[i],
			    o.passes, &bad);
			pat_v[i][k] = bench_tcp_turns_mibps((uint64_t)
			    o.image_mib * o.passes << 20, sizes[i] * 512u);
		}
		lat_v[k] = bench_usbip_lat(&c, sectors, &bad);
		lat_pat_v[k] = bench_tcp_turns_lat_us(LAT_CMDS,
		    LAT_BLOCKS * 512u);
	}
	rtt = bench_tcp_rtt_us(10000);
	raw = median(raw_v, o.rounds);
	lat = median(lat_v, o.rounds);
	lat_pat = median(lat_pat_v, o.rounds);
	for (int i = 0; i < 2; i++) {
		r[i] = median(v[i], o.rounds);
		pat[i] = median(pat_v[i], o.rounds);
	}
	usbip_client_close(&c);
	vtd_stop(&d);
	vtd_cleanup(&d);

	bench_machine();
	printf("Image %u MiB, read %u times per measurement; medians of %u "
	    "interleaved rounds%s.\n\n", o.image_mib, o.passes, o.rounds,
	    o.pin ? "; client on CPU 0, servers on CPU 1" : "");
	printf("Loopback round trip (48 bytes, median): %.1f us.\n\n", rtt);
	printf("| transfer | MiB/s (median) | ratio to raw TCP | ratio to "
	    "the 3-turn ceiling |\n|---|---:|---:|---:|\n");
	printf("| raw loopback TCP (1 MiB writes) | %.0f | 1.00 | |\n", raw);
	for (int i = 0; i < 2; i++)
		printf("| 3-turn ceiling, %s | %.0f | %.2f | 1.00 |\n",
		    i ? "1 MiB" : "120 KiB", pat[i], pat[i] / raw);
	for (int i = 0; i < 2; i++)
		printf("| USB/IP READ(10) %s | %.0f | %.2f | %.2f |\n",
		    i ? "1 MiB" : "120 KiB", r[i], r[i] / raw, r[i] / pat[i]);
	printf("\n| 4 KiB READ(10), CBW to CSW | median us | ratio to the "
	    "3-turn ceiling |\n|---|---:|---:|\n");
	printf("| 3-turn ceiling, 4 KiB | %.1f | 1.00 |\n", lat_pat);
	printf("| USB/IP READ(10) 4 KiB | %.1f | %.2f |\n", lat,
	    lat / lat_pat);
	if (bad != 0 || raw <= 0 || r[0] <= 0 || r[1] <= 0 || pat[0] <= 0 ||
	    pat[1] <= 0 || rtt <= 0 || lat <= 0 || lat_pat <= 0) {
		fprintf(stderr, "vtoken-bench: %ld bad chunks or failed run\n",
		    bad);
		return 1;
	}
	return 0;
}
