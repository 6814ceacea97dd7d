/*
 * control_audit_key: the audit key file (audit.key_file; see
 * control_audit.h and docs/SECURITY.md, "The audit log").
 *
 * The file holds 64 hexadecimal digits (32 bytes) and a newline, is
 * owned by vtokend's user and readable by nobody else; a file that is a
 * symbolic link, not a regular file, or readable by group or others is
 * refused, because whoever reads the key can rewrite the audit chain.
 * A missing file is created (O_EXCL, mode 0600, fsynced) with a random
 * key: right for one node; every node of a cluster must be given the
 * same file instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/log.h"
#include "server/control/control_audit.h"

#define AUDIT_KEY_HEX	(2 * CONTROL_AUDIT_KEY_LEN)

/* Creates path with a fresh random key; -1 after logging. */
static int
control_audit_key_create(const char *path, uint8_t key[32])
{
	char hex[AUDIT_KEY_HEX + 2];
	int fd, ok;

	if (RAND_bytes(key, CONTROL_AUDIT_KEY_LEN) != 1) {
		log_error("audit key: no randomness");
		return -1;
	}
	encode_hex(key, CONTROL_AUDIT_KEY_LEN, hex, false);
	hex[AUDIT_KEY_HEX] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	ok = fd >= 0 && write(fd, hex, AUDIT_KEY_HEX + 1) ==
	    AUDIT_KEY_HEX + 1 && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	OPENSSL_cleanse(hex, sizeof(hex));
	if (!ok) {
		log_warn("audit key: cannot create %s", path);
		if (fd >= 0)
			unlink(path);
		return -1;
	}
	log_warnx("audit key: created %s (mode 0600); in a cluster give "
	    "every node this same file (audit.key_file)", path);
	return 0;
}

/* Reads the key from the open file fd; -1 after logging. */
static int
control_audit_key_read(int fd, const char *path, uint8_t key[32])
{
	char buf[AUDIT_KEY_HEX + 3];
	struct stat st;
	ssize_t n;
	int rv = -1;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		log_error("audit key %s: not a regular file", path);
	else if ((st.st_mode & 077) != 0)
		log_error("audit key %s: mode %03o: it must be readable by "
		    "vtokend's user only (chmod 600)", path,
		    (unsigned)(st.st_mode & 0777));
	else if (st.st_uid != geteuid())
		log_error("audit key %s: owned by uid %u, not by vtokend's "
		    "user (%u)", path, (unsigned)st.st_uid,
		    (unsigned)geteuid());
	else if ((n = read(fd, buf, sizeof(buf) - 1)) < AUDIT_KEY_HEX ||
	    n > AUDIT_KEY_HEX + 1 || (n == AUDIT_KEY_HEX + 1 &&
	    buf[AUDIT_KEY_HEX] != '\n'))
		log_error("audit key %s: want 64 hexadecimal digits and a "
		    "newline", path);
	else {
		buf[AUDIT_KEY_HEX] = '\0';
		if (decode_hex(buf, key, CONTROL_AUDIT_KEY_LEN) < 0)
			log_error("audit key %s: not hexadecimal", path);
		else
			rv = 0;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return rv;
}

int
control_audit_key_load(const char *path, uint8_t key[32], bool *created)
{
	int fd, rv;

	*created = false;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (control_audit_key_create(path, key) < 0)
			return -1;
		*created = true;
		return 0;
	}
	if (fd < 0) {
		log_warn("audit key %s%s", path, errno == ELOOP ? ": a "
		    "symbolic link is refused" : "");
		return -1;
	}
	rv = control_audit_key_read(fd, path, key);
	close(fd);
	return rv;
}
