/*
 * vterr: the error kinds the controller reports to its callers (REST API,
 * USB/IP hooks), each with a message for the user.  The API maps a kind to
 * an HTTP status in one table (src/server/api/api_json.c).
 */
#ifndef VTOKEN_VTERR_H
#define VTOKEN_VTERR_H

enum vt_err {
	VT_OK = 0,
	VT_EINVAL,	/* bad input value */
	VT_ENOTFOUND,	/* unknown id or name */
	VT_ECONFLICT,	/* duplicate, already assigned, ... */
	VT_EINTERNAL,	/* storage or system failure (logged) */
	VT_EAUTH,	/* authentication failed */
	VT_ERATE,	/* rate limited */
	VT_EBROKEN,	/* audit chain broken */
	VT_EUNAVAIL,	/* the store cannot be reached (retry later) */
};

struct vt_error {
	enum vt_err code;
	char msg[256];
};

/* Fills err and returns -1, for "return vt_fail(err, ...)". */
int vt_fail(struct vt_error *err, enum vt_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
