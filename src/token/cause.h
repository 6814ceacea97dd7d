/*
 * cause: the `char **cause' error convention of the token library.
 * Internal to src/token; other modules fill their causes themselves.
 */
#ifndef VTOKEN_TOKEN_CAUSE_H
#define VTOKEN_TOKEN_CAUSE_H

/*
 * When cause is not NULL, sets *cause to a newly allocated message (the
 * caller frees it; messages longer than 255 bytes are cut).  Returns -1
 * so that failures can `return cause_set(cause, ...)'.
 */
int cause_set(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
