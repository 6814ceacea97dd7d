/*
 * fat_name: 8.3 names, VFAT long-name entries and their aliases (see
 * fat.h and fat_impl.h).  ASCII only: long names are written as UCS-2
 * code units equal to their ASCII bytes, and read back with every other
 * code unit shown as '?'.
 */
#include "token/fat.h"

#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "token/fat_impl.h"

/* Where an LFN entry keeps its 13 UCS-2 characters. */
static const uint8_t fat_name_lfn_at[FAT_LFN_CHARS] = {
	1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30
};

/* Characters of 8.3 names besides letters and digits (fatgen103). */
static bool
fat_name_char_ok(char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'()-@^_`{}~", c) != NULL;
}

static char
fat_name_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int
fat_name_encode(const char *name, uint8_t out[11])
{
	const char *dot;
	size_t blen, elen;

	if (name == NULL)
		return -1;
	dot = strchr(name, '.');
	blen = dot != NULL ? (size_t)(dot - name) : strlen(name);
	elen = dot != NULL ? strlen(dot + 1) : 0;
	if (blen == 0 || blen > 8 || elen > 3 || (dot != NULL && elen == 0))
		return -1;
	memset(out, ' ', 11);
	for (size_t i = 0; i < blen; i++) {
		if (!fat_name_char_ok(name[i]))
			return -1;
		out[i] = (uint8_t)fat_name_upper(name[i]);
	}
	for (size_t i = 0; i < elen; i++) {
		if (!fat_name_char_ok(dot[1 + i]))
			return -1;
		out[8 + i] = (uint8_t)fat_name_upper(dot[1 + i]);
	}
	return 0;
}

bool
fat_name_long_ok(const char *name)
{
	size_t len;

	if (name == NULL || (len = strlen(name)) == 0 || len > FAT_LFN_MAX)
		return false;
	if (name[len - 1] == '.' || name[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < 0x20 || name[i] > 0x7e ||
		    strchr("\"*/:<>?\\|", name[i]) != NULL)
			return false;
	}
	return true;
}

bool
fat_name_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a >= 'a' && *a <= 'z' ? (char)(*a - 'a' + 'A') : *a;
		char y = *b >= 'a' && *b <= 'z' ? (char)(*b - 'a' + 'A') : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

uint8_t
fat_name_checksum(const uint8_t *name)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name[i]);
	return sum;
}

size_t
fat_name_lfn_entries(size_t len)
{
	return (len + FAT_LFN_CHARS - 1) / FAT_LFN_CHARS;
}

void
fat_name_lfn_put(uint8_t *dst, const char *name, uint8_t sum)
{
	size_t len = strlen(name), n = fat_name_lfn_entries(len);

	for (size_t k = 0; k < n; k++) {
		uint8_t *e = dst + k * FAT_DIRENT_SIZE;
		size_t ord = n - k;

		memset(e, 0, FAT_DIRENT_SIZE);
		e[FAT_LFN_ORD] = (uint8_t)(ord | (k == 0 ? FAT_LFN_LAST : 0));
		e[FAT_DE_ATTR] = FAT_ATTR_LFN;
		e[FAT_LFN_CHKSUM] = sum;
		for (size_t i = 0; i < FAT_LFN_CHARS; i++) {
			size_t ci = (ord - 1) * FAT_LFN_CHARS + i;
			uint16_t v = ci < len ? (uint16_t)name[ci] :
			    ci == len ? 0 : 0xffff;

			put_le16(e + fat_name_lfn_at[i], v);
		}
	}
}

/*
 * Windows' basis name: leading dots and all spaces dropped, the part
 * before the last dot (up to 8) and after it (up to 3), upper case, other
 * invalid characters as '_'; then the base is cut to make room for "~n".
 */
void
fat_name_alias(const char *name, unsigned n, uint8_t out[11])
{
	const char *start = name, *dot;
	char tail[12];
	size_t blen = 0, elen = 0, tlen;

	while (*start == '.')
		start++;
	dot = strrchr(start, '.');
	memset(out, ' ', 11);
	for (const char *p = start; *p != '\0' && p != dot; p++) {
		if (*p == ' ' || *p == '.' || blen == 8)
			continue;
		out[blen++] = (uint8_t)(fat_name_char_ok(*p) ?
		    fat_name_upper(*p) : '_');
	}
	for (const char *p = dot != NULL ? dot + 1 : ""; *p != '\0'; p++) {
		if (*p == ' ' || elen == 3)
			continue;
		out[8 + elen++] = (uint8_t)(fat_name_char_ok(*p) ?
		    fat_name_upper(*p) : '_');
	}
	if (blen == 0)
		out[blen++] = '_';
	tlen = (size_t)snprintf(tail, sizeof(tail), "~%u", n);
	if (tlen > 8)
		tlen = 8;
	if (blen > 8 - tlen)
		blen = 8 - tlen;
	memcpy(out + blen, tail, tlen);
}

void
fat_name_lfn_feed(struct fat_lfn *lfn, const uint8_t *ent)
{
	unsigned ord = ent[FAT_LFN_ORD] & FAT_LFN_ORD_MASK;
	unsigned flags = ent[FAT_LFN_ORD] & ~FAT_LFN_ORD_MASK;

	if (flags == FAT_LFN_LAST && ord >= 1 &&
	    ord <= FAT_LFN_MAX_ENTRIES) {
		memset(lfn->chars, 0, sizeof(lfn->chars));
		lfn->count = ord;
		lfn->next = ord;
		lfn->sum = ent[FAT_LFN_CHKSUM];
	} else if (flags != 0 || lfn->count == 0 || ord == 0 ||
	    ord != lfn->next || ent[FAT_LFN_CHKSUM] != lfn->sum) {
		lfn->count = 0;		/* out of sequence: drop it */
		return;
	}
	for (size_t i = 0; i < FAT_LFN_CHARS; i++)
		lfn->chars[(ord - 1) * FAT_LFN_CHARS + i] =
		    get_le16(ent + fat_name_lfn_at[i]);
	lfn->next = ord - 1;
}

bool
fat_name_lfn_take(struct fat_lfn *lfn, const uint8_t *ent, char *out)
{
	bool ok;
	size_t n = 0;

	ok = lfn->count != 0 && lfn->next == 0 &&
	    lfn->sum == fat_name_checksum(ent + FAT_DE_NAME);
	for (size_t i = 0; ok && i < lfn->count * FAT_LFN_CHARS; i++) {
		uint16_t c = lfn->chars[i];

		if (c == 0 || c == 0xffff)
			break;
		if (n == FAT_LFN_MAX)
			ok = false;
		else
			out[n++] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
	}
	out[n] = '\0';
	lfn->count = 0;
	lfn->next = 0;
	return ok && n > 0;
}
