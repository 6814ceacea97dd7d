/*
 * agent_store: what the agent keeps across restarts, in one JSON file
 * STATE_DIR/state.json (owner-only, 0600; the directory is made 0700
 * when missing): the last policy the controller sent, the last policy
 * action to report, whether the network is isolated, and the update
 * state (the report to send, a pending install, the last failed
 * attempt).  Written atomically (a temporary file, fsync, rename) and
 * only when its text changed.  Nothing here logs.
 */
#ifndef VTOKEN_AGENT_STORE_H
#define VTOKEN_AGENT_STORE_H

#include <stdbool.h>

#include "agent/agent_cpolicy.h"
#include "common/encode.h"

#define AGENT_STORE_FILE	"state.json"
#define AGENT_STORE_VERSION_MAX	64	/* bytes of a release version */
#define AGENT_STORE_REASON_MAX	255	/* bytes of a reason */

/* The last policy action, reported until a verify succeeds. */
struct agent_fired {
	char action[32];			/* "" = nothing to report */
	char reason[AGENT_STORE_REASON_MAX + 1];
	char time[ENCODE_TIME_LEN + 1];		/* RFC 3339, UTC */
	char result[64];			/* "started", "ok", "exit ..." */
};

/* The outcome of the last update, reported (docs/AGENT.md "update"). */
struct agent_update_report {
	char version[AGENT_STORE_VERSION_MAX + 1];	/* "" = none */
	char result[16];	/* installed refused failed rolled_back */
	char reason[AGENT_STORE_REASON_MAX + 1];
};

struct agent_saved {
	bool has_policy;		/* policy came from the controller */
	struct agent_cpolicy policy;
	struct agent_fired fired;
	bool isolated;			/* the isolation table is installed */
	struct agent_update_report report;
	/* An installed update not yet confirmed: version "" = none. */
	char pending_version[AGENT_STORE_VERSION_MAX + 1];
	char pending_previous[AGENT_STORE_VERSION_MAX + 1];
	unsigned pending_starts;	/* starts of pending_version so far */
	/* The last version that failed (refused/failed), and when. */
	char tried_version[AGENT_STORE_VERSION_MAX + 1];
	long long tried_time;		/* time(2) */
};

struct agent_store {
	char *dir;		/* the state directory */
	char *path;		/* dir/state.json */
	char *written;		/* the text last read or written, or NULL */
};

/*
 * Opens dir (made 0700 when missing) and reads the file into *s (all
 * zero when there is none).  0, or -1 with *cause (st is then cleared,
 * *s zero).  An unreadable or invalid file is an error; a field that
 * does not check is dropped.
 */
int agent_store_open(struct agent_store *st, const char *dir,
    struct agent_saved *s, char **cause);
/* Writes s unless it is what the file holds.  0, or -1 with *cause. */
int agent_store_save(struct agent_store *st, const struct agent_saved *s,
    char **cause);
/* Frees st's strings; a cleared st is a no-op. */
void agent_store_close(struct agent_store *st);

/* The JSON text of s (allocated) and back (0, or -1: not a state). */
char *agent_store_text(const struct agent_saved *s);
int agent_store_parse(const char *text, struct agent_saved *s);

#endif
