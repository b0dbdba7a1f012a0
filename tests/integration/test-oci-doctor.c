/* test-oci-doctor.c - `autoscalerd doctor`'s OCI checks against the fake OCI APIs
 * (tests/fakes/oci-api), in every auth mode, and kubernetes.auth: oke end to end: the
 * daemon mints OKE cluster tokens with its OCI credentials, and the strict fake API server
 * authenticates them through the fake OCI's verifier, as OKE's authenticator does.
 *
 * The binary under test is argv[1]; it runs as a child with the environment each case
 * sets (OCI_METADATA_BASE_URL, OCI_RESOURCE_PRINCIPAL_*, ...).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "tests/fakes/check-util.h"
#include "tests/fakes/kube-apiserver.h"
#include "tests/fakes/oci-api.h"
#include "tests/fakes/run-cli.h"

#define TENANCY "ocid1.tenancy.oc1..aaaaaaaatenancydoctor"
#define USER "ocid1.user.oc1..aaaaaaaauserdoctor"
#define POOL "ocid1.nodepool.oc1.iad.aaaaaaaapooldoctor"
#define CLUSTER "ocid1.cluster.oc1.iad.aaaaaaaaclusterdoctor"
#define SA_USER KUBE_FAKE_SA

static const char *autoscalerd_bin;
static fake_oci_t *oci;
#define PATHLEN 256 /* tmpdir is short: $TMPDIR or /tmp plus a name */
static char tmpdir[PATHLEN];
static char key_path[PATHLEN + 16], cfg_path[PATHLEN + 16], policy_path[PATHLEN + 16];
static char *key_pem, *pub_pem;
static char fingerprint[64];

#define assert_has(out, text) ck_assert_msg(strstr(out, text), "no \"%s\" in:\n%s", text, out)

/* A fresh RSA-2048 key as PEM (PKCS#8) and its public half; the MD5 fingerprint of the
 * DER SubjectPublicKeyInfo, computed here on OpenSSL, independently of oci/. Made once per
 * process: RSA generation takes seconds under valgrind. */
static void make_key(void)
{
	EVP_PKEY *k;
	BIO *b, *pb;
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t o = 0;
	char *p;
	long n;
	int dlen;

	if (key_pem)
		return;
	k = EVP_RSA_gen(2048);
	b = BIO_new(BIO_s_mem());
	pb = BIO_new(BIO_s_mem());
	ck_assert(k && b && pb);
	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
	ck_assert_int_eq(PEM_write_bio_PUBKEY(pb, k), 1);
	n = BIO_get_mem_data(b, &p);
	key_pem = strndup(p, (size_t)n);
	n = BIO_get_mem_data(pb, &p);
	pub_pem = strndup(p, (size_t)n);
	dlen = i2d_PUBKEY(k, &der);
	ck_assert_int_gt(dlen, 0);
	ck_assert_int_eq(EVP_Digest(der, (size_t)dlen, md, &mdlen, EVP_md5(), NULL), 1);
	for (unsigned int i = 0; i < mdlen; i++)
		o += (size_t)snprintf(fingerprint + o, sizeof(fingerprint) - o, "%s%02x",
				      i ? ":" : "", md[i]);
	OPENSSL_free(der);
	BIO_free(b);
	BIO_free(pb);
	EVP_PKEY_free(k);
}

static void setup(void)
{
	fake_oci_opts_t fo = { .region = "us-ashburn-1", .update_ms = 50, .node_create_ms = 50 };
	char text[2048];

	check_tmpdir(tmpdir, sizeof(tmpdir), "test-oci-doctor");
	ck_assert_int_eq(fake_oci_start(&fo, &oci), 0);
	make_key();
	snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	check_write_file(key_path, key_pem, 0600);
	snprintf(cfg_path, sizeof(cfg_path), "%s/config", tmpdir);
	snprintf(text, sizeof(text),
		 "[DEFAULT]\nuser=%s\nfingerprint=%s\nkey_file=%s\ntenancy=%s\nregion=us-ashburn-1\n",
		 USER, fingerprint, key_path, TENANCY);
	check_write_file(cfg_path, text, 0600);
	snprintf(policy_path, sizeof(policy_path), "%s/policy.yaml", tmpdir);
	ck_assert_int_eq(fake_oci_add_api_key(oci, TENANCY, USER, fingerprint, pub_pem), 0);
	ck_assert_int_eq(fake_oci_put_pool(oci, &(fake_oci_pool_t){ .id = POOL,
								    .node_shape = "VM.GPU.A10.2",
								    .size = 2 }),
			 0);
}

static void teardown(void)
{
	oci = fake_oci_stop(oci);
	ck_assert_int_eq(test_rm_tree(tmpdir), 0);
	unsetenv("OCI_METADATA_BASE_URL");
	unsetenv("OCI_SDK_AUTH_CLIENT_REGION_URL");
	unsetenv("OCI_RESOURCE_PRINCIPAL_VERSION");
	unsetenv("OCI_RESOURCE_PRINCIPAL_REGION");
	unsetenv("OCI_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH");
	unsetenv("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH");
	unsetenv("AUTOSCALERD_OCI_PROXYMUX_URL");
}

/* The policy file: an oci: block (auth and extra lines) and one policy on POOL. */
static void write_policy(const char *auth, const char *extra, const char *nodes)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "oci:\n  auth: %s\n  config_file: %s\n  endpoint: %s\n  ca_file: %s\n%s"
		 "policies:\n"
		 "  - name: llama\n"
		 "    target: {namespace: default, deployment: llama}\n"
		 "    recipe_pod_autoscaling_params: {max_replicas: 4}\n"
		 "%s",
		 auth, cfg_path, fake_oci_url(oci), fake_oci_ca_file(oci), extra ? extra : "",
		 nodes ? nodes :
			 "    recipe_node_autoscaling_params: {node_pool_id: " POOL
			 ", min_nodes: 1, max_nodes: 3}\n"
			 "    recipe_node_shape: VM.GPU.A10.2\n");
	check_write_file(policy_path, text, 0644);
}

static int doctor(const char *checks, char *out, size_t size)
{
	char err[8192];
	const char *argv[] = { autoscalerd_bin, "doctor", "--config", policy_path, "--checks",
			       checks, NULL };
	int rc = test_spawn(argv, out, size, err, sizeof(err), 120);

	printf("doctor --checks %s:\n%s%s", checks, out, err);
	ck_assert_msg(rc >= 0 && rc < 128, "doctor: %d", rc);
	return rc;
}

/* ---- api_key ------------------------------------------------------------------------------- */

START_TEST(test_api_key_pool_ok)
{
	char out[16384], line[1024];

	write_policy("api_key", NULL, NULL);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 0);
	snprintf(line, sizeof(line), "ok   oci credentials api_key (profile [DEFAULT] of %s",
		 cfg_path);
	assert_has(out, line);
	assert_has(out, "ok   oci node pool " POOL " (policy llama): ACTIVE, shape VM.GPU.A10.2, "
			"size 2 within [1, 3], 2 of 2 nodes ACTIVE");
	ck_assert_ptr_null(strstr(out, "FAIL"));
	ck_assert_ptr_null(strstr(out, "warning"));
	/* the fake saw one signed GetNodePool under the API key */
	ck_assert_int_eq(fake_oci_count(oci, "GET /20180222/nodePools/" POOL), 1);
	{
		struct fake_oci_call c;
		char key_id[256];

		ck_assert(fake_oci_call(oci, fake_oci_call_count(oci) - 1, &c));
		ck_assert_int_eq(c.status, 200);
		snprintf(key_id, sizeof(key_id), "%s/%s/%s", TENANCY, USER, fingerprint);
		ck_assert_str_eq(c.key_id, key_id);
		/* the client names each call for Oracle support; OCI answers with it first */
		ck_assert_uint_eq(strlen(c.client_request_id), 32);
		ck_assert_uint_eq(strspn(c.client_request_id, "0123456789ABCDEFabcdef"), 32);
		ck_assert(!strncmp(c.opc_request_id, c.client_request_id, 32));
	}
}
END_TEST

START_TEST(test_pool_problems)
{
	char out[16384];

	/* shape */
	write_policy("api_key", NULL,
		     "    recipe_node_autoscaling_params: {node_pool_id: " POOL
		     ", min_nodes: 1, max_nodes: 3}\n"
		     "    recipe_node_shape: BM.GPU.A10.4\n");
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "FAIL oci node pool " POOL " (policy llama): its shape is VM.GPU.A10.2 but "
			"recipe_node_shape is BM.GPU.A10.4");
	/* size outside the bounds */
	write_policy("api_key", NULL,
		     "    recipe_node_autoscaling_params: {node_pool_id: " POOL
		     ", min_nodes: 3, max_nodes: 4}\n"
		     "    recipe_node_shape: VM.GPU.A10.2\n");
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "its size 2 is outside [min_nodes 3, max_nodes 4]");
	/* not ACTIVE */
	write_policy("api_key", NULL, NULL);
	ck_assert_int_eq(fake_oci_set_pool_state(oci, POOL, "NEEDS_ATTENTION"), 0);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "lifecycleState is NEEDS_ATTENTION, not ACTIVE");
	/* unknown pool: OCI's 404 for a missing pool and for a missing IAM policy alike */
	write_policy("api_key", NULL,
		     "    recipe_node_autoscaling_params: {node_pool_id: "
		     "ocid1.nodepool.oc1.iad.aaaaaaaanosuchpool, min_nodes: 1, max_nodes: 3}\n"
		     "    recipe_node_shape: VM.GPU.A10.2\n");
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "FAIL oci node pool ocid1.nodepool.oc1.iad.aaaaaaaanosuchpool (policy "
			"llama): ");
	assert_has(out, "404 NotAuthorizedOrNotFound");
	assert_has(out, "manage cluster-node-pools");
	/* no node autoscaling: nothing to check, and no credentials needed */
	write_policy("api_key", NULL, "");
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 0);
	assert_has(out, "ok   oci: no policy resizes a node pool");
}
END_TEST

START_TEST(test_api_key_refused)
{
	char out[16384], text[2048];

	/* The fingerprint in the profile is not the key's: a warning, and OCI's 401 with
	 * what to check. */
	snprintf(text, sizeof(text),
		 "[DEFAULT]\nuser=%s\nfingerprint=00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\n"
		 "key_file=%s\ntenancy=%s\nregion=us-ashburn-1\n",
		 USER, key_path, TENANCY);
	check_write_file(cfg_path, text, 0600);
	write_policy("api_key", NULL, NULL);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "     warning: ");
	assert_has(out, fingerprint); /* the key's real fingerprint, in the warning */
	assert_has(out, "401 NotAuthenticated");
	assert_has(out, "fingerprint");
	assert_has(out, "clock");

	/* A key file others can read: a warning, the rest works. */
	snprintf(text, sizeof(text),
		 "[DEFAULT]\nuser=%s\nfingerprint=%s\nkey_file=%s\ntenancy=%s\nregion=us-ashburn-1\n",
		 USER, fingerprint, key_path, TENANCY);
	check_write_file(cfg_path, text, 0600);
	ck_assert_int_eq(chmod(key_path, 0644), 0);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 0);
	assert_has(out, "     warning: ");
	assert_has(out, "chmod 600");

	/* A profile that does not exist: the file and the profile named. */
	write_policy("api_key", "  profile: prod\n", NULL);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "FAIL oci credentials: ");
	assert_has(out, cfg_path);
	assert_has(out, "[prod]");
	assert_has(out, "not checked");
}
END_TEST

/* ---- security_token ------------------------------------------------------------------------ */

START_TEST(test_security_token)
{
	char out[16384], text[4096], tok_path[PATHLEN + 16];
	char *token = fake_oci_issue_token(oci, pub_pem, 3600);

	ck_assert_ptr_nonnull(token);
	snprintf(tok_path, sizeof(tok_path), "%s/token", tmpdir);
	snprintf(text, sizeof(text), "%s\n", token);
	check_write_file(tok_path, text, 0600);
	snprintf(text, sizeof(text),
		 "[DEFAULT]\nfingerprint=%s\nkey_file=%s\ntenancy=%s\nregion=us-ashburn-1\n"
		 "security_token_file=%s\n",
		 fingerprint, key_path, TENANCY, tok_path);
	check_write_file(cfg_path, text, 0600);
	write_policy("security_token", NULL, NULL);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 0);
	assert_has(out, "ok   oci credentials security_token");
	assert_has(out, "ok   oci node pool " POOL);
	{
		struct fake_oci_call c;

		ck_assert(fake_oci_call(oci, fake_oci_call_count(oci) - 1, &c));
		ck_assert_int_eq(c.status, 200);
		ck_assert(!strncmp(c.key_id, "ST$", 3));
	}
	/* revoked on the server: 401 */
	fake_oci_revoke_tokens(oci);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "401 NotAuthenticated");
	free(token);
}
END_TEST

/* ---- instance principal -------------------------------------------------------------------- */

START_TEST(test_instance_principal)
{
	char out[16384];

	setenv("OCI_METADATA_BASE_URL", fake_oci_metadata_url(oci), 1);
	setenv("OCI_SDK_AUTH_CLIENT_REGION_URL", fake_oci_url(oci), 1);
	write_policy("instance_principal", NULL, NULL);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 0);
	assert_has(out, "ok   oci credentials instance_principal");
	assert_has(out, fake_oci_instance_tenancy(oci));
	assert_has(out, "region us-ashburn-1");
	assert_has(out, "ok   oci node pool " POOL);
	ck_assert_int_eq(fake_oci_tokens_issued(oci, false), 1);

	/* Not an OCI instance: the metadata service does not answer. */
	setenv("OCI_METADATA_BASE_URL", "http://127.0.0.1:1/opc/v2", 1);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "FAIL oci credentials instance_principal");
	assert_has(out, "fix: run on an OCI instance");
	assert_has(out, "not checked: the credentials do not work");
}
END_TEST

/* ---- workload identity -------------------------------------------------------------------- */

START_TEST(test_workload_identity)
{
	char out[16384], sa[PATHLEN + 16];

	snprintf(sa, sizeof(sa), "%s/sa-token", tmpdir);
	check_write_file(sa, "sa-token-of-the-pod\n", 0600);
	ck_assert_int_eq(fake_oci_set_sa_token(oci, "sa-token-of-the-pod"), 0);
	setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2", 1);
	setenv("OCI_RESOURCE_PRINCIPAL_REGION", "us-ashburn-1", 1);
	setenv("OCI_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH", sa, 1);
	setenv("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH", fake_oci_ca_file(oci), 1);
	setenv("AUTOSCALERD_OCI_PROXYMUX_URL", fake_oci_url(oci), 1);
	write_policy("workload_identity", NULL, NULL);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 0);
	assert_has(out, "ok   oci credentials workload_identity");
	assert_has(out, "ok   oci node pool " POOL);
	ck_assert_int_eq(fake_oci_tokens_issued(oci, true), 1);

	/* The pod's token is not one the proxymux accepts. */
	check_write_file(sa, "a-stale-token\n", 0600);
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "FAIL oci credentials workload_identity");
	assert_has(out, "401");
	assert_has(out, "fix: run in an OKE enhanced cluster");

	/* Not in a pod set up for it. */
	unsetenv("OCI_RESOURCE_PRINCIPAL_VERSION");
	ck_assert_int_eq(doctor("oci", out, sizeof(out)), 1);
	assert_has(out, "FAIL oci credentials: workload_identity: OCI_RESOURCE_PRINCIPAL_VERSION "
			"is not set");
}
END_TEST

/* ---- kubernetes.auth: oke ------------------------------------------------------------------ */

static bool oke_authenticator(const char *token, char *user, size_t size, void *userdata)
{
	fake_oci_t *f = userdata;
	char cluster[256], err[512];

	if (fake_oci_verify_cluster_token(f, token, cluster, sizeof(cluster), err, sizeof(err)) < 0) {
		printf("OKE token refused: %s\n", err);
		return false;
	}
	if (strcmp(cluster, CLUSTER)) {
		printf("OKE token for another cluster: %s\n", cluster);
		return false;
	}
	snprintf(user, size, "%s", SA_USER);
	return true;
}

START_TEST(test_oke_cluster_token)
{
	kube_fake_opts_t ko = { .tls = true };
	kube_fake_t *api = NULL;
	char out[16384], ca[PATHLEN + 16], text[4096];

	ck_assert_int_eq(kube_fake_start(&ko, &api), 0);
	kube_fake_set_token_authenticator(api, oke_authenticator, oci);
	ck_assert_int_eq(kube_fake_put_deployment(api, &(struct kube_fake_deployment){
							       .ns = "default",
							       .name = "llama",
							       .replicas = 2,
							       .status_replicas = -1,
							       .ready_replicas = -1,
							       .match_labels = (const char *[]){
								       "app", "llama", NULL } }),
			 0);
	snprintf(ca, sizeof(ca), "%s/kube-ca.crt", tmpdir);
	check_write_file(ca, kube_fake_ca_pem(api), 0644);
	snprintf(text, sizeof(text),
		 "kubernetes:\n  auth: oke\n  oke: {cluster_id: %s, server: %s, ca_file: %s}\n",
		 CLUSTER, kube_fake_url(api), ca);
	write_policy("api_key", text, NULL);
	ck_assert_int_eq(doctor("kubernetes", out, sizeof(out)), 0);
	assert_has(out, "the API server accepts the credentials");
	assert_has(out, "ok   deployment default/llama (policy llama): the scale is readable");
	ck_assert_ptr_null(strstr(out, "FAIL"));

	/* A token for another cluster is refused by the API server: 401 named. */
	snprintf(text, sizeof(text),
		 "kubernetes:\n  auth: oke\n  oke: {cluster_id: "
		 "ocid1.cluster.oc1.iad.aaaaaaaaanothercluster, server: %s, ca_file: %s}\n",
		 kube_fake_url(api), ca);
	write_policy("api_key", text, NULL);
	ck_assert_int_eq(doctor("kubernetes", out, sizeof(out)), 1);
	assert_has(out, "401 Unauthorized");
	assert_has(out, "fix: check kubernetes.oke.cluster_id");
	api = kube_fake_stop(api);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("oci-doctor");
	TCase *tc = tcase_create("doctor against the fake OCI APIs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_api_key_pool_ok);
	tcase_add_test(tc, test_pool_problems);
	tcase_add_test(tc, test_api_key_refused);
	tcase_add_test(tc, test_security_token);
	tcase_add_test(tc, test_instance_principal);
	tcase_add_test(tc, test_workload_identity);
	tcase_add_test(tc, test_oke_cluster_token);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s AUTOSCALERD\n", argv[0]);
		return 2;
	}
	autoscalerd_bin = argv[1];
	return check_run(suite(), CK_NORMAL);
}
