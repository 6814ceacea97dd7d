/*
 * apikey: REST API keys.  Keys are 32 random bytes shown once as
 * "vtk_" + base64url; only their SHA-256 is stored.  A presented key is
 * hashed and compared in constant time against every known hash.
 * On the first start (no keys) an admin key is made, written to
 * DATA_DIR/admin.key with mode 0600, and never logged.
 */
#ifndef VTOKEN_APIKEY_H
#define VTOKEN_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"

struct apikey_entry {
	char name[STORE_NAME_MAX + 1];
	char role[16];
	uint8_t hash[32];
};

struct apikey_set {
	struct apikey_entry *keys;
	size_t n;
};

/*
 * Loads the key hashes; creates the admin key file when there are none.
 * 0, or -1 after logging.
 */
int apikey_load(struct apikey_set *set, struct store *st,
    const char *data_dir);
void apikey_clear(struct apikey_set *set);
/*
 * Checks a presented key (borrowed, not kept).  Returns the matching entry
 * or NULL.  Runs in time independent of which key matched.
 */
const struct apikey_entry *apikey_check(const struct apikey_set *set,
    const char *key, size_t len);

#endif
