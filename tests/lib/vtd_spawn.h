/*
 * vtd_spawn: runs the real vtokend binary (VTOKEND_PATH) for a test.
 *
 * Each daemon gets a fresh mkdtemp directory for its images, config, log
 * (its stderr) and state (--data-dir DIR/var), and free loopback ports
 * for USB/IP and the REST API (vt_free_port(), passed with --listen and
 * --api-listen; retried when the daemon loses the race).  Every
 * wait is bounded.  A daemon still running when the test process exits
 * (a failed assertion calls exit) is killed and its directory removed;
 * if the test process is killed outright, PR_SET_PDEATHSIG kills it.
 * With VTD_KEEP set in the environment, directories are kept (and named
 * on stderr) for a post-mortem.
 *
 * With VT_STORE=postgresql in the environment (the *.pg variants of the
 * tests), each vtd_init makes a fresh database on the suite's PostgreSQL
 * server (store_fixture.h) and the daemon runs on it (--store), so that
 * the same test proves both backends.
 *
 * VTD_WRAPPER in the environment prefixes the daemon's command line with
 * its whitespace-separated words (no quoting), the first looked up in
 * PATH: VTD_WRAPPER="valgrind --error-exitcode=99" or
 * "prlimit --nofile=32:32".  The wrapper must exec the daemon in the same
 * process (valgrind, prlimit and "ip netns exec" do), since the pid is
 * what vtd_stop signals.  While it is set, vtd_start and vtd_stop wait up
 * to VTD_WRAPPED_TIMEOUT_MS (valgrind starts and exits slowly).  A test
 * may setenv() it around vtd_start, or it can be set for a whole run:
 *   VTD_WRAPPER="valgrind --error-exitcode=99" ctest -R integration
 *
 * Also here: deterministic image content for data checks (a pattern
 * image, where every byte is a function of seed, sector and offset) and a
 * FAT image built with mkfs.vfat and mcopy.
 */
#ifndef VTOKEN_TEST_VTD_SPAWN_H
#define VTOKEN_TEST_VTD_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VTD_START_TIMEOUT_MS	10000
#define VTD_STOP_TIMEOUT_MS	10000
#define VTD_WRAPPED_TIMEOUT_MS	90000	/* start/stop under VTD_WRAPPER */
#define VTD_MAX_WRAPPER_ARGS	32

struct vtd {
	pid_t pid;		/* 0 when not running */
	uint16_t port;		/* USB/IP port on 127.0.0.1 */
	uint16_t api_port;	/* REST API port on 127.0.0.1 */
	char host[16];		/* "127.0.0.1" */
	char dir[256];		/* private directory or "" */
	char log[320];		/* the daemon's stderr */
	char store[600];	/* "postgresql:DSN" or "" (SQLite) */
	char err[256];		/* why the last call failed */
};

/* Creates the private directory.  0 or -1 (reason in d->err). */
int vtd_init(struct vtd *d);
/* Writes "<dir>/<name>" into buf; returns buf. */
char *vtd_path(const struct vtd *d, const char *name, char *buf, size_t len);
/*
 * The audit key (docs/SECURITY.md): every node of a cluster needs the
 * same one.  vtd_audit_key_write puts hex (64 digits) into d's
 * var/audit.key (mode 0600, making var/ if need be) before d starts;
 * vtd_audit_key_copy gives d the key of `from` (started already).  0 or
 * -1 with d->err set.
 */
int vtd_audit_key_write(struct vtd *d, const char *hex);
int vtd_audit_key_copy(struct vtd *d, const struct vtd *from);
/* Creates "<dir>/<name>" with text as its content. */
int vtd_write_file(const struct vtd *d, const char *name, const char *text);
/*
 * Starts vtokend with args (NULL-terminated; --listen, --api-listen and
 * --data-dir are added first, so args may override them) and waits until
 * it is listening.  0, or -1 with the reason in d->err.
 */
int vtd_start(struct vtd *d, const char *const *args);
/*
 * SIGTERM, then waits; SIGKILL after VTD_STOP_TIMEOUT_MS (with a wrapper,
 * VTD_WRAPPED_TIMEOUT_MS).  Returns the exit status, 128 + signal for a
 * killed daemon, -1 if none was running.
 */
int vtd_stop(struct vtd *d);
/* Stops the daemon if needed and removes the directory. */
void vtd_cleanup(struct vtd *d);

/*
 * The daemon's database behind its back: run a statement (returns rows
 * changed), or take another process's lock on it (vtd_unlock_store).
 */
long vtd_sql(const struct vtd *d, const char *stmt);
void *vtd_lock_store(const struct vtd *d);
void vtd_unlock_store(const struct vtd *d, void *lock);

/* Number of log lines containing substr. */
int vtd_log_count(const struct vtd *d, const char *substr);
/* Waits until at least count lines contain substr; false on timeout. */
bool vtd_log_wait(const struct vtd *d, const char *substr, int count,
    int timeout_ms);
/* Copies the last log line containing substr into buf; false if none. */
bool vtd_log_last(const struct vtd *d, const char *substr, char *buf,
    size_t len);

/*
 * The pattern: every byte a function of seed, sector and offset.  Fills
 * n sectors starting at sector.
 */
void vtd_pattern_fill(uint32_t seed, uint64_t sector, void *buf, size_t n);
/* Index of the first byte that differs from the pattern, or -1. */
long vtd_pattern_check(uint32_t seed, uint64_t sector, const void *buf,
    size_t n);
/* Writes a pattern image of nsectors 512-byte sectors to path. */
int vtd_make_pattern_image(const char *path, uint64_t nsectors,
    uint32_t seed);
/*
 * Builds a FAT image of kib KiB at path (which must not exist) with
 * mkfs.vfat -C, then copies each file of files (NULL-terminated, may be
 * NULL) into its root with mcopy.  0 or -1.
 */
int vtd_make_fat_image(const char *path, unsigned kib,
    const char *const *files);
/* Reads the whole file at path into a malloc'd buffer; NULL on error. */
uint8_t *vtd_read_file(const char *path, size_t *len);

/*
 * Runs argv (argv[0] a path or a name in PATH) with stdio on /dev/null;
 * 0 when it exits 0 within 20 s (it is killed after that).
 */
int vtd_run(const char *const *argv);

#endif
