/* diag.c - collecting and printing configuration diagnostics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config-private.h"

int config_diag_addv(config_diags_t *d, config_severity_t sev, config_mark_t mark,
		     const char *fmt, va_list ap)
{
	config_diag_t *e;
	char *msg;

	if (sev == CONFIG_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->n >= CONFIG_MAX_DIAGS) {
		d->dropped++;
		return 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		config_diag_t *v = realloc(d->v, cap * sizeof(*v));

		if (!v) {
			d->dropped++;
			return -ENOMEM;
		}
		d->v = v;
		d->cap = cap;
	}
	if (vasprintf(&msg, fmt, ap) < 0) {
		d->dropped++;
		return -ENOMEM;
	}
	e = &d->v[d->n++];
	e->severity = sev;
	e->mark = mark;
	e->msg = msg;
	return 0;
}

int config_diag_add(config_diags_t *d, config_severity_t sev, config_mark_t mark,
		    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = config_diag_addv(d, sev, mark, fmt, ap);
	va_end(ap);
	return r;
}

void config_diags_clear(config_diags_t *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void config_diags_print(const config_diags_t *d, const char *file, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const config_diag_t *e = &d->v[i];
		const char *sev = e->severity == CONFIG_ERROR ? "error" : "warning";

		if (e->mark.line > 0)
			fprintf(out, "%s:%d:%d: %s: %s\n", file, e->mark.line, e->mark.col, sev,
				e->msg);
		else
			fprintf(out, "%s: %s\n", sev, e->msg);
	}
	if (d->dropped)
		fprintf(out, "%s: %zu more diagnostics not shown\n", file, d->dropped);
}

static bool before(const config_mark_t *a, const config_mark_t *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

void config_diags_sort(config_diags_t *d)
{
	/* At most CONFIG_MAX_DIAGS entries: insertion sort is stable and plenty. */
	for (size_t i = 1; i < d->n; i++) {
		config_diag_t e = d->v[i];
		size_t j = i;

		for (; j > 0 && before(&e.mark, &d->v[j - 1].mark); j--)
			d->v[j] = d->v[j - 1];
		d->v[j] = e;
	}
}
