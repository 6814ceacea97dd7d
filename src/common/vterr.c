/* vterr: error reporting helper (see vterr.h). */
#include "common/vterr.h"

#include <stdarg.h>
#include <stdio.h>

int
vt_fail(struct vt_error *err, enum vt_err code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}
