/*
 * api_gate: the REST API's checks before evhttp reads a request body.
 *
 * evhttp reads a whole body before it calls a handler, so a client
 * without a key could make it buffer api.max_body per connection.  So
 * the guard of each API connection (api_guard.c) follows the byte stream
 * as evhttp will read it: its callback on the input buffer runs as bytes
 * are added, before evhttp's read callback sees them; it copies each
 * header block (at most API_GATE_HEAD_MAX bytes) and, once the block is
 * complete, has it checked here, then counts Content-Length bytes of
 * body.  Refused, the connection is taken from evhttp before it reads the
 * block's end:
 *  - a body on a keyed route without a valid key: 401;
 *  - a body larger than its route allows (api.max_body on keyed routes,
 *    api.max_body_unauthenticated on the agent's and every other): 413;
 *  - a body whose length is not given as one plain Content-Length
 *    (Transfer-Encoding, a duplicate or non-digit length): 411 or 400, as
 *    is a folded header line or a body on a method evhttp reads none for
 *    (the filter and evhttp must agree where a request ends);
 *  - a header block over API_GATE_HEAD_MAX: 431.
 * Each of these is answered here and the connection closed without its
 * body being read.  Requests without a body pass unchanged (their key is
 * checked as before, by the router).  The header block is found as evhttp
 * finds it: lines end in LF, optionally preceded by CR.
 */
#ifndef VTOKEN_API_GATE_H
#define VTOKEN_API_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_server;
struct evbuffer;

/* The most header bytes held before a block must be complete. */
#define API_GATE_HEAD_MAX	16384

/* What the gate reads of one request's header block. */
struct api_gate_head {
	size_t len;			/* bytes of the block, incl. the empty line */
	char method[16];
	char path[512];			/* of the target, before '?' */
	char auth[600];			/* Authorization, first one; "" none */
	uint64_t content_length;	/* 0 without one */
	bool has_length;
	int status;			/* refused while parsing: 400/411/431 */
	const char *why;		/* for status: static text */
};

/*
 * Finds and reads the header block at the start of src.  1: complete
 * (h filled; h->status set when it is malformed), 0: not complete yet,
 * nothing decided.
 */
int api_gate_parse(struct evbuffer *src, struct api_gate_head *h);

/*
 * Whether evhttp reads a body for this method (it ignores one on HEAD,
 * TRACE and methods it does not know).
 */
bool api_gate_method_has_body(const char *method);

/*
 * The decision for a complete block from the peer (numeric host and
 * "host:port"): 0 to pass it, or the status it is refused with, *why the
 * message.  Counts and audits a refusal (a missing or wrong key as
 * api.auth_failed, as the router does).
 */
int api_gate_check(struct api_server *api, const struct api_gate_head *h,
    const char *peer_host, const char *peer, const char **why);

/*
 * The complete refusal (status line, JSON error body, Connection: close)
 * appended to out.
 */
void api_gate_response(struct evbuffer *out, int status, const char *why);

#endif
