/*
 * ctl_output: how vtokenctl prints.  Aligned tables (with or without a
 * header row), one-line confirmations, error lines on stderr, the
 * server's JSON for scripts, and the small formatters the tables need
 * (sizes as "4.0M", JSON values as text).
 *
 * Every string that came from the server passes through here before it
 * reaches a terminal: control characters become '?', so a hostile name or
 * audit detail cannot send escape sequences.  Nothing here talks to the
 * network or knows the API key.
 */
#ifndef VTOKEN_CTL_OUTPUT_H
#define VTOKEN_CTL_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum ctl_output_format {
	CTL_OUTPUT_TABLE,	/* aligned tables and key: value lines */
	CTL_OUTPUT_JSON,	/* the server's JSON document */
};

/* A table whose rows are buffered so that columns can be aligned. */
struct ctl_output_table;

/*
 * Creates a table of ncols columns.  headers (ncols strings) is borrowed
 * and must outlive the table; NULL makes a table without a header row,
 * as used for key: value lines.  Free with ctl_output_table_free().
 */
struct ctl_output_table *ctl_output_table_new(const char *const *headers,
	    size_t ncols);
/* Frees the table and its buffered rows; NULL is a no-op. */
void ctl_output_table_free(struct ctl_output_table *t);
/*
 * Adds a row of ncols cells.  The cells are copied (and cleaned); a NULL
 * cell prints as "-".
 */
void ctl_output_table_add(struct ctl_output_table *t,
	    const char *const *cells);
/* Adds a two-cell row: "key:" and value (NULL prints as "-"). */
void ctl_output_table_kv(struct ctl_output_table *t, const char *key,
	    const char *value);
/*
 * Prints the header (the first time only) and the buffered rows, then
 * forgets the rows.  Column widths only grow, so a table printed batch
 * by batch (audit --follow) stays aligned as far as it can.
 */
void ctl_output_table_print(struct ctl_output_table *t, FILE *f);

/* Prints a cleaned, formatted line and a newline to f. */
void ctl_output_line(FILE *f, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prints "vtokenctl: " and the cleaned, formatted message to stderr. */
void ctl_output_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/*
 * Prints doc as one indented JSON document and a newline (compact, on a
 * single line, when compact is set).  NULL prints nothing.  0 or -1.
 */
int ctl_output_json(FILE *f, const json_t *doc, bool compact);

/*
 * A list's JSON document, {"KEY": [item, ...], ...}, built item by item
 * as text: a list of 100,000 tokens held as jansson values takes some
 * 160 MB, as text a fifth of that.  Printed, it reads as
 * ctl_output_json() prints the same document.
 */
struct ctl_output_array;

/*
 * An empty array whose text may grow to max bytes.  Free it with
 * ctl_output_array_free().
 */
struct ctl_output_array *ctl_output_array_new(size_t max);
/* Frees a and its text; NULL is a no-op. */
void ctl_output_array_free(struct ctl_output_array *a);
/*
 * Appends item (borrowed).  0, or -1 with the reason in *cause (the
 * caller frees it) when the text would pass max or memory ran out.
 */
int ctl_output_array_add(struct ctl_output_array *a, const json_t *item,
	    char **cause);
/*
 * Prints {"key": [the items], then the members of rest (an object,
 * borrowed; NULL for none)} and a newline.  0 or -1.
 */
int ctl_output_array_print(const struct ctl_output_array *a,
	    const char *key, json_t *rest, FILE *f);

/*
 * The string member key of obj, or "-" when obj is not an object or the
 * member is missing, null or not a string.  Borrowed from obj.
 */
const char *ctl_output_str(const json_t *obj, const char *key);
/* Formats an integer JSON value as decimal into buf; "-" otherwise. */
const char *ctl_output_int(char *buf, size_t len, const json_t *v);
/*
 * Formats an integer JSON byte count as "512B", "1.5K", "4.0M" ... into
 * buf; "-" when v is not a non-negative integer.  Returns buf.
 */
const char *ctl_output_size(char *buf, size_t len, const json_t *v);
/*
 * Joins the strings of a JSON array with sep; "-" for an empty or
 * missing array.  The caller frees the result.
 */
char *ctl_output_join(const json_t *array, const char *sep);

#endif
