/*
 * load: what the files of vtoken-load share.  vtoken-load starts a real
 * vtokend, gives it many tokens and VMs through the REST API, then keeps
 * one USB/IP session per token busy with READ(10)s while other threads
 * churn DEVLIST connections and REST requests.  It checks every reply,
 * measures latency, and watches the daemon's RSS and descriptors.
 *
 * Files: vtoken_load.c (main, phases, report), load_setup.c (limits,
 * config, REST setup), load_engine.c (the epoll session engine),
 * load_side.c (DEVLIST and REST threads), load_stats.c (histogram,
 * errors, /proc readers).
 */
#ifndef VTOKEN_TEST_LOAD_H
#define VTOKEN_TEST_LOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/vt_http.h"
#include "../lib/vtd_spawn.h"

#define LOAD_MAX_SESSIONS	16384
#define LOAD_MAX_THREADS	32
#define LOAD_MAX_PER_VM		16
#define LOAD_SECTOR		512u
#define LOAD_TOKEN_SIZE		(1u << 20)	/* every token is 1 MiB */
#define LOAD_TOKEN_SECTORS	(LOAD_TOKEN_SIZE / LOAD_SECTOR)
#define LOAD_MAX_XFER		(64u * LOAD_SECTOR)	/* largest READ */

/* --- histogram (load_stats.c) ------------------------------------------ */

#define HIST_PER_OCTAVE	16	/* buckets per power of two: ~4.4% wide */
#define HIST_BUCKETS	(64 * HIST_PER_OCTAVE)

/* Latencies in nanoseconds, log-spaced buckets; max kept exactly. */
struct hist {
	uint64_t n[HIST_BUCKETS];
	uint64_t count;
	uint64_t max;
};

void hist_add(struct hist *h, uint64_t ns);
/* Adds every sample of src to dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* The q-quantile (0..1) in nanoseconds: upper edge of its bucket. */
uint64_t hist_quantile(const struct hist *h, double q);

/* --- errors and the clock (load_stats.c) ------------------------------- */

/* Counts an error and prints the first few; thread-safe. */
void load_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned long load_errors(void);
/* Nanoseconds on the monotonic clock of common/monotime.h. */
uint64_t load_now_ns(void);

/* VmRSS of pid in KiB, or -1. */
long proc_rss_kib(int pid);
/* Open descriptors of pid, or -1. */
int proc_fd_count(int pid);
/* "MODEL, N CPUs, Linux RELEASE" into buf. */
void proc_machine(char *buf, size_t len);

/* --- the run ----------------------------------------------------------- */

struct load_opts {
	unsigned seconds;	/* -t: load phase */
	unsigned sessions;	/* -n: tokens = sessions */
	unsigned per_vm;	/* -g: tokens (and addresses) per VM, 2^k */
	unsigned threads;	/* -w: session engine threads */
	unsigned verify;	/* -k: tokens whose whole image is checked */
};

struct load_vm {
	char id[32];
	char name[32];
	uint32_t base;		/* first source address, host order */
	unsigned first;		/* index of its first token */
	unsigned ntok;
};

struct load_token {
	char id[32];
	char name[32];
	char busid[32];
	unsigned vm;		/* index into ctx->vm */
	uint32_t addr;		/* source address of its session */
	uint8_t *image;		/* whole image (verified tokens) or NULL */
};

/* Counters of one kind of REST request. */
struct load_rest_kind {
	const char *name;
	atomic_ulong n;
	struct hist lat;	/* written by the REST thread only */
};

enum load_rest_op {
	REST_TOKENS, REST_SESSIONS, REST_METRICS, REST_CREATE, REST_ASSIGN,
	REST_REVOKE, REST_DELETE, REST_NKINDS
};

struct load_ctx {
	struct load_opts o;
	struct vtd d;
	char key[160];		/* admin API key */
	struct load_token *tok;
	struct load_vm *vm;
	unsigned nvm;
	char extra_vm[32];	/* VM of the REST cycle's token */
	uint32_t extra_addr;
	atomic_bool stop_side;	/* DEVLIST and REST threads stop */
	atomic_bool stop;	/* sessions finish their command and idle */

	/* results */
	struct hist urb_lat, cmd_lat;
	uint64_t cmds, urbs, bytes;
	uint64_t min_cmds, max_cmds;	/* per session */
	atomic_ulong devlists;
	atomic_ulong extra_imports;
	struct load_rest_kind rest[REST_NKINDS];
};

/* load_setup.c */
/* Raises RLIMIT_NOFILE; may lower o->sessions (with a message). */
int load_rlimit(struct load_opts *o, char *note, size_t notelen);
/* vtd_init, config file, vtd_start. */
int load_start_daemon(struct load_ctx *x);
/* Tokens, VMs, assignments, reference images. */
int load_populate(struct load_ctx *x);
/* An authenticated API call (thread-safe: key cached in x). */
int load_api(struct load_ctx *x, const char *method, const char *path,
    const char *body, struct vt_http_resp *r);
/* "a.b.c.d" of a host-order address. */
void load_addr_str(uint32_t a, char buf[16]);

/* load_engine.c */
struct load_engine;
/*
 * Engine thread i of n: attaches its share of the sessions (blocking),
 * waits on the barrier, then drives them until x->stop.  Results are
 * merged into x under a lock.
 */
struct load_engine *load_engine_new(struct load_ctx *x, unsigned i,
    unsigned n, pthread_barrier_t *go);
void *load_engine_run(void *arg);
/* Adds the engine's counters and histograms to x (after the join). */
void load_engine_merge(const struct load_engine *e, struct load_ctx *x);
/* Closes every session socket of the engine. */
void load_engine_close(struct load_engine *e);
void load_engine_free(struct load_engine *e);

/* load_side.c */
void *load_devlist_run(void *arg);
void *load_rest_run(void *arg);

#endif
