/*
 * strmap: a string-keyed hash map with a hard entry cap, for bounded
 * tables such as nonces and rate-limit buckets.  Keys are copied; values
 * are caller-owned pointers (freed through the free callback given at
 * creation, if any).  Not thread-safe.
 */
#ifndef VTOKEN_STRMAP_H
#define VTOKEN_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap;

/* cap: the most entries the map accepts; free_value may be NULL. */
struct strmap *strmap_new(size_t cap, void (*free_value)(void *));
void strmap_free(struct strmap *m);
/* The value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces; -1 when the map is full (nothing changed). */
int strmap_put(struct strmap *m, const char *key, void *value);
/* Removes key (freeing its value); true when it was there. */
bool strmap_del(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);
/* Removes every entry for which drop(value, arg) is true. */
void strmap_prune(struct strmap *m, bool (*drop)(void *value, void *arg),
    void *arg);

#endif
