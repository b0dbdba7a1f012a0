/* cloud.c - see cloud.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autoscalerd/cloud.h"

static oci_auth_mode_t mode_of(config_oci_auth_t a)
{
	switch (a) {
	case CONFIG_OCI_SECURITY_TOKEN:
		return OCI_AUTH_SECURITY_TOKEN;
	case CONFIG_OCI_INSTANCE_PRINCIPAL:
		return OCI_AUTH_INSTANCE_PRINCIPAL;
	case CONFIG_OCI_WORKLOAD_IDENTITY:
		return OCI_AUTH_WORKLOAD_IDENTITY;
	case CONFIG_OCI_API_KEY:
	default:
		return OCI_AUTH_API_KEY;
	}
}

int cloud_auth_from_config(const config_oci_t *o, http_client_t *http, oci_auth_t **ret,
			   char *err, size_t errsz)
{
	oci_auth_opts_t ao = {
		.mode = mode_of(o->auth),
		.http = http,
		.config_file = o->config_file,
		.profile = o->profile,
		.region = o->region,
		.ca_file = o->ca_file,
		/* OKE's proxymux listens on port 12250 of the API server's address; tests
		 * move it (the OCI SDKs have no variable for it) */
		.proxymux_url = getenv("AUTOSCALERD_OCI_PROXYMUX_URL"),
	};

	return oci_auth_new(&ao, ret, err, errsz);
}

int cloud_ce_from_config(const config_oci_t *o, http_client_t *http, oci_auth_t *auth,
			 int64_t timeout_ms, const http_retry_t *retry, oci_ce_t **ret, char *err,
			 size_t errsz)
{
	oci_ce_opts_t co = {
		.http = http,
		.auth = auth,
		.endpoint = o->endpoint,
		.ca_file = o->ca_file,
		.timeout_ms = timeout_ms,
	};

	if (retry)
		co.retry = *retry;

	return oci_ce_new(&co, ret, err, errsz);
}

struct cloud_oke {
	oci_auth_t *auth;
	char *region, *cluster_id;
	k8s_client_t *client; /* the one waiting for a token */
	oci_auth_wait_t *wait;
	time_t minted;        /* when the last token was made */
};

int cloud_oke_new(oci_auth_t *auth, const char *region, const char *cluster_id,
		  cloud_oke_t **ret)
{
	cloud_oke_t *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->auth = auth;
	t->region = region ? strdup(region) : NULL;
	t->cluster_id = strdup(cluster_id);
	if ((region && !t->region) || !t->cluster_id)
		return cloud_oke_free(t), -ENOMEM;
	*ret = t;
	return 0;
}

static void on_ready(const char *error, void *userdata)
{
	cloud_oke_t *t = userdata;
	k8s_client_t *c = t->client;
	char err[HTTP_ERROR_MAX], *token = NULL;
	const char *region = t->region ? t->region : oci_auth_region(t->auth);
	time_t expires = 0;

	t->wait = NULL;
	t->client = NULL;
	if (error) {
		http_errf(err, sizeof(err), "OKE cluster token: %s", error);
		k8s_client_set_token(c, NULL, 0, err);
		return;
	}
	if (!region) {
		k8s_client_set_token(c, NULL, 0,
				     "OKE cluster token: the region is not known: set oci.region");
		return;
	}
	if (oci_oke_token(t->auth, region, t->cluster_id, time(NULL), &token, &expires, err,
			  sizeof(err)) < 0) {
		k8s_client_set_token(c, NULL, 0, err);
		return;
	}
	t->minted = time(NULL);
	k8s_client_set_token(c, token, expires, NULL);
	free(token);
}

void cloud_oke_token_source(k8s_client_t *c, bool refresh, void *userdata)
{
	cloud_oke_t *t = userdata;
	char err[HTTP_ERROR_MAX];

	if (t->wait) /* one question at a time: the client asks again only once answered */
		oci_auth_cancel(t->auth, t->wait);
	t->wait = NULL;
	t->client = c;
	/* The client asks again (refresh) a minute before a token expires, and after a 401.
	 * Only the second says something of the OCI credentials: a token refused while
	 * young. Fetching new OCI credentials every few minutes would only load the
	 * federation endpoint. */
	refresh = refresh && t->minted &&
		  time(NULL) - t->minted < OCI_OKE_TOKEN_LIFETIME_S - 90;
	if (oci_auth_ready(t->auth, refresh, on_ready, t, &t->wait, err, sizeof(err)) < 0) {
		t->client = NULL;
		k8s_client_set_token(c, NULL, 0, err);
	}
}

cloud_oke_t *cloud_oke_free(cloud_oke_t *t)
{
	if (!t)
		return NULL;
	if (t->wait)
		oci_auth_cancel(t->auth, t->wait);
	free(t->region);
	free(t->cluster_id);
	free(t);
	return NULL;
}
