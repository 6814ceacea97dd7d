/*
 * log: formats one line per call as "TIME ident[pid]: LEVEL: message" and
 * writes it with a single write(2) so lines from one process never interleave.
 */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
	const char *ident;
	enum log_level level;
} log_cfg = { "vtoken", LOG_LEVEL_INFO };

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *ident, enum log_level level)
{
	log_cfg.ident = ident;
	log_cfg.level = level;
}

void
log_set_level(enum log_level level)
{
	log_cfg.level = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void
log_emit(enum log_level lvl, const char *fmt, va_list ap, int err)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (lvl > log_cfg.level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%d]: %s: ",
	    ts.tv_nsec / 1000000, log_cfg.ident, (int)getpid(),
	    log_names[lvl]);
	if (r > 0 && (size_t)r < sizeof(line) - n)
		n += (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (err && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(err));
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ?
			    (size_t)r : sizeof(line) - n - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* A failed log write has nowhere better to be reported. */
	(void)!write(STDERR_FILENO, line, n);
}

#define LOG_BODY(lvl, err)			\
	do {					\
		va_list ap;			\
		va_start(ap, fmt);		\
		log_emit(lvl, fmt, ap, err);	\
		va_end(ap);			\
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int err = errno;

	LOG_BODY(LOG_LEVEL_WARN, err);
	errno = err;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 0);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
	exit(1);
}
