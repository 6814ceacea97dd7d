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

	if (e->n >= YAMLCONF_MAX_ERRS) {
		/* Still FILE:LINE:COL: where the first unshown one is. */
		if (e->n++ == YAMLCONF_MAX_ERRS) {
			line = xasprintf("%s\n%s:%zu:%zu: further errors not "
			    "shown", e->text ? e->text : "", e->file,
			    m ? m->line + 1 : 0, m ? m->column + 1 : 0);
			free(e->text);
			e->text = line;
		}
		return;
	}
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

/*
 * Reports a libyaml failure where it happened.  Reader errors (bad UTF-8,
 * control bytes) leave problem_mark unset and give a byte offset instead.
 */
static void
yamlconf_syntax_err(const yaml_parser_t *p, const char *buf,
    struct yamlconf_errs *e)
{
	yaml_mark_t m = p->problem_mark;

	if (p->error == YAML_READER_ERROR) {
		memset(&m, 0, sizeof(m));
		for (size_t i = 0; i < p->problem_offset && buf[i] != '\0';
		    i++) {
			if (buf[i] == '\n') {
				m.line++;
				m.column = 0;
			} else
				m.column++;
		}
	}
	yamlconf_err(e, &m, "%s", p->problem ? p->problem :
	    "YAML syntax error");
}

/* By key text, then by position in the file (pairs are in file order). */
static int
yamlconf_cmp_pair(const void *a, const void *b, void *arg)
{
	yaml_document_t *doc = arg;
	const yaml_node_pair_t *pa = *(const yaml_node_pair_t *const *)a;
	const yaml_node_pair_t *pb = *(const yaml_node_pair_t *const *)b;
	const yaml_node_t *ka = yaml_document_get_node(doc, pa->key);
	const yaml_node_t *kb = yaml_document_get_node(doc, pb->key);
	size_t la = ka->data.scalar.length, lb = kb->data.scalar.length;
	int c = memcmp(ka->data.scalar.value, kb->data.scalar.value,
	    la < lb ? la : lb);

	if (c != 0)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return pa < pb ? -1 : pa > pb;
}

/* Reports keys given twice in any mapping (sorted: n log n, not n^2). */
static void
yamlconf_check_dups(yaml_document_t *doc, struct yamlconf_errs *e)
{
	for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
		yaml_node_pair_t *pr;
		const yaml_node_pair_t **v;
		size_t cnt = 0;

		if (n->type != YAML_MAPPING_NODE)
			continue;
		v = xcalloc((size_t)(n->data.mapping.pairs.top -
		    n->data.mapping.pairs.start) + 1, sizeof(*v));
		for (pr = n->data.mapping.pairs.start;
		    pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(doc, pr->key);

			if (k != NULL && k->type == YAML_SCALAR_NODE)
				v[cnt++] = pr;
		}
		qsort_r(v, cnt, sizeof(*v), yamlconf_cmp_pair, doc);
		for (size_t i = 1; i < cnt; i++) {
			yaml_node_t *a = yaml_document_get_node(doc,
			    v[i - 1]->key), *b = yaml_document_get_node(doc,
			    v[i]->key);

			if (a->data.scalar.length == b->data.scalar.length &&
			    memcmp(a->data.scalar.value, b->data.scalar.value,
			    a->data.scalar.length) == 0)
				yamlconf_err(e, &b->start_mark, "\"%.*s\" given "
				    "twice in one mapping", (int)(b->data.scalar
				    .length > 64 ? 64 : b->data.scalar.length),
				    (const char *)b->data.scalar.value);
		}
		free(v);
	}
}

void
yamlconf_parse(const char *buf, size_t len, yamlconf_root_fn *fn, void *arg,
    struct yamlconf_errs *e)
{
	yaml_parser_t parser;
	yaml_document_t doc, next;
	yaml_node_t *root;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yamlconf_syntax_err(&parser, buf, e);
		yaml_parser_delete(&parser);
		return;
	}
	root = yaml_document_get_root_node(&doc);
	yamlconf_check_dups(&doc, e);
	if (root != NULL && root->type == YAML_MAPPING_NODE)
		fn(&doc, root, arg, e);
	else if (root != NULL &&
	    !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
		yamlconf_err(e, &root->start_mark, "expected a mapping of keys");
	if (root != NULL) {
		if (!yaml_parser_load(&parser, &next))
			yamlconf_syntax_err(&parser, buf, e);
		else {
			yaml_node_t *r2 = yaml_document_get_root_node(&next);

			/* A trailing "---" alone is an empty document. */
			if (r2 != NULL && !(r2->type == YAML_SCALAR_NODE &&
			    r2->data.scalar.length == 0))
				yamlconf_err(e, &r2->start_mark, "a second "
				    "YAML document (one is read)");
			yaml_document_delete(&next);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}
