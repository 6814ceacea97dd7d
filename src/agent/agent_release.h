/*
 * agent_release: checks a downloaded agent release before anything
 * installs it (docs/AGENT.md, "Releases and rollouts"): its size and
 * SHA-256 against what the controller announced, and the Ed25519
 * signature over the line
 *
 *     vtoken-release-v1 VERSION SHA256HEX SIZE\n
 *
 * against the release public key pinned in the agent's configuration
 * (a PEM file).  The controller is not trusted for any of this: a
 * controller that lies about the hash or the size only gets a refusal.
 * Nothing here logs.
 */
#ifndef VTOKEN_AGENT_RELEASE_H
#define VTOKEN_AGENT_RELEASE_H

#include <stdint.h>

#define AGENT_RELEASE_MAX	(64ULL * 1024 * 1024)	/* bytes */
#define AGENT_RELEASE_SIG_LEN	64			/* Ed25519 */

/* What the controller announced for a release (borrowed strings). */
struct agent_release {
	const char *version;		/* 1-64 [0-9A-Za-z.+~-] */
	const char *sha256;		/* 64 lower-case hex digits */
	uint64_t size;			/* bytes */
	const uint8_t *sig;		/* AGENT_RELEASE_SIG_LEN bytes */
};

/* The signed line (allocated). */
char *agent_release_message(const char *version, const char *sha256,
    uint64_t size);
/* True for a version the spec allows (also safe in a file name). */
int agent_release_version_ok(const char *version);
/*
 * Checks the file at path against r and the PEM Ed25519 public key at
 * keypath: 0, or -1 with *cause ("size 10 is not the announced 12",
 * "SHA-256 mismatch", "bad signature", "release key: ...").
 */
int agent_release_check(const char *keypath, const char *path,
    const struct agent_release *r, char **cause);

#endif
