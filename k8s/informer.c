/* informer.c - watched caches of pods and nodes (k8s.h), as client-go's reflector and
 * informer keep them: LIST, then WATCH from the list's resourceVersion, applying events to
 * a local store the daemon reads at every tick without a request.
 *
 * Design. A reflector (one per cache) is a small state machine driven by its calls and
 * one backoff timer:
 *
 *   LIST page --more--> LIST page ... --last--> swap the store, WATCH
 *   WATCH --clean end--> WATCH (at once)            --410 / bad event--> LIST
 *         --broken, error status, ERROR event--> backoff --> WATCH (410 there: LIST)
 *   LIST failure --> backoff --> LIST from the first page
 *
 * A LIST fills a second table and replaces the store only when its last page is in, so a
 * relist never shows a half-filled store. The LIST carries no resourceVersion (a consistent
 * read, which is what makes limit/continue paginate); the WATCH resumes from the newest
 * resourceVersion seen in an event or BOOKMARK.
 *
 * The store keeps what the daemon asks about, not whole objects: each pod or node is one
 * allocation (its fields, its labels as k8s_label_t pairs and their strings), in a chained
 * hash table keyed by "namespace/name" (pods) or name (nodes) that doubles when it gets as
 * full as it has buckets, so an event costs O(1) whatever the cluster's size.
 *
 * The watch stream arrives in pieces of any size: a partial line waits in a buffer bounded
 * by K8S_MAX_WATCH_EVENT; a longer line ends the watch and the cache lists again.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "k8s/k8s-client.h"

#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"
#define MIN_BUCKETS 64

/* ---- the store ---------------------------------------------------------------------------- */

enum phase { PH_OTHER, PH_PENDING, PH_RUNNING, PH_SUCCEEDED, PH_FAILED };

/* The head of every stored object. */
struct entry {
	struct entry *next; /* hash chain */
	uint32_t hash;
	const char *key;    /* "ns/name" or "name" */
	const k8s_label_t *labels;
	size_t n_labels;
};

struct pod {
	struct entry e;
	size_t ns_len;       /* key[0, ns_len) is the namespace */
	const char *node;    /* spec.nodeName; "" when not bound */
	const char *message; /* PodScheduled=False/Unschedulable's message; "" */
	enum phase phase;
	bool ready, unschedulable, terminating, daemon, mirror;
};

struct node {
	struct entry e;
	const char *provider_id, *pool_id; /* "" when absent */
	bool ready, unschedulable;
	int32_t gpus;
};

struct table {
	struct entry **b;
	size_t nb, n; /* buckets (a power of two), entries */
};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void table_clear(struct table *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct entry *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->b);
	*t = (struct table){ 0 };
}

static struct entry **table_slot(const struct table *t, const char *key, uint32_t h)
{
	struct entry **pp = &t->b[h & (t->nb - 1)];

	while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key)))
		pp = &(*pp)->next;
	return pp;
}

/* Inserts e, replacing (and freeing) an entry of the same key. -ENOMEM leaves e the
 * caller's. */
static int table_put(struct table *t, struct entry *e)
{
	struct entry **pp;

	if (t->n >= t->nb) {
		size_t nb = t->nb ? t->nb * 2 : MIN_BUCKETS;
		struct entry **b = calloc(nb, sizeof(*b));

		if (!b)
			return -ENOMEM;
		for (size_t i = 0; i < t->nb; i++) {
			struct entry *x = t->b[i], *next;

			for (; x; x = next) {
				next = x->next;
				x->next = b[x->hash & (nb - 1)];
				b[x->hash & (nb - 1)] = x;
			}
		}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	e->hash = hash_str(e->key);
	pp = table_slot(t, e->key, e->hash);
	if (*pp) {
		e->next = (*pp)->next;
		free(*pp);
	} else {
		e->next = NULL;
		t->n++;
	}
	*pp = e;
	return 0;
}

static bool table_del(struct table *t, const char *key)
{
	struct entry **pp, *e;

	if (!t->nb)
		return false;
	pp = table_slot(t, key, hash_str(key));
	if (!(e = *pp))
		return false;
	*pp = e->next;
	free(e);
	t->n--;
	return true;
}

#define TABLE_FOREACH(t, e)                                                              \
	for (size_t b_ = 0; b_ < (t)->nb; b_++)                                          \
		for (const struct entry *e = (t)->b[b_]; e; e = e->next)

/* ---- objects from JSON -------------------------------------------------------------------- */

static const cJSON *field(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str_or(const cJSON *o, const char *k, const char *dflt)
{
	const cJSON *v = field(o, k);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* Room for an object of head bytes, its labels and its strings, laid out in one block. */
struct builder {
	char *block, *strs;
	size_t need;
};

static size_t labels_size(const cJSON *labels, size_t *n)
{
	const cJSON *l;
	size_t sz = 0;

	*n = 0;
	cJSON_ArrayForEach(l, labels)
	{
		if (!cJSON_IsString(l) || !l->string)
			continue;
		sz += strlen(l->string) + strlen(l->valuestring) + 2;
		(*n)++;
	}
	return sz;
}

static const char *put_str(struct builder *b, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = b->strs;

	memcpy(d, s, n);
	b->strs += n;
	return d;
}

/* Allocates head + labels + strings (strs_len bytes beside the labels') and fills the
 * entry's key and labels. NULL on OOM. */
static struct entry *build(struct builder *b, size_t head, const cJSON *labels, const char *key,
			   size_t strs_len)
{
	size_t n, lsz = labels_size(labels, &n);
	k8s_label_t *lab;
	struct entry *e;
	const cJSON *l;
	size_t i = 0;

	b->block = calloc(1, head + n * sizeof(k8s_label_t) + lsz + strlen(key) + 1 + strs_len);
	if (!b->block)
		return NULL;
	e = (struct entry *)b->block;
	lab = (k8s_label_t *)(b->block + head);
	b->strs = (char *)(lab + n);
	e->key = put_str(b, key);
	cJSON_ArrayForEach(l, labels)
	{
		if (!cJSON_IsString(l) || !l->string)
			continue;
		lab[i].key = put_str(b, l->string);
		lab[i].value = put_str(b, l->valuestring);
		i++;
	}
	e->labels = lab;
	e->n_labels = n;
	return e;
}

static bool condition(const cJSON *status, const char *type, const char **st,
		      const char **reason, const char **message)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, field(status, "conditions"))
	{
		if (strcmp(str_or(c, "type", ""), type))
			continue;
		*st = str_or(c, "status", "");
		if (reason)
			*reason = str_or(c, "reason", "");
		if (message)
			*message = str_or(c, "message", "");
		return true;
	}
	return false;
}

/* "ns/name" of an object, or -EPROTO without both. */
static int object_key(const cJSON *o, bool namespaced, char *buf, size_t size)
{
	const cJSON *md = field(o, "metadata");
	const char *ns = str_or(md, "namespace", NULL), *name = str_or(md, "name", NULL);
	int n;

	if (!name || !name[0] || (namespaced && (!ns || !ns[0])))
		return -EPROTO;
	n = namespaced ? snprintf(buf, size, "%s/%s", ns, name) : snprintf(buf, size, "%s", name);
	return n > 0 && (size_t)n < size ? 0 : -EPROTO;
}

static struct entry *pod_new(const cJSON *o, int *rc)
{
	const cJSON *md = field(o, "metadata"), *spec = field(o, "spec"), *st = field(o, "status");
	const cJSON *ann = field(md, "annotations"), *ref, *dt = field(md, "deletionTimestamp");
	const char *node = str_or(spec, "nodeName", ""), *phase = str_or(st, "phase", "");
	const char *ready = "", *sched = "", *reason = "", *message = "";
	struct builder b;
	struct pod *p;
	char key[600];

	if ((*rc = object_key(o, true, key, sizeof(key))) < 0)
		return NULL;
	condition(st, "Ready", &ready, NULL, NULL);
	condition(st, "PodScheduled", &sched, &reason, &message);
	if (strcmp(sched, "False") || strcmp(reason, "Unschedulable"))
		message = "";
	if (!(p = (struct pod *)build(&b, sizeof(*p), field(md, "labels"), key,
				      strlen(node) + strlen(message) + 2))) {
		*rc = -ENOMEM;
		return NULL;
	}
	p->ns_len = (size_t)(strchr(key, '/') - key);
	p->node = put_str(&b, node);
	p->unschedulable = !strcmp(sched, "False") && !strcmp(reason, "Unschedulable");
	p->message = put_str(&b, message);
	p->ready = !strcmp(ready, "True");
	p->terminating = dt && !cJSON_IsNull(dt);
	p->mirror = field(ann, MIRROR_ANNOTATION) != NULL;
	p->phase = !strcmp(phase, "Pending")   ? PH_PENDING :
		   !strcmp(phase, "Running")   ? PH_RUNNING :
		   !strcmp(phase, "Succeeded") ? PH_SUCCEEDED :
		   !strcmp(phase, "Failed")    ? PH_FAILED :
						 PH_OTHER;
	cJSON_ArrayForEach(ref, field(md, "ownerReferences"))
	{
		if (!strcmp(str_or(ref, "kind", ""), "DaemonSet") &&
		    !cJSON_IsFalse(field(ref, "controller")))
			p->daemon = true;
	}
	return &p->e;
}

/* An integer quantity ("8"); anything else (fractions, suffixes, nonsense) counts 0. */
static int32_t quantity(const cJSON *v)
{
	long long n = 0;

	if (cJSON_IsNumber(v))
		return v->valuedouble >= 0 && v->valuedouble <= INT32_MAX ? (int32_t)v->valuedouble : 0;
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return 0;
	for (const char *s = v->valuestring; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		n = n * 10 + (*s - '0');
		if (n > INT32_MAX)
			return 0;
	}
	return (int32_t)n;
}

static struct entry *node_new(const cJSON *o, int *rc)
{
	const cJSON *md = field(o, "metadata"), *spec = field(o, "spec"), *st = field(o, "status");
	const cJSON *alloc = field(st, "allocatable");
	const char *pid = str_or(spec, "providerID", "");
	const char *pool = str_or(field(md, "annotations"), K8S_NODE_POOL_ANNOTATION, "");
	const char *ready = "";
	struct builder b;
	struct node *n;
	char key[300];
	int64_t gpus;

	if ((*rc = object_key(o, false, key, sizeof(key))) < 0)
		return NULL;
	if (!(n = (struct node *)build(&b, sizeof(*n), field(md, "labels"), key,
				       strlen(pid) + strlen(pool) + 2))) {
		*rc = -ENOMEM;
		return NULL;
	}
	n->provider_id = put_str(&b, pid);
	n->pool_id = put_str(&b, pool);
	condition(st, "Ready", &ready, NULL, NULL);
	n->ready = !strcmp(ready, "True");
	n->unschedulable = cJSON_IsTrue(field(spec, "unschedulable"));
	gpus = (int64_t)quantity(field(alloc, "nvidia.com/gpu")) + quantity(field(alloc, "amd.com/gpu"));
	n->gpus = gpus > INT32_MAX ? INT32_MAX : (int32_t)gpus;
	return &n->e;
}

/* ---- the reflector ------------------------------------------------------------------------ */

struct reflector {
	k8s_client_t *c;
	bool pods;
	char *ns;        /* pods of one namespace; NULL: all */
	char base[128];  /* the collection's path */
	k8s_changed_fn *changed;
	void *ud;

	struct table store, next; /* next: a LIST being read */
	bool synced;
	char rv[64];
	char *cont;      /* the continue token of the next LIST page */

	k8s_call_t *call;          /* the LIST page or WATCH in flight */
	http_timer_t *retry;       /* backoff, then retry_list ? LIST : WATCH */
	http_timer_t *notify;      /* changed(), from the loop */
	bool retry_list;
	int failures;              /* in a row, for the backoff */
	uint64_t rng;

	/* the current WATCH */
	char *line;                /* a partial event line */
	size_t len, cap;
	enum { GO_ON, RELIST_NOW, RELIST_LATER, REWATCH_LATER } end; /* decided by an event
				      (410; a bad event; an ERROR event): error says why */
	bool got_event;
	int64_t started_ms;

	char error[K8S_ERROR_MAX];
};

struct k8s_pods {
	struct reflector r;
};

struct k8s_nodes {
	struct reflector r;
};

static void start_list(struct reflector *r);
static void start_watch(struct reflector *r);

static void set_error(struct reflector *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct reflector *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	for (char *p = r->error; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static const char *what(const struct reflector *r)
{
	return r->pods ? "pods" : "nodes";
}

static void access_of(const struct reflector *r, const char *verb, k8s_access_t *a)
{
	*a = (k8s_access_t){ .verb = verb, .group = "", .resource = what(r),
			     .namespace_ = r->ns };
}

static uint64_t next_rand(struct reflector *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng;
}

/* Tries again after a backoff: 1 s doubling to 30 s, the delay random in [bound/2, bound]. */
static void backoff(struct reflector *r, bool list)
{
	int64_t bound = http_backoff_bound(K8S_WATCH_BACKOFF_MS, K8S_WATCH_BACKOFF_CAP_MS,
					   ++r->failures);
	int64_t delay = bound / 2 + (int64_t)(next_rand(r) % (uint64_t)(bound / 2 + 1));

	r->retry_list = list;
	if (http_timer_arm(r->retry, delay) < 0)
		set_error(r, "%s cache: cannot arm the retry timer: out of memory", what(r));
}

static void retry_fire(void *arg)
{
	struct reflector *r = arg;

	if (r->retry_list)
		start_list(r);
	else
		start_watch(r);
}

static void notify_fire(void *arg)
{
	struct reflector *r = arg;

	if (r->changed)
		r->changed(r->ud); /* may free the cache: nothing after this */
}

static void changed(struct reflector *r)
{
	if (r->changed && !http_timer_armed(r->notify))
		http_timer_arm(r->notify, 0);
}

static struct entry *object_new(const struct reflector *r, const cJSON *o, int *rc)
{
	return r->pods ? pod_new(o, rc) : node_new(o, rc);
}

/* %-escapes all but RFC 3986's unreserved characters. NULL on OOM. */
static char *escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *d = malloc(strlen(s) * 3 + 1), *o = d;

	if (!d)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return d;
}

/* ---- LIST --------------------------------------------------------------------------------- */

/* One page: 0, -EPROTO (not a list; msg says why) or -ENOMEM. Items go into r->next. */
static int read_page(struct reflector *r, const char *body, size_t len, char *msg, size_t msz)
{
	cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *md = field(j, "metadata"), *items = field(j, "items"), *it;
	const char *rv = str_or(md, "resourceVersion", ""), *cont = str_or(md, "continue", "");
	int rc = 0;

	if (!cJSON_IsObject(j) || !cJSON_IsArray(items) || !rv[0] || strlen(rv) >= sizeof(r->rv)) {
		snprintf(msg, msz, "the answer is not a list (items, metadata.resourceVersion)");
		rc = -EPROTO;
		goto out;
	}
	cJSON_ArrayForEach(it, items)
	{
		struct entry *e = object_new(r, it, &rc);

		if (!e && rc == -ENOMEM)
			goto out;
		if (!e) {
			snprintf(msg, msz, "an item without metadata.name%s",
				 r->pods ? " and metadata.namespace" : "");
			goto out;
		}
		if (r->next.n >= K8S_MAX_CACHED) {
			free(e);
			snprintf(msg, msz, "more than %d %s", K8S_MAX_CACHED, what(r));
			rc = -EPROTO;
			goto out;
		}
		if ((rc = table_put(&r->next, e)) < 0) {
			free(e);
			goto out;
		}
	}
	free(r->cont);
	r->cont = NULL;
	if (cont[0] && !(r->cont = strdup(cont))) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(r->rv, sizeof(r->rv), "%s", rv); /* every page says the same */
out:
	if (rc == -ENOMEM)
		snprintf(msg, msz, "out of memory");
	cJSON_Delete(j);
	return rc;
}

static void on_list(const k8s_result_t *res, const char *body, size_t len, void *userdata)
{
	struct reflector *r = userdata;
	char msg[256];

	r->call = NULL;
	if (res->outcome != HTTP_SUCCESS) {
		bool expired = res->status == 410 && r->cont;

		table_clear(&r->next);
		free(r->cont);
		r->cont = NULL;
		if (expired) { /* the continue token outlived its snapshot: from the start */
			start_list(r);
			return;
		}
		set_error(r, "%s", res->error);
		backoff(r, true);
		return;
	}
	if (read_page(r, body, len, msg, sizeof(msg)) < 0) {
		set_error(r, "LIST %s%s%s: %s", what(r), r->ns ? " in namespace " : " cluster-wide",
			  r->ns ? r->ns : "", msg);
		table_clear(&r->next);
		free(r->cont);
		r->cont = NULL;
		backoff(r, true);
		return;
	}
	if (r->cont) {
		start_list(r);
		return;
	}
	table_clear(&r->store);
	r->store = r->next;
	r->next = (struct table){ 0 };
	r->synced = true;
	r->failures = 0;
	r->error[0] = '\0';
	changed(r);
	start_watch(r);
}

static void start_list(struct reflector *r)
{
	k8s_access_t a;
	char err[K8S_ERROR_MAX], *path = NULL, *cont = NULL;

	access_of(r, "list", &a);
	if (r->cont && !(cont = escape(r->cont)))
		goto oom;
	if (asprintf(&path, "%s?limit=%d%s%s", r->base, K8S_LIST_PAGE, cont ? "&continue=" : "",
		     cont ? cont : "") < 0) {
		path = NULL;
		goto oom;
	}
	free(cont);
	if (k8s_request(r->c, "GET", path, NULL, NULL, NULL, &a, on_list, r, &r->call, err,
			sizeof(err)) < 0) {
		set_error(r, "LIST %s: %s", what(r), err);
		backoff(r, true);
	}
	return;
oom:
	free(cont);
	set_error(r, "LIST %s: out of memory", what(r));
	backoff(r, true);
}

/* ---- WATCH -------------------------------------------------------------------------------- */

/* One event line. Sets r->end (and r->error) when the watch must end. */
static void watch_event(struct reflector *r, const char *line, size_t len)
{
	cJSON *j;
	const cJSON *obj;
	const char *type, *rv;
	struct entry *e;
	char key[600];
	int rc;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return;
	j = cJSON_ParseWithLength(line, len);
	obj = field(j, "object");
	type = str_or(j, "type", "");
	rv = str_or(field(obj, "metadata"), "resourceVersion", "");
	if (!cJSON_IsObject(obj) || !type[0]) {
		set_error(r, "WATCH %s: an event that is not {\"type\",\"object\"}", what(r));
		r->end = RELIST_LATER;
		goto out;
	}
	if (!strcmp(type, "ERROR")) {
		const cJSON *code = field(obj, "code");

		if (cJSON_IsNumber(code) && code->valueint == 410) {
			r->end = RELIST_NOW; /* routine: the history moved on */
		} else {
			set_error(r, "WATCH %s: ERROR event: %d %s: %.400s", what(r),
				  cJSON_IsNumber(code) ? code->valueint : 0,
				  str_or(obj, "reason", ""), str_or(obj, "message", ""));
			r->end = REWATCH_LATER;
		}
		goto out;
	}
	if (strlen(rv) >= sizeof(r->rv) || !rv[0]) {
		set_error(r, "WATCH %s: a %.40s event without a metadata.resourceVersion", what(r),
			  type);
		r->end = RELIST_LATER;
		goto out;
	}
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		const char *why = NULL;

		if (!(e = object_new(r, obj, &rc)))
			why = rc == -ENOMEM ? "out of memory" : "an object without a name";
		else if (r->store.n >= K8S_MAX_CACHED &&
			 !*table_slot(&r->store, e->key, hash_str(e->key)))
			why = "more objects than a cache holds";
		else if (table_put(&r->store, e) < 0)
			why = "out of memory";
		if (why) {
			set_error(r, "WATCH %s: %s", what(r), why);
			free(e);
			r->end = RELIST_LATER;
			goto out;
		}
		changed(r);
	} else if (!strcmp(type, "DELETED")) {
		if (object_key(obj, r->pods, key, sizeof(key)) < 0) {
			set_error(r, "WATCH %s: a DELETED object without a name", what(r));
			r->end = RELIST_LATER;
			goto out;
		}
		if (table_del(&r->store, key))
			changed(r);
	} else if (strcmp(type, "BOOKMARK")) {
		set_error(r, "WATCH %s: an event of unknown type %.40s", what(r), type);
		r->end = RELIST_LATER;
		goto out;
	}
	snprintf(r->rv, sizeof(r->rv), "%s", rv);
	if (!r->got_event || r->error[0]) {
		r->got_event = true;
		r->failures = 0;
		r->error[0] = '\0';
	}
out:
	cJSON_Delete(j);
}

static bool on_watch_data(const char *data, size_t len, void *userdata)
{
	struct reflector *r = userdata;

	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;

		if (r->len + n > K8S_MAX_WATCH_EVENT) {
			set_error(r, "WATCH %s: an event of more than %zu bytes", what(r),
				  K8S_MAX_WATCH_EVENT);
			r->end = RELIST_LATER;
			return false;
		}
		if (!nl || r->len) {
			if (r->len + n > r->cap) {
				size_t cap = r->cap ? r->cap : 4096;
				char *p;

				while (cap < r->len + n)
					cap *= 2;
				if (cap > K8S_MAX_WATCH_EVENT)
					cap = K8S_MAX_WATCH_EVENT;
				if (!(p = realloc(r->line, cap))) {
					set_error(r, "WATCH %s: out of memory", what(r));
					r->end = RELIST_LATER;
					return false;
				}
				r->line = p;
				r->cap = cap;
			}
			memcpy(r->line + r->len, data, n);
			r->len += n;
		}
		if (!nl)
			return true;
		if (r->len) {
			watch_event(r, r->line, r->len);
			r->len = 0;
		} else {
			watch_event(r, data, n);
		}
		if (r->end != GO_ON)
			return false;
		data += n + 1;
		len -= n + 1;
	}
	return true;
}

static void on_watch_done(const k8s_result_t *res, const char *body, size_t len, void *userdata)
{
	struct reflector *r = userdata;

	(void)body;
	(void)len;
	r->call = NULL;
	r->len = 0;
	switch (r->end) {
	case RELIST_NOW:
		start_list(r);
		return;
	case RELIST_LATER: /* a server that keeps sending bad events is not hammered */
		backoff(r, true);
		return;
	case REWATCH_LATER:
		backoff(r, false);
		return;
	case GO_ON:
		break;
	}
	if (res->status == 410) {
		start_list(r);
		return;
	}
	if (res->outcome == HTTP_SUCCESS) {
		/* the server's timeoutSeconds: resume at once, unless it ended at once */
		if (r->got_event || k8s_now_ms() - r->started_ms >= 1000)
			start_watch(r);
		else
			backoff(r, false);
		return;
	}
	set_error(r, "%s", res->error);
	backoff(r, false);
}

static void start_watch(struct reflector *r)
{
	k8s_access_t a;
	char err[K8S_ERROR_MAX], *path = NULL;

	access_of(r, "watch", &a);
	r->len = 0;
	r->end = GO_ON;
	r->got_event = false;
	r->started_ms = k8s_now_ms();
	if (asprintf(&path,
		     "%s?watch=true&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%d",
		     r->base, r->rv, K8S_WATCH_SECONDS) < 0) {
		set_error(r, "WATCH %s: out of memory", what(r));
		backoff(r, false);
		return;
	}
	if (k8s_stream(r->c, path, NULL, &a, on_watch_data, on_watch_done, r, &r->call, err,
		       sizeof(err)) < 0) {
		set_error(r, "WATCH %s: %s", what(r), err);
		backoff(r, false);
	}
}

/* ---- the caches --------------------------------------------------------------------------- */

static void reflector_stop(struct reflector *r)
{
	if (r->call)
		k8s_cancel(r->c, r->call);
	http_timer_free(r->retry);
	http_timer_free(r->notify);
	table_clear(&r->store);
	table_clear(&r->next);
	free(r->cont);
	free(r->line);
	free(r->ns);
}

static int reflector_start(struct reflector *r, k8s_client_t *c, bool pods, const char *ns,
			   k8s_changed_fn *fn, void *ud, char *err, size_t errsz)
{
	r->c = c;
	r->pods = pods;
	r->changed = fn;
	r->ud = ud;
	r->rng = (uint64_t)k8s_now_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)r;
	if (!r->rng)
		r->rng = 1;
	if (ns && !(r->ns = strdup(ns)))
		goto oom;
	if (!pods)
		snprintf(r->base, sizeof(r->base), "/api/v1/nodes");
	else if (ns)
		snprintf(r->base, sizeof(r->base), "/api/v1/namespaces/%s/pods", ns);
	else
		snprintf(r->base, sizeof(r->base), "/api/v1/pods");
	if (http_timer_new(c->http, retry_fire, r, &r->retry) < 0 ||
	    http_timer_new(c->http, notify_fire, r, &r->notify) < 0)
		goto oom;
	start_list(r);
	return 0;
oom:
	reflector_stop(r);
	http_errf(err, errsz, "%s cache: out of memory", pods ? "pods" : "nodes");
	return -ENOMEM;
}

static bool dns_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

int k8s_pods_watch(k8s_client_t *c, const char *ns, k8s_changed_fn *fn, void *userdata,
		   k8s_pods_t **ret, char *err, size_t errsz)
{
	k8s_pods_t *p;
	int rc;

	if (!c || !ret || (ns && !dns_label(ns))) {
		http_errf(err, errsz, "pods cache: expected a namespace (DNS-1123 label), found "
				     "\"%.100s\"",
			 ns ? ns : "");
		return -EINVAL;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		http_errf(err, errsz, "pods cache: out of memory");
		return -ENOMEM;
	}
	if ((rc = reflector_start(&p->r, c, true, ns, fn, userdata, err, errsz)) < 0) {
		free(p);
		return rc;
	}
	*ret = p;
	return 0;
}

bool k8s_pods_synced(const k8s_pods_t *p)
{
	return p && p->r.synced;
}

const char *k8s_pods_error(const k8s_pods_t *p)
{
	return p ? p->r.error : "";
}

const char *k8s_pods_resource_version(const k8s_pods_t *p)
{
	return p && p->r.synced ? p->r.rv : "";
}

size_t k8s_pods_size(const k8s_pods_t *p)
{
	return p ? p->r.store.n : 0;
}

k8s_pods_t *k8s_pods_free(k8s_pods_t *p)
{
	if (!p)
		return NULL;
	reflector_stop(&p->r);
	free(p);
	return NULL;
}

/* Pods that count: neither going away nor done. */
static bool pod_live(const struct pod *p)
{
	return !p->terminating && p->phase != PH_SUCCEEDED && p->phase != PH_FAILED;
}

int k8s_pods_count(const k8s_pods_t *p, const char *ns, const k8s_selector_t *sel,
		   k8s_pod_counts_t *ret)
{
	k8s_pod_counts_t c = { 0 };
	const char *reason_key = NULL;
	size_t nsl;

	if (!p || !ns || !ret || (p->r.ns && strcmp(p->r.ns, ns)))
		return -EINVAL;
	if (!p->r.synced)
		return -EAGAIN;
	nsl = strlen(ns);
	TABLE_FOREACH(&p->r.store, e)
	{
		const struct pod *pod = (const struct pod *)e;

		if (pod->ns_len != nsl || memcmp(e->key, ns, nsl) || !pod_live(pod) ||
		    !k8s_selector_matches(sel, e->labels, e->n_labels))
			continue;
		c.total++;
		c.ready += pod->ready;
		c.pending += pod->phase == PH_PENDING;
		if (pod->unschedulable) {
			c.unschedulable++;
			if (!reason_key || strcmp(e->key, reason_key) < 0) {
				reason_key = e->key;
				snprintf(c.reason, sizeof(c.reason), "%s", pod->message);
			}
		}
	}
	*ret = c;
	return 0;
}

int k8s_nodes_watch(k8s_client_t *c, k8s_changed_fn *fn, void *userdata, k8s_nodes_t **ret,
		    char *err, size_t errsz)
{
	k8s_nodes_t *n;
	int rc;

	if (!c || !ret) {
		http_errf(err, errsz, "nodes cache: no client");
		return -EINVAL;
	}
	if (!(n = calloc(1, sizeof(*n)))) {
		http_errf(err, errsz, "nodes cache: out of memory");
		return -ENOMEM;
	}
	if ((rc = reflector_start(&n->r, c, false, NULL, fn, userdata, err, errsz)) < 0) {
		free(n);
		return rc;
	}
	*ret = n;
	return 0;
}

bool k8s_nodes_synced(const k8s_nodes_t *n)
{
	return n && n->r.synced;
}

const char *k8s_nodes_error(const k8s_nodes_t *n)
{
	return n ? n->r.error : "";
}

const char *k8s_nodes_resource_version(const k8s_nodes_t *n)
{
	return n && n->r.synced ? n->r.rv : "";
}

size_t k8s_nodes_size(const k8s_nodes_t *n)
{
	return n ? n->r.store.n : 0;
}

k8s_nodes_t *k8s_nodes_free(k8s_nodes_t *n)
{
	if (!n)
		return NULL;
	reflector_stop(&n->r);
	free(n);
	return NULL;
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp((*(const struct node *const *)a)->e.key, (*(const struct node *const *)b)->e.key);
}

static int cmp_info(const void *key, const void *elem)
{
	return strcmp(key, ((const k8s_node_info_t *)elem)->name);
}

size_t k8s_nodes_of_pool(const k8s_nodes_t *n, const k8s_pods_t *all_pods, const char *pool_id,
			 k8s_node_info_t *out, size_t max)
{
	const struct node **v;
	size_t count = 0, w;

	if (!n || !pool_id || !pool_id[0])
		return 0;
	TABLE_FOREACH(&n->r.store, e)
		count += !strcmp(((const struct node *)e)->pool_id, pool_id);
	if (!count || !out || !max)
		return count;
	if (!(v = malloc(count * sizeof(*v))))
		return 0;
	count = 0;
	TABLE_FOREACH(&n->r.store, e)
		if (!strcmp(((const struct node *)e)->pool_id, pool_id))
			v[count++] = (const struct node *)e;
	qsort(v, count, sizeof(*v), cmp_node);
	w = count < max ? count : max;
	for (size_t i = 0; i < w; i++) {
		k8s_node_info_t *o = &out[i];

		memset(o, 0, sizeof(*o));
		snprintf(o->name, sizeof(o->name), "%s", v[i]->e.key);
		snprintf(o->provider_id, sizeof(o->provider_id), "%s", v[i]->provider_id);
		o->ready = v[i]->ready;
		o->unschedulable = v[i]->unschedulable;
		o->gpus = v[i]->gpus;
	}
	free(v);
	if (!all_pods)
		return count;
	TABLE_FOREACH(&all_pods->r.store, e)
	{
		const struct pod *pod = (const struct pod *)e;
		k8s_node_info_t *o;

		if (!pod->node[0] || !pod_live(pod) ||
		    !(o = bsearch(pod->node, out, w, sizeof(*out), cmp_info)))
			continue;
		if (pod->daemon || pod->mirror)
			o->daemon_pods++;
		else
			o->pods++;
	}
	return count;
}
