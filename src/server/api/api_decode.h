/*
 * api_decode: the REST request bodies as pure functions, from the raw
 * body bytes to a plain struct.  No evhttp, no controller, no logging:
 * every decoder takes (body, len) and either fills *out and returns 0, or
 * returns -1 with the reason for the 400 answer in why (the message the
 * API sends, cut to whylen, always valid UTF-8).  That keeps the handlers small and lets the
 * decoders be fuzzed (tests/fuzz/fuzz_api_json.c).
 *
 * Strings in the out structs are allocated copies; each struct has a
 * _clear function that frees them and zeroes it (also after a failure,
 * and on a zeroed struct).  Semantic checks that need the controller
 * (name syntax, CIDR syntax, known ids) stay with the controller.
 */
#ifndef VTOKEN_API_DECODE_H
#define VTOKEN_API_DECODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/control/control.h"

/* Longest base64 payloads POST /v1/agent/verify accepts (decoded). */
#define API_DECODE_NONCE_MAX	64
#define API_DECODE_SIG_MAX	128

/* POST /v1/tokens */
struct api_token_create {
	char *name;		/* one token, or */
	char *prefix;		/* count tokens PREFIX-0001 ... */
	unsigned count;		/* 0 with a name */
	uint64_t size;		/* bytes; CONTROL_TOKEN_SIZE_DEFAULT if absent */
	bool writable;
};

/* POST /v1/keys */
struct api_key_create {
	char *name;
	char *role;
	time_t expires_at;	/* an RFC 3339 time, or 0 */
	long long expires_in;	/* seconds from now ("90d"), or 0 */
};

/* POST /v1/vms */
struct api_vm_create {
	char *name;
	char *addrs[CONTROL_VM_MAX_ADDRS];	/* CIDR texts, unchecked */
	size_t naddrs;			/* 1..CONTROL_VM_MAX_ADDRS */
};

/* POST /v1/assignments */
struct api_assign_create {
	char *token;
	char *vm;
};

/* POST /v1/agent/challenge and /v1/agent/verify */
struct api_agent_req {
	char *token;
	uint8_t nonce[API_DECODE_NONCE_MAX];
	size_t nonce_len;
	uint8_t sig[API_DECODE_SIG_MAX];
	size_t sig_len;
	json_t *report;		/* verify: {"facts"?, "update"?, "policy_fired"?} */
};

/*
 * Makes the NUL-terminated s valid UTF-8 in place: every byte that does
 * not begin a complete, well-formed sequence becomes '?'.  jansson
 * refuses invalid UTF-8, so a message that quotes request bytes (maybe
 * cut by a precision such as %.64s) must pass through this before it
 * goes into a JSON reply.
 */
void api_decode_utf8_fix(char *s);

/*
 * Parses body as one JSON object whose keys are all in allowed
 * (NULL-terminated); duplicate keys are refused.  *out is a new reference
 * the caller releases with json_decref.  0, or -1 with why.
 */
int api_decode_object(const char *body, size_t len,
    const char *const *allowed, json_t **out, char *why, size_t whylen);

int api_decode_token_create(const char *body, size_t len,
    struct api_token_create *out, char *why, size_t whylen);
void api_token_create_clear(struct api_token_create *tc);

int api_decode_vm_create(const char *body, size_t len,
    struct api_vm_create *out, char *why, size_t whylen);
/* PATCH /v1/vms/{id}: {"addresses": [...]} (out->name stays NULL). */
int api_decode_vm_update(const char *body, size_t len,
    struct api_vm_create *out, char *why, size_t whylen);
void api_vm_create_clear(struct api_vm_create *vc);

/* {"name", "role", "expires"?: "90d" | "12h" | "30m" | RFC 3339 time} */
int api_decode_key_create(const char *body, size_t len,
    struct api_key_create *out, char *why, size_t whylen);
void api_key_create_clear(struct api_key_create *kc);

int api_decode_assign_create(const char *body, size_t len,
    struct api_assign_create *out, char *why, size_t whylen);
void api_assign_create_clear(struct api_assign_create *ac);

/* {"token": "..."} */
int api_decode_agent_challenge(const char *body, size_t len,
    struct api_agent_req *out, char *why, size_t whylen);
/*
 * {"token": "...", "nonce": "<base64>", "signature": "<base64>"}.  On
 * failure out->token is still set when the body and its token field were
 * fine (only nonce or signature was bad): the handler answers an unknown
 * token with 404 before it complains about the rest.
 */
int api_decode_agent_verify(const char *body, size_t len,
    struct api_agent_req *out, char *why, size_t whylen);
void api_agent_req_clear(struct api_agent_req *ar);

#endif
