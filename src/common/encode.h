/*
 * encode: hex and base64 text forms of binary data, UTC timestamps, and
 * random identifiers.  Pure helpers, no logging.
 */
#ifndef VTOKEN_ENCODE_H
#define VTOKEN_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ENCODE_ID_LEN	16	/* hex digits of a random 64-bit id */
#define ENCODE_TIME_LEN	20	/* 2026-11-26T21:00:00Z */

/* Writes 2*len upper- or lower-case hex digits and a NUL into out. */
void encode_hex(const uint8_t *in, size_t len, char *out, bool upper);
/* Decodes exactly 2*outlen hex digits; 0, or -1 on a bad digit/length. */
int decode_hex(const char *in, uint8_t *out, size_t outlen);
/* Base64 (standard alphabet, padded) of in; the caller frees it. */
char *encode_base64(const uint8_t *in, size_t len);
/*
 * Decodes base64 into out (capacity outcap); returns the decoded length
 * or -1 when the text is not canonical base64, does not fit, or is over
 * 32 MiB (an agent release, base64, is the largest there is).
 */
long decode_base64(const char *in, uint8_t *out, size_t outcap);

/* Formats t (UTC) as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ". */
void encode_time(time_t t, char out[ENCODE_TIME_LEN + 1]);
/* Reads what encode_time writes into *t: 0, or -1 for anything else. */
int encode_time_parse(const char *s, time_t *t);
/* A random id of 16 upper-case hex digits (CSPRNG).  0 or -1. */
int encode_random_id(char out[ENCODE_ID_LEN + 1]);
/* True when s is exactly len hex digits (either case). */
bool encode_is_hex(const char *s, size_t len);
/* True when s is exactly 16 hex digits. */
bool encode_is_id(const char *s);

#endif
