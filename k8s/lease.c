/* lease.c - leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection package does it (see k8s.h for the rules).
 *
 * One request at a time: every retry period the elector GETs the Lease (creating it when
 * absent), decides from what it saw and its own monotonic clock, and PUTs an updated
 * record carrying the resourceVersion it read. The record "changed" when any of holder,
 * acquireTime, renewTime, leaseDurationSeconds or leaseTransitions differs from the last
 * one seen; its expiry counts from the moment this process saw it change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "k8s/k8s-client.h"

struct record {
	char holder[256];
	int duration_s;
	char acquire[40], renew[40];
	int transitions;
	char rv[64]; /* metadata.resourceVersion: not part of "changed" */
};

struct k8s_elector {
	k8s_client_t *c;
	char ns[64], name[254];
	int64_t lease_ms, deadline_ms, retry_ms;
	k8s_leader_fn *changed;
	void *userdata;
	http_timer_t *timer;
	k8s_call_t *call;      /* the request in flight */
	bool leading, stopped;
	bool have_record;
	struct record seen;    /* the last record read or written */
	int64_t seen_at;       /* monotonic ms when it last changed */
	int64_t renewed_at;    /* monotonic ms of our last successful write */
	k8s_done_fn *release_done;
	void *release_ud;
	char release_error[K8S_ERROR_MAX]; /* a release that did not go out */
};

static void schedule(k8s_elector_t *e, int64_t ms)
{
	if (!e->stopped)
		http_timer_arm(e->timer, ms);
}

static void lose(k8s_elector_t *e)
{
	if (!e->leading)
		return;
	e->leading = false;
	e->changed(e, false, e->userdata);
}

/* Parses a Lease body into r; false when it is not one. */
static bool parse_lease(const char *body, size_t len, struct record *r)
{
	cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j, "spec");
	const cJSON *v;
	bool ok = cJSON_IsObject(md) && (!spec || cJSON_IsObject(spec));

	memset(r, 0, sizeof(*r));
	if (ok && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion")))
		snprintf(r->rv, sizeof(r->rv), "%s", v->valuestring);
	if (ok && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(spec, "holderIdentity")))
		snprintf(r->holder, sizeof(r->holder), "%s", v->valuestring);
	if (ok && cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds")))
		r->duration_s = v->valuedouble > 0 && v->valuedouble < 1e6 ? (int)v->valuedouble : 0;
	if (ok && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(spec, "acquireTime")))
		snprintf(r->acquire, sizeof(r->acquire), "%s", v->valuestring);
	if (ok && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(spec, "renewTime")))
		snprintf(r->renew, sizeof(r->renew), "%s", v->valuestring);
	if (ok && cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions")))
		r->transitions = (int)v->valuedouble;
	cJSON_Delete(j);
	return ok && r->rv[0];
}

/* Remembers r; restarts the expiry clock when the record changed. */
static void observe(k8s_elector_t *e, const struct record *r)
{
	const struct record *s = &e->seen;

	if (!e->have_record || strcmp(s->holder, r->holder) || s->duration_s != r->duration_s ||
	    strcmp(s->acquire, r->acquire) || strcmp(s->renew, r->renew) ||
	    s->transitions != r->transitions)
		e->seen_at = k8s_now_ms();
	e->seen = *r;
	e->have_record = true;
}

/* The Lease body we write: ours (or, releasing, nobody's). */
static char *lease_body(const k8s_elector_t *e, const struct record *prev, bool release)
{
	struct timespec ts;
	char now[40];
	cJSON *j = cJSON_CreateObject(), *md, *spec;
	bool ours = prev && !strcmp(prev->holder, e->c->identity);
	char *s = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	k8s_format_microtime(&ts, now, sizeof(now));
	cJSON_AddStringToObject(j, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(j, "kind", "Lease");
	md = cJSON_AddObjectToObject(j, "metadata");
	spec = cJSON_AddObjectToObject(j, "spec");
	if (md && spec) {
		cJSON_AddStringToObject(md, "name", e->name);
		cJSON_AddStringToObject(md, "namespace", e->ns);
		if (prev)
			cJSON_AddStringToObject(md, "resourceVersion", prev->rv);
		cJSON_AddStringToObject(spec, "holderIdentity", release ? "" : e->c->identity);
		cJSON_AddNumberToObject(spec, "leaseDurationSeconds",
					release ? 1 : (double)((e->lease_ms + 999) / 1000));
		cJSON_AddStringToObject(spec, "acquireTime",
					ours && !release && prev->acquire[0] ? prev->acquire : now);
		cJSON_AddStringToObject(spec, "renewTime", now);
		cJSON_AddNumberToObject(spec, "leaseTransitions",
					!prev ? 0 : ours || release ? prev->transitions :
								      prev->transitions + 1);
		s = cJSON_PrintUnformatted(j);
	}
	cJSON_Delete(j);
	return s;
}

static char *lease_path(const k8s_elector_t *e, bool collection)
{
	char *p = NULL;

	if (asprintf(&p, "/apis/coordination.k8s.io/v1/namespaces/%s/leases%s%s", e->ns,
		     collection ? "" : "/", collection ? "" : e->name) < 0)
		return NULL;
	return p;
}

static void on_write(const k8s_result_t *r, const char *body, size_t len, void *ud);

static void send(k8s_elector_t *e, const char *verb, const char *method, char *path,
		 char *body, k8s_raw_fn *done)
{
	char err[K8S_ERROR_MAX], object[400];
	k8s_access_t a = { .verb = verb, .group = "coordination.k8s.io", .resource = "leases",
			   .namespace_ = e->ns, .name = strcmp(verb, "create") ? e->name : NULL };

	snprintf(object, sizeof(object), "lease %s/%s", e->ns, e->name);
	if (!path || (!body && strcmp(method, "GET")) ||
	    k8s_request(e->c, method, path, body, "application/json",
			strcmp(method, "GET") ? NULL : object, &a, done, e, &e->call, err,
			sizeof(err)) < 0) {
		if (!path || (!body && strcmp(method, "GET"))) {
			free(path);
			free(body);
		}
		e->call = NULL;
		schedule(e, e->retry_ms);
	}
}

static void on_read(const k8s_result_t *r, const char *body, size_t len, void *ud)
{
	k8s_elector_t *e = ud;
	struct record rec;
	int64_t now = k8s_now_ms();

	e->call = NULL;
	if (r->status == 404) {
		send(e, "create", "POST", lease_path(e, true), lease_body(e, NULL, false), on_write);
		return;
	}
	if (r->outcome != HTTP_SUCCESS || !parse_lease(body, len, &rec)) {
		if (e->leading && now - e->renewed_at > e->deadline_ms)
			lose(e);
		schedule(e, e->retry_ms);
		return;
	}
	observe(e, &rec);
	if (rec.holder[0] && strcmp(rec.holder, e->c->identity) &&
	    now < e->seen_at + (int64_t)rec.duration_s * 1000) {
		/* someone else holds it, and recently renewed it as far as we can tell */
		lose(e);
		schedule(e, e->retry_ms);
		return;
	}
	if (e->leading && now - e->renewed_at > e->deadline_ms) {
		lose(e); /* too late to renew: client-go gives up at the deadline */
		schedule(e, e->retry_ms);
		return;
	}
	send(e, "update", "PUT", lease_path(e, false), lease_body(e, &rec, false), on_write);
}

static void on_write(const k8s_result_t *r, const char *body, size_t len, void *ud)
{
	k8s_elector_t *e = ud;
	struct record rec;

	e->call = NULL;
	if (r->outcome == HTTP_SUCCESS && parse_lease(body, len, &rec) &&
	    !strcmp(rec.holder, e->c->identity)) {
		observe(e, &rec);
		e->renewed_at = k8s_now_ms();
		if (!e->leading) {
			e->leading = true;
			e->changed(e, true, e->userdata);
			/* the callback may have freed or released the elector's owner: only the
			 * timer is touched below, and release/free keep it valid */
		}
	} else if (e->leading && k8s_now_ms() - e->renewed_at > e->deadline_ms) {
		lose(e);
	}
	schedule(e, e->retry_ms);
}

static void on_tick(void *arg)
{
	k8s_elector_t *e = arg;
	char *path;

	if (e->stopped && e->release_done && !e->call) {
		k8s_result_t r = { .outcome = e->release_error[0] ? HTTP_PERMANENT : HTTP_SUCCESS,
				   .reason = "", .error = e->release_error };
		k8s_done_fn *done = e->release_done;

		e->release_done = NULL;
		done(&r, e->release_ud);
		return;
	}
	if (e->stopped || e->call)
		return;
	path = lease_path(e, false);
	send(e, "get", "GET", path, NULL, on_read);
}

int k8s_elector_start(k8s_client_t *c, const k8s_elector_opts_t *o, k8s_elector_t **ret,
		      char *err, size_t errsz)
{
	k8s_elector_t *e;

	if (!c || !o || !o->changed || !o->namespace_ || !o->name || !o->namespace_[0] ||
	    !o->name[0] || strlen(o->namespace_) > 63 || strlen(o->name) > 253 ||
	    strpbrk(o->namespace_, "/?#%") || strpbrk(o->name, "/?#%")) {
		http_errf(err, errsz, "leader election: a Lease namespace and name are required");
		return -EINVAL;
	}
	if (!(e = calloc(1, sizeof(*e)))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	e->c = c;
	snprintf(e->ns, sizeof(e->ns), "%s", o->namespace_);
	snprintf(e->name, sizeof(e->name), "%s", o->name);
	e->lease_ms = o->lease_ms ? o->lease_ms : K8S_LEASE_DURATION_MS;
	e->deadline_ms = o->renew_deadline_ms ? o->renew_deadline_ms : K8S_RENEW_DEADLINE_MS;
	e->retry_ms = o->retry_ms ? o->retry_ms : K8S_RETRY_PERIOD_MS;
	e->changed = o->changed;
	e->userdata = o->userdata;
	if (http_timer_new(c->http, on_tick, e, &e->timer) < 0) {
		free(e);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	http_timer_arm(e->timer, 0);
	*ret = e;
	return 0;
}

bool k8s_elector_leading(const k8s_elector_t *e)
{
	return e && e->leading;
}

static void on_released(const k8s_result_t *r, const char *body, size_t len, void *ud)
{
	k8s_elector_t *e = ud;
	k8s_done_fn *done = e->release_done;

	(void)body;
	(void)len;
	e->call = NULL;
	e->release_done = NULL;
	if (done)
		done(r, e->release_ud);
}

void k8s_elector_release(k8s_elector_t *e, k8s_done_fn *done, void *userdata)
{
	bool was_leading = e->leading;
	char err[K8S_ERROR_MAX];

	e->stopped = true;
	if (e->call) {
		k8s_cancel(e->c, e->call);
		e->call = NULL;
	}
	e->leading = false;
	e->release_done = done;
	e->release_ud = userdata;
	if (was_leading && e->have_record &&
	    k8s_request(e->c, "PUT", lease_path(e, false), lease_body(e, &e->seen, true),
			"application/json", NULL,
			&(k8s_access_t){ .verb = "update", .group = "coordination.k8s.io",
					 .resource = "leases", .namespace_ = e->ns,
					 .name = e->name },
			on_released, e, &e->call, err, sizeof(err)) == 0) {
		http_timer_arm(e->timer, -1);
		return;
	}
	/* Nothing to release (or no memory to say so): done from the loop. */
	snprintf(e->release_error, sizeof(e->release_error), "%s",
		 was_leading && e->have_record ? err : "");
	http_timer_arm(e->timer, done ? 0 : -1);
}

k8s_elector_t *k8s_elector_free(k8s_elector_t *e)
{
	if (!e)
		return NULL;
	if (e->call)
		k8s_cancel(e->c, e->call);
	http_timer_free(e->timer);
	free(e);
	return NULL;
}
