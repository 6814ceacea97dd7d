/*
 * strmap: chained hash map (FNV-1a), doubling up to the cap.
 */
#include "common/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct strmap_entry {
	char *key;
	void *value;
	struct strmap_entry *next;
};

struct strmap {
	struct strmap_entry **buckets;
	size_t nbuckets, count, cap;
	void (*free_value)(void *);
};

static uint64_t
strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

struct strmap *
strmap_new(size_t cap, void (*free_value)(void *))
{
	struct strmap *m = xcalloc(1, sizeof(*m));

	m->nbuckets = 64;
	m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
	m->cap = cap;
	m->free_value = free_value;
	return m;
}

static void
strmap_entry_free(struct strmap *m, struct strmap_entry *e)
{
	if (m->free_value != NULL)
		m->free_value(e->value);
	free(e->key);
	free(e);
}

void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_entry *e = m->buckets[i], *n;

		for (; e != NULL; e = n) {
			n = e->next;
			strmap_entry_free(m, e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct strmap_entry **
strmap_slot(const struct strmap *m, const char *key)
{
	struct strmap_entry **p = &m->buckets[strmap_hash(key) %
	    m->nbuckets];

	while (*p != NULL && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry *e = *strmap_slot(m, key);

	return e ? e->value : NULL;
}

static void
strmap_grow(struct strmap *m)
{
	size_t n = m->nbuckets * 2;
	struct strmap_entry **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;		/* stay at the current size */
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_entry *e = m->buckets[i], *next;

		for (; e != NULL; e = next) {
			size_t h = strmap_hash(e->key) % n;

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

int
strmap_put(struct strmap *m, const char *key, void *value)
{
	struct strmap_entry **p = strmap_slot(m, key), *e;

	if (*p != NULL) {
		if (m->free_value != NULL && (*p)->value != value)
			m->free_value((*p)->value);
		(*p)->value = value;
		return 0;
	}
	if (m->count >= m->cap)
		return -1;
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->value = value;
	*p = e;
	m->count++;
	if (m->count > m->nbuckets)
		strmap_grow(m);
	return 0;
}

bool
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_entry **p = strmap_slot(m, key), *e = *p;

	if (e == NULL)
		return false;
	*p = e->next;
	strmap_entry_free(m, e);
	m->count--;
	return true;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

void
strmap_prune(struct strmap *m, bool (*drop)(void *value, void *arg),
    void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_entry **p = &m->buckets[i];

		while (*p != NULL) {
			struct strmap_entry *e = *p;

			if (drop(e->value, arg)) {
				*p = e->next;
				strmap_entry_free(m, e);
				m->count--;
			} else
				p = &e->next;
		}
	}
}
