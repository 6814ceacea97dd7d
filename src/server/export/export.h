/*
 * export: the devices this server exports, the sessions attached to them,
 * and the hooks through which a policy decides who may list and import
 * them and learns of every session.  It knows neither the wire (usbip/
 * calls in) nor the policy (control/ installs hooks); docs/ARCHITECTURE.md
 * draws the picture.
 *
 * Devices come in two kinds:
 *  - open devices (export_publish): listed to and importable by every
 *    peer, with no hooks called for them: --serve-image, the fuzzers;
 *  - owned devices: the policy's.  The export layer does not know which
 *    peer may see them: the devlist hook emits what a peer may list, and
 *    the import hook decides an import and hands over the device.
 * With no hooks installed only open devices exist, and every peer may use
 * them.
 *
 * A session is one import attempt by one peer and, once granted, the
 * attachment of one device (at most one session per device).  The
 * transport (usbip/) creates it, feeds its byte counters, and ends it;
 * everyone else reads it (the session view: peer, since, bytes, URBs) and
 * may kick it.  Kicking detaches the device at once and has the transport
 * close its connection on a later loop turn.
 *
 * Busids are "BUS-PORT"; devid = busnum << 16 | devnum, as vhci computes
 * it from the import reply.
 *
 * Ownership: the export owns open devices (freed by export_free) and the
 * sessions; the policy owns its devices (export_device_free) and must
 * end their sessions first (export_session_kick).  Nothing here logs:
 * the transport logs what peers do, the policy what it decides.
 */
#ifndef VTOKEN_EXPORT_H
#define VTOKEN_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "server/device/dev_usb.h"

#define EXPORT_BUSID_SIZE	32
#define EXPORT_ID_MAX		64
#define EXPORT_NAME_MAX		128
#define EXPORT_PEER_MAX		64

struct dev_image;
struct export;
struct export_import;

struct export_device {
	char busid[EXPORT_BUSID_SIZE];
	uint32_t busnum, devnum;
	char id[EXPORT_ID_MAX];		/* the token id; also the USB serial */
	char name[EXPORT_NAME_MAX];
	bool open;			/* published to every peer */
	struct dev_image *img;		/* owned */
	struct dev_usb usb;
	struct export_session *session;	/* attached session, or NULL */
	TAILQ_ENTRY(export_device) entry;	/* open devices only */
};
TAILQ_HEAD(export_device_list, export_device);

/* What a device list shows of a device (it need not exist yet). */
struct export_devinfo {
	const char *busid;
	uint32_t busnum, devnum;
	const char *name;
};

struct export_session {
	struct export *exp;
	struct export_device *dev;	/* attached device, or NULL */
	struct sockaddr_storage peer;
	char peer_str[EXPORT_PEER_MAX];	/* "addr:port" */
	char peer_host[EXPORT_PEER_MAX];	/* the numeric address */
	time_t since;			/* when the import was asked */
	uint64_t bytes_in, bytes_out, urbs;
	/* The transport's: end this session from outside its callbacks. */
	void (*kick)(void *arg, const char *why);
	void *kick_arg;
	struct export_import *pending;	/* import being decided */
	bool linked;			/* in exp->sessions */
	TAILQ_ENTRY(export_session) entry;	/* attached sessions */
};
TAILQ_HEAD(export_session_list, export_session);

enum export_status {
	EXPORT_OK = 0,
	EXPORT_NODEV,		/* unknown, or not this peer's to use */
	EXPORT_BUSY,		/* attached elsewhere */
	EXPORT_ERROR,		/* the policy could not record it */
};

typedef void export_emit_cb(void *arg, const struct export_devinfo *info);

/*
 * The policy.  Every hook is optional.
 *  devlist: emits every owned device the peer at sa may list.
 *  import:  decides the import of busid by s's peer (s->peer, s->since
 *           set) and must eventually call export_import_done(imp, ...)
 *           exactly once, before returning or later.
 *  detached: s (its counters final) no longer holds its owned device.
 *  refused: an import the transport refused before asking (a malformed
 *           busid, shown printable); for the record.
 *  peer_tokens: the number of tokens assigned to the VMs the address sa
 *           belongs to, or -1 when it is no VM's.  The transport keeps
 *           connection slots for VM addresses with it (usbip_server.h);
 *           called on every accept, so it must be cheap.
 */
struct export_hooks {
	void (*devlist)(void *arg, const struct sockaddr *sa,
	    export_emit_cb *emit, void *emit_arg);
	void (*import)(void *arg, struct export_import *imp,
	    const char *busid, struct export_session *s);
	void (*detached)(void *arg, const struct export_session *s);
	void (*refused)(void *arg, const struct export_session *s,
	    const char *busid, const char *reason);
	int (*peer_tokens)(void *arg, const struct sockaddr *sa);
};

/* Counters the transport keeps here so that the API can show them. */
struct export_stats {
	unsigned long long connections;		/* open now (gauge) */
	unsigned long long accepted, refused, closed_bad_input;
	unsigned long long imports, devlists;
	unsigned long long denied;		/* imports refused */
	unsigned long long sessions;		/* attached now (gauge) */
	unsigned long long bytes_in, bytes_out;	/* of ended sessions */
};

struct export {
	struct export_device_list open;
	const struct export_hooks *hooks;	/* borrowed, or NULL */
	void *hooks_arg;
	struct export_session_list sessions;	/* attached */
	struct dev_ident ident;		/* strings owned */
	struct export_stats stats;
};

/* A new export with the USB identity of its devices (strings copied). */
struct export *export_new(uint16_t vendor, uint16_t product,
    const char *manufacturer, const char *product_name);
/* Frees the open devices; sessions must have ended.  NULL is a no-op. */
void export_free(struct export *exp);
/* Installs (or with NULL removes) the policy's hooks. */
void export_set_hooks(struct export *exp, const struct export_hooks *hooks,
    void *arg);

/*
 * A device serving img (ownership passes, also on failure) as busnum-
 * devnum; the caller owns the device.  NULL when the numbers are out of
 * range (bus 1..65535, port 1..65535).
 */
struct export_device *export_device_new(struct export *exp, uint32_t busnum,
    uint32_t devnum, const char *id, const char *name, struct dev_image *img);
/* Frees dev and its image; its session must have ended.  NULL: no-op. */
void export_device_free(struct export_device *dev);
/* Publishes dev to every peer; the export owns it from now on. */
void export_publish(struct export *exp, struct export_device *dev);
/* The open device at busnum-devnum, or NULL. */
struct export_device *export_open_find(struct export *exp, uint32_t busnum,
    uint32_t devnum);
/* Parses "BUS-PORT" (decimal, no sign or padding); 0 or -1. */
int export_busid_parse(const char *busid, uint32_t *busnum,
    uint32_t *devnum);
/* Writes "BUS-PORT" into out (EXPORT_BUSID_SIZE bytes). */
void export_busid_format(uint32_t busnum, uint32_t devnum,
    char out[EXPORT_BUSID_SIZE]);
/* Fills info for dev (pointers into dev). */
void export_device_info(const struct export_device *dev,
    struct export_devinfo *info);

/* Emits every device the peer at sa may list: the policy's, then open. */
void export_devlist(struct export *exp, const struct sockaddr *sa,
    export_emit_cb *emit, void *emit_arg);

/*
 * The tokens assigned to the VMs of the address sa (the policy's
 * peer_tokens), or -1 when it is no VM's, or no policy is installed.
 */
int export_peer_tokens(struct export *exp, const struct sockaddr *sa);

/*
 * A session for the peer at sa, not yet attached; kick ends it from
 * outside the transport's callbacks.  Freed by export_session_free.
 */
struct export_session *export_session_new(struct export *exp,
    const struct sockaddr *sa, socklen_t salen,
    void (*kick)(void *, const char *), void *kick_arg);
/*
 * Ends s: an import still being decided is cancelled, an attached device
 * is detached (the policy's detached hook runs); then frees s.  NULL is a
 * no-op.  Safe while the policy decides: its answer is then undone.
 */
void export_session_free(struct export_session *s);
/* Detaches s's device now, if any (the detached hook runs). */
void export_session_end(struct export_session *s);
/* Ends s from outside the transport (revoke, delete). */
void export_session_kick(struct export_session *s, const char *why);

/*
 * Called with the outcome of an import: st, and why it was refused (for
 * the log; a static string).  On EXPORT_OK, s->dev is attached.
 */
typedef void export_import_cb(void *arg, struct export_session *s,
    enum export_status st, const char *reason);
/*
 * Asks for the import of busid for s.  cb runs exactly once, before this
 * returns or later (when the policy answers asynchronously), unless s is
 * freed first.
 */
void export_import(struct export_session *s, const char *busid,
    export_import_cb *cb, void *cb_arg);
/*
 * The policy's answer to imp: st, with dev (owned by the policy, no
 * session) when st is EXPORT_OK, and reason when not.  Frees imp.
 */
void export_import_done(struct export_import *imp, enum export_status st,
    struct export_device *dev, const char *reason);
/* Refuses before asking the policy (malformed request); for the record. */
void export_import_refused(struct export_session *s, const char *busid,
    const char *reason);

#endif
