/*
 * yamlconf: what every vtoken configuration file shares: errors as
 * "FILE:LINE:COL: message" lines collected in one pass, a size-capped
 * file read, strict number parsing, and parsing a YAML document whose
 * root must be a mapping (or empty).  The key tables and what the values
 * mean stay with each program (server/config.c, agent/agent_config.c).
 */
#ifndef VTOKEN_YAMLCONF_H
#define VTOKEN_YAMLCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

struct yamlconf_errs {
	const char *file;	/* name used in messages */
	char *text;		/* "\n"-separated messages; owned; NULL if none */
	size_t n;		/* how many */
};

/*
 * Adds "FILE:LINE:COL: message" (1-based; 0:0 without a mark).  Control
 * bytes become '?', so a quoted key cannot forge a second line.  Past
 * YAMLCONF_MAX_ERRS messages are only counted (one line says so): a file
 * of nothing but bad keys must not cost quadratic time.
 */
#define YAMLCONF_MAX_ERRS	50
void yamlconf_err(struct yamlconf_errs *e, const yaml_mark_t *m,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Reads a regular file of at most max bytes, NUL-terminated; the caller
 * frees it.  NULL after adding an error.
 */
char *yamlconf_read_file(const char *path, size_t max, size_t *len,
    struct yamlconf_errs *e);

/*
 * Decimal or 0x-hex digits only (no sign, blanks or second prefix); with
 * size_suffix a decimal number may end in K or M.  0, or -1.
 */
int yamlconf_parse_uint(const char *s, bool size_suffix, unsigned long *out);

/* Called with the root mapping of a parsed document. */
typedef void yamlconf_root_fn(yaml_document_t *doc, yaml_node_t *root,
    void *arg, struct yamlconf_errs *e);

/*
 * Parses buf; calls fn(root) when the root is a mapping, accepts an empty
 * document, and reports anything else in e: syntax errors, a key given
 * twice in one mapping (the last would silently win), and a second
 * document (it would be silently ignored).
 */
void yamlconf_parse(const char *buf, size_t len, yamlconf_root_fn *fn,
    void *arg, struct yamlconf_errs *e);

#endif
