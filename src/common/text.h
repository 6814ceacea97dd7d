/*
 * text: peer-chosen bytes made safe for a log line, an audit record or a
 * message to the user.  Anything a peer sends may hold a newline that
 * forges a log line, a terminal escape, or invalid UTF-8 that a JSON
 * encoder refuses; what leaves through these is printable ASCII only.
 */
#ifndef VTOKEN_TEXT_H
#define VTOKEN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Copies s into out (outlen > 0 bytes, always NUL-terminated), cut to
 * fit, every byte outside printable ASCII (0x20..0x7e) replaced by '?'.
 * Returns out.
 */
char *text_printable(const char *s, char *out, size_t outlen);
/*
 * The same for the first len bytes of s (NULs included), into a new
 * string of at most max bytes (plus the NUL); the caller frees it.
 */
char *text_printable_dup(const char *s, size_t len, size_t max);
/*
 * True when the first len bytes of s are all visible ASCII (0x21..0x7e):
 * no space, no control byte, no NUL.  For text that goes into a header
 * line or a URL unchanged (an API key, a controller URL).
 */
bool text_is_visible(const char *s, size_t len);

/*
 * Copies the UTF-8 text s into out (outlen > 0 bytes), cut at a character
 * boundary when it does not fit: never half a character, which JSON
 * libraries refuse.  Returns out.
 */
char *text_utf8_copy(const char *s, char *out, size_t outlen);

#endif
