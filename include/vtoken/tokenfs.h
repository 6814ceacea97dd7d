/*
 * vtoken/tokenfs.h: what a token disk holds, as vtokend writes it
 * (src/token/token_image.c) and vtoken-agent reads it: a FAT12/16
 * superfloppy with this volume label and two files in its root
 * directory.  docs/PROTOCOL.md, "Token image", has the layout and the
 * fields of TOKEN.JSON.
 */
#ifndef VTOKEN_TOKENFS_H
#define VTOKEN_TOKENFS_H

#define TOKENFS_LABEL		"VTOKEN"
#define TOKENFS_JSON		"TOKEN.JSON"	/* identity, controller URL */
#define TOKENFS_KEY		"TOKEN.KEY"	/* Ed25519 key, PKCS#8 PEM */
#define TOKENFS_VERSION		1		/* TOKEN.JSON "version" */

/* TOKEN.JSON fields. */
#define TOKENFS_F_VERSION	"version"
#define TOKENFS_F_TOKEN_ID	"token_id"
#define TOKENFS_F_NAME		"name"
#define TOKENFS_F_CONTROLLER	"controller"
#define TOKENFS_F_CA_SHA256	"ca_sha256"

#endif
