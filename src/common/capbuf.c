/* capbuf: a byte buffer with a cap fixed at init (see capbuf.h). */
#include "common/capbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAPBUF_MIN	1024	/* first allocation */

static int capbuf_grow(struct capbuf *b, size_t need);

void
capbuf_init(struct capbuf *b, size_t max, bool wipe)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->wipe = wipe;
}

/*
 * Makes room for need bytes (NUL included), doubling but never past
 * max + 1.  A wiping buffer moves by copy, since realloc(3) would free
 * the old block without cleansing it.
 */
static int
capbuf_grow(struct capbuf *b, size_t need)
{
	size_t size = b->size != 0 ? b->size : CAPBUF_MIN;
	char *nb;

	while (size < need && size <= SIZE_MAX / 2)
		size *= 2;
	/* need <= max + 1: capbuf_append checked it. */
	if (size < need || size > b->max + 1)
		size = b->max + 1;
	if (!b->wipe)
		nb = realloc(b->data, size);
	else if ((nb = malloc(size)) != NULL && b->data != NULL) {
		memcpy(nb, b->data, b->len + 1);
		explicit_bzero(b->data, b->size);
		free(b->data);
	}
	if (nb == NULL) {
		b->no_mem = true;
		return -1;
	}
	b->data = nb;
	b->size = size;
	return 0;
}

int
capbuf_append(struct capbuf *b, const void *p, size_t n)
{
	if (n > b->max - b->len) {
		b->too_big = true;
		return -1;
	}
	if (n == 0)
		return 0;
	if (b->len + n + 1 > b->size && capbuf_grow(b, b->len + n + 1) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

size_t
capbuf_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct capbuf *b = userdata;

	/* libcurl passes size 1; anything that overflows is too big. */
	if (nmemb != 0 && size > SIZE_MAX / nmemb) {
		b->too_big = true;
		return 0;
	}
	if (capbuf_append(b, ptr, size * nmemb) < 0)
		return 0;
	return size * nmemb;
}

char *
capbuf_take(struct capbuf *b, size_t *len)
{
	char *data = b->data;

	*len = b->len;
	b->data = NULL;
	b->len = b->size = 0;
	return data;
}

void
capbuf_clear(struct capbuf *b)
{
	if (b->data != NULL && b->wipe)
		explicit_bzero(b->data, b->size);
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}
