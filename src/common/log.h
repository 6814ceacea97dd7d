/*
 * log: leveled, timestamped log lines on stderr (journald or a terminal
 * picks them up).  The one process-wide setting is the level, set at start
 * and on reload; it is the documented exception to "no global mutable state"
 * because every module logs and none should need the daemon context to do so.
 *
 * Never pass a secret (key, nonce, signature, API key) to these functions.
 */
#ifndef VTOKEN_LOG_H
#define VTOKEN_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *ident, enum log_level level);
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);   /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
/* For start-up failures and broken invariants only; never for peer input. */
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
