/*
 * yamlconf: shared configuration-file mechanics (see yamlconf.h).
 */
#include "common/yamlconf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/xmalloc.h"

void
yamlconf_err(struct yamlconf_errs *e, const yaml_mark_t *m, const char *fmt,
    ...)
{
	char msg[512], *line;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	line = xasprintf("%s%s%s:%zu:%zu: %s", e->text ? e->text : "",
	    e->text ? "\n" : "", e->file, m ? m->line + 1 : 0,
	    m ? m->column + 1 : 0, msg);
	free(e->text);
	e->text = line;
	e->n++;
}

char *
yamlconf_read_file(const char *path, size_t max, size_t *len,
    struct yamlconf_errs *e)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *buf;

	if (f == NULL) {
		yamlconf_err(e, NULL, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > max) {
		yamlconf_err(e, NULL, "not a regular file of at most %zu bytes",
		    max);
		fclose(f);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

int
yamlconf_parse_uint(const char *s, bool size_suffix, unsigned long *out)
{
	char *end;
	unsigned long v, mul = 1;
	int base = 10;
	size_t digits;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	/*
	 * Digits only: strtoul would also skip blanks, take a sign (even
	 * after "0x") and a second "0x" prefix.
	 */
	digits = strspn(s, base == 16 ? "0123456789abcdefABCDEF" :
	    "0123456789");
	if (digits == 0)
		return -1;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno != 0 || end != s + digits)
		return -1;
	if (size_suffix && base == 10 && *end != '\0' && end[1] == '\0') {
		if (*end == 'K' || *end == 'k')
			mul = 1024;
		else if (*end == 'M' || *end == 'm')
			mul = 1024 * 1024;
		else
			return -1;
		end++;
	}
	if (*end != '\0' || v > ULONG_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

void
yamlconf_parse(const char *buf, size_t len, yamlconf_root_fn *fn, void *arg,
    struct yamlconf_errs *e)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yamlconf_err(e, &parser.problem_mark, "%s", parser.problem ?
		    parser.problem : "YAML syntax error");
		yaml_parser_delete(&parser);
		return;
	}
	root = yaml_document_get_root_node(&doc);
	if (root != NULL && root->type == YAML_MAPPING_NODE)
		fn(&doc, root, arg, e);
	else if (root != NULL &&
	    !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
		yamlconf_err(e, &root->start_mark, "expected a mapping of keys");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}
