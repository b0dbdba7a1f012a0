/* client.c - the Kubernetes client's core: credentials, one call's life (waiting for
 * credentials, the 401 reload, retries, errors), and the calls of k8s.h.
 *
 * Credentials live in an http_profile_t (TLS material of the cluster plus the current
 * bearer token or client certificate). With an exec plugin or a token source the profile
 * is rebuilt each time a new credential arrives; calls started before carry the old one
 * (profiles are reference-counted), and a 401 on a call made with an outdated credential
 * just repeats it with the current one instead of fetching again.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "k8s/k8s-client.h"

/* ---- small helpers ---------------------------------------------------------------------- */

int64_t k8s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- credentials ------------------------------------------------------------------------ */

/* A profile of the cluster's TLS settings with these credentials. token and the
 * certificate override the cluster's (exec plugin, token source); NULL keeps them. */
static int make_profile(k8s_client_t *c, const char *token, const char *cert_pem,
			const char *key_pem, http_profile_t **ret, char *err, size_t errsz)
{
	const k8s_cluster_t *cl = c->cluster;
	http_profile_opts_t po = {
		.tls = {
			.ca_file = cl->ca_file,
			.ca_pem = cl->ca_pem,
			.ca_pem_len = cl->ca_pem_len,
			.insecure_skip_tls_verify = cl->insecure_skip_tls_verify,
		},
		.max_in_flight = c->max_in_flight,
	};
	char perr[HTTP_ERROR_MAX];
	int rc;

	if (cert_pem && key_pem) {
		po.tls.cert_pem = cert_pem;
		po.tls.key_pem = key_pem;
	} else {
		po.tls.cert_file = cl->cert_file;
		po.tls.cert_pem = cl->cert_pem;
		po.tls.cert_pem_len = cl->cert_pem_len;
		po.tls.key_file = cl->key_file;
		po.tls.key_pem = cl->key_pem;
		po.tls.key_pem_len = cl->key_pem_len;
	}
	if (token) {
		po.bearer_token = token;
	} else if (c->mode == K8S_CRED_STATIC) {
		if (cl->token)
			po.bearer_token = cl->token;
		else if (cl->token_file)
			po.bearer_token_file = cl->token_file;
		else if (cl->username) {
			po.basic_user = cl->username;
			po.basic_password = cl->password ? cl->password : "";
		}
	}
	rc = http_profile_new(&po, ret, perr, sizeof(perr));
	if (rc < 0)
		http_errf(err, errsz, "kubernetes %s: %s", cl->source ? cl->source : "", perr);
	return rc;
}

/* The current credential is usable for a call starting now. */
static bool cred_fresh(const k8s_client_t *c)
{
	if (!c->cred_ready)
		return false;
	if (c->cred_expires && time(NULL) >= c->cred_expires - K8S_EXPIRY_MARGIN_S)
		return false;
	return true;
}

static void call_send(k8s_call_t *call);
static void call_fail(k8s_call_t *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fails the call from the loop, soon: never inside the function that started it. */
static void call_defer_fail(k8s_call_t *call, const char *error)
{
	snprintf(call->deferred_error, sizeof(call->deferred_error), "%s",
		 error[0] ? error : "failed");
	http_timer_arm(call->c->defer_timer, 0);
}

static void on_source_timeout(void *arg)
{
	k8s_client_t *c = arg;
	char err[K8S_ERROR_MAX];

	if (!c->cred_fetching)
		return;
	snprintf(err, sizeof(err), "the token source gave no token within %lld ms",
		 (long long)c->exec_timeout_ms);
	k8s_cred_done(c, NULL, NULL, NULL, 0, err);
}

/* Starts fetching a credential unless one is on its way. */
static void cred_fetch(k8s_client_t *c, bool refresh)
{
	char err[K8S_ERROR_MAX];

	if (c->cred_fetching)
		return;
	c->cred_fetching = true;
	c->cred_ready = false;
	if (c->mode == K8S_CRED_SOURCE) {
		/* a source that never answers must not hold the calls forever */
		if (c->source_timer || http_timer_new(c->http, on_source_timeout, c,
						       &c->source_timer) == 0)
			http_timer_arm(c->source_timer, c->exec_timeout_ms);
		c->source_fn(c, refresh, c->source_ud);
		return;
	}
	if (k8s_exec_start(c, err, sizeof(err)) < 0)
		k8s_cred_done(c, NULL, NULL, NULL, 0, err);
}

void k8s_cred_done(k8s_client_t *c, const char *token, const char *cert_pem,
		   const char *key_pem, time_t expires, const char *error)
{
	http_profile_t *p = NULL;
	char err[K8S_ERROR_MAX];

	c->cred_fetching = false;
	if (c->source_timer)
		http_timer_arm(c->source_timer, -1);
	if (!error && make_profile(c, token, cert_pem, key_pem, &p, err, sizeof(err)) < 0)
		error = err;
	if (!error && expires && time(NULL) >= expires) {
		snprintf(err, sizeof(err), "the credential of %s expired on arrival",
			 c->cred_what);
		error = err;
	}
	if (error) {
		snprintf(c->cred_error, sizeof(c->cred_error), "%s", error);
		/* every waiting call fails with it, from the loop (this may run inside the
		 * k8s_* function that started a call); the next call tries again */
		while (c->waiting) {
			k8s_call_t *call = c->waiting;

			c->waiting = call->wnext;
			call->waiting = false;
			call_defer_fail(call, error);
		}
		c->waiting_tail = NULL;
		return;
	}
	http_profile_unref(c->profile);
	c->profile = p;
	c->cred_gen++;
	c->cred_ready = true;
	c->cred_expires = expires;
	c->cred_error[0] = '\0';
	while (c->waiting && cred_fresh(c)) {
		k8s_call_t *call = c->waiting;

		c->waiting = call->wnext;
		call->waiting = false;
		call_send(call);
	}
	if (!c->waiting)
		c->waiting_tail = NULL;
}

void k8s_client_set_token(k8s_client_t *c, const char *token, time_t expires, const char *error)
{
	if (!c || c->mode != K8S_CRED_SOURCE)
		return;
	if (!token && !error)
		error = "the token source gave no token";
	k8s_cred_done(c, token, NULL, NULL, expires, token ? NULL : error);
}

/* ---- the client ------------------------------------------------------------------------- */

int k8s_client_new(const k8s_client_opts_t *o, k8s_client_t **ret, char *err, size_t errsz)
{
	k8s_client_t *c;
	char host[256];
	int rc;

	if (!o || !o->cluster || !o->http || !o->cluster->server) {
		http_errf(err, errsz, "kubernetes: no cluster to talk to");
		return -EINVAL;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->cluster = k8s_cluster_dup(o->cluster))) {
		free(c);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	c->http = o->http;
	c->max_in_flight = o->max_in_flight;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : K8S_DEFAULT_TIMEOUT_MS;
	c->exec_timeout_ms = o->exec_timeout_ms ? o->exec_timeout_ms : K8S_DEFAULT_EXEC_TIMEOUT_MS;
	c->watch_timeout_ms = (K8S_WATCH_SECONDS + 30) * 1000LL;
	c->retry = o->retry;
	if (!c->retry.max_attempts)
		c->retry.max_attempts = K8S_RETRY_ATTEMPTS;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "autoscalerd");
	host[sizeof(host) - 1] = '\0';
	c->identity = strdup(o->identity ? o->identity : host);
	if (o->token_source) {
		c->mode = K8S_CRED_SOURCE;
		c->source_fn = o->token_source;
		c->source_ud = o->token_userdata;
		snprintf(c->cred_what, sizeof(c->cred_what), "the token source");
	} else if (c->cluster->exec) {
		c->mode = K8S_CRED_EXEC;
		snprintf(c->cred_what, sizeof(c->cred_what), "exec plugin %s",
			 c->cluster->exec->command);
	} else {
		c->mode = K8S_CRED_STATIC;
		snprintf(c->cred_what, sizeof(c->cred_what), "%s",
			 c->cluster->token_file ? "the token file" : "the kubeconfig");
	}
	if (!c->identity) {
		k8s_client_free(c);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	if (c->mode == K8S_CRED_EXEC && (rc = k8s_exec_check(c, err, errsz)) < 0) {
		k8s_client_free(c);
		return rc;
	}
	/* The static credential now, so that a bad CA or token file fails here. */
	if (c->mode == K8S_CRED_STATIC) {
		if ((rc = make_profile(c, NULL, NULL, NULL, &c->profile, err, errsz)) < 0) {
			k8s_client_free(c);
			return rc;
		}
		c->cred_ready = true;
		c->cred_gen = 1;
	}
	*ret = c;
	return 0;
}

static void call_free(k8s_call_t *call);

k8s_client_t *k8s_client_free(k8s_client_t *c)
{
	if (!c)
		return NULL;
	while (c->all) {
		k8s_call_t *call = c->all;

		if (call->req)
			http_cancel(c->http, call->req);
		call_free(call);
	}
	k8s_exec_stop(c);
	http_timer_free(c->defer_timer);
	http_timer_free(c->source_timer);
	http_profile_unref(c->profile);
	k8s_cluster_free(c->cluster);
	free(c->identity);
	free(c);
	return NULL;
}

const char *k8s_client_namespace(const k8s_client_t *c)
{
	return c->cluster->namespace_;
}

/* ---- one call --------------------------------------------------------------------------- */

static void call_link(k8s_call_t *call)
{
	k8s_client_t *c = call->c;

	call->prev = NULL;
	call->next = c->all;
	if (c->all)
		c->all->prev = call;
	c->all = call;
}

static void call_unlink(k8s_call_t *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else
		call->c->all = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
}

static void call_destroy(k8s_call_t *call)
{
	free(call->path);
	free(call->body);
	free(call->state);
	free(call);
}

static void call_free(k8s_call_t *call)
{
	k8s_client_t *c = call->c;

	if (call->waiting) {
		k8s_call_t **pp = &c->waiting;

		while (*pp && *pp != call)
			pp = &(*pp)->wnext;
		if (*pp)
			*pp = call->wnext;
		c->waiting_tail = NULL;
		for (k8s_call_t *w = c->waiting; w; w = w->wnext)
			c->waiting_tail = w;
	}
	call_unlink(call);
	call_destroy(call);
}

/* The callback, then the call is gone. */
static void call_finish(k8s_call_t *call, k8s_result_t *r, const char *body, size_t len)
{
	r->attempts = call->attempts;
	r->elapsed_ms = k8s_now_ms() - call->start_ms;
	if (!r->reason)
		r->reason = "";
	if (!r->error)
		r->error = "";
	call->req = NULL;
	call_unlink(call); /* first: the callback may free the client */
	if (!call->finish(call, r, body, len))
		return; /* resent */
	call_destroy(call);
}

void k8s_call_resend(k8s_call_t *call, char *path)
{
	free(call->path);
	call->path = path;
	free(call->body);
	call->body = NULL;
	call->body_len = 0;
	call->content_type = NULL;
	snprintf(call->method, sizeof(call->method), "GET");
	call->retried_401 = false;
	call_link(call);
	if (!path) {
		call_defer_fail(call, "out of memory");
		return;
	}
	call_send(call);
}

static void call_fail(k8s_call_t *call, const char *fmt, ...)
{
	k8s_result_t r = { .outcome = HTTP_PERMANENT };
	char msg[K8S_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r.error = msg;
	call_finish(call, &r, NULL, 0);
}

/* Status.reason and .message of an error body, when it is a Status. */
static void parse_status(const char *body, size_t len, char *reason, size_t rsz, char *message,
			 size_t msz)
{
	cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *k, *r, *m;

	reason[0] = message[0] = '\0';
	if (!j)
		return;
	k = cJSON_GetObjectItemCaseSensitive(j, "kind");
	r = cJSON_GetObjectItemCaseSensitive(j, "reason");
	m = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsString(k) && !strcmp(k->valuestring, "Status")) {
		if (cJSON_IsString(r))
			snprintf(reason, rsz, "%s", r->valuestring);
		if (cJSON_IsString(m))
			snprintf(message, msz, "%s", m->valuestring);
	}
	cJSON_Delete(j);
}

static void on_http(http_response_t *res, void *userdata)
{
	k8s_call_t *call = userdata;
	k8s_client_t *c = call->c;
	k8s_result_t r = { .outcome = res->outcome, .status = res->status };
	char reason[64], message[512], msg[K8S_ERROR_MAX], what[256];

	call->req = NULL;
	call->attempts += res->attempts;
	if (res->status == 401 && !call->retried_401) {
		/* Reload once: a rotated token file is re-read by the profile on the next
		 * attempt; a plugin or source is asked again unless a newer credential came
		 * meanwhile. */
		call->retried_401 = true;
		if (c->mode != K8S_CRED_STATIC && call->cred_gen == c->cred_gen)
			c->cred_ready = false;
		call_send(call);
		return;
	}
	if (res->outcome == HTTP_SUCCESS) {
		call_finish(call, &r, res->body, res->body_len);
		return;
	}
	parse_status(res->body, res->body_len, reason, sizeof(reason), message, sizeof(message));
	r.reason = reason;
	k8s_call_describe(call, what, sizeof(what));
	if (res->status == 0 || res->cause != HTTP_CAUSE_STATUS)
		snprintf(msg, sizeof(msg), "%s: %s", what, res->error);
	else if (res->status == 401)
		snprintf(msg, sizeof(msg),
			 "%s: 401 Unauthorized: the API server rejected the credentials of %s "
			 "(%s), also after reloading them%s%s",
			 what, c->cluster->context ? c->cluster->context : "the context",
			 c->cred_what, message[0] ? ": " : "", message);
	else if (res->status == 403)
		snprintf(msg, sizeof(msg),
			 "%s: 403 Forbidden: the RBAC lacks %s (deploy/rbac.yaml grants it)%s%s",
			 what, call->access, message[0] ? ": " : "", message);
	else if (res->status == 404 && call->object[0])
		snprintf(msg, sizeof(msg), "%s not found%s%s", call->object,
			 message[0] ? ": " : "", message);
	else
		snprintf(msg, sizeof(msg), "%s: HTTP %ld%s%s%s%s", what, res->status,
			 reason[0] ? " " : "", reason, message[0] ? ": " : "", message);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	r.error = msg;
	call_finish(call, &r, res->body, res->body_len);
}

/* A stream's pieces go to its owner, with the owner's userdata. */
static bool call_data(const char *data, size_t len, void *userdata)
{
	k8s_call_t *call = userdata;

	return call->on_data(data, len, call->userdata);
}

static void call_send(k8s_call_t *call)
{
	k8s_client_t *c = call->c;
	http_header_t hdr[2];
	http_request_opts_t ro = { 0 };
	char url[K8S_MAX_URL], err[HTTP_ERROR_MAX];
	size_t nh = 0;
	int rc;

	if (!cred_fresh(c)) {
		call->waiting = true;
		call->wnext = NULL;
		if (c->waiting_tail)
			c->waiting_tail->wnext = call;
		else
			c->waiting = call;
		c->waiting_tail = call;
		cred_fetch(c, c->cred_gen > 0);
		return;
	}
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->cluster->server, call->path) >=
	    sizeof(url)) {
		call_defer_fail(call, "the request URL is too long");
		return;
	}
	hdr[nh++] = (http_header_t){ "Accept", "application/json" };
	if (call->content_type)
		hdr[nh++] = (http_header_t){ "Content-Type", call->content_type };
	ro.method = call->method;
	ro.url = url;
	ro.headers = hdr;
	ro.n_headers = nh;
	ro.body = call->body;
	ro.body_len = call->body_len;
	ro.timeout_ms = c->timeout_ms;
	ro.retry = c->retry;
	if (call->on_data) {
		/* a watch ends when the server says (timeoutSeconds); the attempt's timeout
		 * only guards against a silent connection */
		ro.on_data = call_data;
		ro.retry = (http_retry_t){ 0 };
		ro.timeout_ms = c->watch_timeout_ms;
	}
	ro.profile = c->profile;
	ro.done = on_http;
	ro.userdata = call;
	call->cred_gen = c->cred_gen;
	rc = http_submit(c->http, &ro, &call->req, err, sizeof(err));
	if (rc < 0)
		call_defer_fail(call, err);
}

int k8s_call_start(k8s_client_t *c, k8s_call_t *call, k8s_call_t **ret)
{
	call->c = c;
	call->start_ms = k8s_now_ms();
	call_link(call);
	if (!c->defer_timer && http_timer_new(c->http, k8s_deferred_fire, c, &c->defer_timer) < 0) {
		call_free(call);
		return -ENOMEM;
	}
	call_send(call);
	if (ret)
		*ret = call;
	return 0;
}

/* Calls that failed before going out complete here, from the loop: one per firing (the
 * timer is re-armed first when more wait), since a callback may free the client. */
void k8s_deferred_fire(void *arg)
{
	k8s_client_t *c = arg;
	k8s_call_t *call, *first = NULL;
	bool more = false;
	char e[K8S_ERROR_MAX], what[256];

	for (call = c->all; call; call = call->next) {
		if (!call->deferred_error[0] || call->req || call->waiting)
			continue;
		if (first) {
			more = true;
			break;
		}
		first = call;
	}
	if (!first)
		return;
	if (more)
		http_timer_arm(c->defer_timer, 0);
	snprintf(e, sizeof(e), "%s", first->deferred_error);
	k8s_call_describe(first, what, sizeof(what));
	call_fail(first, "%s: %s", what, e);
}

void k8s_cancel(k8s_client_t *c, k8s_call_t *call)
{
	k8s_call_t *i;

	if (!c || !call)
		return;
	for (i = c->all; i && i != call; i = i->next)
		;
	if (!i)
		return;
	if (call->req)
		http_cancel(c->http, call->req);
	call_free(call);
}

void k8s_call_describe(const k8s_call_t *call, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s", call->method, call->path);
}
