/*
 * usbip_client: a blocking, scripted USB/IP client for tests and the
 * benchmark.  It speaks the wire format through the server's own codecs
 * (src/server/usbip/usbip_proto.h) and adds what a test needs: a chosen local
 * source address (127.x.y.z poses as another VM), a receive deadline on
 * every read, raw sends for malformed input, and checks on what the
 * server sends back (RET_* only, known seqnums, actual_length within the
 * request, no RET_SUBMIT after a RET_UNLINK of -104).
 *
 * Functions return 0 on success and -1 on failure with the reason in
 * c->err; nothing here calls Check, so the client may run in threads.
 * The SCSI helpers return 1 when the command ended with a CSW status
 * other than "passed".  Not thread-safe per client: one thread per
 * struct usbip_client.
 */
#ifndef VTOKEN_TEST_USBIP_CLIENT_H
#define VTOKEN_TEST_USBIP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/usbip/usbip_proto.h"

#define USBIP_CLIENT_TIMEOUT_MS	5000	/* receive deadline */
#define USBIP_CLIENT_MAX_OUT	256	/* outstanding PDUs tracked */

#define USBIP_CLIENT_EP_IN	1	/* bulk IN endpoint number */
#define USBIP_CLIENT_EP_OUT	2	/* bulk OUT endpoint number */

#define MSC_CSW_LEN		13
#define MSC_CBW_LEN		31

/* One CMD_SUBMIT or CMD_UNLINK the server has not answered yet. */
struct usbip_client_out {
	bool used;
	bool unlink;		/* a CMD_UNLINK (target is the URB) */
	bool in;		/* CMD_SUBMIT direction */
	uint32_t seqnum;
	uint32_t length;	/* CMD_SUBMIT transfer_buffer_length */
	uint32_t target;	/* CMD_UNLINK target seqnum */
};

struct usbip_client {
	int fd;				/* -1 when closed */
	int timeout_ms;			/* deadline of each receive */
	uint32_t next_seqnum;
	uint32_t devid;			/* busnum << 16 | devnum */
	uint32_t cbw_tag;
	bool eof;			/* last receive hit end of stream */
	bool timed_out;			/* last receive timed out */
	struct usbip_client_out out[USBIP_CLIENT_MAX_OUT];
	char err[256];			/* why the last call failed */
};

/* Connection options; a NULL pointer means all defaults. */
struct usbip_client_opts {
	const char *src_addr;	/* local IPv4 address to bind, or NULL */
	int timeout_ms;		/* 0: USBIP_CLIENT_TIMEOUT_MS */
	int rcvbuf;		/* SO_RCVBUF before connect, or 0 */
	/*
	 * Close with a reset (SO_LINGER 0), leaving no TIME_WAIT: a client
	 * that reconnects thousands of times a second would otherwise use
	 * up the local ports other tests need.
	 */
	bool reset_on_close;
};

/* One RET_SUBMIT or RET_UNLINK as received. */
struct usbip_ret {
	struct usbip_hdr hdr;
	uint32_t len;		/* IN payload bytes that followed */
	bool in;		/* RET_SUBMIT of an IN URB */
};

/* A Command Status Wrapper. */
struct usbip_csw {
	uint32_t signature, tag, residue;
	uint8_t status;
};

/* Everything a BOT command produced, for assertions. */
struct usbip_scsi_result {
	int32_t cbw_status;	/* RET_SUBMIT status of the CBW URB */
	int32_t data_status;	/* of the data URB (0 without data) */
	uint32_t data_actual;	/* bytes moved in the data phase */
	int32_t csw_status;	/* of the CSW URB */
	uint32_t csw_actual;
	bool have_csw;		/* a 13-byte CSW was read */
	struct usbip_csw csw;
};

/* Sets every field to its closed default (fd -1). */
void usbip_client_init(struct usbip_client *c);
/*
 * Connects to host:port (numeric IPv4), bound first to opts->src_addr if
 * given.  c must have been set up by usbip_client_init(); a connection it
 * still holds is closed first, and all state is reset.  The socket is
 * non-blocking internally; every send and receive is bounded by the
 * deadline.
 */
int usbip_client_connect(struct usbip_client *c, const char *host,
    uint16_t port, const struct usbip_client_opts *opts);
/* Half-closes: the server sees end of stream, replies can still arrive. */
int usbip_client_shutdown(struct usbip_client *c);
/* Closes the socket (no-op when closed) and forgets outstanding PDUs. */
void usbip_client_close(struct usbip_client *c);
/* Writes "ADDR:PORT" of the local end, as the daemon logs the peer. */
int usbip_client_local_addr(const struct usbip_client *c, char *buf,
    size_t len);

/* Sends len raw bytes, whole.  EPIPE/ECONNRESET are failures. */
int usbip_client_send(struct usbip_client *c, const void *buf, size_t len);
/*
 * Receives exactly len bytes before the deadline.  On failure sets
 * c->eof or c->timed_out as appropriate; *got (if not NULL) says how many
 * bytes did arrive.
 */
int usbip_client_recv(struct usbip_client *c, void *buf, size_t len,
    size_t *got);
/*
 * True when the server closes the connection within ms: a receive
 * returns 0 or fails with ECONNRESET.  Bytes that arrive first are
 * discarded and counted in *nbytes (if not NULL).
 */
bool usbip_client_expect_closed(struct usbip_client *c, int ms,
    size_t *nbytes);
/* True when nothing arrives and the connection stays open for ms. */
bool usbip_client_expect_quiet(struct usbip_client *c, int ms);

/* --- op phase ---------------------------------------------------------- */

/* Sends an op_common with any field values. */
int usbip_client_send_op(struct usbip_client *c, uint16_t version,
    uint16_t code, uint32_t status);
/*
 * OP_REQ_DEVLIST: fills up to max records (interfaces included) and sets
 * *ndev to the number the server announced.  At most 1024 are read.
 */
int usbip_client_devlist(struct usbip_client *c, struct usbip_dev_info *devs,
    size_t max, size_t *ndev);
/*
 * OP_REQ_IMPORT of busid (copied into the 32-byte field as is).  Returns
 * 0 when a reply arrived: *status is its status and, on ST_OK, *dev (if
 * not NULL) the device record; c->devid is then set for CMD_SUBMIT.
 */
int usbip_client_import(struct usbip_client *c, const char *busid,
    uint32_t *status, struct usbip_dev_info *dev);
/* connect + import (must be ST_OK) + enumerate. */
int usbip_client_attach(struct usbip_client *c, const char *host,
    uint16_t port, const struct usbip_client_opts *opts, const char *busid);

/* --- URB phase --------------------------------------------------------- */

/* Returns a fresh seqnum (1, 2, 3, ...). */
uint32_t usbip_client_seqnum(struct usbip_client *c);
/* Fills a CMD_SUBMIT header with this session's devid and a new seqnum. */
void usbip_client_hdr_submit(struct usbip_client *c, struct usbip_hdr *h,
    uint32_t ep, uint32_t dir, uint32_t length);
/*
 * Sends h (any field values) followed by plen payload bytes.  A
 * CMD_SUBMIT or CMD_UNLINK is remembered so that its reply can be read.
 */
int usbip_client_send_hdr(struct usbip_client *c, const struct usbip_hdr *h,
    const void *payload, size_t plen);
/*
 * Records h (CMD_SUBMIT or CMD_UNLINK) as outstanding without sending it,
 * for PDUs sent raw with usbip_client_send().
 */
int usbip_client_track(struct usbip_client *c, const struct usbip_hdr *h);
/*
 * CMD_SUBMIT on ep (0 = control with setup, else bulk); for OUT, out is
 * the length-byte payload.  *seqnum (if not NULL) gets the seqnum.
 */
int usbip_client_submit(struct usbip_client *c, uint32_t ep, bool in,
    const uint8_t setup[8], const void *out, uint32_t length, uint32_t flags,
    uint32_t *seqnum);
/* CMD_UNLINK of target; *seqnum (if not NULL) gets the unlink's seqnum. */
int usbip_client_unlink(struct usbip_client *c, uint32_t target,
    uint32_t *seqnum);
/*
 * Reads one RET_SUBMIT or RET_UNLINK and its payload.  IN payload goes to
 * buf when it fits cap, else it is discarded.  Fails on anything a client
 * must reject (see the top of this file).
 */
int usbip_client_read_ret(struct usbip_client *c, struct usbip_ret *r,
    void *buf, size_t cap);
/* Reads RETs until the one for seqnum; other RETs are failures. */
int usbip_client_wait(struct usbip_client *c, uint32_t seqnum,
    struct usbip_ret *r, void *buf, size_t cap);

/* Synchronous control transfer; direction from bmRequestType bit 7. */
int usbip_client_control(struct usbip_client *c, uint8_t type, uint8_t req,
    uint16_t value, uint16_t index, void *data, uint16_t length,
    int32_t *status, uint32_t *actual);
/* Synchronous bulk transfers on the BOT endpoints. */
int usbip_client_bulk_out(struct usbip_client *c, const void *data,
    uint32_t len, int32_t *status, uint32_t *actual);
int usbip_client_bulk_in(struct usbip_client *c, void *buf, uint32_t len,
    int32_t *status, uint32_t *actual);
/* GET_DESCRIPTOR device and config, then SET_CONFIGURATION 1. */
int usbip_client_enumerate(struct usbip_client *c);
/* CLEAR_FEATURE(ENDPOINT_HALT) of ep (0x81 or 0x02); must succeed. */
int usbip_client_clear_halt(struct usbip_client *c, uint8_t ep);
/* Bulk-Only Mass Storage Reset, then clears both halts. */
int usbip_client_bot_recover(struct usbip_client *c);

/* --- Bulk-Only Transport and SCSI --------------------------------------- */

/* Builds a 31-byte CBW (tag from the client's counter unless tag != 0). */
void usbip_client_cbw(struct usbip_client *c, uint8_t cbw[MSC_CBW_LEN],
    uint32_t tag, uint32_t dlen, bool in, uint8_t lun, const uint8_t *cdb,
    uint8_t cblen);
/* Sends a CBW on ep 2 and waits for its RET_SUBMIT status. */
int usbip_client_send_cbw(struct usbip_client *c, uint32_t dlen, bool in,
    uint8_t lun, const uint8_t *cdb, uint8_t cblen, int32_t *status);
/* Reads the CSW with a 13-byte IN URB on ep 1. */
int usbip_client_read_csw(struct usbip_client *c, struct usbip_csw *csw,
    int32_t *status);
/*
 * One command: CBW (dlen, direction in), one data URB of dlen bytes if
 * dlen > 0, then the CSW.  A stalled data phase ends the exchange before
 * the CSW (res->have_csw false).  Checks the CSW signature and tag.
 */
int usbip_client_scsi(struct usbip_client *c, const uint8_t *cdb,
    uint8_t cblen, bool in, void *data, uint32_t dlen,
    struct usbip_scsi_result *res);

/* These return 0 (CSW passed), 1 (CSW status != 0) or -1 (transport). */
int usbip_client_inquiry(struct usbip_client *c, uint8_t buf[36]);
int usbip_client_test_unit_ready(struct usbip_client *c);
int usbip_client_read_capacity(struct usbip_client *c, uint32_t *last_lba,
    uint32_t *block_len);
int usbip_client_read10(struct usbip_client *c, uint32_t lba,
    uint16_t nblocks, void *buf);
int usbip_client_write10(struct usbip_client *c, uint32_t lba,
    uint16_t nblocks, const void *buf);
int usbip_client_sync_cache(struct usbip_client *c);
int usbip_client_request_sense(struct usbip_client *c, uint8_t *key,
    uint8_t *asc, uint8_t *ascq);
/* MODE SENSE(6) page 0x3f; *wp gets the write-protect bit. */
int usbip_client_mode_sense_wp(struct usbip_client *c, bool *wp);

#endif
