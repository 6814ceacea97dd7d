/*
 * logrl: at most one log line a second per cause, with the count of the
 * lines left out.  A flood (connections refused over a cap, accept
 * failing out of descriptors) would otherwise write a line per event; a
 * cause keeps a struct logrl and writes through logrl_warnx, which drops
 * the line when one went out less than LOGRL_INTERVAL ago and appends
 * " (N more suppressed)" to the next one it lets through.  Lines dropped
 * at the end of a flood are counted in the next line of the same cause.
 * Not thread-safe (the event loop's).
 */
#ifndef VTOKEN_LOGRL_H
#define VTOKEN_LOGRL_H

#include <stdbool.h>

#include "common/log.h"

#define LOGRL_INTERVAL	1.0	/* seconds between lines of one cause */

struct logrl {
	double last;			/* monotonic time of the last line */
	bool any;			/* a line went out already */
	unsigned long suppressed;	/* lines dropped since */
};

/*
 * True when a line may go out at now (monotonic seconds); then
 * *suppressed is the count dropped since the last one (reset to 0).
 * False: the caller drops its line (counted here).
 */
bool logrl_take(struct logrl *rl, double now, unsigned long *suppressed);
/* log_warnx through rl, " (N more suppressed)" appended when N > 0. */
void logrl_warnx(struct logrl *rl, const char *fmt, ...) LOG_PRINTF(2, 3);

#endif
