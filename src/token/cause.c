/* cause: allocated error messages for the token library (see cause.h). */
#include "token/cause.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/xmalloc.h"

int
cause_set(char **cause, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (cause == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*cause = xstrdup(buf);
	return -1;
}
