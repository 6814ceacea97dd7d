/*
 * xmalloc: allocation for small bookkeeping that the program cannot run
 * without; these abort on out-of-memory.  Sizes a peer can influence must
 * use plain malloc/calloc after a cap check and handle NULL.
 */
#ifndef VTOKEN_XMALLOC_H
#define VTOKEN_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
/* reallocarray(3) that aborts on out-of-memory or overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

#endif
