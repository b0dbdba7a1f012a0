/* calls.c - the calls of k8s.h on top of client.c: the scale subresource, cordon and
 * pod-deletion-cost patches, Events, other autoscalers, access reviews. Each builds a k8s_call_t (path, body, what to name in errors) and a finish
 * function that turns the reply into its typed callback. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "k8s/k8s-client.h"

/* A DNS-1123 subdomain (names) or label (namespaces): what may go into a path unescaped. */
static bool name_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      (ch == '.' && max > 63)))
			return false;
	}
	return s[0] != '-' && s[0] != '.' && s[n - 1] != '-' && s[n - 1] != '.';
}

/* What a call is: built into a k8s_call_t and started by submit(). */
struct spec {
	const char *method;
	char *path, *body;          /* malloc'd, taken; NULL path: out of memory */
	bool body_required;         /* a NULL body is then out of memory too */
	const char *content_type;
	const char *object;         /* "deployment ns/name" for a 404, or NULL */
	k8s_access_t access;        /* for a 403 */
	k8s_finish_fn *finish;
	void *done, *userdata, *state; /* state malloc'd, taken */
	http_data_fn *on_data;
};

/* Builds the call and starts it. 0, or -ENOMEM with err (everything taken is freed). */
static int submit(k8s_client_t *c, struct spec *sp, k8s_call_t **ret, char *err, size_t errsz)
{
	k8s_call_t *call = NULL;

	if (!sp->path || (sp->body_required && !sp->body) || !(call = calloc(1, sizeof(*call)))) {
		free(sp->path);
		free(sp->body);
		free(sp->state);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	snprintf(call->method, sizeof(call->method), "%s", sp->method);
	call->path = sp->path;
	call->body = sp->body;
	call->body_len = sp->body ? strlen(sp->body) : 0;
	call->content_type = sp->body ? sp->content_type : NULL;
	snprintf(call->object, sizeof(call->object), "%s", sp->object ? sp->object : "");
	k8s_access_format(&sp->access, call->access, sizeof(call->access));
	call->finish = sp->finish;
	call->done = sp->done;
	call->userdata = sp->userdata;
	call->state = sp->state;
	call->on_data = sp->on_data;
	if (k8s_call_start(c, call, ret) < 0) { /* it freed the call */
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

size_t k8s_access_format(const k8s_access_t *a, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s %s%s%s%s%s%s%s%s", a->verb, a->resource,
			 a->group && a->group[0] ? "." : "", a->group ? a->group : "",
			 a->subresource ? "/" : "", a->subresource ? a->subresource : "",
			 a->name ? " " : "", a->name ? a->name : "",
			 a->namespace_ ? " in namespace " : " cluster-wide");
	size_t o = n < 0 ? 0 : (size_t)n;

	if (a->namespace_ && o < size)
		o += (size_t)snprintf(buf + o, size - o, "%s", a->namespace_);
	return o < size ? o : size - 1;
}

/* ---- scale -------------------------------------------------------------------------------- */

static int json_int32(const cJSON *o, const char *k, int32_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v) {
		*ret = 0; /* omitempty: 0 */
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > INT32_MAX ||
	    v->valuedouble != (double)(int32_t)v->valuedouble)
		return -EINVAL;
	*ret = (int32_t)v->valuedouble;
	return 0;
}

static bool finish_scale(k8s_call_t *call, const k8s_result_t *r, const char *body, size_t len)
{
	k8s_scale_fn *done = (k8s_scale_fn *)call->done;
	k8s_scale_t sc = { 0 };
	k8s_result_t bad = *r;
	const cJSON *spec, *st, *md, *sel, *rv, *kind;
	cJSON *j;
	char msg[K8S_ERROR_MAX], what[256];

	if (r->outcome != HTTP_SUCCESS) {
		done(r, NULL, call->userdata);
		return true;
	}
	j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
	spec = cJSON_GetObjectItemCaseSensitive(j, "spec");
	st = cJSON_GetObjectItemCaseSensitive(j, "status");
	md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	sel = cJSON_GetObjectItemCaseSensitive(st, "selector");
	rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	if (!cJSON_IsObject(j) || !cJSON_IsString(kind) || strcmp(kind->valuestring, "Scale") ||
	    !cJSON_IsObject(spec) || json_int32(spec, "replicas", &sc.spec_replicas) < 0 ||
	    (st && json_int32(st, "replicas", &sc.status_replicas) < 0) ||
	    (sel && !cJSON_IsString(sel)) || (sel && strlen(sel->valuestring) >= sizeof(sc.selector))) {
		k8s_call_describe(call, what, sizeof(what));
		http_errf(msg, sizeof(msg), "%s: the answer is not a Scale (kind Scale, integer "
					   "spec.replicas and status.replicas, string "
					   "status.selector)",
			 what);
		bad.outcome = HTTP_PERMANENT;
		bad.error = msg;
		cJSON_Delete(j);
		done(&bad, NULL, call->userdata);
		return true;
	}
	if (sel)
		snprintf(sc.selector, sizeof(sc.selector), "%s", sel->valuestring);
	if (cJSON_IsString(rv))
		snprintf(sc.resource_version, sizeof(sc.resource_version), "%s", rv->valuestring);
	cJSON_Delete(j);
	done(r, &sc, call->userdata);
	return true;
}

static int scale_call(k8s_client_t *c, const char *method, const char *ns, const char *name,
		      int32_t replicas, k8s_scale_fn *done, void *userdata, k8s_call_t **ret,
		      char *err, size_t errsz)
{
	bool patch = strcmp(method, "PATCH") == 0;
	char object[400];

	if (!c || !done || !name_ok(ns, 63) || !name_ok(name, 253) || replicas < 0) {
		http_errf(err, errsz, "scale %s/%s: expected a namespace and a Deployment name "
				     "(DNS-1123) and replicas >= 0",
			 ns ? ns : "", name ? name : "");
		return -EINVAL;
	}
	snprintf(object, sizeof(object), "deployment %s/%s", ns, name);
	return submit(c,
		      &(struct spec){
			      .method = method,
			      .path = fmt("/apis/apps/v1/namespaces/%s/deployments/%s/scale", ns,
					  name),
			      .body = patch ? fmt("{\"spec\":{\"replicas\":%d}}", (int)replicas) :
					      NULL,
			      .body_required = patch,
			      .content_type = "application/merge-patch+json",
			      .object = object,
			      .access = { .verb = patch ? "patch" : "get", .group = "apps",
					  .resource = "deployments", .subresource = "scale",
					  .namespace_ = ns },
			      .finish = finish_scale,
			      .done = (void *)done,
			      .userdata = userdata,
		      },
		      ret, err, errsz);
}

int k8s_get_scale(k8s_client_t *c, const char *ns, const char *name, k8s_scale_fn *done,
		  void *userdata, k8s_call_t **ret, char *err, size_t errsz)
{
	return scale_call(c, "GET", ns, name, 0, done, userdata, ret, err, errsz);
}

int k8s_patch_scale(k8s_client_t *c, const char *ns, const char *name, int32_t replicas,
		    k8s_scale_fn *done, void *userdata, k8s_call_t **ret, char *err,
		    size_t errsz)
{
	return scale_call(c, "PATCH", ns, name, replicas, done, userdata, ret, err, errsz);
}

/* ---- access reviews ----------------------------------------------------------------------- */

static bool finish_access(k8s_call_t *call, const k8s_result_t *r, const char *body, size_t len)
{
	k8s_access_fn *done = (k8s_access_fn *)call->done;
	k8s_result_t bad = *r;
	const cJSON *st, *allowed, *reason;
	cJSON *j;
	char msg[K8S_ERROR_MAX], what[256], why[256] = "";
	bool ok;

	if (r->outcome != HTTP_SUCCESS) {
		done(r, false, "", call->userdata);
		return true;
	}
	j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	st = cJSON_GetObjectItemCaseSensitive(j, "status");
	allowed = cJSON_GetObjectItemCaseSensitive(st, "allowed");
	reason = cJSON_GetObjectItemCaseSensitive(st, "reason");
	if (!cJSON_IsBool(allowed)) {
		k8s_call_describe(call, what, sizeof(what));
		http_errf(msg, sizeof(msg), "%s: the answer has no boolean status.allowed", what);
		bad.outcome = HTTP_PERMANENT;
		bad.error = msg;
		cJSON_Delete(j);
		done(&bad, false, "", call->userdata);
		return true;
	}
	ok = cJSON_IsTrue(allowed);
	if (cJSON_IsString(reason))
		http_errf(why, sizeof(why), "%s", reason->valuestring);
	cJSON_Delete(j);
	done(r, ok, why, call->userdata);
	return true;
}

int k8s_can_i(k8s_client_t *c, const k8s_access_t *a, k8s_access_fn *done, void *userdata,
	      k8s_call_t **ret, char *err, size_t errsz)
{
	cJSON *j, *spec, *ra;
	char *body = NULL;

	if (!c || !a || !a->verb || !a->resource || !done) {
		http_errf(err, errsz, "access review: a verb and a resource are required");
		return -EINVAL;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "apiVersion", "authorization.k8s.io/v1");
	cJSON_AddStringToObject(j, "kind", "SelfSubjectAccessReview");
	spec = cJSON_AddObjectToObject(j, "spec");
	ra = spec ? cJSON_AddObjectToObject(spec, "resourceAttributes") : NULL;
	if (ra) {
		cJSON_AddStringToObject(ra, "verb", a->verb);
		cJSON_AddStringToObject(ra, "group", a->group ? a->group : "");
		cJSON_AddStringToObject(ra, "resource", a->resource);
		if (a->subresource)
			cJSON_AddStringToObject(ra, "subresource", a->subresource);
		if (a->namespace_)
			cJSON_AddStringToObject(ra, "namespace", a->namespace_);
		if (a->name)
			cJSON_AddStringToObject(ra, "name", a->name);
		body = cJSON_PrintUnformatted(j);
	}
	cJSON_Delete(j);
	return submit(c,
		      &(struct spec){
			      .method = "POST",
			      .path = strdup("/apis/authorization.k8s.io/v1/"
					     "selfsubjectaccessreviews"),
			      .body = body,
			      .body_required = true,
			      .content_type = "application/json",
			      .access = { .verb = "create", .group = "authorization.k8s.io",
					  .resource = "selfsubjectaccessreviews" },
			      .finish = finish_access,
			      .done = (void *)done,
			      .userdata = userdata,
		      },
		      ret, err, errsz);
}

/* ---- small writes ------------------------------------------------------------------------- */

static bool finish_raw(k8s_call_t *call, const k8s_result_t *r, const char *body, size_t len)
{
	((k8s_raw_fn *)call->done)(r, body, len, call->userdata);
	return true;
}

static bool finish_done(k8s_call_t *call, const k8s_result_t *r, const char *body, size_t len)
{
	(void)body;
	(void)len;
	((k8s_done_fn *)call->done)(r, call->userdata);
	return true;
}

/* A write whose reply the caller does not need: path and body malloc'd, taken. */
static int write_call(k8s_client_t *c, const char *method, char *path, char *body,
		      const char *object, const k8s_access_t *a, k8s_done_fn *done,
		      void *userdata, k8s_call_t **ret, char *err, size_t errsz)
{
	return submit(c,
		      &(struct spec){ .method = method, .path = path, .body = body,
				      .body_required = true,
				      .content_type = strcmp(method, "PATCH") ?
							      "application/json" :
							      "application/merge-patch+json",
				      .object = object, .access = *a, .finish = finish_done,
				      .done = (void *)done, .userdata = userdata },
		      ret, err, errsz);
}

int k8s_request(k8s_client_t *c, const char *method, char *path, char *body,
		const char *content_type, const char *object, const k8s_access_t *access,
		k8s_raw_fn *done, void *userdata, k8s_call_t **ret, char *err, size_t errsz)
{
	return submit(c,
		      &(struct spec){ .method = method, .path = path, .body = body,
				      .content_type = content_type, .object = object,
				      .access = *access, .finish = finish_raw,
				      .done = (void *)done, .userdata = userdata },
		      ret, err, errsz);
}

int k8s_stream(k8s_client_t *c, char *path, const char *object, const k8s_access_t *access,
	       http_data_fn *on_data, k8s_raw_fn *done, void *userdata, k8s_call_t **ret,
	       char *err, size_t errsz)
{
	return submit(c,
		      &(struct spec){ .method = "GET", .path = path, .object = object,
				      .access = *access, .finish = finish_raw,
				      .done = (void *)done, .userdata = userdata,
				      .on_data = on_data },
		      ret, err, errsz);
}

int k8s_cordon(k8s_client_t *c, const char *node, bool unschedulable, k8s_done_fn *done,
	       void *userdata, k8s_call_t **ret, char *err, size_t errsz)
{
	char object[300];

	if (!c || !done || !name_ok(node, 253)) {
		http_errf(err, errsz, "cordon: expected a node name (DNS-1123), found \"%.100s\"",
			 node ? node : "");
		return -EINVAL;
	}
	snprintf(object, sizeof(object), "node %s", node);
	return write_call(c, "PATCH", fmt("/api/v1/nodes/%s", node),
			  fmt("{\"spec\":{\"unschedulable\":%s}}", unschedulable ? "true" : "false"),
			  object, &(k8s_access_t){ .verb = "patch", .group = "", .resource = "nodes" },
			  done, userdata, ret, err, errsz);
}

int k8s_set_pod_deletion_cost(k8s_client_t *c, const char *ns, const char *pod, int32_t cost,
			      k8s_done_fn *done, void *userdata, k8s_call_t **ret, char *err,
			      size_t errsz)
{
	char object[400];

	if (!c || !done || !name_ok(ns, 63) || !name_ok(pod, 253)) {
		http_errf(err, errsz, "pod-deletion-cost: expected a namespace and a pod name "
				     "(DNS-1123)");
		return -EINVAL;
	}
	snprintf(object, sizeof(object), "pod %s/%s", ns, pod);
	return write_call(c, "PATCH", fmt("/api/v1/namespaces/%s/pods/%s", ns, pod),
			  fmt("{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/"
			      "pod-deletion-cost\":\"%d\"}}}",
			      (int)cost),
			  object,
			  &(k8s_access_t){ .verb = "patch", .group = "", .resource = "pods",
					   .namespace_ = ns },
			  done, userdata, ret, err, errsz);
}

/* ---- events ------------------------------------------------------------------------------- */

/* MicroTime: "2006-01-02T15:04:05.000000Z", UTC. */
void k8s_format_microtime(const struct timespec *ts, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts->tv_nsec / 1000);
}

static bool bounded(const char *s, size_t max)
{
	return s && s[0] && strlen(s) <= max;
}

int k8s_post_event(k8s_client_t *c, const k8s_event_t *e, k8s_done_fn *done, void *userdata,
		   k8s_call_t **ret, char *err, size_t errsz)
{
	struct timespec ts;
	char when[40], name[300], note[1025], object[400];
	cJSON *j, *md, *reg;
	char *body;

	if (!c || !e || !done || !name_ok(e->namespace_, 63) || !name_ok(e->deployment, 240) ||
	    !e->type || (strcmp(e->type, "Normal") && strcmp(e->type, "Warning")) ||
	    !bounded(e->reason, 128) || !bounded(e->action, 128)) {
		http_errf(err, errsz, "event: expected a namespace and Deployment, type Normal or "
				     "Warning, a reason and an action of at most 128 bytes");
		return -EINVAL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	k8s_format_microtime(&ts, when, sizeof(when));
	snprintf(name, sizeof(name), "%s.%llx", e->deployment,
		 (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
	snprintf(note, sizeof(note), "%s", e->note ? e->note : "");
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "apiVersion", "events.k8s.io/v1");
	cJSON_AddStringToObject(j, "kind", "Event");
	md = cJSON_AddObjectToObject(j, "metadata");
	if (md) {
		cJSON_AddStringToObject(md, "name", name);
		cJSON_AddStringToObject(md, "namespace", e->namespace_);
	}
	cJSON_AddStringToObject(j, "eventTime", when);
	cJSON_AddStringToObject(j, "reportingController", K8S_REPORTING_CONTROLLER);
	cJSON_AddStringToObject(j, "reportingInstance", c->identity);
	cJSON_AddStringToObject(j, "action", e->action);
	cJSON_AddStringToObject(j, "reason", e->reason);
	cJSON_AddStringToObject(j, "type", e->type);
	reg = cJSON_AddObjectToObject(j, "regarding");
	if (reg) {
		cJSON_AddStringToObject(reg, "apiVersion", "apps/v1");
		cJSON_AddStringToObject(reg, "kind", "Deployment");
		cJSON_AddStringToObject(reg, "namespace", e->namespace_);
		cJSON_AddStringToObject(reg, "name", e->deployment);
	}
	cJSON_AddStringToObject(j, "note", note);
	body = md && reg ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	snprintf(object, sizeof(object), "event on deployment %s/%s", e->namespace_,
		 e->deployment);
	return write_call(c, "POST", fmt("/apis/events.k8s.io/v1/namespaces/%s/events",
					 e->namespace_),
			  body, NULL,
			  &(k8s_access_t){ .verb = "create", .group = "events.k8s.io",
					   .resource = "events", .namespace_ = e->namespace_ },
			  done, userdata, ret, err, errsz);
}

/* ---- other autoscalers -------------------------------------------------------------------- */

struct autoscalers_state {
	k8s_autoscalers_t a;
	char ns[64], deployment[254];
	bool keda_step;
};

/* Items of a list whose scaleTargetRef (at spec.scaleTargetRef) names the Deployment. */
static int collect_targets(const char *body, size_t len, const char *deployment,
			   bool kind_optional, char (*names)[254], size_t *n)
{
	cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items"), *it;

	if (!cJSON_IsArray(items)) {
		cJSON_Delete(j);
		return -EPROTO;
	}
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(md, "name");
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(it, "spec");
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(spec, "scaleTargetRef");
		const cJSON *rk = cJSON_GetObjectItemCaseSensitive(ref, "kind");
		const cJSON *rn = cJSON_GetObjectItemCaseSensitive(ref, "name");
		bool kind_ok = cJSON_IsString(rk) ? !strcmp(rk->valuestring, "Deployment") :
						    kind_optional;

		if (kind_ok && cJSON_IsString(rn) && !strcmp(rn->valuestring, deployment) &&
		    cJSON_IsString(nm) && *n < K8S_MAX_AUTOSCALERS)
			snprintf(names[(*n)++], 254, "%s", nm->valuestring);
	}
	cJSON_Delete(j);
	return 0;
}

static bool finish_autoscalers(k8s_call_t *call, const k8s_result_t *r, const char *body,
			       size_t len)
{
	struct autoscalers_state *st = call->state;
	k8s_autoscalers_fn *done = (k8s_autoscalers_fn *)call->done;
	k8s_result_t out = *r;
	char msg[K8S_ERROR_MAX], what[256];
	int rc;

	if (!st->keda_step) {
		if (r->outcome != HTTP_SUCCESS) {
			done(r, NULL, call->userdata);
			return true;
		}
		rc = collect_targets(body, len, st->deployment, false, st->a.hpa, &st->a.n_hpa);
		if (rc == 0) {
			st->keda_step = true;
			k8s_access_format(&(k8s_access_t){ .verb = "list", .group = "keda.sh",
							   .resource = "scaledobjects",
							   .namespace_ = st->ns },
					  call->access, sizeof(call->access));
			k8s_call_resend(call, fmt("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects",
						  st->ns));
			return false;
		}
	} else if (r->status == 404) {
		/* no KEDA CRD: no ScaledObjects */
		out.outcome = HTTP_SUCCESS;
		out.error = "";
		out.reason = "";
		done(&out, &st->a, call->userdata);
		return true;
	} else if (r->outcome != HTTP_SUCCESS) {
		done(r, NULL, call->userdata);
		return true;
	} else {
		st->a.keda_installed = true;
		rc = collect_targets(body, len, st->deployment, true, st->a.scaled_objects,
				     &st->a.n_scaled_objects);
		if (rc == 0) {
			done(r, &st->a, call->userdata);
			return true;
		}
	}
	k8s_call_describe(call, what, sizeof(what));
	http_errf(msg, sizeof(msg), "%s: the answer is not a list (no items array)", what);
	out.outcome = HTTP_PERMANENT;
	out.error = msg;
	done(&out, NULL, call->userdata);
	return true;
}

int k8s_find_autoscalers(k8s_client_t *c, const char *ns, const char *deployment,
			 k8s_autoscalers_fn *done, void *userdata, k8s_call_t **ret, char *err,
			 size_t errsz)
{
	struct autoscalers_state *st;

	if (!c || !done || !name_ok(ns, 63) || !name_ok(deployment, 253)) {
		http_errf(err, errsz, "autoscalers: expected a namespace and a Deployment name "
				     "(DNS-1123)");
		return -EINVAL;
	}
	if ((st = calloc(1, sizeof(*st)))) {
		snprintf(st->ns, sizeof(st->ns), "%s", ns);
		snprintf(st->deployment, sizeof(st->deployment), "%s", deployment);
	}
	return submit(c,
		      &(struct spec){
			      .method = "GET",
			      .path = st ? fmt("/apis/autoscaling/v2/namespaces/%s/"
					       "horizontalpodautoscalers",
					       ns) :
					   NULL,
			      .access = { .verb = "list", .group = "autoscaling",
					  .resource = "horizontalpodautoscalers", .namespace_ = ns },
			      .finish = finish_autoscalers,
			      .done = (void *)done,
			      .userdata = userdata,
			      .state = st,
		      },
		      ret, err, errsz);
}
