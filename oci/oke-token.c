/* oke-token.c - the bearer token `oci ce cluster generate-token` prints, for the Kubernetes
 * API server of an OKE cluster.
 *
 * As the OCI CLI builds it (oracle/oci-cli, services/container_engine/src/
 * oci_cli_container_engine/containerengine_cli_extended.py, generate_token):
 *   url = "https://containerengine.{region}.oraclecloud.com/cluster_request/{cluster_id}"
 *   sign GET url (headers date, (request-target), host) with the current credentials;
 *   requests.Request("GET", url, params={"authorization": ..., "date": ...}).prepare().url,
 *     i.e. url + "?authorization=" + quote_plus(authorization) + "&date=" + quote_plus(date)
 *     (urlencode: space as '+', everything but letters, digits and "_.-~" as %XX);
 *   base64.urlsafe_b64encode of that URL, padding kept.
 * The host has no ".oci." (the CLI writes "oraclecloud.com" literally; the realm's domain is
 * used here, the same in the commercial realm). The date comes from `now`, so a token can be
 * made for another time (tests age one past the API server's 5 minutes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/oci-private.h"

#define MAX_OCID 255

/* Python's urllib.parse.quote_plus. */
static size_t quote_plus(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-' || c == '~') {
			if (n + 1 < size)
				out[n] = (char)c;
			n++;
		} else if (c == ' ') {
			if (n + 1 < size)
				out[n] = '+';
			n++;
		} else {
			if (n + 3 < size) {
				out[n] = '%';
				out[n + 1] = hex[c >> 4];
				out[n + 2] = hex[c & 15];
			}
			n += 3;
		}
	}
	if (size)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

static bool ocid_ok(const char *id)
{
	size_t n = strlen(id);

	if (n <= strlen("ocid1.cluster.") || n > MAX_OCID || strncmp(id, "ocid1.cluster.", 14))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

int oci_oke_token(oci_auth_t *a, const char *region, const char *cluster_id, time_t now,
		  char **ret, time_t *ret_expires, char *err, size_t errsz)
{
	oci_sign_input_t in = { .method = "GET" };
	oci_signed_t sig = { 0 };
	const char *auth, *date;
	char url[512], date_buf[30], *full = NULL, *token;
	size_t qa, qd, n;
	int rc;

	if (!a || !ret) {
		http_errf(err, errsz, "OKE token: no credentials");
		return -EINVAL;
	}
	if (!region)
		region = oci_auth_region(a);
	if (!cluster_id || !ocid_ok(cluster_id)) {
		http_errf(err, errsz, "OKE token: \"%.80s\" is not a cluster OCID (ocid1.cluster....)",
			  cluster_id ? cluster_id : "");
		return -EINVAL;
	}
	if (!region || !oci_region_valid(region)) {
		http_errf(err, errsz, "OKE token for %s: %s%s%s", cluster_id,
			  region ? "\"" : "no region", region ? region : "",
			  region ? "\" is not a region name" : "");
		return -EINVAL;
	}
	if (!now)
		now = time(NULL);
	snprintf(url, sizeof(url), "https://containerengine.%s.%s/cluster_request/%s", region,
		 oci_region_domain(region), cluster_id);
	oci_format_date(now, date_buf);
	in.url = url;
	in.date = date_buf;
	rc = oci_auth_sign(a, &in, &sig, err, errsz);
	if (rc < 0)
		return rc;
	auth = oci_signed_get(&sig, "authorization");
	date = oci_signed_get(&sig, "date");
	if (!auth || !date) {
		http_errf(err, errsz, "OKE token for %s: the signature lacks a header", cluster_id);
		rc = -EINVAL;
		goto out;
	}
	qa = quote_plus(auth, NULL, 0);
	qd = quote_plus(date, NULL, 0);
	n = strlen(url) + strlen("?authorization=") + qa + strlen("&date=") + qd + 1;
	if (!(full = malloc(n))) {
		rc = -ENOMEM;
		http_errf(err, errsz, "out of memory");
		goto out;
	}
	snprintf(full, n, "%s?authorization=", url);
	quote_plus(auth, full + strlen(full), qa + 1);
	snprintf(full + strlen(full), n - strlen(full), "&date=");
	quote_plus(date, full + strlen(full), qd + 1);
	if (!(token = oci_b64_encode(full, strlen(full), true))) {
		rc = -ENOMEM;
		http_errf(err, errsz, "out of memory");
		goto out;
	}
	*ret = token;
	if (ret_expires)
		*ret_expires = now + OCI_OKE_TOKEN_LIFETIME_S;
	rc = 0;
out:
	if (full) {
		explicit_bzero(full, strlen(full));
		free(full);
	}
	oci_signed_free(&sig);
	return rc;
}
