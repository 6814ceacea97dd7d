/*
 * control_key: REST API keys.  Keys are 32 random bytes shown once as
 * "vtk_" + base64url; only their SHA-256 is stored.  A presented key is
 * hashed and compared in constant time against every known hash.
 * On the first start (no keys) an admin key is made, written to
 * DATA_DIR/admin.key with mode 0600, and never logged.
 */
#ifndef VTOKEN_CONTROL_KEY_H
#define VTOKEN_CONTROL_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

struct control_key_entry {
	char name[STORE_NAME_MAX + 1];
	char role[16];
	uint8_t hash[32];
};

struct control_key_set {
	struct control_key_entry *keys;
	size_t n;
};

/* Frees the set's entries (wiped first); the set stays usable. */
void control_key_clear(struct control_key_set *set);
/*
 * The entry whose key is `key` (borrowed, not kept), or NULL.  Runs in
 * time independent of which key matched.
 */
const struct control_key_entry *control_key_match(
    const struct control_key_set *set, const char *key, size_t len);

#endif
