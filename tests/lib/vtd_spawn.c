/*
 * vtd_spawn: start, watch and stop a real vtokend (see vtd_spawn.h).
 */
#include "vtd_spawn.h"
#include "store_fixture.h"
#include "vt_port.h"
#include "vt_tmpdir.h"
#include "vt_wait.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/monotime.h"

#define VTD_MAX_ARGS	64
#define VTD_MAX_LIVE	16
#define VTD_PORT_TRIES	5
#define VTD_MAX_LOG	(64u << 20)
#define VTD_TOOL_TIMEOUT_MS	20000

/*
 * What the exit handler must clean up, copied rather than pointed to: a
 * test may let its struct vtd go out of scope without vtd_cleanup().
 */
struct vtd_live {
	const struct vtd *owner;	/* NULL: orphaned or free */
	pid_t pid;			/* running daemon, or 0 */
	char dir[256];			/* "" when the slot is free */
};

static struct vtd_live vtd_live[VTD_MAX_LIVE];
static bool vtd_atexit_done;

static int vtd_fail(struct vtd *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
vtd_fail(struct vtd *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Waits for pid up to timeout_ms; true (with *status) when it exited. */
static bool
vtd_wait_pid(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = monotime_ms() + timeout_ms;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR)
			return true;	/* not our child any more */
		if (monotime_ms() >= deadline)
			return false;
		vt_sleep_ms(5);
	}
}

static void
vtd_rmdir(const char *dir)
{
	/* VTD_KEEP=1 keeps logs and images for a post-mortem. */
	if (getenv("VTD_KEEP") != NULL) {
		if (dir[0] != '\0')
			fprintf(stderr, "vtd_spawn: kept %s\n", dir);
		return;
	}
	vt_tmpdir_remove(dir);
}

/* Last resort when the test process exits with daemons still around. */
static void
vtd_atexit(void)
{
	int status;

	for (size_t i = 0; i < VTD_MAX_LIVE; i++) {
		struct vtd_live *l = &vtd_live[i];

		if (l->pid > 0) {
			kill(l->pid, SIGKILL);
			(void)vtd_wait_pid(l->pid, 2000, &status);
		}
		vtd_rmdir(l->dir);
		memset(l, 0, sizeof(*l));
	}
}

static struct vtd_live *
vtd_live_find(const struct vtd *d)
{
	for (size_t i = 0; i < VTD_MAX_LIVE; i++)
		if (vtd_live[i].owner == d)
			return &vtd_live[i];
	return NULL;
}

/* Records d's directory; an earlier record for the same address stays. */
static void
vtd_live_add(const struct vtd *d)
{
	struct vtd_live *l = vtd_live_find(d);

	if (l != NULL)
		l->owner = NULL;	/* orphaned: cleaned at exit */
	for (size_t i = 0; i < VTD_MAX_LIVE; i++) {
		l = &vtd_live[i];
		if (l->owner == NULL && l->pid == 0 && l->dir[0] == '\0') {
			l->owner = d;
			snprintf(l->dir, sizeof(l->dir), "%s", d->dir);
			return;
		}
	}
}

static void
vtd_live_pid(const struct vtd *d, pid_t pid)
{
	struct vtd_live *l = vtd_live_find(d);

	if (l != NULL)
		l->pid = pid;
}

int
vtd_init(struct vtd *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->host, sizeof(d->host), "127.0.0.1");
	if (vt_tmpdir_make(d->dir, sizeof(d->dir), "vtokend-test") < 0)
		return vtd_fail(d, "mkdtemp: %s", strerror(errno));
	snprintf(d->log, sizeof(d->log), "%s/vtokend.log", d->dir);
	if (store_fx_is_pg()) {
		char dsn[sizeof(d->store) - 16];

		if (!store_fx_pg_createdb(dsn, sizeof(dsn)))
			return vtd_fail(d, "no database (VT_STORE=postgresql"
			    " needs VT_PG_DIR and its server)");
		snprintf(d->store, sizeof(d->store), "postgresql:%s", dsn);
	}
	if (!vtd_atexit_done) {
		atexit(vtd_atexit);
		vtd_atexit_done = true;
	}
	vtd_live_add(d);
	return 0;
}

char *
vtd_path(const struct vtd *d, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", d->dir, name);
	return buf;
}

int
vtd_audit_key_write(struct vtd *d, const char *hex)
{
	char path[512];
	int fd, ok;

	if (mkdir(vtd_path(d, "var", path, sizeof(path)), 0700) < 0 &&
	    errno != EEXIST)
		return vtd_fail(d, "mkdir %s: %s", path, strerror(errno));
	fd = open(vtd_path(d, "var/audit.key", path, sizeof(path)),
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd >= 0 && write(fd, hex, strlen(hex)) == (ssize_t)strlen(hex) &&
	    write(fd, "\n", 1) == 1;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : vtd_fail(d, "writing %s: %s", path, strerror(errno));
}

int
vtd_audit_key_copy(struct vtd *d, const struct vtd *from)
{
	char path[512], hex[80] = "";
	FILE *f = fopen(vtd_path(from, "var/audit.key", path, sizeof(path)),
	    "r");

	if (f == NULL || fgets(hex, sizeof(hex), f) == NULL) {
		if (f != NULL)
			fclose(f);
		return vtd_fail(d, "reading %s", path);
	}
	fclose(f);
	hex[strcspn(hex, "\n")] = '\0';
	return vtd_audit_key_write(d, hex);
}

int
vtd_write_file(const struct vtd *d, const char *name, const char *text)
{
	char path[512];
	FILE *f;
	int r;

	f = fopen(vtd_path(d, name, path, sizeof(path)), "w");
	if (f == NULL)
		return -1;
	r = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

/* The VTD_WRAPPER command prefix, or NULL when unset or empty. */
static const char *
vtd_wrapper(void)
{
	const char *w = getenv("VTD_WRAPPER");

	return w != NULL && w[strspn(w, " \t")] != '\0' ? w : NULL;
}

static int
vtd_start_timeout_ms(void)
{
	return vtd_wrapper() != NULL ? VTD_WRAPPED_TIMEOUT_MS :
	    VTD_START_TIMEOUT_MS;
}

static int
vtd_stop_timeout_ms(void)
{
	return vtd_wrapper() != NULL ? VTD_WRAPPED_TIMEOUT_MS :
	    VTD_STOP_TIMEOUT_MS;
}

/*
 * Splits VTD_WRAPPER into argv (words point into buf); returns the
 * count, or -1 when there are too many words.
 */
static int
vtd_wrapper_split(char *buf, size_t len, char **argv)
{
	const char *w = vtd_wrapper();
	char *p, *save = NULL;
	int n = 0;

	if (w == NULL)
		return 0;
	snprintf(buf, len, "%s", w);
	for (p = strtok_r(buf, " \t", &save); p != NULL;
	    p = strtok_r(NULL, " \t", &save)) {
		if (n == VTD_MAX_WRAPPER_ARGS)
			return -1;
		argv[n++] = p;
	}
	return n;
}

/* Child side of the fork: only async-signal-safe calls. */
static void
vtd_exec(int logfd, char *const *argv, pid_t parent)
{
	sigset_t all;
	int null = open("/dev/null", O_RDONLY);

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (null >= 0)
		dup2(null, 0);
	dup2(logfd, 1);
	dup2(logfd, 2);
	/* A name without a slash (a VTD_WRAPPER word) is looked up in PATH. */
	execvp(argv[0], argv);
	_exit(127);
}

static int
vtd_fork(struct vtd *d, const char *const *args)
{
	char listen[32], api[32], var[300], wrap[1024];
	char *argv[VTD_MAX_WRAPPER_ARGS + VTD_MAX_ARGS + 8];
	size_t n = 0;
	pid_t parent = getpid(), pid;
	int logfd, nwrap;

	snprintf(listen, sizeof(listen), "%s:%u", d->host, d->port);
	snprintf(api, sizeof(api), "%s:%u", d->host, d->api_port);
	snprintf(var, sizeof(var), "%s/var", d->dir);
	nwrap = vtd_wrapper_split(wrap, sizeof(wrap), argv);
	if (nwrap < 0)
		return vtd_fail(d, "VTD_WRAPPER: more than %d words",
		    VTD_MAX_WRAPPER_ARGS);
	n = (size_t)nwrap;
	argv[n++] = (char *)(uintptr_t)VTOKEND_PATH;
	argv[n++] = (char *)(uintptr_t)"--listen";
	argv[n++] = listen;
	argv[n++] = (char *)(uintptr_t)"--api-listen";
	argv[n++] = api;
	argv[n++] = (char *)(uintptr_t)"--data-dir";
	argv[n++] = var;
	if (d->store[0] != '\0') {
		argv[n++] = (char *)(uintptr_t)"--store";
		argv[n++] = d->store;
	}
	for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
		if (i >= VTD_MAX_ARGS)
			return vtd_fail(d, "too many arguments");
		argv[n++] = (char *)(uintptr_t)args[i];
	}
	argv[n] = NULL;
	logfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return vtd_fail(d, "%s: %s", d->log, strerror(errno));
	/* The child must not write d: it may be in shared memory. */
	pid = fork();
	if (pid == 0)
		vtd_exec(logfd, argv, parent);
	close(logfd);
	if (pid < 0)
		return vtd_fail(d, "fork: %s", strerror(errno));
	d->pid = pid;
	vtd_live_pid(d, d->pid);
	return 0;
}

/*
 * Waits for a new line ending in " ready" (logged after the listener is
 * bound): 0 ready, 1 lost the port race (retry), -1 failed.
 */
static int
vtd_await(struct vtd *d, int before)
{
	int lost = vtd_log_count(d, "cannot listen");
	int64_t deadline = monotime_ms() + vtd_start_timeout_ms();
	int status;
	pid_t r;

	while (monotime_ms() < deadline) {
		if (vtd_log_count(d, " ready\n") > before)
			return 0;
		r = waitpid(d->pid, &status, WNOHANG);
		if (r == d->pid) {
			d->pid = 0;
			vtd_live_pid(d, 0);
			if (vtd_log_count(d, "cannot listen") > lost)
				return 1;
			return vtd_fail(d, "vtokend exited (status 0x%x) "
			    "before it was ready; see %s", status, d->log);
		}
		vt_sleep_ms(5);
	}
	return vtd_fail(d, "vtokend not ready after %d ms; see %s",
	    vtd_start_timeout_ms(), d->log);
}

int
vtd_start(struct vtd *d, const char *const *args)
{
	int before, r;

	if (d->dir[0] == '\0' && vtd_init(d) < 0)
		return -1;
	if (d->pid > 0)
		return vtd_fail(d, "already running");
	for (int i = 0; i < VTD_PORT_TRIES; i++) {
		if (vt_free_port(&d->port) < 0 ||
		    vt_free_port(&d->api_port) < 0)
			return vtd_fail(d, "no free port: %s", strerror(errno));
		if (d->api_port == d->port)
			continue;
		before = vtd_log_count(d, " ready\n");
		if (vtd_fork(d, args) < 0)
			return -1;
		r = vtd_await(d, before);
		if (r <= 0) {
			if (r < 0 && d->pid > 0)
				(void)vtd_stop(d);
			return r;
		}
	}
	return vtd_fail(d, "no usable port after %d tries", VTD_PORT_TRIES);
}

int
vtd_stop(struct vtd *d)
{
	int status = 0;

	bool exited;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	exited = vtd_wait_pid(d->pid, vtd_stop_timeout_ms(), &status);
	if (!exited) {
		kill(d->pid, SIGKILL);
		(void)vtd_wait_pid(d->pid, vtd_stop_timeout_ms(), &status);
	}
	d->pid = 0;
	vtd_live_pid(d, 0);
	if (!exited)
		return 128 + SIGKILL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

void
vtd_cleanup(struct vtd *d)
{
	struct vtd_live *l;

	if (d->pid > 0)
		(void)vtd_stop(d);
	vtd_rmdir(d->dir);
	if ((l = vtd_live_find(d)) != NULL)
		memset(l, 0, sizeof(*l));
	d->dir[0] = '\0';
}

/* --- log --------------------------------------------------------------- */

/* The log as one NUL-terminated string; NULL when unreadable. */
static char *
vtd_log_read(const struct vtd *d)
{
	size_t len;

	return (char *)vtd_read_file(d->log, &len);
}

/*
 * Counts the complete lines containing substr (a trailing "\n" in substr
 * matches the end of a line) and copies the last one into last.
 */
static int
vtd_log_scan(const struct vtd *d, const char *substr, char *last,
    size_t lastlen)
{
	char *text = vtd_log_read(d), *line, *nl;
	int n = 0;

	if (text == NULL)
		return 0;
	for (line = text; *line != '\0'; line = nl + 1) {
		char save;

		nl = strchr(line, '\n');
		if (nl == NULL)
			break;	/* a line still being written */
		save = nl[1];
		nl[1] = '\0';
		if (strstr(line, substr) != NULL) {
			n++;
			if (last != NULL)
				snprintf(last, lastlen, "%.*s",
				    (int)(nl - line), line);
		}
		nl[1] = save;
	}
	free(text);
	return n;
}

int
vtd_log_count(const struct vtd *d, const char *substr)
{
	return vtd_log_scan(d, substr, NULL, 0);
}

bool
vtd_log_wait(const struct vtd *d, const char *substr, int count,
    int timeout_ms)
{
	int64_t deadline = monotime_ms() + timeout_ms;

	for (;;) {
		if (vtd_log_count(d, substr) >= count)
			return true;
		if (monotime_ms() >= deadline)
			return false;
		vt_sleep_ms(10);
	}
}

bool
vtd_log_last(const struct vtd *d, const char *substr, char *buf, size_t len)
{
	if (len > 0)
		buf[0] = '\0';
	return vtd_log_scan(d, substr, buf, len) > 0;
}

/* --- images ------------------------------------------------------------- */

/* splitmix64 finaliser: a cheap, well-mixed function of its input. */
static uint64_t
vtd_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t
vtd_pattern_word(uint32_t seed, uint64_t sector, unsigned word)
{
	return vtd_mix((uint64_t)seed << 48 ^ sector << 6 ^ word ^
	    0x9e3779b97f4a7c15ULL);
}

void
vtd_pattern_fill(uint32_t seed, uint64_t sector, void *buf, size_t n)
{
	uint8_t *p = buf;

	for (size_t s = 0; s < n; s++) {
		for (unsigned w = 0; w < 64; w++) {
			uint64_t x = vtd_pattern_word(seed, sector + s, w);

			for (unsigned b = 0; b < 8; b++)
				*p++ = (uint8_t)(x >> (8 * b));
		}
	}
}

long
vtd_pattern_check(uint32_t seed, uint64_t sector, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint8_t want[512];

	for (size_t s = 0; s < n; s++) {
		vtd_pattern_fill(seed, sector + s, want, 1);
		for (size_t i = 0; i < sizeof(want); i++)
			if (p[s * 512 + i] != want[i])
				return (long)(s * 512 + i);
	}
	return -1;
}

int
vtd_make_pattern_image(const char *path, uint64_t nsectors, uint32_t seed)
{
	uint8_t buf[64 * 512];
	FILE *f = fopen(path, "w");
	int r = 0;

	if (f == NULL)
		return -1;
	for (uint64_t s = 0; s < nsectors && r == 0; s += 64) {
		size_t n = nsectors - s < 64 ? (size_t)(nsectors - s) : 64;

		vtd_pattern_fill(seed, s, buf, n);
		if (fwrite(buf, 512, n, f) != n)
			r = -1;
	}
	if (fclose(f) != 0)
		r = -1;
	return r;
}

int
vtd_run(const char *const *argv)
{
	pid_t parent = getpid(), pid;
	int status = 0, null;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	if (!vtd_wait_pid(pid, VTD_TOOL_TIMEOUT_MS, &status)) {
		kill(pid, SIGKILL);
		(void)vtd_wait_pid(pid, 2000, &status);
		return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static const char *
vtd_mkfs_path(void)
{
	static const char *const cand[] = {
		"/usr/sbin/mkfs.vfat", "/sbin/mkfs.vfat", "/usr/bin/mkfs.vfat",
	};

	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return "mkfs.vfat";
}

int
vtd_make_fat_image(const char *path, unsigned kib, const char *const *files)
{
	char size[16];
	const char *mkfs[] = { vtd_mkfs_path(), "-C", path, size, NULL };
	const char *mcopy[] = { "mcopy", "-i", path, NULL, "::", NULL };

	snprintf(size, sizeof(size), "%u", kib);
	if (vtd_run(mkfs) < 0)
		return -1;
	/* mtools would refuse an image whose geometry it distrusts. */
	setenv("MTOOLS_SKIP_CHECK", "1", 1);
	for (size_t i = 0; files != NULL && files[i] != NULL; i++) {
		mcopy[3] = files[i];
		if (vtd_run(mcopy) < 0)
			return -1;
	}
	return 0;
}

uint8_t *
vtd_read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	size_t got = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > VTD_MAX_LOG ||
	    (b = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, b + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	b[got] = '\0';
	*len = got;
	return b;
}

/* The daemon's database: its file, or the DSN after "postgresql:". */
static const char *
vtd_store_where(const struct vtd *d, char *buf, size_t len)
{
	if (d->store[0] != '\0')
		return d->store + strlen("postgresql:");
	snprintf(buf, len, "%s/var/vtokend.db", d->dir);
	return buf;
}

long
vtd_sql(const struct vtd *d, const char *stmt)
{
	char buf[512];

	return store_fx_sql_on(vtd_store_where(d, buf, sizeof(buf)),
	    d->store[0] != '\0', stmt);
}

void *
vtd_lock_store(const struct vtd *d)
{
	char buf[512];

	return store_fx_lock(vtd_store_where(d, buf, sizeof(buf)),
	    d->store[0] != '\0');
}

void
vtd_unlock_store(const struct vtd *d, void *lock)
{
	store_fx_unlock(lock, d->store[0] != '\0');
}
