/*
 * cause: the `char **cause' error convention of vtoken's library code.
 *
 * A function that can fail returns -1 (or NULL) and, when its caller
 * passed a cause pointer, sets *cause to an allocated one-line message
 * that the caller logs, prints or puts into an answer, then frees.  The
 * function itself does not log.  A caller that does not want the
 * message passes NULL.
 */
#ifndef VTOKEN_CAUSE_H
#define VTOKEN_CAUSE_H

#define CAUSE_MAX	256	/* bytes of a message, NUL included */

/*
 * When cause is not NULL, sets *cause to a newly allocated message (the
 * caller frees it; longer messages are cut to CAUSE_MAX - 1 bytes, so
 * that text quoted from a peer or a file cannot make it unbounded).
 * Returns -1 so that failures can `return cause_set(cause, ...)'.
 */
int cause_set(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
