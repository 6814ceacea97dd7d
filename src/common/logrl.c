/*
 * logrl: one log line a second per cause (see logrl.h).
 */
#include "common/logrl.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/monotime.h"

bool
logrl_take(struct logrl *rl, double now, unsigned long *suppressed)
{
	if (rl->any && now - rl->last < LOGRL_INTERVAL) {
		rl->suppressed++;
		return false;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last = now;
	rl->any = true;
	return true;
}

void
logrl_warnx(struct logrl *rl, const char *fmt, ...)
{
	char msg[1024];
	unsigned long n;
	va_list ap;

	if (!logrl_take(rl, monotime_sec(), &n))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0)
		log_warnx("%s (%lu more suppressed)", msg, n);
	else
		log_warnx("%s", msg);
}
