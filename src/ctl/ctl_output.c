/*
 * ctl_output: tables, lines, errors and JSON for vtokenctl (see
 * ctl_output.h).  Server strings are cleaned of control characters before
 * they are printed; widths count UTF-8 code points, not bytes.
 */
#include "ctl/ctl_output.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/capbuf.h"
#include "common/cause.h"
#include "common/xmalloc.h"

#define OUTPUT_GAP	2	/* spaces between table columns */
/* ctl_output_json()'s layout: two spaces a level, members in order. */
#define OUTPUT_JSON_FLAGS	(JSON_INDENT(2) | JSON_PRESERVE_ORDER | \
	JSON_ENCODE_ANY)

struct ctl_output_table {
	const char *const *headers;	/* borrowed, or NULL */
	size_t ncols;
	size_t *widths;			/* display width per column */
	char **cells;			/* nrows * ncols cleaned copies */
	size_t nrows;
	size_t cap;			/* rows allocated */
	bool header_done;		/* header row printed */
};

static char *output_clean(const char *s);
static size_t output_width(const char *s);
static void output_row(FILE *f, const struct ctl_output_table *t,
	    const char *const *cells);
static char *output_vformat(const char *fmt, va_list ap)
	    __attribute__((format(printf, 1, 0)));
static int output_indent(struct capbuf *b, const json_t *v,
	    const char *pad);
static int output_key(struct capbuf *b, const char *key);

struct ctl_output_array {
	struct capbuf text;	/* the items, ",\n" between, indented */
	size_t n;		/* items */
};

/*
 * Copies s with C0 controls, DEL and the UTF-8 encoded C1 controls
 * (U+0080..U+009F, which some terminals obey) replaced by '?'.
 */
static char *
output_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *d, *q;

	d = q = xmalloc(strlen(s) + 1);
	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f) {
			*q++ = '?';
			p++;
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			*q++ = '?';
			p += 2;
		} else
			*q++ = (char)*p++;
	}
	*q = '\0';
	return d;
}

/* Display width: the number of UTF-8 lead bytes. */
static size_t
output_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

struct ctl_output_table *
ctl_output_table_new(const char *const *headers, size_t ncols)
{
	struct ctl_output_table *t;

	t = xcalloc(1, sizeof(*t));
	t->headers = headers;
	t->ncols = ncols;
	t->widths = xcalloc(ncols, sizeof(*t->widths));
	for (size_t i = 0; headers != NULL && i < ncols; i++)
		t->widths[i] = output_width(headers[i]);
	return t;
}

void
ctl_output_table_free(struct ctl_output_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->widths);
	free(t);
}

void
ctl_output_table_add(struct ctl_output_table *t, const char *const *cells)
{
	char **row;
	size_t w;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = xreallocarray(t->cells, t->cap,
		    t->ncols * sizeof(*t->cells));
	}
	row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = output_clean(cells[i] != NULL ? cells[i] : "-");
		w = output_width(row[i]);
		if (w > t->widths[i])
			t->widths[i] = w;
	}
	t->nrows++;
}

void
ctl_output_table_kv(struct ctl_output_table *t, const char *key,
    const char *value)
{
	char *k = xasprintf("%s:", key);
	const char *cells[2] = { k, value };

	ctl_output_table_add(t, cells);
	free(k);
}

/* Prints one row; the last column is not padded. */
static void
output_row(FILE *f, const struct ctl_output_table *t,
    const char *const *cells)
{
	size_t pad;

	for (size_t i = 0; i < t->ncols; i++) {
		fputs(cells[i], f);
		if (i + 1 == t->ncols)
			break;
		pad = t->widths[i] - output_width(cells[i]) + OUTPUT_GAP;
		fprintf(f, "%*s", (int)pad, "");
	}
	fputc('\n', f);
}

void
ctl_output_table_print(struct ctl_output_table *t, FILE *f)
{
	if (t->headers != NULL && !t->header_done) {
		output_row(f, t, t->headers);
		t->header_done = true;
	}
	for (size_t r = 0; r < t->nrows; r++)
		output_row(f, t,
		    (const char *const *)(t->cells + r * t->ncols));
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	t->nrows = 0;
}

/* Formats into a cleaned, allocated string; the caller frees it. */
static char *
output_vformat(const char *fmt, va_list ap)
{
	char *raw, *clean;

	raw = xvasprintf(fmt, ap);
	clean = output_clean(raw);
	free(raw);
	return clean;
}

void
ctl_output_line(FILE *f, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = output_vformat(fmt, ap);
	va_end(ap);
	fprintf(f, "%s\n", s);
	free(s);
}

void
ctl_output_error(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = output_vformat(fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "vtokenctl: %s\n", s);
	free(s);
}

int
ctl_output_json(FILE *f, const json_t *doc, bool compact)
{
	size_t flags = JSON_PRESERVE_ORDER;

	if (doc == NULL)
		return 0;
	flags |= compact ? JSON_COMPACT : JSON_INDENT(2);
	if (json_dumpf(doc, f, flags) == -1 || fputc('\n', f) == EOF)
		return -1;
	return 0;
}

/*
 * Appends v as ctl_output_json() lays it out, with pad after every
 * newline, so that it can stand nested in a larger document.  (JSON
 * text has no newline inside a string: there it is "\n".)  0 or -1.
 */
static int
output_indent(struct capbuf *b, const json_t *v, const char *pad)
{
	char *text, *p, *nl;
	int rv = 0;

	if ((text = json_dumps(v, OUTPUT_JSON_FLAGS)) == NULL)
		return -1;
	for (p = text; rv == 0 && (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		if (capbuf_append(b, p, (size_t)(nl - p) + 1) < 0 ||
		    capbuf_append(b, pad, strlen(pad)) < 0)
			rv = -1;
	if (rv == 0 && capbuf_append(b, p, strlen(p)) < 0)
		rv = -1;
	free(text);
	return rv;
}

/* Appends "key": (the key escaped as JSON).  0 or -1. */
static int
output_key(struct capbuf *b, const char *key)
{
	json_t *k = json_string(key);
	int rv = -1;

	if (k != NULL && output_indent(b, k, "") == 0 &&
	    capbuf_append(b, ": ", 2) == 0)
		rv = 0;
	json_decref(k);
	return rv;
}

struct ctl_output_array *
ctl_output_array_new(size_t max)
{
	struct ctl_output_array *a = xcalloc(1, sizeof(*a));

	capbuf_init(&a->text, max, false);
	return a;
}

void
ctl_output_array_free(struct ctl_output_array *a)
{
	if (a == NULL)
		return;
	capbuf_clear(&a->text);
	free(a);
}

int
ctl_output_array_add(struct ctl_output_array *a, const json_t *item,
    char **cause)
{
	if ((a->n > 0 && capbuf_append(&a->text, ",\n", 2) < 0) ||
	    capbuf_append(&a->text, "    ", 4) < 0 ||
	    output_indent(&a->text, item, "    ") < 0) {
		if (a->text.too_big)
			return cause_set(cause, "the list passed %zu MiB as "
			    "JSON", a->text.max >> 20);
		return cause_set(cause, "out of memory for the list");
	}
	a->n++;
	return 0;
}

int
ctl_output_array_print(const struct ctl_output_array *a, const char *key,
    json_t *rest, FILE *f)
{
	struct capbuf b;
	const char *k;
	json_t *v;
	int rv = -1;

	/* The head up to "[", the items, then rest's members and "}". */
	capbuf_init(&b, SIZE_MAX - 1, false);
	if (capbuf_append(&b, "{\n  ", 4) < 0 || output_key(&b, key) < 0 ||
	    capbuf_append(&b, a->n > 0 ? "[\n" : "[]", 2) < 0 ||
	    fwrite(b.data, 1, b.len, f) != b.len)
		goto out;
	if (a->n > 0 && (fwrite(a->text.data, 1, a->text.len, f) !=
	    a->text.len || fputs("\n  ]", f) == EOF))
		goto out;
	capbuf_clear(&b);
	json_object_foreach(rest, k, v) {
		if (capbuf_append(&b, ",\n  ", 4) < 0 ||
		    output_key(&b, k) < 0 || output_indent(&b, v, "  ") < 0)
			goto out;
	}
	if (capbuf_append(&b, "\n}\n", 3) < 0 ||
	    fwrite(b.data, 1, b.len, f) != b.len)
		goto out;
	rv = 0;
out:
	capbuf_clear(&b);
	return rv;
}

const char *
ctl_output_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : "-";
}

const char *
ctl_output_int(char *buf, size_t len, const json_t *v)
{
	if (!json_is_integer(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	return buf;
}

const char *
ctl_output_size(char *buf, size_t len, const json_t *v)
{
	static const char units[] = "KMGTPE";
	json_int_t n = json_integer_value(v);
	double d;
	size_t u = 0;

	if (!json_is_integer(v) || n < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (n < 1024) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "B", n);
		return buf;
	}
	d = (double)n / 1024;
	while (d >= 1024 && u + 1 < sizeof(units) - 1) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", d, units[u]);
	return buf;
}

char *
ctl_output_join(const json_t *array, const char *sep)
{
	const json_t *v;
	size_t i, n, off = 0, len = 0, seplen = strlen(sep);
	char *s;

	json_array_foreach(array, i, v)
		if (json_is_string(v))
			len += strlen(json_string_value(v)) + seplen;
	if (len == 0)
		return xstrdup("-");
	s = xmalloc(len + 1);
	json_array_foreach(array, i, v) {
		if (!json_is_string(v))
			continue;
		if (off > 0) {
			memcpy(s + off, sep, seplen);
			off += seplen;
		}
		n = strlen(json_string_value(v));
		memcpy(s + off, json_string_value(v), n);
		off += n;
	}
	s[off] = '\0';
	return s;
}
