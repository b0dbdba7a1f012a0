/* config.c - ~/.oci/config (oci.h "~/.oci/config"): one profile of the INI file the OCI CLI
 * and the Python SDK read, its values inherited from [DEFAULT].
 *
 * The dialect is that of the SDK's reader, Python's configparser.ConfigParser with
 * interpolation off and its defaults otherwise, so that a file the CLI accepts is accepted
 * here and means the same:
 *   - "[name]" starts a section; the name is everything between the first '[' and the last
 *     ']' of the line, kept as written (section names are case-sensitive); what follows the
 *     ']' is ignored, as configparser does;
 *   - "key = value" or "key: value", split at the first '=' or ':'; key and value trimmed;
 *     keys are case-insensitive ("USER" is user); an empty value is a value ("");
 *   - a line whose first non-blank character is '#' or ';' is a comment; there are no
 *     inline comments ("a = b # c" is the value "b # c"), and no %-interpolation;
 *   - a line indented deeper than the key line above it continues that value (configparser's
 *     multi-line values); OCI values are one line, so a continued value of a key we use is
 *     an error that names both lines: almost always a key line indented by mistake;
 *   - strict mode: a section twice ([DEFAULT] excepted) or a key twice in one section is an
 *     error, anywhere in the file, as is a key=value line before the first section or a
 *     line that is neither; errors name the file and line (and the first definition);
 *   - lines end in "\n", "\r\n" or "\r" (Python's universal newlines).
 * Besides, a UTF-8 byte order mark is skipped (Python would refuse the file), NUL bytes,
 * lines over MAX_LINE bytes and files over OCI_MAX_CONFIG_FILE are refused, and asking for
 * [DEFAULT] when the file has no such section is "no profile" (the SDK would hand out an
 * empty profile and fail later on a missing user).
 *
 * Only the keys of oci_profile_key_t are kept; values are never quoted in messages (one of
 * them is a pass phrase).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/oci-private.h"

#define MAX_LINE 16384     /* bytes of one line, end of line excluded */
#define MAX_LISTED 400     /* bytes of the "(profiles: ...)" list */
#define DEFAULT_SECTION "DEFAULT"
#define DEFAULT_ID 0       /* section id of every [DEFAULT] */

static const char *const key_names[OCI_PK_COUNT_] = {
	[OCI_PK_USER] = "user",
	[OCI_PK_FINGERPRINT] = "fingerprint",
	[OCI_PK_KEY_FILE] = "key_file",
	[OCI_PK_TENANCY] = "tenancy",
	[OCI_PK_REGION] = "region",
	[OCI_PK_PASS_PHRASE] = "pass_phrase",
	[OCI_PK_SECURITY_TOKEN_FILE] = "security_token_file",
};

const char *oci_profile_key_name(oci_profile_key_t k)
{
	return (unsigned)k < OCI_PK_COUNT_ ? key_names[k] : "?";
}

/* A section header (not [DEFAULT]): its name is name[0, len), in the buffer. */
struct sect {
	const char *name;
	size_t len;
	int line;
	size_t id; /* its index in the array + 1 */
};

/* A key line: key[0, klen) = val[0, vlen), in the buffer. */
struct ent {
	size_t sect; /* section id */
	const char *key, *val;
	size_t klen, vlen;
	int line;
	int cont_line; /* first line continuing the value; 0: none */
};

struct parser {
	const char *buf;
	size_t len;
	const char *file;
	struct sect *sects;
	size_t n_sects, cap_sects;
	struct ent *ents;
	size_t n_ents, cap_ents;
	bool has_default; /* a [DEFAULT] header was seen */
	char *err;
	size_t errsz;
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* The name of section id, "DEFAULT" included. */
static void sect_name(const struct parser *ps, size_t id, const char **ret, int *ret_len)
{
	if (id == DEFAULT_ID) {
		*ret = DEFAULT_SECTION;
		*ret_len = (int)strlen(DEFAULT_SECTION);
		return;
	}
	*ret = ps->sects[id - 1].name;
	*ret_len = (int)ps->sects[id - 1].len;
}

/* "FILE:LINE: profile [S]: message" (no profile part when id is SIZE_MAX). */
static int fail(struct parser *ps, int line, size_t id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct parser *ps, int line, size_t id, const char *fmt, ...)
{
	char msg[HTTP_ERROR_MAX];
	const char *name = "";
	int nlen = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (id != SIZE_MAX) {
		sect_name(ps, id, &name, &nlen);
		if (nlen > 128)
			nlen = 128;
	}
	http_errf(ps->err, ps->errsz, "%s:%d: %s%.*s%s%s", ps->file, line,
		  id != SIZE_MAX ? "profile [" : "", nlen, name, id != SIZE_MAX ? "]: " : "",
		  msg);
	return -EINVAL;
}

static int add_sect(struct parser *ps, const char *name, size_t len, int line,
		    size_t *ret_id)
{
	if (len == strlen(DEFAULT_SECTION) && !memcmp(name, DEFAULT_SECTION, len)) {
		ps->has_default = true;
		*ret_id = DEFAULT_ID;
		return 0;
	}
	if (grow((void **)&ps->sects, &ps->cap_sects, ps->n_sects, sizeof(*ps->sects)) < 0)
		return -ENOMEM;
	ps->sects[ps->n_sects] = (struct sect){ name, len, line, ps->n_sects + 1 };
	*ret_id = ++ps->n_sects;
	return 0;
}

/* Splits the buffer into lines and records sections and keys; stops at the first line that
 * is not one. */
static int scan(struct parser *ps)
{
	size_t pos = 0, cur = SIZE_MAX, last = SIZE_MAX, indent_level = 0;
	int line = 0, r;

	if (ps->len >= 3 && !memcmp(ps->buf, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < ps->len) {
		size_t start = pos, end = pos, next, b, e, indent;
		const char *s = ps->buf;

		while (end < ps->len && s[end] != '\n' && s[end] != '\r')
			end++;
		next = end;
		if (next < ps->len)
			next += s[next] == '\r' && next + 1 < ps->len && s[next + 1] == '\n' ? 2 : 1;
		pos = next;
		line++;
		if (end - start > MAX_LINE)
			return fail(ps, line, SIZE_MAX, "line longer than %d bytes", MAX_LINE);
		if (memchr(s + start, '\0', end - start))
			return fail(ps, line, SIZE_MAX, "NUL byte in the line");
		for (b = start; b < end && blank(s[b]); b++)
			;
		for (e = end; e > b && blank(s[e - 1]); e--)
			;
		if (b == e || s[b] == '#' || s[b] == ';')
			continue; /* empty or comment: neither ends a value nor continues it */
		indent = b - start;
		if (cur != SIZE_MAX && last != SIZE_MAX && indent > indent_level) {
			if (!ps->ents[last].cont_line)
				ps->ents[last].cont_line = line;
			continue;
		}
		indent_level = indent;
		if (s[b] == '[') {
			size_t rb = e - 1;

			while (rb > b && s[rb] != ']')
				rb--;
			if (rb >= b + 2) { /* "[" .+ "]": up to the last ']' */
				r = add_sect(ps, s + b + 1, rb - b - 1, line, &cur);
				if (r < 0)
					return r;
				last = SIZE_MAX;
				continue;
			}
		}
		if (cur == SIZE_MAX)
			return fail(ps, line, SIZE_MAX,
				    "line before the first [profile] section header");
		{
			size_t d = b, k_end, v;

			while (d < e && s[d] != '=' && s[d] != ':')
				d++;
			if (d == e)
				return fail(ps, line, cur, "line is neither [section] nor key=value");
			for (k_end = d; k_end > b && blank(s[k_end - 1]); k_end--)
				;
			if (k_end == b)
				return fail(ps, line, cur, "no key before '%c'", s[d]);
			for (v = d + 1; v < e && blank(s[v]); v++)
				;
			r = grow((void **)&ps->ents, &ps->cap_ents, ps->n_ents, sizeof(*ps->ents));
			if (r < 0)
				return r;
			ps->ents[ps->n_ents] =
				(struct ent){ cur, s + b, s + v, k_end - b, e - v, line, 0 };
			last = ps->n_ents++;
		}
	}
	return 0;
}

static bool same_sect(const struct sect *x, const struct sect *y)
{
	return x->len == y->len && !memcmp(x->name, y->name, x->len);
}

static bool same_key(const struct ent *x, const struct ent *y)
{
	return x->sect == y->sect && x->klen == y->klen && !strncasecmp(x->key, y->key, x->klen);
}

/* By name, then line. */
static int cmp_sect(const void *a, const void *b)
{
	const struct sect *x = a, *y = b;
	int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/* By section, key (case-insensitive), then line. */
static int cmp_ent(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c;

	if (x->sect != y->sect)
		return x->sect < y->sect ? -1 : 1;
	c = strncasecmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);
	if (c)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/* configparser's strict mode: no section and no key of a section twice. Of all duplicates
 * the one on the earliest line is reported, with the line of the first definition. Sorts
 * copies (O(n log n) on a file of a million "a=" lines); ps stays in file order. */
static int check_duplicates(struct parser *ps)
{
	struct sect *s = NULL;
	struct ent *e = NULL;
	const struct sect *ds = NULL; /* ds[0] the first definition, ds[1] the second */
	const struct ent *de = NULL;
	int r = 0;

	if (ps->n_sects > 1) {
		s = malloc(ps->n_sects * sizeof(*s));
		if (!s)
			return -ENOMEM;
		memcpy(s, ps->sects, ps->n_sects * sizeof(*s));
		qsort(s, ps->n_sects, sizeof(*s), cmp_sect);
		for (size_t i = 1; i < ps->n_sects; i++)
			if (same_sect(&s[i - 1], &s[i]) && (!ds || s[i].line < ds[1].line))
				ds = &s[i - 1];
	}
	if (ps->n_ents > 1) {
		e = malloc(ps->n_ents * sizeof(*e));
		if (!e) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(e, ps->ents, ps->n_ents * sizeof(*e));
		qsort(e, ps->n_ents, sizeof(*e), cmp_ent);
		for (size_t i = 1; i < ps->n_ents; i++)
			if (same_key(&e[i - 1], &e[i]) && (!de || e[i].line < de[1].line))
				de = &e[i - 1];
	}
	if (ds && (!de || ds[1].line < de[1].line))
		r = fail(ps, ds[1].line, SIZE_MAX, "section [%.*s] already defined on line %d",
			 (int)(ds->len > 128 ? 128 : ds->len), ds->name, ds->line);
	else if (de)
		r = fail(ps, de[1].line, de->sect, "key %.*s already set on line %d",
			 (int)(de->klen > 128 ? 128 : de->klen), de->key, de->line);
out:
	free(s);
	free(e);
	return r;
}

/* The entry of key k in section id, or NULL. */
static const struct ent *find(const struct parser *ps, size_t id, oci_profile_key_t k)
{
	size_t n = strlen(key_names[k]);

	for (size_t i = 0; i < ps->n_ents; i++)
		if (ps->ents[i].sect == id && ps->ents[i].klen == n &&
		    !strncasecmp(ps->ents[i].key, key_names[k], n))
			return &ps->ents[i];
	return NULL;
}

/* "~" and "~/..." -> $HOME/...; "~user" is left alone. malloc'd, NULL on ENOMEM; -ENOENT
 * into *ret_r when there is no home to expand to. */
static char *expand_tilde(const char *path, size_t len, int *ret_r)
{
	const char *home = getenv("HOME");
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096], *s;
	size_t hlen;

	*ret_r = -ENOMEM;
	if (len == 0 || path[0] != '~' || (len > 1 && path[1] != '/')) {
		s = strndup(path, len);
		return s;
	}
	if (!home || !*home) {
		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 || !pwp ||
		    !pwp->pw_dir || !*pwp->pw_dir) {
			*ret_r = -ENOENT;
			return NULL;
		}
		home = pwp->pw_dir;
	}
	hlen = strlen(home);
	while (hlen > 0 && home[hlen - 1] == '/') /* as Python's expanduser */
		hlen--;
	if (hlen == 0 && len == 1)
		return strdup("/");
	if (asprintf(&s, "%.*s%.*s", (int)hlen, home, (int)(len - 1), path + 1) < 0)
		return NULL;
	return s;
}

/* Appends the profile names, in file order, to buf: "DEFAULT, dev" or "none". */
static void list_profiles(const struct parser *ps, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	if (ps->has_default)
		used = (size_t)snprintf(buf, size, "%s", DEFAULT_SECTION);
	for (size_t i = 0; i < ps->n_sects && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%.*s", used ? ", " : "",
				 (int)(ps->sects[i].len > 64 ? 64 : ps->sects[i].len),
				 ps->sects[i].name);

		if (n < 0 || (size_t)n >= size - used) {
			snprintf(buf + (used + 4 < size ? used : size - 4), 4, "...");
			return;
		}
		used += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, size, "none");
}

static int parse(const char *buf, size_t len, const char *file, const char *profile,
		 oci_profile_t **ret, char *err, size_t errsz)
{
	struct parser ps = { .buf = buf, .len = len, .file = file, .err = err, .errsz = errsz };
	oci_profile_t *p = NULL;
	size_t id = SIZE_MAX;
	char names[MAX_LISTED];
	int r;

	if (len > OCI_MAX_CONFIG_FILE) {
		http_errf(err, errsz, "%s: larger than the %u bytes a config file may have", file,
			  OCI_MAX_CONFIG_FILE);
		return -EFBIG;
	}
	if (!buf && len > 0) {
		http_errf(err, errsz, "%s: no data", file);
		return -EINVAL;
	}
	r = scan(&ps);
	if (r == 0)
		r = check_duplicates(&ps);
	if (r < 0)
		goto out;
	if (!strcmp(profile, DEFAULT_SECTION))
		id = ps.has_default ? DEFAULT_ID : SIZE_MAX;
	else
		for (size_t i = 0; i < ps.n_sects && id == SIZE_MAX; i++)
			if (ps.sects[i].len == strlen(profile) &&
			    !memcmp(ps.sects[i].name, profile, ps.sects[i].len))
				id = ps.sects[i].id;
	if (id == SIZE_MAX) {
		list_profiles(&ps, names, sizeof(names));
		http_errf(err, errsz, "%s: no profile [%.128s] (profiles: %s)", file, profile,
			  names);
		r = -EINVAL;
		goto out;
	}

	p = calloc(1, sizeof(*p));
	if (!p || !(p->file = strdup(file)) || !(p->name = strdup(profile))) {
		r = -ENOMEM;
		goto out;
	}
	for (int k = 0; k < OCI_PK_COUNT_; k++) {
		const struct ent *e = find(&ps, id, (oci_profile_key_t)k);

		if (!e && id != DEFAULT_ID)
			e = find(&ps, DEFAULT_ID, (oci_profile_key_t)k);
		if (!e)
			continue;
		p->lines[k] = e->line;
		if (e->cont_line) {
			const char *sn;
			int snl;

			sect_name(&ps, e->sect, &sn, &snl);
			http_errf(err, errsz, "%s:%d: profile [%.*s]: key %s: the value goes on over "
				  "the indented line %d, and OCI values are one line (unindent that "
				  "line if it holds a key of its own)", file, e->line,
				  snl > 128 ? 128 : snl, sn, key_names[k], e->cont_line);
			r = -EINVAL;
			goto out;
		}
		if (k == OCI_PK_KEY_FILE || k == OCI_PK_SECURITY_TOKEN_FILE) {
			p->values[k] = expand_tilde(e->val, e->vlen, &r);
			if (!p->values[k] && r == -ENOENT) {
				oci_profile_where(p, (oci_profile_key_t)k, names, sizeof(names));
				http_errf(err, errsz, "%s: cannot expand \"~\": $HOME is not set and "
					  "the user has no home directory", names);
				goto out;
			}
		} else
			p->values[k] = strndup(e->val, e->vlen);
		if (!p->values[k]) {
			r = -ENOMEM;
			goto out;
		}
	}
	*ret = p;
	p = NULL;
	r = 0;
out:
	if (r == -ENOMEM)
		http_errf(err, errsz, "%s: out of memory", file);
	oci_profile_free(p);
	free(ps.sects);
	free(ps.ents);
	return r;
}

/* The profile to read: the argument, $OCI_CLI_PROFILE, DEFAULT. */
static const char *which_profile(const char *profile)
{
	const char *env = getenv("OCI_CLI_PROFILE");

	if (profile)
		return profile;
	return env && *env ? env : DEFAULT_SECTION;
}

int oci_profile_parse(const char *buf, size_t len, const char *file, const char *profile,
		      oci_profile_t **ret, char *err, size_t errsz)
{
	return parse(buf, len, file ? file : "(config)", which_profile(profile), ret, err,
		     errsz);
}

int oci_profile_load(const char *path, const char *profile, oci_profile_t **ret, char *err,
		     size_t errsz)
{
	const char *from = NULL, *env;
	char *file = NULL, *buf = NULL, label[HTTP_ERROR_MAX / 2];
	size_t len = 0;
	int r;

	if (!path) {
		if ((env = getenv("OCI_CLI_CONFIG_FILE")) && *env)
			path = env, from = " ($OCI_CLI_CONFIG_FILE)";
		else if ((env = getenv("OCI_CONFIG_FILE")) && *env)
			path = env, from = " ($OCI_CONFIG_FILE)";
		else
			path = "~/.oci/config", from = " (the default)";
	}
	file = expand_tilde(path, strlen(path), &r);
	if (!file) {
		if (r == -ENOENT)
			http_errf(err, errsz, "%s%s: cannot expand \"~\": $HOME is not set and the "
				  "user has no home directory", path, from ? from : "");
		else
			http_errf(err, errsz, "%s: out of memory", path);
		return r;
	}
	snprintf(label, sizeof(label), "%s%s", file, from ? from : "");
	r = oci_read_file(file, label, "the OCI config file", OCI_MAX_CONFIG_FILE, &buf, &len,
			  NULL, err, errsz);
	if (r < 0)
		goto out;
	r = parse(buf, len, file, which_profile(profile), ret, err, errsz);
out:
	if (buf) {
		/* the file may hold a pass phrase */
		explicit_bzero(buf, len);
		free(buf);
	}
	free(file);
	return r;
}

oci_profile_t *oci_profile_free(oci_profile_t *p)
{
	if (!p)
		return NULL;
	for (int k = 0; k < OCI_PK_COUNT_; k++) {
		if (k == OCI_PK_PASS_PHRASE && p->values[k])
			memset(p->values[k], 0, strlen(p->values[k]));
		free(p->values[k]);
	}
	free(p->file);
	free(p->name);
	free(p);
	return NULL;
}

void oci_profile_where(const oci_profile_t *p, oci_profile_key_t k, char *buf, size_t size)
{
	char line[16] = "";

	if (!buf || size == 0)
		return;
	if (!p) {
		snprintf(buf, size, "(no profile): key %s", oci_profile_key_name(k));
		return;
	}
	if ((unsigned)k < OCI_PK_COUNT_ && p->lines[k] > 0)
		snprintf(line, sizeof(line), ":%d", p->lines[k]);
	snprintf(buf, size, "%s%s: profile [%s]: key %s", p->file ? p->file : "(config)", line,
		 p->name ? p->name : "?", oci_profile_key_name(k));
}
