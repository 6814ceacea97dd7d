/*
 * agent_token: one token device and, once loaded, its credential.
 *
 * Loading opens the device (a block device such as /dev/sdb, or an image
 * file) read-only and reads TOKEN.JSON and TOKEN.KEY with our own FAT
 * reader through pread(2): no mount, buffered (not O_DIRECT) I/O, as
 * fat_open asks.  The content is hostile; the token library checks it
 * and this module adds what the agent relies on: the token id is 16 hex
 * digits and, for a USB-discovered device, equals the USB serial.
 *
 * The private key lives only in memory (the loaded token_cred) and is
 * freed, which cleanses it, by agent_token_unload or agent_token_free
 * when the device goes away.  Nothing here logs; errors come back
 * through `char **cause' (allocated; the caller frees it).
 */
#ifndef VTOKEN_AGENT_TOKEN_H
#define VTOKEN_AGENT_TOKEN_H

#include <stdbool.h>

#include "token/token_image.h"

struct agent_token {
	char *path;		/* opened: device node or image file */
	char *serial;		/* USB serial that must match, or NULL */
	char *syspath;		/* udev syspath of the disk, or NULL */
	char *node;		/* realpath(path) at load, or NULL */
	struct token_image_info info;	/* valid when cred != NULL */
	struct token_cred *cred;	/* NULL until loaded */
};

/*
 * A token at path (copied).  serial: the USB serial to check the token
 * id against, or NULL (a fixed device: no check).  syspath: the udev
 * device, or NULL.  Free with agent_token_free.
 */
struct agent_token *agent_token_new(const char *path, const char *serial,
    const char *syspath);
/* Wipes the key (if loaded) and frees t; NULL is a no-op. */
void agent_token_free(struct agent_token *t);

/* Reads and checks the token; replaces what was loaded.  0 or -1. */
int agent_token_load(struct agent_token *t, char **cause);
/* Forgets TOKEN.JSON and wipes the key. */
void agent_token_unload(struct agent_token *t);
bool agent_token_is_loaded(const struct agent_token *t);

/*
 * True when a device event is about this token: same udev syspath, or
 * the same device node as the one loaded.  Either may be NULL.
 */
bool agent_token_is_device(const struct agent_token *t, const char *syspath,
    const char *devnode);
/* True while the device or file can still be found (stat of path). */
bool agent_token_is_present(const struct agent_token *t);

#endif
