/*
 * control_key: API key storage and checking (see control_key.h).
 */
#include "server/control/control_key.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_audit.h"
#include "server/control/control_impl.h"

#define CONTROL_KEY_PREFIX	"vtk_"
#define CONTROL_KEY_RAW	32

int
control_key_hash(const char *key, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	return EVP_Digest(key, len, out, &n, EVP_sha256(), NULL) && n == 32 ?
	    0 : -1;
}

unsigned
control_role_perms(const char *role)
{
	static const struct {
		const char *role;
		unsigned perms;
	} roles[] = {
		{ "admin", ~0u },
		{ "operator", PERM_READ | PERM_METRICS | PERM_AUDIT |
		    PERM_ALARMS | PERM_ALARM_ACK | PERM_TOKENS | PERM_VMS |
		    PERM_ASSIGN | PERM_SELF | PERM_POLICY },
		{ "auditor", PERM_READ | PERM_METRICS | PERM_AUDIT |
		    PERM_ALARMS | PERM_SELF },
		{ "orchestrator", PERM_READ | PERM_VMS | PERM_ASSIGN |
		    PERM_SELF },
	};

	for (size_t i = 0; role != NULL && i < sizeof(roles) /
	    sizeof(roles[0]); i++)
		if (strcmp(role, roles[i].role) == 0)
			return roles[i].perms;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" to time_t; 0 when it is not one. */
static time_t
control_key_time(const char *s)
{
	time_t t;

	return encode_time_parse(s, &t) < 0 ? 0 : t;
}

int
control_key_mac(const uint8_t audit_key[32], const struct store_apikey *row,
    char out[65])
{
	uint8_t sub[32], md[32];
	unsigned int m = 0;
	char hash[65], *text;
	bool ok;

	if (control_audit_subkey(audit_key, "vtoken-apikey-v1", sub) < 0)
		return -1;
	encode_hex(row->key_hash, sizeof(row->key_hash), hash, false);
	text = xasprintf("%s\n%s\n%s\n%s\n%s\n%s", row->id, row->name,
	    row->role != NULL ? row->role : "", hash, row->created,
	    row->expires);
	ok = HMAC(EVP_sha256(), sub, sizeof(sub), (const uint8_t *)text,
	    strlen(text), md, &m) != NULL && m == 32;
	OPENSSL_cleanse(sub, sizeof(sub));
	free(text);
	if (!ok)
		return -1;
	encode_hex(md, sizeof(md), out, false);
	return 0;
}

/* True when row's MAC verifies under set->mac_key (or there is none). */
static bool
control_key_row_ok(struct control_key_set *set, const struct store_apikey *row)
{
	char want[65];

	if (set->mac_key == NULL)
		return true;
	if (control_key_mac(set->mac_key, row, want) == 0 &&
	    CRYPTO_memcmp(want, row->mac, sizeof(want)) == 0)
		return true;
	set->rejected++;
	log_warnx("API key %s (\"%.64s\"): its row is not sealed with the "
	    "audit key (written into the database by hand?): refused",
	    row->id, row->name);
	return false;
}

int
control_key_set_add(void *arg, const struct store_apikey *row)
{
	struct control_key_set *set = arg;
	struct control_key_entry *e;

	if (!control_key_row_ok(set, row))
		return 0;

	e = xreallocarray(set->keys, set->n + 1, sizeof(*e));
	set->keys = e;
	e = &set->keys[set->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", row->id);
	snprintf(e->name, sizeof(e->name), "%s", row->name);
	snprintf(e->role, sizeof(e->role), "%s", row->role);
	/* An unknown role (a newer version wrote it) may do nothing. */
	e->perms = control_role_perms(row->role);
	memcpy(e->hash, row->key_hash, sizeof(e->hash));
	snprintf(e->created, sizeof(e->created), "%s", row->created);
	snprintf(e->expires, sizeof(e->expires), "%s", row->expires);
	/* An expiry that cannot be read is already over: fail closed. */
	if (e->expires[0] != '\0' &&
	    (e->expires_at = control_key_time(e->expires)) == 0)
		e->expires_at = 1;
	return 0;
}

bool
control_key_expired(const struct control_key_entry *k, time_t now)
{
	return k->expires_at != 0 && now >= k->expires_at;
}

const struct control_key_entry *
control_key_find(const struct control_key_set *set, const char *id_or_name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->keys[i].id, id_or_name) == 0 ||
		    strcmp(set->keys[i].name, id_or_name) == 0)
			return &set->keys[i];
	return NULL;
}

/* "vtk_" + base64url without padding of 32 random bytes. */
int
control_key_generate(char out[CONTROL_KEY_TEXT_MAX])
{
	uint8_t raw[CONTROL_KEY_RAW];
	char *b64;
	size_t j = 0;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	b64 = encode_base64(raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	j = (size_t)snprintf(out, CONTROL_KEY_TEXT_MAX, "%s", CONTROL_KEY_PREFIX);
	for (size_t i = 0; b64[i] != '\0' && b64[i] != '=' &&
	    j < CONTROL_KEY_TEXT_MAX - 1; i++)
		out[j++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[j] = '\0';
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	return 0;
}

/* Writes the key file with O_EXCL and mode 0600, then fsyncs it. */
static int
control_key_write_file(const char *path, const char *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t len = strlen(key);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, key, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
	    fsync(fd) == 0;
	close(fd);
	if (!ok) {
		unlink(path);
		return -1;
	}
	return 0;
}

/* Creates, stores (with its audit record) and saves the admin key. */
static int
control_key_bootstrap(struct control_key_set *set, struct store *st,
    const char *data_dir, const char *node)
{
	char key[CONTROL_KEY_TEXT_MAX], *path;
	struct store_apikey row;
	int r;

	memset(&row, 0, sizeof(row));
	if (control_key_generate(key) < 0 || encode_random_id(row.id) < 0)
		return -1;
	snprintf(row.name, sizeof(row.name), "admin");
	row.role = "admin";
	encode_time(time(NULL), row.created);
	control_key_hash(key, strlen(key), row.key_hash);
	if (st->audit_keyed && control_key_mac(st->audit_key, &row,
	    row.mac) < 0)
		return -1;
	path = xasprintf("%s/admin.key", data_dir);
	(void)unlink(path);	/* a stale file from a lost database */
	r = store_begin(st);
	if (r == 0)
		r = store_apikey_insert(st, &row);
	if (r == 0 && control_audit_append(st, node, "system", "apikey.create",
	    "apikey:admin", NULL) < 0)
		r = -1;
	if (r == 0 && control_key_write_file(path, key) < 0) {
		log_warn("writing %s", path);
		r = -1;
	}
	if (r == 0)
		r = store_commit(st);
	if (r < 0) {
		store_rollback(st);
		(void)unlink(path);
	} else {
		log_warnx("created the admin API key in %s (mode 0600); it is "
		    "shown nowhere else", path);
		if (isatty(STDOUT_FILENO))
			printf("admin API key: %s\n", key);
		r = control_key_set_add(set, &row);
	}
	OPENSSL_cleanse(key, sizeof(key));
	free(path);
	return r;
}

/*
 * The chain was sealed at this start: the rows of keys made before the
 * audit key existed get their MAC now (they were trusted until now).
 */
static int
control_key_adopt(struct store *st)
{
	struct control_key_set all;
	struct store_apikey row;
	unsigned n = 0;
	int r = 0;

	memset(&all, 0, sizeof(all));
	if ((r = store_apikey_foreach(st, control_key_set_add, &all)) != 0)
		return r < 0 ? r : -1;
	for (size_t i = 0; r == 0 && i < all.n; i++) {
		const struct control_key_entry *e = &all.keys[i];

		memset(&row, 0, sizeof(row));
		snprintf(row.id, sizeof(row.id), "%s", e->id);
		snprintf(row.name, sizeof(row.name), "%s", e->name);
		row.role = e->role;
		memcpy(row.key_hash, e->hash, sizeof(row.key_hash));
		snprintf(row.created, sizeof(row.created), "%s", e->created);
		snprintf(row.expires, sizeof(row.expires), "%s", e->expires);
		if (control_key_mac(st->audit_key, &row, row.mac) < 0)
			r = -1;
		else if ((r = store_apikey_set_mac(st, row.id, row.mac)) == 0)
			n++;
	}
	control_key_clear(&all);
	if (n > 0)
		log_info("audit key: sealed the %u API key(s) made before it",
		    n);
	return r;
}

int
control_key_load(struct control *ctl, struct store *st, const char *data_dir,
    bool adopt)
{
	struct control_key_set *set = &ctl->keys;
	int r;

	memset(set, 0, sizeof(*set));
	if (adopt && control_key_adopt(st) != 0) {
		log_error("sealing the API keys: %s", store_error(st));
		return -1;
	}
	set->mac_key = st->audit_keyed ? st->audit_key : NULL;
	if (store_apikey_foreach(st, control_key_set_add, set) != 0) {
		log_error("loading API keys: %s", store_error(st));
		return -1;
	}
	if (set->n > 0 || set->rejected > 0)
		return 0;
	r = control_key_bootstrap(set, st, data_dir, ctl->node_name);
	if (r == STORE_CONFLICT) {
		/* Another node of the cluster made it at the same moment. */
		log_warnx("another node created the admin API key just now; "
		    "its data directory has the key file");
		r = store_apikey_foreach(st, control_key_set_add, set);
	}
	if (r < 0) {
		log_error("cannot create the admin API key: %s",
		    store_error(st));
		return -1;
	}
	return 0;
}

void
control_key_clear(struct control_key_set *set)
{
	if (set->keys != NULL)
		OPENSSL_cleanse(set->keys, set->n * sizeof(*set->keys));
	free(set->keys);
	memset(set, 0, sizeof(*set));
}

const struct control_key_entry *
control_key_check(const struct control *ctl, const char *key, size_t len)
{
	return control_key_match(&ctl->keys, key, len);
}

const struct control_key_entry *
control_key_match(const struct control_key_set *set, const char *key,
    size_t len)
{
	const struct control_key_entry *found = NULL;
	uint8_t h[32];

	if (len == 0 || len > CONTROL_KEY_TEXT_MAX || control_key_hash(key, len, h) < 0)
		return NULL;
	/* Compare with every key, no early exit. */
	for (size_t i = 0; i < set->n; i++)
		if (CRYPTO_memcmp(h, set->keys[i].hash, sizeof(h)) == 0)
			found = &set->keys[i];
	OPENSSL_cleanse(h, sizeof(h));
	return found;
}
