/* text: printable-ASCII filters (see text.h). */
#include "common/text.h"

#include <string.h>

#include "common/xmalloc.h"

static char
text_char(char ch)
{
	return ch >= 0x20 && ch < 0x7f ? ch : '?';
}

char *
text_printable(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = text_char(s[i]);
	out[i] = '\0';
	return out;
}

char *
text_printable_dup(const char *s, size_t len, size_t max)
{
	char *out;

	if (len > max)
		len = max;
	out = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		out[i] = text_char(s[i]);
	out[len] = '\0';
	return out;
}

bool
text_is_visible(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
	return true;
}

char *
text_utf8_copy(const char *s, char *out, size_t outlen)
{
	size_t len = strlen(s);

	if (len >= outlen) {
		len = outlen - 1;
		/* s[len] is the first byte left out: not inside a character. */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}
