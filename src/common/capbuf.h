/*
 * capbuf: a growable byte buffer whose maximum is fixed when it is set
 * up, for bodies a peer sends (the HTTP answers vtokenctl and
 * vtoken-agent read).  An append that would pass the maximum fails and
 * leaves the buffer as it was, so a peer cannot make us allocate more
 * than the cap whatever it announces.  Memory comes from plain
 * malloc(3): running out is an error the caller reports, not fatal.
 *
 * capbuf_write has libcurl's CURLOPT_WRITEFUNCTION signature (plain C;
 * this header does not need curl), with the buffer as its user data.
 *
 * The buffer is embedded (on the stack or in a struct): capbuf_init,
 * then capbuf_clear or capbuf_take.  Nothing here logs.
 */
#ifndef VTOKEN_CAPBUF_H
#define VTOKEN_CAPBUF_H

#include <stdbool.h>
#include <stddef.h>

struct capbuf {
	char *data;	/* len bytes and a NUL, or NULL while empty */
	size_t len;
	size_t size;	/* bytes allocated for data */
	size_t max;	/* most bytes it may hold (NUL not counted) */
	bool wipe;	/* cleanse every block before it is freed */
	bool too_big;	/* an append was refused: it passed max */
	bool no_mem;	/* an append was refused: malloc failed */
};

/*
 * An empty buffer that holds at most max bytes.  With wipe, memory the
 * buffer lets go of (on growth and in capbuf_clear) is cleansed first:
 * for bodies that carry nonces or keys.
 */
void capbuf_init(struct capbuf *b, size_t max, bool wipe);
/*
 * Appends n bytes of p (borrowed).  0, or -1 with too_big or no_mem set
 * and nothing appended.
 */
int capbuf_append(struct capbuf *b, const void *p, size_t n);
/*
 * libcurl write callback: appends size * nmemb bytes of ptr to the
 * struct capbuf userdata.  Returns the bytes taken, or 0 (which makes
 * libcurl abort the transfer) when the append failed.
 */
size_t capbuf_write(char *ptr, size_t size, size_t nmemb, void *userdata);
/*
 * Hands the contents over: returns data (NUL-terminated, or NULL when
 * empty) with its length in *len; the caller frees it (cleansing it
 * first if the buffer wipes).  b is empty afterwards, with the same max.
 */
char *capbuf_take(struct capbuf *b, size_t *len);
/* Frees the contents (cleansed when the buffer wipes); b stays usable. */
void capbuf_clear(struct capbuf *b);

#endif
