/* cause: allocated error messages (see cause.h). */
#include "common/cause.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/xmalloc.h"

int
cause_set(char **cause, const char *fmt, ...)
{
	char buf[CAUSE_MAX];
	va_list ap;

	if (cause == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*cause = xstrdup(buf);
	return -1;
}
