/* bench-oci.c - what an OCI call costs autoscalerd: the request signer alone (RSA-2048,
 * the key size of OCI API keys and session keys), an OKE cluster token, and signed
 * GetNodePool calls end to end through oci/'s Container Engine client, http/ and the libev
 * loop against the fake OCI API (tests/fakes/oci-api, which verifies every signature).
 *
 * usage: bench-oci [SIGNATURES [CALLS]]   (defaults: 2000 signatures, 2000 calls)
 * Prints signatures per second (GET, and PUT with a body), OKE tokens per second, and for
 * the calls: calls per second, p50/p99 latency, and the client's peak RSS. Not a test:
 * figures go in closing notes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "autoscalerd/ev-glue.h"
#include "oci/oci.h"
#include "tests/fakes/oci-api.h"
#include "tests/fakes/test-util.h"

#define TENANCY "ocid1.tenancy.oc1..aaaaaaaabench"
#define USER "ocid1.user.oc1..aaaaaaaabench"
#define POOL "ocid1.nodepool.oc1.iad.aaaaaaaabenchpool"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct run {
	int done, failed, total;
	double *lat;
	double *start;
	char first_error[HTTP_ERROR_MAX];
};

struct one {
	struct run *run;
	int i;
};

static void on_pool(const oci_result_t *r, const oci_node_pool_t *pool, void *ud)
{
	struct one *o = ud;

	(void)pool;
	o->run->lat[o->i] = now_s() - o->run->start[o->i];
	if (r->outcome != HTTP_SUCCESS && !o->run->failed++)
		snprintf(o->run->first_error, sizeof(o->run->first_error), "%s", r->error);
	o->run->done++;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

int main(int argc, char **argv)
{
	int n_sign = argc > 1 ? atoi(argv[1]) : 2000, n_calls = argc > 2 ? atoi(argv[2]) : 2000;
	char dir[] = "/tmp/bench-oci-XXXXXX", keyp[PATH_MAX], cfgp[PATH_MAX], text[3 * PATH_MAX];
	char err[HTTP_ERROR_MAX] = "", fp[OCI_FINGERPRINT_LEN], body[] = "{\"nodeConfigDetails\":{\"size\":3}}";
	oci_key_t *key = NULL;
	oci_auth_t *auth = NULL;
	oci_ce_t *ce = NULL;
	fake_oci_t *fake = NULL;
	struct ev_loop *loop = NULL;
	ev_glue_t glue;
	http_client_t *http = NULL;
	char *pem = NULL, *pub = NULL;
	struct run run = { 0 };
	struct one *ones = NULL;
	struct rusage ru;
	double t0, t;
	int rc = 1;

	if (n_sign < 1 || n_calls < 1 || !mkdtemp(dir))
		return 2;
	/* a key (written by OpenSSL: oci.h reads keys, never writes them), its profile, and
	 * the fake that knows it */
	if (!(pem = test_rsa_pem(2048)))
		goto out;
	if (oci_key_load_pem(pem, strlen(pem), NULL, &key, err, sizeof(err)) < 0)
		goto out;
	oci_key_fingerprint(key, fp);
	pub = oci_key_public_pem(key);
	snprintf(keyp, sizeof(keyp), "%s/key.pem", dir);
	snprintf(cfgp, sizeof(cfgp), "%s/config", dir);
	snprintf(text, sizeof(text),
		 "[DEFAULT]\nuser=%s\nfingerprint=%s\nkey_file=%s\ntenancy=%s\nregion=us-ashburn-1\n",
		 USER, fp, keyp, TENANCY);
	if (write_text(keyp, pem) < 0 || write_text(cfgp, text) < 0)
		goto out;

	/* 1. the signer alone */
	{
		oci_sign_input_t get = { .method = "GET",
					 .url = "https://containerengine.us-ashburn-1.oci."
						"oraclecloud.com/20180222/nodePools/" POOL };
		oci_sign_input_t put = get;
		char key_id[512];

		put.method = "PUT";
		put.body = body;
		put.body_len = strlen(body);
		snprintf(key_id, sizeof(key_id), "%s/%s/%s", TENANCY, USER, fp);
		for (int pass = 0; pass < 2; pass++) {
			t0 = now_s();
			for (int i = 0; i < n_sign; i++) {
				oci_signed_t s = { 0 };

				if (oci_sign(key, key_id, pass ? &put : &get, &s, err, sizeof(err)) < 0)
					goto out;
				oci_signed_free(&s);
			}
			t = now_s() - t0;
			printf("sign %s: %d signatures in %.2f s: %.0f/s (%.1f us each)\n",
			       pass ? "PUT with body" : "GET", n_sign, t, n_sign / t, t / n_sign * 1e6);
		}
	}

	/* 2. OKE cluster tokens, and 3. GetNodePool end to end */
	loop = ev_loop_new(EVFLAG_AUTO);
	ev_glue_init(&glue, loop);
	if (http_client_new(&(http_client_opts_t){ .loop = ev_glue_loop(&glue) }, &http) < 0)
		goto out;
	ev_glue_attach(&glue, http);
	if (oci_auth_new(&(oci_auth_opts_t){ .mode = OCI_AUTH_API_KEY, .http = http,
					     .config_file = cfgp },
			 &auth, err, sizeof(err)) < 0)
		goto out;
	t0 = now_s();
	for (int i = 0; i < n_sign; i++) {
		char *tok = NULL;
		time_t exp;

		if (oci_oke_token(auth, NULL, "ocid1.cluster.oc1.iad.aaaaaaaabench", 0, &tok, &exp,
				  err, sizeof(err)) < 0)
			goto out;
		free(tok);
	}
	t = now_s() - t0;
	printf("OKE cluster token: %d in %.2f s: %.0f/s\n", n_sign, t, n_sign / t);

	if (fake_oci_start(NULL, &fake) < 0 ||
	    fake_oci_add_api_key(fake, TENANCY, USER, fp, pub) < 0 ||
	    fake_oci_put_pool(fake, &(fake_oci_pool_t){ .id = POOL, .size = 8 }) < 0)
		goto out;
	if (oci_ce_new(&(oci_ce_opts_t){ .http = http, .auth = auth,
					 .endpoint = fake_oci_url(fake),
					 .ca_file = fake_oci_ca_file(fake) },
		       &ce, err, sizeof(err)) < 0)
		goto out;
	run.total = n_calls;
	run.lat = calloc((size_t)n_calls, sizeof(double));
	run.start = calloc((size_t)n_calls, sizeof(double));
	ones = calloc((size_t)n_calls, sizeof(*ones));
	if (!run.lat || !run.start || !ones)
		goto out;
	t0 = now_s();
	for (int i = 0; i < n_calls; i++) {
		ones[i] = (struct one){ &run, i };
		run.start[i] = now_s();
		if (oci_ce_get_node_pool(ce, POOL, on_pool, &ones[i], NULL, err, sizeof(err)) < 0)
			goto out;
	}
	while (run.done < n_calls)
		ev_run(loop, EVRUN_ONCE);
	t = now_s() - t0;
	qsort(run.lat, (size_t)n_calls, sizeof(double), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	printf("GetNodePool via the fake (TLS, signatures verified): %d calls in %.2f s: %.0f/s, "
	       "p50 %.1f ms, p99 %.1f ms (queueing included), %d failed%s%s; max RSS %ld MiB\n",
	       n_calls, t, n_calls / t, run.lat[n_calls / 2] * 1e3,
	       run.lat[(size_t)(n_calls * 0.99)] * 1e3, run.failed, run.failed ? ": " : "",
	       run.first_error, ru.ru_maxrss / 1024);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench-oci: %s\n", err[0] ? err : "setup failed");
	ce = oci_ce_free(ce);
	auth = oci_auth_free(auth);
	http = http_client_free(http);
	if (loop) {
		ev_glue_stop(&glue);
		ev_loop_destroy(loop);
	}
	fake = fake_oci_stop(fake);
	oci_key_unref(key);
	free(pem);
	free(pub);
	free(ones);
	free(run.lat);
	free(run.start);
	test_rm_tree(dir);
	return rc;
}
