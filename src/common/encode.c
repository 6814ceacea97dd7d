/* encode: hex, base64, time and id helpers (see encode.h). */
#include "common/encode.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xmalloc.h"

void
encode_hex(const uint8_t *in, size_t len, char *out, bool upper)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
decode_hex(const char *in, uint8_t *out, size_t outlen)
{
	if (strlen(in) != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

char *
encode_base64(const uint8_t *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

long
decode_base64(const char *in, uint8_t *out, size_t outcap)
{
	size_t n = strlen(in), pad = 0;
	unsigned char *tmp;
	int r;
	char *back;
	bool same;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > outcap + 2 || n > 32u << 20)
		return -1;
	if (in[n - 1] == '=')
		pad++;
	if (in[n - 2] == '=')
		pad++;
	tmp = xmalloc(n / 4 * 3 + 1);
	r = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
	if (r < 0 || (size_t)r < pad || (size_t)r - pad > outcap) {
		free(tmp);
		return -1;
	}
	r -= (int)pad;
	/* Canonical only: re-encoding must give the same text. */
	back = encode_base64(tmp, (size_t)r);
	same = strcmp(back, in) == 0;
	free(back);
	if (!same) {
		free(tmp);
		return -1;
	}
	memcpy(out, tmp, (size_t)r);
	free(tmp);
	return r;
}

void
encode_time(time_t t, char out[ENCODE_TIME_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, ENCODE_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
encode_time_parse(const char *s, time_t *t)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) ==
	    NULL || *end != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}

int
encode_random_id(char out[ENCODE_ID_LEN + 1])
{
	uint8_t b[ENCODE_ID_LEN / 2];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	encode_hex(b, sizeof(b), out, true);
	return 0;
}

bool
encode_is_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == len || hexval(s[i]) < 0)
			return false;
	return i == len;
}

bool
encode_is_id(const char *s)
{
	return encode_is_hex(s, ENCODE_ID_LEN);
}
