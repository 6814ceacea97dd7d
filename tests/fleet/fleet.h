/*
 * fleet: what the files of vtoken-fleet share.  vtoken-fleet starts a
 * real vtokend with a TLS API, gives it N tokens, N VMs (one loopback
 * address each) and N assignments, then plays N VMs: each imports its
 * token over USB/IP and keeps the session (a few KiB read now and then),
 * and runs the agent's challenge-response over HTTPS every interval
 * (libcurl, one kept-alive handle per VM, TLS sessions shared).
 * It reports the daemon's CPU, memory, descriptors, disk writes and audit
 * records over a steady-state window, or the latencies of a boot storm,
 * against baselines measured in the same run.  With --nodes 2 (and a
 * PostgreSQL store) two daemons share the database and VM v uses node
 * v % 2 for both; with --pg-pid the database server is measured too.
 *
 * Two processes play the VMs, because each end of a VM holds a descriptor
 * and a container may not let even root raise RLIMIT_NOFILE: the USB/IP
 * sessions live in a child forked for them (fleet_usbip.c), the agents
 * in the main process.  They share the context and the VM array (one
 * MAP_SHARED mapping each, made before the fork): the child sets a VM
 * ready when its token is imported, and publishes its import latencies,
 * reads and errors there.
 *
 * Files: vtoken_fleet.c (main, phases, report), fleet_setup.c (limits,
 * daemon, REST setup, keys, /proc and baselines), fleet_agent.c (the
 * agents: libcurl multi handles on one epoll set), fleet_operator.c
 * (an operator's REST reads meanwhile), fleet_usbip.c
 * (the USB/IP process: import and reader threads), fleet_proc.c (/proc
 * readers, the PostgreSQL server's cost).
 * The histogram, error counter and clock are tests/load/load_stats.c.
 */
#ifndef VTOKEN_TEST_FLEET_H
#define VTOKEN_TEST_FLEET_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/usbip_client.h"
#include "../load/load.h"

#define FLEET_MAX_VMS		20000
#define FLEET_MAX_NODES		2
#define FLEET_ADDR_BASE		(127u << 24 | 3u << 16 | 1u)	/* 127.3.0.1 */
#define FLEET_NS		1000000000ull

struct fleet_opts {
	unsigned n;		/* -n: VMs = tokens = sessions */
	unsigned window;	/* -w: steady-state window, s */
	double interval;	/* agent interval, s */
	bool storm;		/* --storm */
	unsigned storm_s;	/* --storm-spread */
	unsigned threads;	/* import threads */
	unsigned api_timeout;	/* api.timeout, s (0: interval + 15) */
	const char *store;	/* --store for vtokend, or NULL */
	unsigned nodes;		/* --nodes: daemons on the store (1 or 2) */
	double oper_rate;	/* --operator-rate: REST reads/s, 0 none */
	int pg_pid;		/* --pg-pid: the postmaster, or 0 */
};

enum fleet_agent_state { AG_IDLE, AG_CHALLENGE, AG_VERIFY };

struct fleet_vm {
	char vm_id[32];
	char tok[32];		/* token id, 16 hex digits */
	char busid[32];
	char addr[16];		/* source address */
	unsigned node;		/* index of the daemon it uses */
	void *key;		/* EVP_PKEY *, owned */
	struct usbip_client uc;	/* the USB/IP process's only */
	atomic_bool ready;	/* imported: agent and reader may start */
	uint64_t t_sched;	/* storm: when it was to start */
	/* agent (main thread only) */
	CURL *h;
	enum fleet_agent_state st;
	uint64_t due, t0;
	bool first_done;
	char body[512];
	char *rbuf;
	size_t rlen, rcap;
};

struct fleet_ctx {
	struct fleet_opts o;
	struct vtd d[FLEET_MAX_NODES];
	char cert[512];
	char base[FLEET_MAX_NODES][64];	/* https://127.0.0.1:PORT */
	struct fleet_vm *vm;
	/* shared with the USB/IP process */
	pid_t usbip_pid;
	atomic_bool stop_usbip;
	atomic_uint imports_tried;
	atomic_ulong usbip_errors;	/* its load_errors() */
	struct hist h_import;
	pthread_mutex_t mtx;		/* h_import; process-shared */
	atomic_ulong reads, imports;
	/* the main process's results */
	struct hist h_verify, h_first, h_boot;
	atomic_ulong auths;
	unsigned long conns;	/* new HTTPS connections (agents) */
	atomic_bool in_window;
	/* the operator's thread (fleet_operator.c) */
	pthread_t oper_th;
	bool oper_on;
	atomic_bool stop_oper;
	struct hist h_oper;	/* its requests in the window */
	unsigned long oper_reqs;
};

/* Errors of both processes. */
unsigned long fleet_errors(struct fleet_ctx *x);

/* fleet_setup.c */
int fleet_rlimit(unsigned n, unsigned nodes);
/* Starts o.nodes daemons (the second with the first's audit key). */
int fleet_start_daemons(struct fleet_ctx *x);
int fleet_populate(struct fleet_ctx *x);
/*
 * Authenticated (admin key: the cluster's, made by node 0) HTTPS call to
 * node k; 0 when a 2xx arrived.
 */
int fleet_api(struct fleet_ctx *x, unsigned k, const char *method,
    const char *path, const char *body, struct vt_http_resp *r);

/* What /proc (and /metrics) say about one daemon, or the database. */
struct fleet_proc {
	double cpu;		/* utime + stime, s */
	long long wbytes;	/* /proc/PID/io write_bytes */
	long rss_kib;
	int fds;
	long long audit;	/* vtoken_audit_records_total */
};
struct fleet_sample {
	uint64_t t;		/* load_now_ns() */
	struct fleet_proc node[FLEET_MAX_NODES];
	struct fleet_proc pg;	/* the postmaster and its children */
	unsigned long auths, errors, conns;
};
void fleet_sample(struct fleet_ctx *x, struct fleet_sample *p);

struct fleet_tls_base {
	struct hist lat;
	double cpu_per;		/* server CPU per request, s */
};
/* 4 KiB write + fsync in the data dir, n times. */
void fleet_fsync_baseline(struct fleet_ctx *x, unsigned n, struct hist *h);
/* GET /healthz, n times: full handshake, resumed, kept-alive. */
void fleet_tls_baseline(struct fleet_ctx *x, unsigned n,
    struct fleet_tls_base b[3]);

/* fleet_agent.c */
struct fleet_agents;
struct fleet_agents *fleet_agents_new(struct fleet_ctx *x);
/*
 * Runs the agents until `until` (load_now_ns), or in storm mode until
 * every VM has had its first verify.  A VM starts when it is ready: at
 * its due time (steady state) or at once (storm).
 */
void fleet_agents_run(struct fleet_agents *a, uint64_t until, bool storm);
/* Sets every ready VM's first due time in [start, start + interval). */
void fleet_agents_spread(struct fleet_agents *a, uint64_t start);
void fleet_agents_free(struct fleet_agents *a);

/* fleet_proc.c */
/*
 * Fields 4 (ppid) and 14-17 of /proc/PID/stat: *own = utime + stime,
 * *kids = cutime + cstime, in seconds.  0 or -1.
 */
int fleet_stat(int pid, int *ppid, double *own, double *kids);
/* utime + stime of pid, s (-1 when unreadable). */
double fleet_cpu(int pid);
/* write_bytes of /proc/PID/io, or -1. */
long long fleet_wbytes(int pid);
/* The postmaster's CPU and writes with its live children's, by /proc. */
void fleet_pg_sample(int pid, struct fleet_proc *p);

/* fleet_operator.c */
/* Starts the operator's REST reads (none at rate 0); 0 or -1. */
int fleet_operator_start(struct fleet_ctx *x);
void fleet_operator_stop(struct fleet_ctx *x);

/* fleet_usbip.c */
/*
 * Forks the USB/IP process.  It imports every VM's token with o.threads
 * threads (VM i at t0 + i * spread / N in a storm, else at once), marks
 * each VM ready when it is attached, and reads 4 KiB through every
 * session once per interval until fleet_usbip_stop.  0 or -1.
 */
int fleet_usbip_start(struct fleet_ctx *x, uint64_t t0);
/* Waits until every import was tried or `until`; 0 when all succeeded. */
int fleet_usbip_imports(struct fleet_ctx *x, uint64_t until);
/* Stops the process (it closes its sessions) and reaps it. */
void fleet_usbip_stop(struct fleet_ctx *x);

#endif
