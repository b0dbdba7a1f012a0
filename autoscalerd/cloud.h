/* cloud.h - the OCI side of the policy file: the oci: block -> credentials (oci_auth_t) and
 * the Container Engine client, and the token source that lets kubernetes.auth: oke reach
 * the API server with OKE cluster tokens minted by oci/ (DESIGN.md section 1: k8s/ and
 * oci/ never include each other; this file wires one to the other). */
#ifndef AUTOSCALERD_CLOUD_H
#define AUTOSCALERD_CLOUD_H

#include "config/config.h"
#include "k8s/k8s.h"
#include "oci/oci.h"

/* oci.auth, oci.config_file, oci.profile, oci.region, oci.ca_file -> credentials. The
 * endpoints of instance principals and workload identity come from the environment, as
 * the OCI SDKs read it (oci.h), and the proxymux URL from $AUTOSCALERD_OCI_PROXYMUX_URL
 * when set (tests). http may be NULL for api_key and security_token. */
int cloud_auth_from_config(const config_oci_t *o, http_client_t *http, oci_auth_t **ret,
			   char *err, size_t errsz);
/* oci.endpoint, oci.ca_file -> the Container Engine client (auth is not owned).
 * timeout_ms 0 and retry NULL: oci/'s defaults. */
int cloud_ce_from_config(const config_oci_t *o, http_client_t *http, oci_auth_t *auth,
			 int64_t timeout_ms, const http_retry_t *retry, oci_ce_t **ret, char *err,
			 size_t errsz);

/* The token source of kubernetes.auth: oke: k8s_client_opts_t.token_source =
 * cloud_oke_token_source, token_userdata = an oke_tokens_t. Each request for a token waits
 * for the OCI credentials (refreshed when the Kubernetes client saw a 401), mints an OKE
 * cluster token for cluster_id in the credentials' region (or oci.region) and hands it to
 * the client with its expiry. Free it before the Kubernetes client and the credentials. */
typedef struct cloud_oke cloud_oke_t;

int cloud_oke_new(oci_auth_t *auth, const char *region, const char *cluster_id,
		  cloud_oke_t **ret);
void cloud_oke_token_source(k8s_client_t *c, bool refresh, void *userdata);
cloud_oke_t *cloud_oke_free(cloud_oke_t *t); /* NULL-safe; returns NULL */

#endif
