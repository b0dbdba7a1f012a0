/* auth.c - the four ways to authenticate behind one "ready, then sign" interface.
 *
 * api_key and security_token are read from ~/.oci/config at oci_auth_new() and can sign at
 * once; a security token file is stat()ed at each signature and re-read when it changes
 * (`oci session refresh` rewrites it), with its key file. instance_principal and
 * workload_identity fetch a session token (federation.c) and keep it fresh.
 *
 * Waiters. oci_auth_ready() queues a waiter. When the credentials can sign it is finished
 * at once; otherwise it waits for the one fetch in progress (started by it or by an earlier
 * waiter, or by the refresh timer), and every waiter of that fetch is finished with its
 * outcome. Finished waiters are called back from a zero-delay timer, one per firing, since
 * a callback may free the whole object.
 *
 * Refresh. After a fetch the refresh timer is armed: instance principal a fifth of the
 * token's life before its exp (at least a minute before), workload identity at half its
 * life, never sooner than OCI_REFRESH_MIN_S. The old token signs until the new one
 * arrives; a failed scheduled refresh is tried again while the old token lasts.
 *
 * No hammering. A fetch that failed less than OCI_FETCH_RETRY_S ago is not repeated: the
 * waiters get its error at once (with how long ago it failed). The next oci_auth_ready()
 * after that tries again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "oci/oci-private.h"

struct oci_auth_wait {
	struct oci_auth_wait *prev, *next;
	oci_auth_fn *done;
	void *userdata;
	bool finished;
	bool failed;
	char error[OCI_ERR_MAX];
};

const char *oci_auth_mode_name(oci_auth_mode_t m)
{
	switch (m) {
	case OCI_AUTH_API_KEY:
		return "api_key";
	case OCI_AUTH_SECURITY_TOKEN:
		return "security_token";
	case OCI_AUTH_INSTANCE_PRINCIPAL:
		return "instance_principal";
	case OCI_AUTH_WORKLOAD_IDENTITY:
		return "workload_identity";
	}
	return "unknown";
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *dupf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static int add_warning(oci_auth_t *a, char *w)
{
	if (!w)
		return -ENOMEM;
	if (a->n_warnings >= OCI_MAX_WARNINGS) {
		free(w);
		return 0;
	}
	a->warnings[a->n_warnings++] = w;
	return 0;
}

static int set_describe(oci_auth_t *a)
{
	char *d = NULL;

	switch (a->mode) {
	case OCI_AUTH_API_KEY:
		d = dupf("api_key (profile [%s] of %s, key %s)", a->profile_name, a->config_file,
			 a->key_file);
		break;
	case OCI_AUTH_SECURITY_TOKEN:
		d = dupf("security_token (profile [%s] of %s, token %s)", a->profile_name,
			 a->config_file, a->token_file);
		break;
	case OCI_AUTH_INSTANCE_PRINCIPAL:
		if (a->tenancy)
			d = dupf("instance_principal (tenancy %s)", a->tenancy);
		else
			d = dupf("instance_principal (metadata %s)", a->metadata_url);
		break;
	case OCI_AUTH_WORKLOAD_IDENTITY:
		d = dupf("workload_identity (region %s, proxymux %s)", a->region, a->proxymux_url);
		break;
	}
	if (!d)
		return -ENOMEM;
	free(a->describe);
	a->describe = d;
	return 0;
}

/* ---- api_key and security_token: the profile ---------------------------------------- */

static int need(const oci_profile_t *p, oci_profile_key_t k, oci_auth_mode_t m, char *err,
		size_t errsz)
{
	char where[512];

	if (p->values[k] && p->values[k][0])
		return 0;
	oci_profile_where(p, k, where, sizeof(where));
	http_errf(err, errsz, "%s is missing (needed by oci.auth: %s)", where,
		  oci_auth_mode_name(m));
	return -EINVAL;
}

/* The key file's permissions, as the OCI CLI checks them. */
static int check_key_mode(oci_auth_t *a)
{
	struct stat st;

	if (stat(a->key_file, &st) < 0 || !(st.st_mode & 077))
		return 0;
	return add_warning(a, dupf("key file %s is readable by group or others (mode %04o): "
				   "chmod 600 %s",
				   a->key_file, (unsigned)(st.st_mode & 07777), a->key_file));
}

static int load_key(oci_auth_t *a, const oci_profile_t *p, oci_key_t **ret, char *err,
		    size_t errsz)
{
	char where[512], kerr[OCI_ERR_MAX];
	int rc;

	rc = oci_key_load_file(a->key_file, a->pass_phrase, ret, kerr, sizeof(kerr));
	if (rc < 0) {
		if (p) {
			oci_profile_where(p, OCI_PK_KEY_FILE, where, sizeof(where));
			http_errf(err, errsz, "%s: %s", where, kerr);
		} else {
			http_errf(err, errsz, "%s", kerr);
		}
	}
	return rc;
}

static int set_region(oci_auth_t *a, const char *region, const oci_profile_t *p, char *err,
		      size_t errsz)
{
	char where[512];

	if (!region || !region[0])
		return 0;
	if (!oci_region_valid(region)) {
		if (p) {
			oci_profile_where(p, OCI_PK_REGION, where, sizeof(where));
			http_errf(err, errsz, "%s: \"%s\" is not a region name", where, region);
		} else {
			http_errf(err, errsz, "region \"%s\" is not a region name", region);
		}
		return -EINVAL;
	}
	free(a->region);
	a->region = strdup(region);
	return a->region ? 0 : -ENOMEM;
}

static int init_profile(oci_auth_t *a, const oci_auth_opts_t *o, char *err, size_t errsz)
{
	oci_profile_t *p = NULL;
	const char *const *v;
	char where[512], fp[OCI_FINGERPRINT_LEN];
	int rc;

	rc = oci_profile_load(o->config_file, o->profile, &p, err, errsz);
	if (rc < 0)
		return rc;
	v = (const char *const *)p->values;
	if (a->mode == OCI_AUTH_API_KEY) {
		if ((rc = need(p, OCI_PK_USER, a->mode, err, errsz)) < 0 ||
		    (rc = need(p, OCI_PK_FINGERPRINT, a->mode, err, errsz)) < 0 ||
		    (rc = need(p, OCI_PK_TENANCY, a->mode, err, errsz)) < 0 ||
		    (rc = need(p, OCI_PK_KEY_FILE, a->mode, err, errsz)) < 0)
			goto out;
	} else if ((rc = need(p, OCI_PK_KEY_FILE, a->mode, err, errsz)) < 0 ||
		   (rc = need(p, OCI_PK_SECURITY_TOKEN_FILE, a->mode, err, errsz)) < 0) {
		goto out;
	}
	rc = -ENOMEM;
	if (!(a->config_file = strdup(p->file)) || !(a->profile_name = strdup(p->name)) ||
	    !(a->key_file = strdup(v[OCI_PK_KEY_FILE])) ||
	    (v[OCI_PK_PASS_PHRASE] && !(a->pass_phrase = strdup(v[OCI_PK_PASS_PHRASE]))) ||
	    (v[OCI_PK_TENANCY] && !(a->tenancy = strdup(v[OCI_PK_TENANCY]))))
		goto nomem;
	if ((rc = set_region(a, o->region, NULL, err, errsz)) < 0)
		goto out;
	if (!a->region && (rc = set_region(a, v[OCI_PK_REGION], p, err, errsz)) < 0)
		goto out;
	if ((rc = load_key(a, p, &a->key, err, errsz)) < 0)
		goto out;
	oci_file_id(a->key_file, &a->key_id_file);
	if ((rc = check_key_mode(a)) < 0)
		goto nomem;

	if (a->mode == OCI_AUTH_API_KEY) {
		if (oci_key_fingerprint(a->key, fp) == 0 && strcmp(fp, v[OCI_PK_FINGERPRINT])) {
			oci_profile_where(p, OCI_PK_FINGERPRINT, where, sizeof(where));
			if ((rc = add_warning(a, dupf("%s: %s is not the fingerprint of %s (%s): "
						      "OCI will answer 401 NotAuthenticated",
						      where, v[OCI_PK_FINGERPRINT], a->key_file,
						      fp))) < 0)
				goto nomem;
		}
		a->key_id = dupf("%s/%s/%s", v[OCI_PK_TENANCY], v[OCI_PK_USER],
				 v[OCI_PK_FINGERPRINT]);
		if (!a->key_id)
			goto nomem;
	} else {
		char *token = NULL, terr[OCI_ERR_MAX];

		if (!(a->token_file = strdup(v[OCI_PK_SECURITY_TOKEN_FILE])))
			goto nomem;
		rc = oci_read_token_file(a->token_file, "security_token_file", &token,
					 &a->token_id, terr, sizeof(terr));
		if (rc < 0) {
			oci_profile_where(p, OCI_PK_SECURITY_TOKEN_FILE, where, sizeof(where));
			http_errf(err, errsz, "%s: %s", where, terr);
			goto out;
		}
		a->key_id = dupf("ST$%s", token);
		if (oci_jwt_times(token, &a->exp, &a->iat) < 0)
			a->exp = a->iat = 0;
		explicit_bzero(token, strlen(token));
		free(token);
		if (!a->key_id)
			goto nomem;
	}
	a->ready = true;
	rc = 0;
	goto out;
nomem:
	http_errf(err, errsz, "out of memory");
	rc = -ENOMEM;
out:
	oci_profile_free(p);
	return rc;
}

/* The security token file, and its key, again if they changed (or always when force). On
 * failure the old ones stay: a file caught in the middle of a rewrite is read next time. */
static int reload_session(oci_auth_t *a, bool force, char *err, size_t errsz)
{
	oci_file_id_t tid, kid;
	char *token = NULL, *kid_str;
	oci_key_t *key = NULL;
	time_t exp = 0, iat = 0;
	int rc;

	if (oci_file_id(a->token_file, &tid) < 0)
		tid.known = false;
	if (oci_file_id(a->key_file, &kid) < 0)
		kid.known = false;
	if (!force && tid.known && oci_file_id_same(&tid, &a->token_id) &&
	    (!kid.known || oci_file_id_same(&kid, &a->key_id_file)))
		return 0;
	rc = oci_read_token_file(a->token_file, "security_token_file", &token, &tid, err, errsz);
	if (rc < 0)
		return rc;
	if (force || (kid.known && !oci_file_id_same(&kid, &a->key_id_file))) {
		if ((rc = load_key(a, NULL, &key, err, errsz)) < 0)
			goto out;
	}
	if (!(kid_str = dupf("ST$%s", token))) {
		rc = -ENOMEM;
		http_errf(err, errsz, "out of memory");
		goto out;
	}
	if (oci_jwt_times(token, &exp, &iat) < 0)
		exp = iat = 0;
	if (a->key_id)
		explicit_bzero(a->key_id, strlen(a->key_id));
	free(a->key_id);
	a->key_id = kid_str;
	a->exp = exp;
	a->iat = iat;
	a->token_id = tid;
	if (key) {
		oci_key_unref(a->key);
		a->key = key;
		key = NULL;
		a->key_id_file = kid;
	}
	rc = 0;
out:
	oci_key_unref(key);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return rc;
}

/* ---- the object --------------------------------------------------------------------------- */

int oci_auth_new(const oci_auth_opts_t *o, oci_auth_t **ret, char *err, size_t errsz)
{
	oci_auth_t *a;
	int rc;

	if (!o || !ret) {
		http_errf(err, errsz, "oci auth: no options");
		return -EINVAL;
	}
	if (!(a = calloc(1, sizeof(*a)))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	a->mode = o->mode;
	a->http = o->http;
	a->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : OCI_DEFAULT_TIMEOUT_MS;
	switch (o->mode) {
	case OCI_AUTH_API_KEY:
	case OCI_AUTH_SECURITY_TOKEN:
		rc = init_profile(a, o, err, errsz);
		break;
	case OCI_AUTH_INSTANCE_PRINCIPAL:
		rc = oci_instance_principal_init(a, o, err, errsz);
		break;
	case OCI_AUTH_WORKLOAD_IDENTITY:
		rc = oci_workload_identity_init(a, o, err, errsz);
		break;
	default:
		http_errf(err, errsz, "oci auth: unknown mode %d", (int)o->mode);
		rc = -EINVAL;
		break;
	}
	if (rc == 0 && set_describe(a) < 0) {
		http_errf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	if (rc < 0) {
		oci_auth_free(a);
		return rc;
	}
	*ret = a;
	return 0;
}

oci_auth_t *oci_auth_free(oci_auth_t *a)
{
	if (!a)
		return NULL;
	oci_fetch_free(a->fetch);
	a->fetch = NULL;
	while (a->waiters) {
		struct oci_auth_wait *w = a->waiters;

		a->waiters = w->next;
		free(w);
	}
	http_timer_free(a->defer_timer);
	http_timer_free(a->refresh_timer);
	http_profile_unref(a->tls);
	oci_key_unref(a->key);
	if (a->key_id)
		explicit_bzero(a->key_id, strlen(a->key_id));
	free(a->key_id);
	if (a->pass_phrase)
		explicit_bzero(a->pass_phrase, strlen(a->pass_phrase));
	free(a->pass_phrase);
	for (size_t i = 0; i < a->n_warnings; i++)
		free(a->warnings[i]);
	free(a->region);
	free(a->tenancy);
	free(a->describe);
	free(a->config_file);
	free(a->profile_name);
	free(a->key_file);
	free(a->token_file);
	free(a->metadata_url);
	free(a->federation_base);
	free(a->proxymux_url);
	free(a->sa_token_file);
	free(a->sa_ca_file);
	free(a);
	return NULL;
}

size_t oci_auth_warnings(const oci_auth_t *a, const char *const **ret)
{
	if (ret)
		*ret = (const char *const *)a->warnings;
	return a->n_warnings;
}

oci_auth_mode_t oci_auth_mode(const oci_auth_t *a)
{
	return a->mode;
}

const char *oci_auth_region(const oci_auth_t *a)
{
	return a->region;
}

const char *oci_auth_tenancy(const oci_auth_t *a)
{
	return a->tenancy;
}

const char *oci_auth_describe(const oci_auth_t *a)
{
	return a->describe;
}

/* ---- waiters ------------------------------------------------------------------------------ */

static void waiter_unlink(oci_auth_t *a, struct oci_auth_wait *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		a->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		a->waiters_tail = w->prev;
	w->prev = w->next = NULL;
}

/* One finished waiter per firing: its callback may free a. */
static void on_defer(void *arg)
{
	oci_auth_t *a = arg;
	struct oci_auth_wait *w, *first = NULL;
	char error[OCI_ERR_MAX];
	oci_auth_fn *done;
	void *ud;
	bool failed, more = false;

	for (w = a->waiters; w; w = w->next) {
		if (!w->finished)
			continue;
		if (first) {
			more = true;
			break;
		}
		first = w;
	}
	if (!first)
		return;
	if (more)
		http_timer_arm(a->defer_timer, 0);
	waiter_unlink(a, first);
	done = first->done;
	ud = first->userdata;
	failed = first->failed;
	memcpy(error, first->error, sizeof(error));
	free(first);
	done(failed ? error : NULL, ud);
}

static void finish(oci_auth_t *a, struct oci_auth_wait *w, const char *error)
{
	w->finished = true;
	w->failed = error != NULL;
	if (error)
		snprintf(w->error, sizeof(w->error), "%s", error[0] ? error : "failed");
	http_timer_arm(a->defer_timer, 0);
}

static void finish_pending(oci_auth_t *a, const char *error)
{
	for (struct oci_auth_wait *w = a->waiters; w; w = w->next)
		if (!w->finished)
			finish(a, w, error);
}

/* ---- fetching ----------------------------------------------------------------------------- */

static bool fetching_mode(const oci_auth_t *a)
{
	return a->mode == OCI_AUTH_INSTANCE_PRINCIPAL || a->mode == OCI_AUTH_WORKLOAD_IDENTITY;
}

/* The session token is good for a call starting now (with a margin for the call). */
static bool session_fresh(const oci_auth_t *a)
{
	return a->ready && (!a->exp || time(NULL) + 10 < a->exp);
}

static void fetch_failed(oci_auth_t *a, const char *error)
{
	snprintf(a->fetch_error, sizeof(a->fetch_error), "%s", error[0] ? error : "failed");
	a->fetch_failed_ms = oci_now_ms();
	if (!a->fetch_failed_ms)
		a->fetch_failed_ms = 1;
}

/* Starts a fetch; false (the waiters failed) when it cannot start. */
static bool fetch(oci_auth_t *a, bool scheduled)
{
	char err[OCI_ERR_MAX];

	if (a->fetch)
		return true;
	err[0] = '\0';
	a->fetch_scheduled = scheduled;
	if (oci_fetch_start(a, err, sizeof(err)) < 0) {
		fetch_failed(a, err);
		finish_pending(a, a->fetch_error);
		return false;
	}
	return true;
}

static void on_refresh(void *arg)
{
	oci_auth_t *a = arg;

	if (!a->fetch)
		fetch(a, true);
}

static void arm_refresh(oci_auth_t *a, int64_t delay_s)
{
	if (!a->refresh_timer && http_timer_new(a->http, on_refresh, a, &a->refresh_timer) < 0)
		return;
	if (delay_s < OCI_REFRESH_MIN_S)
		delay_s = OCI_REFRESH_MIN_S;
	http_timer_arm(a->refresh_timer, delay_s * 1000);
}

/* When to fetch the next token, ahead of the current one's exp. */
static void schedule_refresh(oci_auth_t *a)
{
	time_t now = time(NULL), at;
	int64_t life;

	if (!a->exp)
		return;
	if (a->mode == OCI_AUTH_INSTANCE_PRINCIPAL) {
		int64_t ahead;

		life = (int64_t)a->exp - (a->iat && a->iat < a->exp ? a->iat : now);
		ahead = life / 5 > 60 ? life / 5 : 60;
		at = a->exp - (time_t)ahead;
	} else {
		time_t from = a->iat && a->iat < a->exp ? a->iat : now;

		life = (int64_t)a->exp - from;
		at = from + (time_t)(life / 2);
	}
	arm_refresh(a, (int64_t)at - now);
}

void oci_auth_fetched(oci_auth_t *a, oci_key_t *key, const char *token, const char *region,
		      const char *tenancy, const char *error)
{
	const char *label = a->mode == OCI_AUTH_INSTANCE_PRINCIPAL ? "instance principal"
								    : "workload identity";
	char msg[OCI_ERR_MAX];
	char *kid = NULL, *r = NULL, *t = NULL;
	time_t exp = 0, iat = 0, now = time(NULL);
	bool scheduled = a->fetch_scheduled;

	a->fetch = NULL;
	a->fetch_scheduled = false;
	if (error) {
		snprintf(msg, sizeof(msg), "%s", error[0] ? error : "failed");
	} else if (oci_jwt_times(token, &exp, &iat) < 0 || !exp) {
		snprintf(msg, sizeof(msg), "%s: the session token is not a JWT with an exp claim",
			 label);
	} else if (exp <= now) {
		char when[32];

		oci_iso_time(exp, when);
		snprintf(msg, sizeof(msg),
			 "%s: the session token arrived expired (exp %s): check the clock", label,
			 when);
	} else if (!(kid = dupf("ST$%s", token)) || (region && !(r = strdup(region))) ||
		   (tenancy && !(t = strdup(tenancy)))) {
		snprintf(msg, sizeof(msg), "%s: out of memory", label);
	} else {
		msg[0] = '\0';
	}
	if (msg[0]) {
		free(kid);
		free(r);
		free(t);
		oci_key_unref(key);
		fetch_failed(a, msg);
		finish_pending(a, a->fetch_error);
		/* a scheduled refresh that failed is tried again while the old token lasts */
		if (scheduled && a->ready && a->exp > now)
			arm_refresh(a, a->exp - now > 60 ? 30 : OCI_REFRESH_MIN_S);
		return;
	}
	oci_key_unref(a->key);
	a->key = key;
	if (a->key_id)
		explicit_bzero(a->key_id, strlen(a->key_id));
	free(a->key_id);
	a->key_id = kid;
	a->exp = exp;
	a->iat = iat;
	if (r) {
		free(a->region);
		a->region = r;
	}
	if (t) {
		free(a->tenancy);
		a->tenancy = t;
	}
	set_describe(a);
	a->ready = true;
	a->fetch_failed_ms = 0;
	a->fetch_error[0] = '\0';
	schedule_refresh(a);
	finish_pending(a, NULL);
}

int oci_auth_ready(oci_auth_t *a, bool refresh, oci_auth_fn *done, void *userdata,
		   oci_auth_wait_t **ret, char *err, size_t errsz)
{
	struct oci_auth_wait *w;
	char msg[OCI_ERR_MAX];

	if (!a || !done) {
		http_errf(err, errsz, "oci auth: no credentials or no callback");
		return -EINVAL;
	}
	if (!a->http) {
		http_errf(err, errsz, "%s: waiting for credentials needs an http client",
			  oci_auth_mode_name(a->mode));
		return -EINVAL;
	}
	if (!a->defer_timer && http_timer_new(a->http, on_defer, a, &a->defer_timer) < 0) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	if (!(w = calloc(1, sizeof(*w)))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	w->done = done;
	w->userdata = userdata;
	w->prev = a->waiters_tail;
	if (a->waiters_tail)
		a->waiters_tail->next = w;
	else
		a->waiters = w;
	a->waiters_tail = w;
	if (ret)
		*ret = w;

	switch (a->mode) {
	case OCI_AUTH_API_KEY:
		finish(a, w, NULL);
		return 0;
	case OCI_AUTH_SECURITY_TOKEN:
		if (reload_session(a, refresh, msg, sizeof(msg)) < 0) {
			char m2[OCI_ERR_MAX];

			http_errf(m2, sizeof(m2), "security_token (profile [%s] of %s): %s",
				  a->profile_name, a->config_file, msg);
			finish(a, w, m2);
			return 0;
		}
		if (a->exp && a->exp <= time(NULL)) {
			char when[32];

			oci_iso_time(a->exp, when);
			snprintf(msg, sizeof(msg),
				 "security_token (profile [%s] of %s): the session token in %s "
				 "expired at %s: run `oci session refresh --profile %s` (before it "
				 "expires) or `oci session authenticate` again",
				 a->profile_name, a->config_file, a->token_file, when,
				 a->profile_name);
			finish(a, w, msg);
			return 0;
		}
		finish(a, w, NULL);
		return 0;
	case OCI_AUTH_INSTANCE_PRINCIPAL:
	case OCI_AUTH_WORKLOAD_IDENTITY:
		break;
	}

	if (!refresh && session_fresh(a)) {
		finish(a, w, NULL);
		return 0;
	}
	if (a->fetch)
		return 0; /* join it */
	if (a->fetch_failed_ms && oci_now_ms() - a->fetch_failed_ms < OCI_FETCH_RETRY_S * 1000) {
		http_errf(msg, sizeof(msg), "%s (failed %.1f s ago; tried again after %d s)",
			  a->fetch_error, (double)(oci_now_ms() - a->fetch_failed_ms) / 1000.0,
			  OCI_FETCH_RETRY_S);
		finish(a, w, msg);
		return 0;
	}
	fetch(a, false);
	return 0;
}

void oci_auth_cancel(oci_auth_t *a, oci_auth_wait_t *w)
{
	struct oci_auth_wait *i;

	if (!a || !w)
		return;
	for (i = a->waiters; i && i != w; i = i->next)
		;
	if (!i)
		return; /* gone already, or inside its own callback */
	waiter_unlink(a, w);
	free(w);
	/* the fetch goes on: its token serves the next waiter, and the refresh timer */
}

/* ---- signing ------------------------------------------------------------------------------ */

int oci_auth_sign(oci_auth_t *a, const oci_sign_input_t *in, oci_signed_t *out, char *err,
		  size_t errsz)
{
	char when[32], rerr[OCI_ERR_MAX];

	if (!a || !in || !out) {
		http_errf(err, errsz, "oci auth: nothing to sign");
		return -EINVAL;
	}
	if (a->mode == OCI_AUTH_SECURITY_TOKEN)
		reload_session(a, false, rerr, sizeof(rerr)); /* on failure: the old token */
	if (fetching_mode(a)) {
		if (!a->ready) {
			http_errf(err, errsz, "%s: no session token yet (oci_auth_ready() fetches it)",
				  oci_auth_mode_name(a->mode));
			return -EAGAIN;
		}
		if (a->exp && time(NULL) >= a->exp) {
			oci_iso_time(a->exp, when);
			http_errf(err, errsz,
				  "%s: the session token expired at %s (oci_auth_ready() fetches a "
				  "new one)",
				  oci_auth_mode_name(a->mode), when);
			return -EAGAIN;
		}
	}
	if (!a->ready || !a->key || !a->key_id) {
		http_errf(err, errsz, "%s: the credentials are not ready",
			  oci_auth_mode_name(a->mode));
		return -EAGAIN;
	}
	return oci_sign(a->key, a->key_id, in, out, err, errsz);
}
