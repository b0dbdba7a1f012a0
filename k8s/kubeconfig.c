/* kubeconfig.c - kubeconfig files (merged as kubectl merges them) and the in-cluster
 * service account -> k8s_cluster_t (kubeconfig.h).
 *
 * A load goes in two steps. First every file is read (bounded), parsed into a tree
 * (yaml-tree.c) and its shape checked: the top level a mapping, clusters/users/contexts
 * lists of named mappings, no name twice in one file. kubectl refuses those in any file of
 * the list, used or not, and so do we. Then only the chosen context, its cluster and its
 * user are read into the result, each from the first file that defines the name: kubectl's
 * "first file wins" merge without building the merged maps. Content checks (base64, PEM,
 * URLs, exec) apply to those three entries only, as in kubectl's ConfirmUsable.
 *
 * Messages name the file, the position, the field and the names of entries; they never
 * quote a value: tokens, passwords, keys and exec environments must not reach a log.
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

#include "k8s/k8s-private.h"
#include "k8s/kubeconfig.h"

#define EXEC_API_V1 "client.authentication.k8s.io/v1"
#define EXEC_API_V1BETA1 "client.authentication.k8s.io/v1beta1"
#define EXEC_API_V1ALPHA1 "client.authentication.k8s.io/v1alpha1"
#define KNOWN_MAX 1000 /* names looked at for a "(known: ...)" list */

enum { L_CLUSTERS, L_USERS, L_CONTEXTS, L_N };
static const char *const list_key[L_N] = { "clusters", "users", "contexts" };
static const char *const item_key[L_N] = { "cluster", "user", "context" };

struct kfile {
	char *path;                   /* for messages and relative paths */
	k8s_ynode_t *root;            /* NULL for an empty file */
	const k8s_ynode_t *lists[L_N]; /* sequences, or NULL */
	const k8s_ynode_t *current;   /* current-context: a non-empty scalar, or NULL */
};

/* One load: its files in precedence order, and where its error goes. */
struct ld {
	struct kfile files[K8S_MAX_KUBECONFIG_FILES];
	size_t n;
	const char *label; /* names the whole load in messages: a path or "$KUBECONFIG" */
	char *err;
	size_t errsz;
};

/* Where a field lives: a mapping of one file and its path for messages. */
struct sec {
	struct ld *l;
	const struct kfile *f;
	const k8s_ynode_t *map; /* NULL: an absent or null section */
	const k8s_ynode_t *at;  /* blamed for missing fields: map, or its entry */
	char base[96];          /* "users[2].user" */
};

/* ---- messages --------------------------------------------------------------------------- */

/* Writes "FILE[:LINE:COL]: [BASE[.KEY]: ]message" to l->err on one line and returns r.
 * file NULL stands for the whole load (l->label). */
static int fail(struct ld *l, int r, const char *file, const k8s_ynode_t *at, const char *base,
		const char *key, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int fail(struct ld *l, int r, const char *file, const k8s_ynode_t *at, const char *base,
		const char *key, const char *fmt, ...)
{
	char msg[K8S_ERROR_MAX], pos[32] = "";
	bool has_base = base && *base, has_key = key && *key;
	va_list ap;

	if (!l->err || l->errsz == 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at && at->line > 0)
		snprintf(pos, sizeof(pos), ":%d:%d", at->line, at->col);
	snprintf(l->err, l->errsz, "%s%s: %s%s%s%s%s", file ? file : l->label, pos,
		 has_base ? base : "", has_base && has_key ? "." : "", has_key ? key : "",
		 has_base || has_key ? ": " : "", msg);
	for (char *p = l->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return r;
}

/* The value of key in a validated mapping; NULL when absent or null. */
static const k8s_ynode_t *map_value(const k8s_ynode_t *map, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; map && map->kind == K8S_YMAP && i + 1 < map->n; i += 2)
		if (map->v[i]->kind == K8S_YSCALAR && map->v[i]->len == klen &&
		    memcmp(map->v[i]->str, key, klen) == 0)
			return k8s_ynode_is_null(map->v[i + 1]) ? NULL : map->v[i + 1];
	return NULL;
}

/* Appends the names of list k, first definition only, to buf as "a, b, c" ("none"). */
static void known_names(const struct ld *l, int k, char *buf, size_t size)
{
	size_t used = 0, seen = 0;

	buf[0] = '\0';
	for (size_t fi = 0; fi < l->n; fi++) {
		const k8s_ynode_t *seq = l->files[fi].lists[k];

		for (size_t i = 0; seq && i < seq->n; i++) {
			const char *name = map_value(seq->v[i], "name")->str;
			size_t len = strlen(name);
			bool dup = false;

			if (++seen > KNOWN_MAX) {
				snprintf(buf + used, size - used, "%s...", used ? ", " : "");
				return;
			}
			for (const char *p = buf; *p && !dup;) {
				const char *e = strstr(p, ", ");
				size_t n = e ? (size_t)(e - p) : strlen(p);

				dup = n == len && memcmp(p, name, n) == 0;
				p += e ? n + 2 : n;
			}
			if (dup)
				continue;
			if (used + len + 2 + 4 >= size) {
				snprintf(buf + used, size - used, "%s...", used ? ", " : "");
				return;
			}
			used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
						 name);
		}
	}
	if (used == 0)
		snprintf(buf, size, "none");
}

/* ---- fields ----------------------------------------------------------------------------- */

/* *ret: the value of key, NULL when absent or null. A key given twice is an error. */
static int sec_get(struct sec *s, const char *key, const k8s_ynode_t **ret)
{
	const k8s_ynode_t *v = NULL, *k0 = NULL;
	size_t klen = strlen(key);

	for (size_t i = 0; s->map && i + 1 < s->map->n; i += 2) {
		const k8s_ynode_t *k = s->map->v[i];

		if (k->kind != K8S_YSCALAR || k->len != klen || memcmp(k->str, key, klen) != 0)
			continue;
		if (k0)
			return fail(s->l, -EINVAL, s->f->path, k, s->base, key,
				    "set twice (first at line %d)", k0->line);
		k0 = k;
		v = s->map->v[i + 1];
	}
	*ret = v && !k8s_ynode_is_null(v) ? v : NULL;
	return 0;
}

/* A mapping or a sequence (kind), or NULL. */
static int sec_child(struct sec *s, const char *key, k8s_ynode_kind_t kind,
		     const k8s_ynode_t **ret)
{
	const k8s_ynode_t *v;
	int r = sec_get(s, key, &v);

	if (r < 0)
		return r;
	if (v && v->kind != kind)
		return fail(s->l, -EINVAL, s->f->path, v, s->base, key, "expected a %s",
			    kind == K8S_YMAP ? "mapping" : "list");
	*ret = v;
	return 0;
}

static int check_string(struct sec *s, const char *key, const k8s_ynode_t *v)
{
	if (v->kind != K8S_YSCALAR)
		return fail(s->l, -EINVAL, s->f->path, v, s->base, key,
			    "expected a string, not a %s",
			    v->kind == K8S_YMAP ? "mapping" : "list");
	if (memchr(v->str, '\0', v->len))
		return fail(s->l, -EINVAL, s->f->path, v, s->base, key, "contains a NUL byte");
	return 0;
}

/* *ret points into the tree; NULL when absent, null or empty (as kubectl: "" is unset).
 * ret_node (may be NULL) gets the value's node. */
static int sec_str(struct sec *s, const char *key, const char **ret, const k8s_ynode_t **ret_node)
{
	const k8s_ynode_t *v;
	int r = sec_get(s, key, &v);

	if (r == 0 && v)
		r = check_string(s, key, v);
	if (r < 0)
		return r;
	*ret = v && v->len > 0 ? v->str : NULL;
	if (ret_node)
		*ret_node = v;
	return 0;
}

static int sec_dup(struct sec *s, const char *key, char **ret)
{
	const char *v;
	int r = sec_str(s, key, &v, NULL);

	if (r < 0)
		return r;
	if (v && !(*ret = strdup(v)))
		return -ENOMEM;
	return 0;
}

static int sec_bool(struct sec *s, const char *key, bool *ret)
{
	/* YAML 1.1 booleans, as kubectl's YAML reader takes them */
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
					   "on", "On", "ON", "y", "Y" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO",
					  "off", "Off", "OFF", "n", "N" };
	const k8s_ynode_t *v;
	int r = sec_get(s, key, &v);

	if (r < 0 || !v)
		return r;
	for (size_t i = 0; v->kind == K8S_YSCALAR && v->plain && i < sizeof(yes) / sizeof(yes[0]);
	     i++) {
		if (strcmp(v->str, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcmp(v->str, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return fail(s->l, -EINVAL, s->f->path, v, s->base, key, "expected true or false");
}

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return ch == '=' ? -2 : -1;
}

/* Standard base64 as kubectl reads it (Go's StdEncoding): padding required; line breaks
 * ignored, and blanks too, which a folded YAML scalar makes of them. */
static int b64_decode(const char *s, size_t len, char **ret, size_t *ret_len)
{
	char *out = malloc(len / 4 * 3 + 4);
	size_t o = 0;
	int q[4], nq = 0;
	bool ended = false;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		uint32_t n;
		int pad;

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		q[nq] = b64_value(ch);
		if (q[nq] == -1 || ended)
			goto bad;
		if (++nq < 4)
			continue;
		nq = 0;
		pad = q[3] == -2 ? (q[2] == -2 ? 2 : 1) : 0;
		if (q[0] < 0 || q[1] < 0 || (q[2] < 0 && pad != 2))
			goto bad;
		n = (uint32_t)q[0] << 18 | (uint32_t)q[1] << 12 |
		    (uint32_t)(pad == 2 ? 0 : q[2]) << 6 | (uint32_t)(pad ? 0 : q[3]);
		out[o++] = (char)(n >> 16);
		if (pad < 2)
			out[o++] = (char)(n >> 8 & 0xff);
		if (pad < 1)
			out[o++] = (char)(n & 0xff);
		ended = pad > 0;
	}
	if (nq != 0)
		goto bad;
	out[o] = '\0';
	*ret = out;
	*ret_len = o;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

/* A -data field: base64 of PEM. */
static int sec_pem(struct sec *s, const char *key, char **ret, size_t *ret_len)
{
	const char *v;
	const k8s_ynode_t *node;
	char *pem = NULL;
	size_t len = 0;
	int r = sec_str(s, key, &v, &node);

	if (r < 0 || !v)
		return r;
	r = b64_decode(v, node->len, &pem, &len);
	if (r == -EINVAL)
		return fail(s->l, r, s->f->path, node, s->base, key, "not valid base64");
	if (r < 0)
		return r;
	if (memchr(pem, '\0', len) || !memmem(pem, len, "-----BEGIN", 10)) {
		free(pem);
		return fail(s->l, -EINVAL, s->f->path, node, s->base, key,
			    "not PEM once base64-decoded (no \"-----BEGIN\" line)");
	}
	*ret = pem;
	*ret_len = len;
	return 0;
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	const struct passwd *pw;

	if (h && *h)
		return h;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
}

/* "~" and "~/x" -> the home directory; anything else copied. -ENOENT: no home. */
static int expand_home(const char *p, char **ret)
{
	const char *home;

	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		home = home_dir();
		if (!home)
			return -ENOENT;
		return asprintf(ret, "%s%s", home, p + 1) < 0 ? -ENOMEM : 0;
	}
	return (*ret = strdup(p)) ? 0 : -ENOMEM;
}

/* p as seen from the folder of `file` (made absolute); "~/" and absolute paths as they are. */
static int resolve_path(const char *file, const char *p, char **ret)
{
	const char *slash = strrchr(file, '/');
	char *cwd = NULL;
	int r;

	if (p[0] == '/' || (p[0] == '~' && (p[1] == '/' || p[1] == '\0')))
		return expand_home(p, ret);
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	if (file[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return -errno;
	}
	if (!slash)
		r = asprintf(ret, "%s%s%s", cwd, *p ? "/" : "", p);
	else
		r = asprintf(ret, "%s%s%.*s%s%s", cwd ? cwd : "", cwd ? "/" : "",
			     (int)(slash - file), file, *p || slash == file ? "/" : "", p);
	free(cwd);
	return r < 0 ? -ENOMEM : 0;
}

static int sec_path(struct sec *s, const char *key, char **ret)
{
	const char *v;
	const k8s_ynode_t *node;
	int r = sec_str(s, key, &v, &node);

	if (r < 0 || !v)
		return r;
	r = resolve_path(s->f->path, v, ret);
	if (r == -ENOENT && v[0] == '~')
		return fail(s->l, -EINVAL, s->f->path, node, s->base, key,
			    "starts with ~ but the home directory is unknown (HOME is not set)");
	if (r < 0 && r != -ENOMEM)
		return fail(s->l, r, s->f->path, node, s->base, key,
			    "cannot resolve the relative path: %s", strerror(-r));
	return r;
}

/* scheme://[userinfo@]host[...] with one of the schemes, no blanks or control characters. */
static bool url_ok(const char *s, const char *const *schemes)
{
	const char *host = NULL, *at;
	size_t n;

	for (; *schemes && !host; schemes++) {
		n = strlen(*schemes);
		if (strncasecmp(s, *schemes, n) == 0 && strncmp(s + n, "://", 3) == 0)
			host = s + n + 3;
	}
	if (!host)
		return false;
	n = strcspn(host, "/?#");
	at = memrchr(host, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - host);
		host = at + 1;
	}
	if (n == 0 || host[0] == ':')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Kubernetes namespaces are DNS-1123 labels; they end up in URL paths. */
static bool namespace_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* ---- files ------------------------------------------------------------------------------ */

/* The whole file, NUL-terminated; -EFBIG past max bytes, -EISDIR, or -errno. */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	/* room for the read that sees the end */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 4096;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap || !buf) {
			char *nb;

			if (buf)
				cap = cap > max / 2 ? max + 2 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

struct name_ref {
	const char *name;
	size_t i;
};

static int name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* No name twice in one list of one file (kubectl: "duplicate name"). */
static int check_unique(struct ld *l, const struct kfile *f, int k)
{
	const k8s_ynode_t *seq = f->lists[k];
	char base[48];
	struct name_ref *refs;
	size_t worst = SIZE_MAX, first = 0;

	if (seq->n < 2)
		return 0;
	refs = malloc(seq->n * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < seq->n; i++) {
		refs[i].name = map_value(seq->v[i], "name")->str;
		refs[i].i = i;
	}
	qsort(refs, seq->n, sizeof(*refs), name_ref_cmp);
	/* the earliest second definition, to report it where a reader meets it */
	for (size_t i = 1; i < seq->n; i++)
		if (strcmp(refs[i].name, refs[i - 1].name) == 0 &&
		    (i < 2 || strcmp(refs[i].name, refs[i - 2].name) != 0) && refs[i].i < worst) {
			worst = refs[i].i;
			first = refs[i - 1].i;
		}
	free(refs);
	if (worst == SIZE_MAX)
		return 0;
	snprintf(base, sizeof(base), "%s[%zu]", list_key[k], worst);
	return fail(l, -EINVAL, f->path, map_value(seq->v[worst], "name"), base, "name",
		    "duplicate name \"%.100s\" (also %s[%zu])",
		    map_value(seq->v[worst], "name")->str, list_key[k], first);
}

/* What kubectl refuses in any file: the layout, names, duplicates. */
static int check_shape(struct ld *l, struct kfile *f)
{
	struct sec top = { .l = l, .f = f, .map = f->root, .at = f->root };
	const char *cur;
	const k8s_ynode_t *cur_node;
	int r;

	if (!f->root)
		return 0;
	if (f->root->kind != K8S_YMAP)
		return fail(l, -EINVAL, f->path, f->root, NULL, NULL,
			    "expected a mapping (apiVersion, clusters, users, contexts, ...)");
	for (int k = 0; k < L_N; k++) {
		const k8s_ynode_t *seq;

		r = sec_child(&top, list_key[k], K8S_YSEQ, &f->lists[k]);
		if (r < 0)
			return r;
		seq = f->lists[k];
		if (!seq)
			continue;
		if (seq->n > K8S_MAX_KUBECONFIG_ENTRIES)
			return fail(l, -EINVAL, f->path, seq, list_key[k], NULL,
				    "more than %d entries", K8S_MAX_KUBECONFIG_ENTRIES);
		for (size_t i = 0; i < seq->n; i++) {
			struct sec e = { .l = l, .f = f, .map = seq->v[i], .at = seq->v[i] };
			const k8s_ynode_t *inner;
			const char *name;

			snprintf(e.base, sizeof(e.base), "%s[%zu]", list_key[k], i);
			if (seq->v[i]->kind != K8S_YMAP)
				return fail(l, -EINVAL, f->path, seq->v[i], e.base, NULL,
					    "expected a mapping (name, %s)", item_key[k]);
			r = sec_str(&e, "name", &name, NULL);
			if (r == 0 && !name)
				r = fail(l, -EINVAL, f->path, seq->v[i], e.base, "name", "missing");
			if (r == 0)
				r = sec_child(&e, item_key[k], K8S_YMAP, &inner);
			if (r < 0)
				return r;
		}
		r = check_unique(l, f, k);
		if (r < 0)
			return r;
	}
	r = sec_str(&top, "current-context", &cur, &cur_node);
	if (r < 0)
		return r;
	f->current = cur ? cur_node : NULL;
	return 0;
}

/* Parses one file's bytes into l->files[l->n]; takes path. */
static int add_buffer(struct ld *l, char *path, const char *buf, size_t len)
{
	struct kfile *f = &l->files[l->n];
	k8s_yaml_error_t ye = { 0 };
	int r;

	*f = (struct kfile){ .path = path };
	l->n++;
	r = k8s_yaml_parse(len ? buf : "", len, &f->root, &ye);
	if (r == -EINVAL) {
		k8s_ynode_t pos = { .line = ye.line, .col = ye.col };

		return fail(l, r, f->path, &pos, NULL, NULL, "invalid YAML: %s", ye.msg);
	}
	if (r < 0)
		return r;
	return check_shape(l, f);
}

/* Reads and parses one file. Missing and !required: skipped. */
static int add_file(struct ld *l, const char *raw, bool required)
{
	char *path = NULL, *buf = NULL;
	size_t len = 0;
	int r;

	if (l->n == K8S_MAX_KUBECONFIG_FILES)
		return fail(l, -EINVAL, NULL, NULL, NULL, NULL, "more than %d files",
			    K8S_MAX_KUBECONFIG_FILES);
	r = expand_home(raw, &path);
	if (r == -ENOENT)
		return fail(l, -ENOENT, raw, NULL, NULL, NULL,
			    "the home directory is unknown (HOME is not set)");
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->files[i].path, path) == 0) {
			free(path); /* named twice: the first has precedence anyway */
			return 0;
		}
	r = read_file(path, K8S_MAX_KUBECONFIG_SIZE, &buf, &len);
	if (r == -ENOENT && !required) {
		r = 0;
		goto out;
	}
	if (r == -EFBIG)
		r = fail(l, r, path, NULL, NULL, NULL, "larger than %u bytes",
			 K8S_MAX_KUBECONFIG_SIZE);
	else if (r < 0 && r != -ENOMEM)
		r = fail(l, r, path, NULL, NULL, NULL, "cannot read: %s", strerror(-r));
	if (r < 0)
		goto out;
	r = add_buffer(l, path, buf, len);
	path = NULL;
out:
	free(path);
	free(buf);
	return r;
}

static void ld_clear(struct ld *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->files[i].path);
		k8s_yaml_free(l->files[i].root);
	}
	l->n = 0;
}

/* ---- the chosen context, cluster and user ----------------------------------------------- */

/* The entry of list k named name in the first file that defines it. */
static bool find_entry(struct ld *l, int k, const char *name, const struct kfile **ret_f,
		       size_t *ret_i)
{
	for (size_t fi = 0; fi < l->n; fi++) {
		const k8s_ynode_t *seq = l->files[fi].lists[k];

		for (size_t i = 0; seq && i < seq->n; i++)
			if (strcmp(map_value(seq->v[i], "name")->str, name) == 0) {
				*ret_f = &l->files[fi];
				*ret_i = i;
				return true;
			}
	}
	return false;
}

static void section(struct sec *s, struct ld *l, const struct kfile *f, int k, size_t i)
{
	const k8s_ynode_t *item = f->lists[k]->v[i];

	*s = (struct sec){ .l = l, .f = f, .map = map_value(item, item_key[k]) };
	s->at = s->map ? s->map : item;
	snprintf(s->base, sizeof(s->base), "%s[%zu].%s", list_key[k], i, item_key[k]);
}

static int read_cluster(struct ld *l, const struct kfile *f, size_t i, const char *name,
			k8s_cluster_t *c)
{
	static const char *const server_schemes[] = { "https", "http", NULL };
	static const char *const proxy_schemes[] = { "http", "https", "socks5", NULL };
	struct sec s;
	const char *server, *proxy;
	const k8s_ynode_t *node, *proxy_node;
	size_t len;
	int r;

	section(&s, l, f, L_CLUSTERS, i);
	r = sec_str(&s, "server", &server, &node);
	if (r < 0)
		return r;
	if (!server)
		return fail(l, -EINVAL, f->path, s.at, s.base, "server",
			    "missing: cluster \"%.100s\" has no server", name);
	if (!url_ok(server, server_schemes))
		return fail(l, -EINVAL, f->path, node, s.base, "server",
			    "not an https:// or http:// URL with a host");
	for (len = strlen(server); server[len - 1] == '/'; len--)
		;
	c->server = strndup(server, len);
	if (!c->server)
		return -ENOMEM;

	r = sec_str(&s, "proxy-url", &proxy, &proxy_node);
	if (r == 0 && proxy && !url_ok(proxy, proxy_schemes))
		r = fail(l, -EINVAL, f->path, proxy_node, s.base, "proxy-url",
			 "not an http://, https:// or socks5:// URL with a host");
	if (r == 0 && proxy && !(c->proxy_url = strdup(proxy)))
		r = -ENOMEM;
	if (r == 0)
		r = sec_dup(&s, "tls-server-name", &c->tls_server_name);
	if (r == 0)
		r = sec_bool(&s, "insecure-skip-tls-verify", &c->insecure_skip_tls_verify);
	if (r == 0)
		r = sec_path(&s, "certificate-authority", &c->ca_file);
	if (r == 0)
		r = sec_pem(&s, "certificate-authority-data", &c->ca_pem, &c->ca_pem_len);
	if (r < 0)
		return r;
	if (c->ca_file && c->ca_pem)
		return fail(l, -EINVAL, f->path, s.at, s.base, "certificate-authority-data",
			    "certificate-authority is set too; set only one");
	if (c->insecure_skip_tls_verify && (c->ca_file || c->ca_pem))
		return fail(l, -EINVAL, f->path, s.at, s.base, "insecure-skip-tls-verify",
			    "cannot be combined with a certificate authority");
	return 0;
}

static int read_exec(struct ld *l, const struct kfile *f, const struct sec *user,
		     const k8s_ynode_t *node, k8s_exec_t *x)
{
	struct sec s = { .l = l, .f = f, .map = node, .at = node };
	const k8s_ynode_t *api_node, *args, *env, *mode_node;
	const char *api, *cmd, *mode;
	int r;

	snprintf(s.base, sizeof(s.base), "%.60s.exec", user->base);
	r = sec_str(&s, "apiVersion", &api, &api_node);
	if (r < 0)
		return r;
	if (!api)
		return fail(l, -EINVAL, f->path, node, s.base, "apiVersion",
			    "missing (" EXEC_API_V1 " or " EXEC_API_V1BETA1 ")");
	if (strcmp(api, EXEC_API_V1ALPHA1) == 0)
		return fail(l, -EINVAL, f->path, api_node, s.base, "apiVersion",
			    EXEC_API_V1ALPHA1 " is no longer supported; use " EXEC_API_V1);
	if (strcmp(api, EXEC_API_V1) != 0 && strcmp(api, EXEC_API_V1BETA1) != 0)
		return fail(l, -EINVAL, f->path, api_node, s.base, "apiVersion",
			    "must be " EXEC_API_V1 " or " EXEC_API_V1BETA1);
	if (!(x->api_version = strdup(api)))
		return -ENOMEM;

	r = sec_str(&s, "command", &cmd, NULL);
	if (r < 0)
		return r;
	if (!cmd)
		return fail(l, -EINVAL, f->path, node, s.base, "command", "missing");
	/* a bare name is looked up in $PATH when it runs */
	r = strchr(cmd, '/') ? sec_path(&s, "command", &x->command)
			     : sec_dup(&s, "command", &x->command);
	if (r < 0)
		return r;

	r = sec_child(&s, "args", K8S_YSEQ, &args);
	if (r == 0 && args && args->n > K8S_MAX_EXEC_ARGS)
		r = fail(l, -EINVAL, f->path, args, s.base, "args", "more than %d arguments",
			 K8S_MAX_EXEC_ARGS);
	if (r == 0 && args && !(x->args = calloc(args->n, sizeof(*x->args))))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && args && i < args->n; i++) {
		const k8s_ynode_t *a = args->v[i];
		char key[32];

		snprintf(key, sizeof(key), "args[%zu]", i);
		r = check_string(&s, key, a);
		if (r == 0 && !(x->args[x->n_args++] = strdup(k8s_ynode_is_null(a) ? "" : a->str)))
			r = -ENOMEM;
	}

	if (r == 0)
		r = sec_child(&s, "env", K8S_YSEQ, &env);
	if (r == 0 && env && env->n > K8S_MAX_EXEC_ENV)
		r = fail(l, -EINVAL, f->path, env, s.base, "env", "more than %d variables",
			 K8S_MAX_EXEC_ENV);
	if (r == 0 && env) {
		x->env_names = calloc(env->n, sizeof(*x->env_names));
		x->env_values = calloc(env->n, sizeof(*x->env_values));
		if (!x->env_names || !x->env_values)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && env && i < env->n; i++) {
		struct sec e = { .l = l, .f = f, .map = env->v[i], .at = env->v[i] };
		const char *name, *value;
		const k8s_ynode_t *vnode;

		snprintf(e.base, sizeof(e.base), "%.60s.env[%zu]", s.base, i);
		if (env->v[i]->kind != K8S_YMAP)
			return fail(l, -EINVAL, f->path, env->v[i], e.base, NULL,
				    "expected a mapping (name, value)");
		r = sec_str(&e, "name", &name, NULL);
		if (r == 0 && (!name || strchr(name, '=')))
			r = fail(l, -EINVAL, f->path, env->v[i], e.base, "name",
				 name ? "contains '='" : "missing");
		if (r == 0)
			r = sec_str(&e, "value", &value, &vnode);
		if (r == 0 && !vnode)
			r = fail(l, -EINVAL, f->path, env->v[i], e.base, "value", "missing");
		if (r == 0) {
			x->n_env++;
			x->env_names[i] = strdup(name);
			x->env_values[i] = strdup(value ? value : "");
			if (!x->env_names[i] || !x->env_values[i])
				r = -ENOMEM;
		}
	}

	if (r == 0)
		r = sec_dup(&s, "installHint", &x->install_hint);
	if (r == 0)
		r = sec_bool(&s, "provideClusterInfo", &x->provide_cluster_info);
	if (r == 0)
		r = sec_str(&s, "interactiveMode", &mode, &mode_node);
	if (r < 0)
		return r;
	if (!mode && strcmp(api, EXEC_API_V1) == 0)
		return fail(l, -EINVAL, f->path, node, s.base, "interactiveMode",
			    "missing (required by " EXEC_API_V1 "; Never or IfAvailable)");
	if (!mode)
		mode = "IfAvailable"; /* the v1beta1 default */
	else if (strcmp(mode, "Always") == 0)
		return fail(l, -EINVAL, f->path, mode_node, s.base, "interactiveMode",
			    "Always needs a terminal, which a daemon has not; "
			    "use Never or IfAvailable");
	else if (strcmp(mode, "Never") != 0 && strcmp(mode, "IfAvailable") != 0)
		return fail(l, -EINVAL, f->path, mode_node, s.base, "interactiveMode",
			    "must be Never or IfAvailable");
	return (x->interactive_mode = strdup(mode)) ? 0 : -ENOMEM;
}

static int read_user(struct ld *l, const struct kfile *f, size_t i, k8s_cluster_t *c)
{
	struct sec s;
	const k8s_ynode_t *node;
	int r;

	section(&s, l, f, L_USERS, i);
	r = sec_get(&s, "auth-provider", &node);
	if (r < 0)
		return r;
	if (node)
		return fail(l, -EINVAL, f->path, node, s.base, "auth-provider",
			    "auth-provider is no longer supported; use an exec plugin");

	r = sec_path(&s, "client-certificate", &c->cert_file);
	if (r == 0)
		r = sec_pem(&s, "client-certificate-data", &c->cert_pem, &c->cert_pem_len);
	if (r == 0)
		r = sec_path(&s, "client-key", &c->key_file);
	if (r == 0)
		r = sec_pem(&s, "client-key-data", &c->key_pem, &c->key_pem_len);
	if (r == 0)
		r = sec_dup(&s, "token", &c->token);
	if (r == 0)
		r = sec_path(&s, "tokenFile", &c->token_file);
	if (r == 0)
		r = sec_dup(&s, "username", &c->username);
	if (r == 0)
		r = sec_dup(&s, "password", &c->password);
	if (r < 0)
		return r;

	if (c->cert_file && c->cert_pem)
		return fail(l, -EINVAL, f->path, s.at, s.base, "client-certificate-data",
			    "client-certificate is set too; set only one");
	if (c->key_file && c->key_pem)
		return fail(l, -EINVAL, f->path, s.at, s.base, "client-key-data",
			    "client-key is set too; set only one");
	if ((c->cert_file || c->cert_pem) != (c->key_file || c->key_pem))
		return fail(l, -EINVAL, f->path, s.at, s.base,
			    c->cert_file || c->cert_pem ? "client-key" : "client-certificate",
			    "missing: a client certificate needs its key and a key its "
			    "certificate");
	if (c->token && (c->username || c->password))
		return fail(l, -EINVAL, f->path, s.at, s.base, "token",
			    "token and username/password are both set; only one is allowed");
	if (c->token) { /* token wins over tokenFile */
		free(c->token_file);
		c->token_file = NULL;
	}

	r = sec_child(&s, "exec", K8S_YMAP, &node);
	if (r < 0 || !node)
		return r;
	c->exec = calloc(1, sizeof(*c->exec));
	if (!c->exec)
		return -ENOMEM;
	return read_exec(l, f, &s, node, c->exec);
}

/* The context asked for (or current-context), its cluster and user -> *ret. */
static int resolve(struct ld *l, const char *want, const char *source, k8s_cluster_t **ret)
{
	char known[512];
	const struct kfile *cur_f = NULL, *f, *cf, *uf;
	const k8s_ynode_t *cluster_node, *user_node, *ns_node;
	const char *name = want && *want ? want : NULL, *cluster, *user, *ns;
	k8s_cluster_t *c = NULL;
	struct sec s;
	size_t i, ci, ui;
	int r;

	for (size_t fi = 0; !name && fi < l->n; fi++)
		if (l->files[fi].current) {
			cur_f = &l->files[fi];
			name = cur_f->current->str;
		}
	if (!name) {
		known_names(l, L_CONTEXTS, known, sizeof(known));
		return fail(l, -EINVAL, NULL, NULL, NULL, NULL,
			    "no context asked for and no current-context set (known: %s)", known);
	}
	if (!find_entry(l, L_CONTEXTS, name, &f, &i)) {
		known_names(l, L_CONTEXTS, known, sizeof(known));
		return fail(l, -EINVAL, cur_f ? cur_f->path : NULL, cur_f ? cur_f->current : NULL,
			    cur_f ? "current-context" : NULL, NULL,
			    "context \"%.100s\" not found (known: %s)", name, known);
	}

	section(&s, l, f, L_CONTEXTS, i);
	r = sec_str(&s, "cluster", &cluster, &cluster_node);
	if (r == 0 && !cluster)
		r = fail(l, -EINVAL, f->path, s.at, s.base, "cluster",
			 "missing: context \"%.100s\" names no cluster", name);
	if (r == 0)
		r = sec_str(&s, "user", &user, &user_node);
	if (r == 0 && !user)
		r = fail(l, -EINVAL, f->path, s.at, s.base, "user",
			 "missing: context \"%.100s\" names no user", name);
	if (r == 0)
		r = sec_str(&s, "namespace", &ns, &ns_node);
	if (r == 0 && ns && !namespace_ok(ns))
		r = fail(l, -EINVAL, f->path, ns_node, s.base, "namespace",
			 "not a namespace name (lowercase letters, digits and '-', at most 63)");
	if (r < 0)
		return r;
	if (!find_entry(l, L_CLUSTERS, cluster, &cf, &ci)) {
		known_names(l, L_CLUSTERS, known, sizeof(known));
		return fail(l, -EINVAL, f->path, cluster_node, s.base, "cluster",
			    "cluster \"%.100s\" not found (known: %s)", cluster, known);
	}
	if (!find_entry(l, L_USERS, user, &uf, &ui)) {
		known_names(l, L_USERS, known, sizeof(known));
		return fail(l, -EINVAL, f->path, user_node, s.base, "user",
			    "user \"%.100s\" not found (known: %s)", user, known);
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->context = strdup(name);
	c->source = strdup(source);
	c->namespace_ = strdup(ns ? ns : "default");
	if (!c->context || !c->source || !c->namespace_)
		r = -ENOMEM;
	if (r == 0)
		r = read_cluster(l, cf, ci, cluster, c);
	if (r == 0)
		r = read_user(l, uf, ui, c);
	if (r < 0) {
		k8s_cluster_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* ---- API -------------------------------------------------------------------------------- */

static k8s_exec_t *exec_free(k8s_exec_t *x)
{
	if (!x)
		return NULL;
	free(x->api_version);
	free(x->command);
	for (size_t i = 0; i < x->n_args; i++)
		free(x->args[i]);
	free(x->args);
	for (size_t i = 0; i < x->n_env; i++) {
		free(x->env_names[i]);
		free(x->env_values[i]);
	}
	free(x->env_names);
	free(x->env_values);
	free(x->install_hint);
	free(x->interactive_mode);
	free(x);
	return NULL;
}

static char *dup_or_null(const char *s, bool *ok)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*ok = false;
	return d;
}

static char *dup_mem(const char *s, size_t len, bool *ok)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = malloc(len + 1))) {
		*ok = false;
		return NULL;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

k8s_cluster_t *k8s_cluster_dup(const k8s_cluster_t *s)
{
	k8s_cluster_t *c = calloc(1, sizeof(*c));
	bool ok = c != NULL;

	if (!c)
		return NULL;
	c->server = dup_or_null(s->server, &ok);
	c->tls_server_name = dup_or_null(s->tls_server_name, &ok);
	c->proxy_url = dup_or_null(s->proxy_url, &ok);
	c->insecure_skip_tls_verify = s->insecure_skip_tls_verify;
	c->ca_file = dup_or_null(s->ca_file, &ok);
	c->ca_pem = dup_mem(s->ca_pem, s->ca_pem_len, &ok);
	c->ca_pem_len = s->ca_pem_len;
	c->cert_file = dup_or_null(s->cert_file, &ok);
	c->key_file = dup_or_null(s->key_file, &ok);
	c->cert_pem = dup_mem(s->cert_pem, s->cert_pem_len, &ok);
	c->cert_pem_len = s->cert_pem_len;
	c->key_pem = dup_mem(s->key_pem, s->key_pem_len, &ok);
	c->key_pem_len = s->key_pem_len;
	c->token = dup_or_null(s->token, &ok);
	c->token_file = dup_or_null(s->token_file, &ok);
	c->username = dup_or_null(s->username, &ok);
	c->password = dup_or_null(s->password, &ok);
	c->namespace_ = dup_or_null(s->namespace_ ? s->namespace_ : "default", &ok);
	c->context = dup_or_null(s->context, &ok);
	c->source = dup_or_null(s->source, &ok);
	if (s->exec && ok) {
		const k8s_exec_t *x = s->exec;
		k8s_exec_t *y = calloc(1, sizeof(*y));

		c->exec = y;
		if (!y || (x->n_args && !(y->args = calloc(x->n_args, sizeof(char *)))) ||
		    (x->n_env && (!(y->env_names = calloc(x->n_env, sizeof(char *))) ||
				  !(y->env_values = calloc(x->n_env, sizeof(char *)))))) {
			ok = false;
		} else {
			y->api_version = dup_or_null(x->api_version, &ok);
			y->command = dup_or_null(x->command, &ok);
			for (size_t i = 0; i < x->n_args; i++, y->n_args++)
				y->args[i] = dup_or_null(x->args[i], &ok);
			for (size_t i = 0; i < x->n_env; i++, y->n_env++) {
				y->env_names[i] = dup_or_null(x->env_names[i], &ok);
				y->env_values[i] = dup_or_null(x->env_values[i], &ok);
			}
			y->install_hint = dup_or_null(x->install_hint, &ok);
			y->provide_cluster_info = x->provide_cluster_info;
			y->interactive_mode = dup_or_null(x->interactive_mode, &ok);
		}
	}
	if (!ok)
		return k8s_cluster_free(c);
	return c;
}

k8s_cluster_t *k8s_cluster_free(k8s_cluster_t *c)
{
	if (!c)
		return NULL;
	free(c->server);
	free(c->tls_server_name);
	free(c->proxy_url);
	free(c->ca_file);
	free(c->ca_pem);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_pem);
	free(c->key_pem);
	free(c->token);
	free(c->token_file);
	free(c->username);
	free(c->password);
	exec_free(c->exec);
	free(c->namespace_);
	free(c->context);
	free(c->source);
	free(c);
	return NULL;
}

int k8s_kubeconfig_parse(const char *buf, size_t len, const char *name, const char *context,
			 k8s_cluster_t **ret, char *err, size_t errsz)
{
	struct ld *l = calloc(1, sizeof(*l));
	char *path;
	int r;

	if (!l)
		return -ENOMEM;
	*l = (struct ld){ .label = name ? name : "kubeconfig", .err = err, .errsz = errsz };
	if (len > K8S_MAX_KUBECONFIG_SIZE) {
		r = fail(l, -EFBIG, NULL, NULL, NULL, NULL, "larger than %u bytes",
			 K8S_MAX_KUBECONFIG_SIZE);
		goto out;
	}
	path = strdup(l->label);
	r = path ? add_buffer(l, path, buf, len) : -ENOMEM;
	if (r == 0)
		r = resolve(l, context, l->label, ret);
out:
	ld_clear(l);
	free(l);
	return r;
}

/* "a:b:c" of the files read, for k8s_cluster_t.source. */
static char *join_paths(const struct ld *l)
{
	size_t size = 1;
	char *s, *p;

	for (size_t i = 0; i < l->n; i++)
		size += strlen(l->files[i].path) + 1;
	s = p = malloc(size);
	for (size_t i = 0; s && i < l->n; i++)
		p += sprintf(p, "%s%s", i ? ":" : "", l->files[i].path);
	if (s)
		*p = '\0';
	return s;
}

int k8s_kubeconfig_load(const char *path, const char *context, k8s_cluster_t **ret, char *err,
			size_t errsz)
{
	struct ld *l = calloc(1, sizeof(*l));
	const char *env = getenv("KUBECONFIG");
	char *list = NULL, *def = NULL, *source = NULL;
	int r = 0;

	if (!l)
		return -ENOMEM;
	*l = (struct ld){ .err = err, .errsz = errsz };
	if (env && strspn(env, ":") == strlen(env))
		env = NULL; /* no file named: as if unset */

	if (path) {
		l->label = path;
		r = add_file(l, path, true);
	} else if (env) {
		char *save = NULL;

		l->label = "$KUBECONFIG";
		list = strdup(env);
		if (!list) {
			r = -ENOMEM;
			goto out;
		}
		for (char *p = strtok_r(list, ":", &save); p && r == 0;
		     p = strtok_r(NULL, ":", &save))
			r = add_file(l, p, false);
		if (r == 0 && l->n == 0)
			r = fail(l, -ENOENT, NULL, NULL, NULL, NULL,
				 "none of its files exists (%.300s)", env);
	} else {
		const char *home = home_dir();

		l->label = "~/.kube/config";
		if (!home) {
			r = fail(l, -ENOENT, NULL, NULL, NULL, NULL,
				 "no kubeconfig: the home directory is unknown (HOME is not set)");
			goto out;
		}
		if (asprintf(&def, "%s/.kube/config", home) < 0) {
			def = NULL;
			r = -ENOMEM;
			goto out;
		}
		l->label = def;
		r = add_file(l, def, true);
	}
	if (r < 0)
		goto out;
	source = join_paths(l);
	r = source ? resolve(l, context, source, ret) : -ENOMEM;
out:
	ld_clear(l);
	free(l);
	free(list);
	free(def);
	free(source);
	return r;
}

int k8s_incluster_load(const char *sa_dir, k8s_cluster_t **ret, char *err, size_t errsz)
{
	struct ld l = { .label = "in-cluster", .err = err, .errsz = errsz };
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = sa_dir ? sa_dir : K8S_SERVICEACCOUNT_DIR;
	char *ns_path = NULL, *ns = NULL;
	size_t ns_len = 0;
	long port_n;
	char *end;
	k8s_cluster_t *c = NULL;
	int r;

	if (!host || !*host || !port || !*port)
		return fail(&l, -ENOENT, NULL, NULL, NULL, NULL,
			    "not in a Kubernetes cluster (KUBERNETES_SERVICE_HOST and "
			    "KUBERNETES_SERVICE_PORT are not both set)");
	if (strspn(host, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:") !=
	    strlen(host))
		return fail(&l, -EINVAL, NULL, NULL, NULL, NULL,
			    "KUBERNETES_SERVICE_HOST is not a host name or an IP address");
	errno = 0;
	port_n = strtol(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end || errno || port_n < 1 || port_n > 65535)
		return fail(&l, -EINVAL, NULL, NULL, NULL, NULL,
			    "KUBERNETES_SERVICE_PORT is not a port number");

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%ld" : "https://%s:%ld", host,
		     port_n);
	if (r < 0)
		c->server = NULL;
	if (r < 0 || asprintf(&c->token_file, "%s/token", dir) < 0) {
		c->token_file = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (asprintf(&c->ca_file, "%s/ca.crt", dir) < 0) {
		c->ca_file = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (asprintf(&ns_path, "%s/namespace", dir) < 0) {
		ns_path = NULL;
		r = -ENOMEM;
		goto out;
	}
	/* Present but unusable is not "outside a cluster": no -ENOENT for these. */
	if (access(c->token_file, R_OK) < 0) {
		int e = errno;

		r = fail(&l, e == ENOENT ? -EINVAL : -e, c->token_file, NULL, NULL, NULL,
			 "cannot read the service account token: %s "
			 "(automountServiceAccountToken: false?)",
			 strerror(e));
		goto out;
	}
	if (access(c->ca_file, R_OK) < 0) {
		int e = errno;

		r = fail(&l, e == ENOENT ? -EINVAL : -e, c->ca_file, NULL, NULL, NULL,
			 "cannot read the cluster CA: %s", strerror(e));
		goto out;
	}

	r = read_file(ns_path, 4096, &ns, &ns_len);
	if (r == -ENOENT) {
		r = 0;
	} else if (r < 0 && r != -ENOMEM) {
		r = fail(&l, r, ns_path, NULL, NULL, NULL, "cannot read: %s", strerror(-r));
	} else if (r == 0) { /* trimmed, as client-go does */
		size_t skip = strspn(ns, " \t\r\n");
		bool has_nul = memchr(ns, '\0', ns_len) != NULL;

		while (ns_len > skip && strchr(" \t\r\n", ns[ns_len - 1]))
			ns[--ns_len] = '\0';
		memmove(ns, ns + skip, ns_len - skip + 1);
		if (has_nul || (*ns && !namespace_ok(ns)))
			r = fail(&l, -EINVAL, ns_path, NULL, NULL, NULL,
				 "not a namespace name (lowercase letters, digits and '-', "
				 "at most 63)");
	}
	if (r < 0)
		goto out;
	c->namespace_ = strdup(ns && *ns ? ns : "default");
	c->context = strdup("in-cluster");
	c->source = strdup("in-cluster");
	if (!c->namespace_ || !c->context || !c->source) {
		r = -ENOMEM;
		goto out;
	}
	*ret = c;
	c = NULL;
out:
	k8s_cluster_free(c);
	free(ns_path);
	free(ns);
	return r;
}
