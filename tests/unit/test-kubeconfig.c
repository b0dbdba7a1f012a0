/* test-kubeconfig.c - k8s/kubeconfig.h: every field of a kubeconfig, base64 and PEM, paths
 * relative to their file and to ~, $KUBECONFIG merging, context selection, exec plugins,
 * every refusal with its message and position, secrets kept out of messages, hostile YAML
 * and the in-cluster service account.
 */
#include <check.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "k8s/kubeconfig.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/test-util.h"

/* PEM, and its standard base64 with "==", no and "=" padding. */
#define CA_PEM "-----BEGIN CERTIFICATE-----\nMIIBCA\n-----END CERTIFICATE-----\n"
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJDQQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
#define CERT_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJjZXJ0Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n"
#define KEY_B64 "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUVrZXkKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo="
#define NOT_PEM_B64 "aGVsbG8sIG5vdCBwZW0=" /* "hello, not pem" */

#define SECRET "s3cr3t-T0KEN-do-not-log"

/* Lines 1-10: context dev -> cluster c1, user u1; USER(x) puts x at line 14, column 5. */
#define HEAD                                                                             \
	"apiVersion: v1\n"                                                               \
	"kind: Config\n"                                                                 \
	"current-context: dev\n"                                                         \
	"contexts:\n"                                                                    \
	"- name: dev\n"                                                                  \
	"  context: {cluster: c1, user: u1}\n"                                           \
	"clusters:\n"                                                                    \
	"- name: c1\n"                                                                   \
	"  cluster:\n"                                                                   \
	"    server: https://10.0.0.5:6443/\n"
#define USER(x) HEAD "users:\n- name: u1\n  user:\n" x

/* Lines 1-10 again, the cluster's fields last: CLUSTER(x) puts x at line 11, column 5. */
#define CLUSTER(x)                                                                       \
	"current-context: dev\n"                                                         \
	"contexts:\n"                                                                    \
	"- name: dev\n"                                                                  \
	"  context: {cluster: c1, user: u1}\n"                                           \
	"users:\n"                                                                       \
	"- name: u1\n"                                                                   \
	"  user: {token: " SECRET "}\n"                                                  \
	"clusters:\n"                                                                    \
	"- name: c1\n"                                                                   \
	"  cluster:\n" x

/* The name k8s_kubeconfig_parse gets: relative paths resolve against /cfg. */
#define NAME "/cfg/kc"

static char tmp[256];
static char err[K8S_ERROR_MAX];

static void setup(void)
{
	check_tmp_home(tmp, sizeof(tmp), "test-kubeconfig");
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	err[0] = '\0';
}

static void teardown(void)
{
	test_rm_tree(tmp);
}

/* tmp/rel (test_path). */
static const char *at(const char *rel)
{
	return test_path(tmp, rel);
}

/* Writes tmp/rel (its folder made first, one level deep). */
static void put(const char *rel, const char *content)
{
	const char *slash = strrchr(rel, '/');
	FILE *f;

	if (slash) {
		char dir[512];

		snprintf(dir, sizeof(dir), "%s/%.*s", tmp, (int)(slash - rel), rel);
		mkdir(dir, 0700);
	}
	f = fopen(at(rel), "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

static int parse(const char *yaml, const char *context, k8s_cluster_t **ret)
{
	err[0] = '\0';
	return k8s_kubeconfig_parse(yaml, strlen(yaml), NAME, context, ret, err, sizeof(err));
}

static k8s_cluster_t *parse_ok(const char *yaml, const char *context)
{
	k8s_cluster_t *c = NULL;
	int r = parse(yaml, context, &c);

	ck_assert_msg(r == 0, "parse: %d %s", r, err);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* Fails with r and exactly msg, leaves *ret alone, and never quotes the secret. */
static void parse_fails(const char *yaml, const char *context, int r, const char *msg)
{
	k8s_cluster_t *const untouched = (k8s_cluster_t *)(void *)&tmp;
	k8s_cluster_t *c = untouched;

	ck_assert_int_eq(parse(yaml, context, &c), r);
	ck_assert_ptr_eq(c, untouched);
	ck_assert_str_eq(err, msg);
	ck_assert_ptr_null(strstr(err, SECRET));
	ck_assert_ptr_null(strchr(err, '\n'));
}

/* ---- fields ------------------------------------------------------------------------------ */

START_TEST(test_minimal)
{
	k8s_cluster_t *c = parse_ok(USER("    token: " SECRET "\n"), NULL);

	ck_assert_str_eq(c->server, "https://10.0.0.5:6443");
	ck_assert_str_eq(c->token, SECRET);
	ck_assert_str_eq(c->context, "dev");
	ck_assert_str_eq(c->namespace_, "default");
	ck_assert_str_eq(c->source, NAME);
	ck_assert(!c->insecure_skip_tls_verify);
	ck_assert_ptr_null(c->tls_server_name);
	ck_assert_ptr_null(c->proxy_url);
	ck_assert_ptr_null(c->ca_file);
	ck_assert_ptr_null(c->ca_pem);
	ck_assert_ptr_null(c->cert_file);
	ck_assert_ptr_null(c->cert_pem);
	ck_assert_ptr_null(c->key_file);
	ck_assert_ptr_null(c->key_pem);
	ck_assert_ptr_null(c->token_file);
	ck_assert_ptr_null(c->username);
	ck_assert_ptr_null(c->password);
	ck_assert_ptr_null(c->exec);
	ck_assert_ptr_null(k8s_cluster_free(c));
	ck_assert_ptr_null(k8s_cluster_free(NULL));
}
END_TEST

START_TEST(test_cluster_fields)
{
	k8s_cluster_t *c;

	c = parse_ok(CLUSTER("    server: https://api.example.com:443/k8s/clusters/c-1//\n"
			     "    certificate-authority-data: " CA_B64 "\n"
			     "    tls-server-name: kubernetes.default.svc\n"
			     "    proxy-url: socks5://proxy.corp:1080\n"
			     "    extensions: [{name: ignored, extension: {a: b}}]\n"),
		     NULL);
	ck_assert_str_eq(c->server, "https://api.example.com:443/k8s/clusters/c-1");
	ck_assert_str_eq(c->ca_pem, CA_PEM);
	ck_assert_uint_eq(c->ca_pem_len, strlen(CA_PEM));
	ck_assert_ptr_null(c->ca_file);
	ck_assert_str_eq(c->tls_server_name, "kubernetes.default.svc");
	ck_assert_str_eq(c->proxy_url, "socks5://proxy.corp:1080");
	ck_assert(!c->insecure_skip_tls_verify);
	k8s_cluster_free(c);

	/* kubectl proxy: plain http, no credentials needed beyond an empty user */
	c = parse_ok("current-context: p\n"
		     "contexts: [{name: p, context: {cluster: p, user: p, namespace: team-a}}]\n"
		     "clusters: [{name: p, cluster: {server: 'http://127.0.0.1:8001',"
		     " insecure-skip-tls-verify: true}}]\n"
		     "users: [{name: p, user: {}}]\n",
		     NULL);
	ck_assert_str_eq(c->server, "http://127.0.0.1:8001");
	ck_assert(c->insecure_skip_tls_verify);
	ck_assert_str_eq(c->namespace_, "team-a");
	ck_assert_ptr_null(c->token);
	k8s_cluster_free(c);

	/* the file form, and YAML 1.1 booleans as kubectl reads them */
	c = parse_ok(CLUSTER("    server: https://h\n"
			     "    certificate-authority: ca.crt\n"
			     "    insecure-skip-tls-verify: no\n"),
		     NULL);
	ck_assert_str_eq(c->ca_file, "/cfg/ca.crt");
	ck_assert_ptr_null(c->ca_pem);
	ck_assert(!c->insecure_skip_tls_verify);
	k8s_cluster_free(c);
}
END_TEST

START_TEST(test_user_fields)
{
	k8s_cluster_t *c;

	c = parse_ok(USER("    client-certificate-data: " CERT_B64 "\n"
			  "    client-key-data: " KEY_B64 "\n"
			  "    token: " SECRET "\n"
			  "    tokenFile: /var/run/token\n"),
		     NULL);
	ck_assert_str_eq(c->cert_pem, CERT_PEM);
	ck_assert_uint_eq(c->cert_pem_len, strlen(CERT_PEM));
	ck_assert_str_eq(c->key_pem, KEY_PEM);
	ck_assert_uint_eq(c->key_pem_len, strlen(KEY_PEM));
	ck_assert_ptr_null(c->cert_file);
	ck_assert_ptr_null(c->key_file);
	ck_assert_str_eq(c->token, SECRET);
	ck_assert_ptr_null(c->token_file); /* token wins over tokenFile */
	k8s_cluster_free(c);

	c = parse_ok(USER("    client-certificate: /etc/k8s/client.crt\n"
			  "    client-key: keys/client.key\n"
			  "    tokenFile: token\n"),
		     NULL);
	ck_assert_str_eq(c->cert_file, "/etc/k8s/client.crt");
	ck_assert_str_eq(c->key_file, "/cfg/keys/client.key");
	ck_assert_ptr_null(c->token);
	ck_assert_str_eq(c->token_file, "/cfg/token");
	k8s_cluster_free(c);

	c = parse_ok(USER("    username: admin\n    password: \"" SECRET "\"\n"), NULL);
	ck_assert_str_eq(c->username, "admin");
	ck_assert_str_eq(c->password, SECRET);
	ck_assert_ptr_null(c->token);
	k8s_cluster_free(c);

	/* an empty string is unset, as in kubectl; a number is a string */
	c = parse_ok(USER("    token: ''\n    username: 1234\n    password: null\n"), NULL);
	ck_assert_ptr_null(c->token);
	ck_assert_str_eq(c->username, "1234");
	ck_assert_ptr_null(c->password);
	k8s_cluster_free(c);
}
END_TEST

START_TEST(test_base64_forms)
{
	k8s_cluster_t *c;

	/* line breaks (a literal block) and blanks (a folded plain scalar) are ignored */
	c = parse_ok(USER("    client-certificate-data: |\n"
			  "      LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJjZXJ0Ci0t\n"
			  "      LS0tRU5EIENFUlRJRklDQVRFLS0tLS0K\n"
			  "    client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUVrZXkKLS0t\n"
			  "      LS1FTkQgUFJJVkFURSBLRVktLS0tLQo=\n"),
		     NULL);
	ck_assert_str_eq(c->cert_pem, CERT_PEM);
	ck_assert_str_eq(c->key_pem, KEY_PEM);
	k8s_cluster_free(c);
}
END_TEST

static const struct {
	const char *yaml, *msg;
} base64_errors[] = {
	{ USER("    client-certificate-data: " CERT_B64 "\n"
	       "    client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUVrZXkKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo\n"),
	  NAME ":15:22: users[0].user.client-key-data: not valid base64" }, /* no padding */
	{ USER("    client-certificate-data: LS0t*S1C\n    client-key-data: " KEY_B64 "\n"),
	  NAME ":14:30: users[0].user.client-certificate-data: not valid base64" },
	{ USER("    client-certificate-data: LS0=LS1C\n    client-key-data: " KEY_B64 "\n"),
	  NAME ":14:30: users[0].user.client-certificate-data: not valid base64" },
	{ USER("    client-certificate-data: LS0tLS0=\n    client-key-data: " KEY_B64 "\n"),
	  NAME ":14:30: users[0].user.client-certificate-data: "
	       "not PEM once base64-decoded (no \"-----BEGIN\" line)" },
	{ USER("    client-certificate-data: " CERT_B64 "\n"
	       "    client-key-data: " NOT_PEM_B64 "\n"),
	  NAME ":15:22: users[0].user.client-key-data: "
	       "not PEM once base64-decoded (no \"-----BEGIN\" line)" },
	{ CLUSTER("    server: https://h\n    certificate-authority-data: =\n"),
	  NAME ":12:33: clusters[0].cluster.certificate-authority-data: not valid base64" },
	{ CLUSTER("    server: https://h\n    certificate-authority-data: AA\n"),
	  NAME ":12:33: clusters[0].cluster.certificate-authority-data: not valid base64" },
	/* "-----BEGIN" followed by a NUL byte */
	{ CLUSTER("    server: https://h\n    certificate-authority-data: LS0tLS1CRUdJTgA=\n"),
	  NAME ":12:33: clusters[0].cluster.certificate-authority-data: "
	       "not PEM once base64-decoded (no \"-----BEGIN\" line)" },
};

START_TEST(test_base64_errors)
{
	parse_fails(base64_errors[_i].yaml, NULL, -EINVAL, base64_errors[_i].msg);
}
END_TEST

/* ---- paths ------------------------------------------------------------------------------- */

START_TEST(test_relative_paths)
{
	k8s_cluster_t *c;
	const struct passwd *pw;
	char want[600], cwd[400];
	const char *yaml = CLUSTER("    server: https://h\n    certificate-authority: ./certs/ca.crt\n");

	/* against the folder of the file, "./" dropped; ".." kept as written */
	c = parse_ok(USER("    client-certificate: ../pki/c.crt\n"
			  "    client-key: ~/keys/c.key\n"
			  "    tokenFile: ./././t\n"),
		     NULL);
	ck_assert_str_eq(c->cert_file, "/cfg/../pki/c.crt");
	snprintf(want, sizeof(want), "%s/keys/c.key", getenv("HOME"));
	ck_assert_str_eq(c->key_file, want);
	ck_assert_str_eq(c->token_file, "/cfg/t");
	k8s_cluster_free(c);

	/* a file in the root folder, and a relative file name (made absolute) */
	ck_assert_int_eq(k8s_kubeconfig_parse(yaml, strlen(yaml), "/kc", NULL, &c, err,
					      sizeof(err)), 0);
	ck_assert_str_eq(c->ca_file, "/certs/ca.crt");
	k8s_cluster_free(c);
	ck_assert_int_eq(k8s_kubeconfig_parse(yaml, strlen(yaml), "conf/kc", NULL, &c, err,
					      sizeof(err)), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/conf/certs/ca.crt", cwd);
	ck_assert_str_eq(c->ca_file, want);
	k8s_cluster_free(c);
	ck_assert_int_eq(k8s_kubeconfig_parse(yaml, strlen(yaml), "kc", NULL, &c, err,
					      sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/certs/ca.crt", cwd);
	ck_assert_str_eq(c->ca_file, want);
	k8s_cluster_free(c);

	/* no $HOME: the password database's home, else an error */
	setenv("HOME", "", 1);
	pw = getpwuid(getuid());
	c = NULL;
	if (pw && pw->pw_dir && *pw->pw_dir) {
		c = parse_ok(USER("    tokenFile: ~/t\n"), NULL);
		snprintf(want, sizeof(want), "%s/t", pw->pw_dir);
		ck_assert_str_eq(c->token_file, want);
		k8s_cluster_free(c);
	} else {
		parse_fails(USER("    tokenFile: ~/t\n"), NULL, -EINVAL,
			    NAME ":14:16: users[0].user.tokenFile: starts with ~ but the home "
				 "directory is unknown (HOME is not set)");
	}
}
END_TEST

START_TEST(test_load_files)
{
	k8s_cluster_t *c = NULL;
	char want[600];

	/* the default: ~/.kube/config */
	put("home/.kube/config", USER("    tokenFile: token\n"));
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->source, at("home/.kube/config"));
	ck_assert_str_eq(c->token_file, at("home/.kube/token"));
	k8s_cluster_free(c);

	/* an explicit path with "~/", relative paths against its folder */
	put("home/conf/kc", CLUSTER("    server: https://h\n    certificate-authority: ca.pem\n"));
	ck_assert_int_eq(k8s_kubeconfig_load("~/conf/kc", NULL, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->source, at("home/conf/kc"));
	ck_assert_str_eq(c->ca_file, at("home/conf/ca.pem"));
	k8s_cluster_free(c);

	/* an explicit path ignores $KUBECONFIG */
	put("b/kc", CLUSTER("    server: https://b\n"));
	setenv("KUBECONFIG", at("home/conf/kc"), 1);
	ck_assert_int_eq(k8s_kubeconfig_load(at("b/kc"), NULL, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->server, "https://b");
	ck_assert_str_eq(c->source, at("b/kc"));
	k8s_cluster_free(c);

	/* missing, a folder, too big */
	c = NULL;
	ck_assert_int_eq(k8s_kubeconfig_load(at("nope"), NULL, &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", at("nope"));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(k8s_kubeconfig_load(at("b"), NULL, &c, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", at("b"));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(truncate(at("b/kc"), K8S_MAX_KUBECONFIG_SIZE + 1), 0);
	ck_assert_int_eq(k8s_kubeconfig_load(at("b/kc"), NULL, &c, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than %u bytes", at("b/kc"),
		 K8S_MAX_KUBECONFIG_SIZE);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(c);

	/* no ~/.kube/config and no $KUBECONFIG */
	unsetenv("KUBECONFIG");
	ck_assert_int_eq(remove(at("home/.kube/config")), 0);
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory",
		 at("home/.kube/config"));
	ck_assert_str_eq(err, want);
}
END_TEST

/* Three files in $KUBECONFIG, the second missing: every map and current-context merged
 * first-file-wins, relative paths against each entry's own file. */
START_TEST(test_kubeconfig_merge)
{
	k8s_cluster_t *c = NULL;
	char list[1000], want[2000];

	put("a/config", "current-context: shared\n"
			"contexts:\n"
			"- {name: shared, context: {cluster: shared, user: shared, namespace: from-a}}\n"
			"clusters:\n"
			"- {name: shared, cluster: {server: 'https://a', certificate-authority: ca-a}}\n"
			"users:\n"
			"- {name: shared, user: {tokenFile: token-a}}\n");
	put("b/config", "current-context: only-b\n"
			"contexts:\n"
			"- {name: shared, context: {cluster: only-b, user: only-b, namespace: from-b}}\n"
			"- {name: only-b, context: {cluster: only-b, user: shared}}\n"
			"- {name: mixed, context: {cluster: shared, user: only-b}}\n"
			"clusters:\n"
			"- {name: shared, cluster: {server: 'https://b'}}\n"
			"- {name: only-b, cluster: {server: 'https://only-b', certificate-authority: ca-b}}\n"
			"users:\n"
			"- {name: shared, user: {tokenFile: token-b}}\n"
			"- {name: only-b, user: {tokenFile: token-only-b}}\n");
	snprintf(list, sizeof(list), "%s::%s:%s:%s", at("a/config"), at("missing/config"),
		 at("b/config"), at("a/config"));
	setenv("KUBECONFIG", list, 1);

	/* current-context: a's */
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->context, "shared");
	ck_assert_str_eq(c->namespace_, "from-a");
	ck_assert_str_eq(c->server, "https://a");
	ck_assert_str_eq(c->ca_file, at("a/ca-a"));
	ck_assert_str_eq(c->token_file, at("a/token-a"));
	snprintf(want, sizeof(want), "%s:%s", at("a/config"), at("b/config"));
	ck_assert_str_eq(c->source, want);
	k8s_cluster_free(c);

	/* b's context, b's cluster, a's user: each from the first file naming it */
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, "only-b", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->context, "only-b");
	ck_assert_str_eq(c->namespace_, "default");
	ck_assert_str_eq(c->server, "https://only-b");
	ck_assert_str_eq(c->ca_file, at("b/ca-b"));
	ck_assert_str_eq(c->token_file, at("a/token-a"));
	k8s_cluster_free(c);

	/* a's cluster "shared" hides b's, b's user "only-b" */
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, "mixed", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->server, "https://a");
	ck_assert_str_eq(c->token_file, at("b/token-only-b"));
	k8s_cluster_free(c);

	/* a without current-context: b's is next */
	put("a/config", "contexts: []\n");
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->context, "only-b");
	ck_assert_str_eq(c->server, "https://only-b");
	ck_assert_str_eq(c->token_file, at("b/token-b"));
	k8s_cluster_free(c);

	/* a broken file anywhere in the list is an error, as in kubectl */
	put("a/config", "contexts: [\n");
	c = NULL;
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:1: invalid YAML: did not find expected node content "
				     "while parsing a flow node", at("a/config"));
	ck_assert_str_eq(err, want);

	/* none of the files exists */
	snprintf(list, sizeof(list), "%s:%s", at("x"), at("y"));
	setenv("KUBECONFIG", list, 1);
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "$KUBECONFIG: none of its files exists (%s)", list);
	ck_assert_str_eq(err, want);

	/* only separators: as if unset, so ~/.kube/config */
	setenv("KUBECONFIG", "::", 1);
	put("home/.kube/config", CLUSTER("    server: https://home\n"));
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->server, "https://home");
	k8s_cluster_free(c);
}
END_TEST

/* ---- contexts ---------------------------------------------------------------------------- */

#define CONTEXTS                                                                         \
	"current-context: dev\n"                                                         \
	"contexts:\n"                                                                    \
	"- name: dev\n"                                                                  \
	"  context: {cluster: c1, user: u1}\n"                                           \
	"- name: prod\n"                                                                 \
	"  context: {cluster: c2, user: u2, namespace: serving}\n"                       \
	"- name: orphan\n"                                                               \
	"  context: {cluster: c3, user: u1}\n"                                           \
	"- name: stranger\n"                                                             \
	"  context: {cluster: c1, user: u3}\n"                                           \
	"clusters:\n"                                                                    \
	"- {name: c1, cluster: {server: 'https://one'}}\n"                               \
	"- {name: c2, cluster: {server: 'https://two'}}\n"                               \
	"users:\n"                                                                       \
	"- {name: u1, user: {token: " SECRET "}}\n"                                      \
	"- {name: u2, user: {tokenFile: /t2}}\n"

START_TEST(test_context_selection)
{
	k8s_cluster_t *c;

	c = parse_ok(CONTEXTS, NULL);
	ck_assert_str_eq(c->context, "dev");
	ck_assert_str_eq(c->server, "https://one");
	ck_assert_str_eq(c->namespace_, "default");
	k8s_cluster_free(c);

	c = parse_ok(CONTEXTS, "");
	ck_assert_str_eq(c->context, "dev");
	k8s_cluster_free(c);

	c = parse_ok(CONTEXTS, "prod");
	ck_assert_str_eq(c->context, "prod");
	ck_assert_str_eq(c->server, "https://two");
	ck_assert_str_eq(c->token_file, "/t2");
	ck_assert_ptr_null(c->token);
	ck_assert_str_eq(c->namespace_, "serving");
	k8s_cluster_free(c);
}
END_TEST

START_TEST(test_context_errors)
{
	parse_fails(CONTEXTS, "staging", -EINVAL,
		    NAME ": context \"staging\" not found (known: dev, prod, orphan, stranger)");
	parse_fails("current-context: gone\n" CONTEXTS, NULL, -EINVAL,
		    NAME ":2:1: current-context: set twice (first at line 1)");
	parse_fails("current-context: gone\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n",
		    NULL, -EINVAL,
		    NAME ":1:18: current-context: context \"gone\" not found (known: a)");
	parse_fails(CONTEXTS, "orphan", -EINVAL,
		    NAME ":8:22: contexts[2].context.cluster: cluster \"c3\" not found "
			 "(known: c1, c2)");
	parse_fails(CONTEXTS, "stranger", -EINVAL,
		    NAME ":10:32: contexts[3].context.user: user \"u3\" not found (known: u1, u2)");
	parse_fails("contexts: [{name: a, context: {cluster: c}}]\n", "a", -EINVAL,
		    NAME ":1:31: contexts[0].context.user: missing: context \"a\" names no user");
	parse_fails("contexts: [{name: a, context: {user: u}}]\n", "a", -EINVAL,
		    NAME ":1:31: contexts[0].context.cluster: missing: context \"a\" names no "
			 "cluster");
	parse_fails("contexts: [{name: a}]\n", "a", -EINVAL,
		    NAME ":1:12: contexts[0].context.cluster: missing: context \"a\" names no "
			 "cluster");
	parse_fails("contexts: [{name: a, context: {cluster: c, user: u, namespace: Prod}}]\n",
		    "a", -EINVAL,
		    NAME ":1:64: contexts[0].context.namespace: not a namespace name "
			 "(lowercase letters, digits and '-', at most 63)");
	parse_fails("clusters: [{name: c, cluster: {server: 'https://x'}}]\n", NULL, -EINVAL,
		    NAME ": no context asked for and no current-context set (known: none)");
	parse_fails("", NULL, -EINVAL,
		    NAME ": no context asked for and no current-context set (known: none)");
	parse_fails("# only a comment\n", "x", -EINVAL,
		    NAME ": context \"x\" not found (known: none)");
}
END_TEST

/* ---- refusals ---------------------------------------------------------------------------- */

static const struct {
	const char *yaml, *msg;
} refusals[] = {
	/* YAML */
	{ "clusters:\n- name: a\n  cluster: {server: x\n",
	  NAME ":4:1: invalid YAML: did not find expected ',' or '}' while parsing a flow "
	       "mapping" },
	{ "users:\n- name: u\n  user:\n    token: \"" SECRET "\n",
	  NAME ":5:1: invalid YAML: found unexpected end of stream while scanning a quoted "
	       "scalar" },
	{ "a: 1\n---\nb: 2\n", NAME ":2:1: invalid YAML: more than one YAML document" },
	{ "a: !!binary AAAA\nb: *x\n", NAME ":2:4: invalid YAML: YAML aliases are not supported" },
	/* types */
	{ "- a\n- b\n",
	  NAME ":1:1: expected a mapping (apiVersion, clusters, users, contexts, ...)" },
	{ "clusters: {name: a}\n", NAME ":1:11: clusters: expected a list" },
	{ "users:\n- [name, u]\n", NAME ":2:3: users[0]: expected a mapping (name, user)" },
	{ "contexts:\n- name: [a]\n", NAME ":2:9: contexts[0].name: expected a string, not a list" },
	{ "contexts:\n- context: {}\n", NAME ":2:3: contexts[0].name: missing" },
	{ "clusters:\n- name: c\n  cluster: [server, x]\n",
	  NAME ":3:12: clusters[0].cluster: expected a mapping" },
	{ "current-context: {a: b}\n",
	  NAME ":1:18: current-context: expected a string, not a mapping" },
	{ CLUSTER("    server: {url: x}\n"),
	  NAME ":11:13: clusters[0].cluster.server: expected a string, not a mapping" },
	{ CLUSTER("    server: https://h\n    insecure-skip-tls-verify: maybe\n"),
	  NAME ":12:31: clusters[0].cluster.insecure-skip-tls-verify: expected true or false" },
	{ CLUSTER("    server: https://h\n    insecure-skip-tls-verify: 'true'\n"),
	  NAME ":12:31: clusters[0].cluster.insecure-skip-tls-verify: expected true or false" },
	{ USER("    token: \"" SECRET "\\0x\"\n"),
	  NAME ":14:12: users[0].user.token: contains a NUL byte" },
	{ USER("    token: " SECRET "\n    token: " SECRET "\n"),
	  NAME ":15:5: users[0].user.token: set twice (first at line 14)" },
	/* names */
	{ "clusters:\n- {name: a, cluster: {}}\n- {name: b}\n- {name: a}\n- {name: b}\n",
	  NAME ":4:10: clusters[2].name: duplicate name \"a\" (also clusters[0])" },
	{ "users:\n- {name: a}\n- {name: b}\n- {name: b}\n- {name: a}\n",
	  NAME ":4:10: users[2].name: duplicate name \"b\" (also users[1])" },
	/* servers */
	{ CLUSTER("    insecure-skip-tls-verify: true\n"),
	  NAME ":11:5: clusters[0].cluster.server: missing: cluster \"c1\" has no server" },
	{ "current-context: dev\n"
	  "contexts: [{name: dev, context: {cluster: c1, user: u1}}]\n"
	  "clusters: [{name: c1}]\nusers: [{name: u1}]\n",
	  NAME ":3:12: clusters[0].cluster.server: missing: cluster \"c1\" has no server" },
	{ CLUSTER("    server: 10.0.0.1:6443\n"),
	  NAME ":11:13: clusters[0].cluster.server: not an https:// or http:// URL with a host" },
	{ CLUSTER("    server: ftp://h\n"),
	  NAME ":11:13: clusters[0].cluster.server: not an https:// or http:// URL with a host" },
	{ CLUSTER("    server: https://\n"),
	  NAME ":11:13: clusters[0].cluster.server: not an https:// or http:// URL with a host" },
	{ CLUSTER("    server: https://:6443\n"),
	  NAME ":11:13: clusters[0].cluster.server: not an https:// or http:// URL with a host" },
	{ CLUSTER("    server: \"https://h/a b\"\n"),
	  NAME ":11:13: clusters[0].cluster.server: not an https:// or http:// URL with a host" },
	{ CLUSTER("    server: https://h\n    proxy-url: ftp://user:" SECRET "@p\n"),
	  NAME ":12:16: clusters[0].cluster.proxy-url: not an http://, https:// or socks5:// URL "
	       "with a host" },
	/* conflicts */
	{ CLUSTER("    server: https://h\n    certificate-authority: ca\n"
		  "    certificate-authority-data: " CA_B64 "\n"),
	  NAME ":11:5: clusters[0].cluster.certificate-authority-data: certificate-authority is "
	       "set too; set only one" },
	{ CLUSTER("    server: https://h\n    certificate-authority: ca\n"
		  "    insecure-skip-tls-verify: true\n"),
	  NAME ":11:5: clusters[0].cluster.insecure-skip-tls-verify: cannot be combined with a "
	       "certificate authority" },
	{ USER("    client-certificate: c\n    client-certificate-data: " CERT_B64 "\n"
	       "    client-key: k\n"),
	  NAME ":14:5: users[0].user.client-certificate-data: client-certificate is set too; set "
	       "only one" },
	{ USER("    client-certificate: c\n    client-key: k\n    client-key-data: " KEY_B64 "\n"),
	  NAME ":14:5: users[0].user.client-key-data: client-key is set too; set only one" },
	{ USER("    client-certificate-data: " CERT_B64 "\n"),
	  NAME ":14:5: users[0].user.client-key: missing: a client certificate needs its key and "
	       "a key its certificate" },
	{ USER("    client-key: k\n"),
	  NAME ":14:5: users[0].user.client-certificate: missing: a client certificate needs its "
	       "key and a key its certificate" },
	{ USER("    token: " SECRET "\n    username: admin\n    password: " SECRET "\n"),
	  NAME ":14:5: users[0].user.token: token and username/password are both set; only one "
	       "is allowed" },
	/* auth-provider */
	{ USER("    auth-provider:\n      name: oidc\n      config: {id-token: " SECRET "}\n"),
	  NAME ":15:7: users[0].user.auth-provider: auth-provider is no longer supported; use an "
	       "exec plugin" },
	{ USER("    auth-provider: {name: gcp}\n    exec: {command: gke-gcloud-auth-plugin}\n"),
	  NAME ":14:20: users[0].user.auth-provider: auth-provider is no longer supported; use an "
	       "exec plugin" },
};

START_TEST(test_refusals)
{
	parse_fails(refusals[_i].yaml, NULL, -EINVAL, refusals[_i].msg);
}
END_TEST

/* ---- exec plugins ------------------------------------------------------------------------ */

START_TEST(test_exec_v1)
{
	k8s_cluster_t *c;
	k8s_exec_t *x;

	c = parse_ok(USER("    exec:\n"
			  "      apiVersion: client.authentication.k8s.io/v1\n"
			  "      command: ./bin/get-token\n"
			  "      args: [--audience, 'k8s', 42, '']\n"
			  "      env:\n"
			  "      - {name: AWS_PROFILE, value: prod}\n"
			  "      - {name: SECRET_VAR, value: \"" SECRET "\"}\n"
			  "      - {name: EMPTY, value: ''}\n"
			  "      installHint: install get-token from https://example.com\n"
			  "      provideClusterInfo: true\n"
			  "      interactiveMode: Never\n"),
		     NULL);
	x = c->exec;
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x->api_version, "client.authentication.k8s.io/v1");
	ck_assert_str_eq(x->command, "/cfg/bin/get-token");
	ck_assert_uint_eq(x->n_args, 4);
	ck_assert_str_eq(x->args[0], "--audience");
	ck_assert_str_eq(x->args[1], "k8s");
	ck_assert_str_eq(x->args[2], "42");
	ck_assert_str_eq(x->args[3], "");
	ck_assert_uint_eq(x->n_env, 3);
	ck_assert_str_eq(x->env_names[0], "AWS_PROFILE");
	ck_assert_str_eq(x->env_values[0], "prod");
	ck_assert_str_eq(x->env_names[1], "SECRET_VAR");
	ck_assert_str_eq(x->env_values[1], SECRET);
	ck_assert_str_eq(x->env_names[2], "EMPTY");
	ck_assert_str_eq(x->env_values[2], "");
	ck_assert_str_eq(x->install_hint, "install get-token from https://example.com");
	ck_assert(x->provide_cluster_info);
	ck_assert_str_eq(x->interactive_mode, "Never");
	ck_assert_ptr_null(c->token);
	k8s_cluster_free(c);
}
END_TEST

/* What OKE's `oci ce cluster create-kubeconfig` writes. */
#define OKE_KUBECONFIG                                                                   \
	"---\n"                                                                          \
	"apiVersion: v1\n"                                                               \
	"kind: \"\"\n"                                                                   \
	"clusters:\n"                                                                    \
	"- name: \"cluster-c4daylfgvrg\"\n"                                              \
	"  cluster:\n"                                                                   \
	"    server: \"https://10.0.10.3:6443\"\n"                                        \
	"    certificate-authority-data: \"" CA_B64 "\"\n"                                \
	"users:\n"                                                                       \
	"- name: \"user-c4daylfgvrg\"\n"                                                 \
	"  user:\n"                                                                      \
	"    exec:\n"                                                                    \
	"      apiVersion: \"client.authentication.k8s.io/v1beta1\"\n"                   \
	"      command: \"oci\"\n"                                                       \
	"      args:\n"                                                                  \
	"      - \"ce\"\n"                                                               \
	"      - \"cluster\"\n"                                                          \
	"      - \"generate-token\"\n"                                                   \
	"      - \"--cluster-id\"\n"                                                     \
	"      - \"ocid1.cluster.oc1.phx.aaaaaaaaae4daylfgvrg\"\n"                        \
	"      - \"--region\"\n"                                                         \
	"      - \"us-phoenix-1\"\n"                                                     \
	"      env: []\n"                                                                \
	"contexts:\n"                                                                    \
	"- name: \"context-c4daylfgvrg\"\n"                                              \
	"  context:\n"                                                                   \
	"    cluster: \"cluster-c4daylfgvrg\"\n"                                         \
	"    user: \"user-c4daylfgvrg\"\n"                                               \
	"current-context: \"context-c4daylfgvrg\"\n"

START_TEST(test_exec_oke)
{
	static const char *const args[] = { "ce",	    "cluster",
					    "generate-token", "--cluster-id",
					    "ocid1.cluster.oc1.phx.aaaaaaaaae4daylfgvrg",
					    "--region",	    "us-phoenix-1" };
	k8s_cluster_t *c = parse_ok(OKE_KUBECONFIG, NULL);
	k8s_exec_t *x = c->exec;

	ck_assert_str_eq(c->context, "context-c4daylfgvrg");
	ck_assert_str_eq(c->server, "https://10.0.10.3:6443");
	ck_assert_str_eq(c->ca_pem, CA_PEM);
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x->api_version, "client.authentication.k8s.io/v1beta1");
	ck_assert_str_eq(x->command, "oci"); /* a bare name: $PATH at run time */
	ck_assert_uint_eq(x->n_args, 7);
	for (size_t i = 0; i < 7; i++)
		ck_assert_str_eq(x->args[i], args[i]);
	ck_assert_uint_eq(x->n_env, 0);
	ck_assert_ptr_null(x->install_hint);
	ck_assert(!x->provide_cluster_info);
	ck_assert_str_eq(x->interactive_mode, "IfAvailable"); /* the v1beta1 default */
	k8s_cluster_free(c);
}
END_TEST

#define EXEC(x) USER("    exec:\n" x) /* x at line 15, column 7 */
#define V1 "      apiVersion: client.authentication.k8s.io/v1\n"

static const struct {
	const char *yaml, *msg;
} exec_errors[] = {
	{ EXEC("      apiVersion: client.authentication.k8s.io/v1alpha1\n      command: x\n"),
	  NAME ":15:19: users[0].user.exec.apiVersion: client.authentication.k8s.io/v1alpha1 is "
	       "no longer supported; use client.authentication.k8s.io/v1" },
	{ EXEC("      apiVersion: client.authentication.k8s.io/v2\n      command: x\n"),
	  NAME ":15:19: users[0].user.exec.apiVersion: must be client.authentication.k8s.io/v1 "
	       "or client.authentication.k8s.io/v1beta1" },
	{ EXEC("      command: x\n"),
	  NAME ":15:7: users[0].user.exec.apiVersion: missing (client.authentication.k8s.io/v1 or "
	       "client.authentication.k8s.io/v1beta1)" },
	{ EXEC(V1 "      interactiveMode: Never\n"),
	  NAME ":15:7: users[0].user.exec.command: missing" },
	{ EXEC(V1 "      command: x\n"),
	  NAME ":15:7: users[0].user.exec.interactiveMode: missing (required by "
	       "client.authentication.k8s.io/v1; Never or IfAvailable)" },
	{ EXEC(V1 "      command: x\n      interactiveMode: Always\n"),
	  NAME ":17:24: users[0].user.exec.interactiveMode: Always needs a terminal, which a "
	       "daemon has not; use Never or IfAvailable" },
	{ EXEC(V1 "      command: x\n      interactiveMode: never\n"),
	  NAME ":17:24: users[0].user.exec.interactiveMode: must be Never or IfAvailable" },
	{ EXEC(V1 "      command: x\n      args: {a: b}\n"),
	  NAME ":17:13: users[0].user.exec.args: expected a list" },
	{ EXEC(V1 "      command: x\n      args: [a, [b]]\n"),
	  NAME ":17:17: users[0].user.exec.args[1]: expected a string, not a list" },
	{ EXEC(V1 "      command: x\n      env: [{value: " SECRET "}]\n"),
	  NAME ":17:13: users[0].user.exec.env[0].name: missing" },
	{ EXEC(V1 "      command: x\n      env: [{name: A, value: " SECRET "}, {name: B}]\n"),
	  NAME ":17:56: users[0].user.exec.env[1].value: missing" },
	{ EXEC(V1 "      command: x\n      env: [{name: 'A=B', value: " SECRET "}]\n"),
	  NAME ":17:13: users[0].user.exec.env[0].name: contains '='" },
	{ EXEC(V1 "      command: x\n      env: [" SECRET "]\n"),
	  NAME ":17:13: users[0].user.exec.env[0]: expected a mapping (name, value)" },
	{ EXEC(V1 "      command: x\n      provideClusterInfo: 1\n"),
	  NAME ":17:27: users[0].user.exec.provideClusterInfo: expected true or false" },
	{ USER("    exec: [oci]\n"), NAME ":14:11: users[0].user.exec: expected a mapping" },
};

START_TEST(test_exec_errors)
{
	parse_fails(exec_errors[_i].yaml, NULL, -EINVAL, exec_errors[_i].msg);
}
END_TEST

START_TEST(test_exec_limits)
{
	char yaml[8192], *p = yaml;
	k8s_cluster_t *c;

	for (int n = K8S_MAX_EXEC_ARGS; n <= K8S_MAX_EXEC_ARGS + 1; n++) {
		p = yaml + snprintf(yaml, sizeof(yaml), "%s", EXEC(V1 "      command: x\n"
								  "      interactiveMode: Never\n"
								  "      args: ["));
		for (int i = 0; i < n; i++)
			p += sprintf(p, "%sa%d", i ? ", " : "", i);
		strcpy(p, "]\n");
		if (n == K8S_MAX_EXEC_ARGS) {
			c = parse_ok(yaml, NULL);
			ck_assert_uint_eq(c->exec->n_args, K8S_MAX_EXEC_ARGS);
			ck_assert_str_eq(c->exec->args[K8S_MAX_EXEC_ARGS - 1], "a63");
			k8s_cluster_free(c);
		} else {
			parse_fails(yaml, NULL, -EINVAL,
				    NAME ":18:13: users[0].user.exec.args: more than 64 arguments");
		}
	}
	for (int n = K8S_MAX_EXEC_ENV; n <= K8S_MAX_EXEC_ENV + 1; n++) {
		p = yaml + snprintf(yaml, sizeof(yaml), "%s", EXEC(V1 "      command: x\n"
								  "      interactiveMode: Never\n"
								  "      env:\n"));
		for (int i = 0; i < n; i++)
			p += sprintf(p, "      - {name: V%d, value: v}\n", i);
		if (n == K8S_MAX_EXEC_ENV) {
			c = parse_ok(yaml, NULL);
			ck_assert_uint_eq(c->exec->n_env, K8S_MAX_EXEC_ENV);
			ck_assert_str_eq(c->exec->env_names[K8S_MAX_EXEC_ENV - 1], "V63");
			k8s_cluster_free(c);
		} else {
			parse_fails(yaml, NULL, -EINVAL,
				    NAME ":19:7: users[0].user.exec.env: more than 64 variables");
		}
	}
}
END_TEST

/* ---- secrets and hostile input ---------------------------------------------------------- */

/* Wherever the secret sits next to an error, the message does not carry it. */
START_TEST(test_no_secret_in_errors)
{
	static const char *const docs[] = {
		USER("    token: " SECRET "\n    username: " SECRET "\n"),
		USER("    token: [" SECRET "]\n"),
		USER("    token: {" SECRET ": 1}\n"),
		USER("    password: \"" SECRET "\n"),
		USER("    token: '" SECRET "\n    x: 1\n"),
		USER("    client-key-data: " SECRET "\n    client-certificate: c\n"),
		USER("    client-key-data: " SECRET "=\n    client-certificate: c\n"),
		USER("    token: " SECRET "\n  - broken\n"),
		USER("    token: " SECRET "\n\t- tab\n"),
		USER("    token: " SECRET " # \x01\n"),
		USER("    exec: {apiVersion: " SECRET ", command: x}\n"),
		USER("    exec: {apiVersion: client.authentication.k8s.io/v1, command: x, "
		     "interactiveMode: " SECRET "}\n"),
		USER("    token: " SECRET "\n    auth-provider: {name: oidc, config: {refresh-token: " SECRET "}}\n"),
		CLUSTER("    server: https://" SECRET ":" SECRET "@\n"),
		CLUSTER("    server: \"" SECRET "\"\n"),
		"current-context: \"" SECRET "\n",
		"users: [{name: a, user: {token: " SECRET "}}, {name: a, user: {token: " SECRET "}}]\n",
		"users: &a [{name: a, user: {token: " SECRET "}}]\nx: *a\n",
	};
	k8s_cluster_t *c = NULL;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		int r = parse(docs[i], NULL, &c);

		ck_assert_msg(r < 0, "doc %zu accepted", i);
		ck_assert_msg(err[0] != '\0', "doc %zu: no message", i);
		ck_assert_msg(!strstr(err, SECRET) && !strstr(err, "s3cr3t"),
			      "doc %zu: the secret in \"%s\"", i, err);
		ck_assert_msg(!strchr(err, '\n'), "doc %zu: two lines", i);
	}
}
END_TEST

START_TEST(test_billion_laughs)
{
	static const char lol[] =
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
		"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
		"current-context: *i\n";
	double t0 = test_now_s();

	parse_fails(lol, NULL, -EINVAL, NAME ":2:8: invalid YAML: YAML aliases are not supported");
	ck_assert_double_lt(test_now_s() - t0, 1.0);
}
END_TEST

START_TEST(test_yaml_limits)
{
	size_t len;
	char *big = malloc(K8S_MAX_KUBECONFIG_SIZE + 2), *p;
	k8s_cluster_t *c = NULL;

	ck_assert_ptr_nonnull(big);
	/* nesting: 32 levels pass the reader (and fail on meaning), 33 do not */
	p = big + sprintf(big, "x: ");
	for (int i = 0; i < 31; i++)
		*p++ = '[';
	for (int i = 0; i < 31; i++)
		*p++ = ']';
	strcpy(p, "\n");
	parse_fails(big, NULL, -EINVAL,
		    NAME ": no context asked for and no current-context set (known: none)");
	p = big + sprintf(big, "x: ");
	for (int i = 0; i < 32; i++)
		*p++ = '[';
	for (int i = 0; i < 32; i++)
		*p++ = ']';
	strcpy(p, "\n");
	parse_fails(big, NULL, -EINVAL, NAME ":1:35: invalid YAML: YAML nested deeper than 32 levels");

	/* nodes */
	p = big + sprintf(big, "x: [");
	for (int i = 0; i < 200001; i++)
		p += sprintf(p, "1,");
	strcpy(p - 1, "]\n");
	err[0] = '\0';
	ck_assert_int_eq(k8s_kubeconfig_parse(big, strlen(big), NAME, NULL, &c, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, NAME ":1:399999: invalid YAML: more than 200000 YAML nodes");

	/* size: the limit is on bytes, before any parsing */
	len = K8S_MAX_KUBECONFIG_SIZE + 1;
	memset(big, '#', len);
	ck_assert_int_eq(k8s_kubeconfig_parse(big, len, NAME, NULL, &c, err, sizeof(err)), -EFBIG);
	ck_assert_str_eq(err, NAME ": larger than 4194304 bytes");
	ck_assert_ptr_null(c);

	/* entries of one list */
	p = big + sprintf(big, "clusters:\n");
	for (int i = 0; i <= 10000; i++)
		p += sprintf(p, "- {name: c%d}\n", i);
	parse_fails(big, NULL, -EINVAL, NAME ":2:1: clusters: more than 10000 entries");
	free(big);
}
END_TEST

START_TEST(test_error_buffer)
{
	k8s_cluster_t *c = NULL;
	char small[24];

	/* a NULL or short buffer is fine; the message is cut, still terminated */
	ck_assert_int_eq(k8s_kubeconfig_parse("- x\n", 4, NAME, NULL, &c, NULL, 0), -EINVAL);
	ck_assert_int_eq(k8s_kubeconfig_parse("- x\n", 4, NAME, NULL, &c, small, sizeof(small)),
			 -EINVAL);
	ck_assert_str_eq(small, NAME ":1:1: expected a");
	/* not NUL-terminated input */
	ck_assert_int_eq(k8s_kubeconfig_parse("contexts: []xyz", 12, NULL, "a", &c, small,
					      sizeof(small)), -EINVAL);
	ck_assert_str_eq(small, "kubeconfig: context \"a\"");
	ck_assert_ptr_null(c);
}
END_TEST

/* A key with a NUL inside is not the key it starts with. */
START_TEST(test_nul_keys)
{
	static const char yaml[] =
		"current-context: a\n"
		"contexts: [{\"name\\0x\": [1], name: a, \"context\\0\": 1,"
		" context: {cluster: c, user: u}}]\n"
		"clusters: [{name: c, cluster: {\"server\\0\": [x], server: 'https://c'}}]\n"
		"users: [{name: u}]\n";
	k8s_cluster_t *c = parse_ok(yaml, NULL);

	ck_assert_str_eq(c->context, "a");
	ck_assert_str_eq(c->server, "https://c");
	k8s_cluster_free(c);
}
END_TEST

/* At most K8S_MAX_KUBECONFIG_FILES files are read from $KUBECONFIG. */
START_TEST(test_kubeconfig_limits)
{
	static char list[65 * 64];
	k8s_cluster_t *c = NULL;
	char *p = list, name[32];

	put("f/0", CLUSTER("    server: https://zero\n"));
	for (int i = 0; i <= 64; i++) {
		snprintf(name, sizeof(name), "f/%d", i);
		if (i > 0)
			put(name, "{}\n");
		p += sprintf(p, "%s%s", i ? ":" : "", at(name));
	}
	setenv("KUBECONFIG", strchr(list, ':') + 1, 1); /* 64 files */
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "$KUBECONFIG: no context asked for and no current-context set "
			      "(known: none)");
	setenv("KUBECONFIG", list, 1); /* 65 */
	ck_assert_int_eq(k8s_kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "$KUBECONFIG: more than 64 files");
	ck_assert_ptr_null(c);
}
END_TEST

/* ---- in-cluster -------------------------------------------------------------------------- */

static void service_account(const char *ns)
{
	put("sa/token", SECRET);
	put("sa/ca.crt", CA_PEM);
	if (ns)
		put("sa/namespace", ns);
}

START_TEST(test_incluster)
{
	k8s_cluster_t *c = NULL;

	service_account(" kube-system\n");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->server, "https://10.96.0.1:443");
	ck_assert_str_eq(c->token_file, at("sa/token"));
	ck_assert_ptr_null(c->token);
	ck_assert_str_eq(c->ca_file, at("sa/ca.crt"));
	ck_assert_ptr_null(c->ca_pem);
	ck_assert_str_eq(c->namespace_, "kube-system");
	ck_assert_str_eq(c->context, "in-cluster");
	ck_assert_str_eq(c->source, "in-cluster");
	ck_assert_ptr_null(c->exec);
	ck_assert(!c->insecure_skip_tls_verify);
	k8s_cluster_free(c);

	/* IPv6 gets its brackets; no namespace file: "default" */
	ck_assert_int_eq(remove(at("sa/namespace")), 0);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->server, "https://[fd00::1]:6443");
	ck_assert_str_eq(c->namespace_, "default");
	k8s_cluster_free(c);

	/* an empty namespace file: "default" too */
	put("sa/namespace", "\n");
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->namespace_, "default");
	k8s_cluster_free(c);
}
END_TEST

START_TEST(test_incluster_errors)
{
	k8s_cluster_t *c = NULL;
	char want[700];

	/* outside a cluster: either variable missing */
	service_account("ns\n");
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "in-cluster: not in a Kubernetes cluster (KUBERNETES_SERVICE_HOST "
			      "and KUBERNETES_SERVICE_PORT are not both set)");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), -ENOENT);
	unsetenv("KUBERNETES_SERVICE_HOST");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), -ENOENT);

	/* bad values */
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1/x", 1);
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "in-cluster: KUBERNETES_SERVICE_HOST is not a host name or an IP "
			      "address");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "65536", 1);
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "in-cluster: KUBERNETES_SERVICE_PORT is not a port number");
	setenv("KUBERNETES_SERVICE_PORT", "https", 1);
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), -EINVAL);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);

	/* a bad namespace file */
	put("sa/namespace", "Kube System\n");
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a namespace name (lowercase letters, digits and "
				     "'-', at most 63)", at("sa/namespace"));
	ck_assert_str_eq(err, want);
	put("sa/namespace", "ns\n");

	/* in a cluster without a token or CA: not "outside a cluster" */
	ck_assert_int_eq(remove(at("sa/ca.crt")), 0);
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: cannot read the cluster CA: No such file or directory",
		 at("sa/ca.crt"));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(remove(at("sa/token")), 0);
	ck_assert_int_eq(k8s_incluster_load(at("sa"), &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: cannot read the service account token: No such file or "
				     "directory (automountServiceAccountToken: false?)",
		 at("sa/token"));
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(c);
}
END_TEST

static Suite *kubeconfig_suite(void)
{
	Suite *s = suite_create("kubeconfig");
	TCase *tc;

	tc = tcase_create("fields");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_cluster_fields);
	tcase_add_test(tc, test_user_fields);
	tcase_add_test(tc, test_base64_forms);
	tcase_add_loop_test(tc, test_base64_errors, 0,
			    (int)(sizeof(base64_errors) / sizeof(base64_errors[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_relative_paths);
	tcase_add_test(tc, test_load_files);
	tcase_add_test(tc, test_kubeconfig_merge);
	suite_add_tcase(s, tc);

	tc = tcase_create("contexts");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_context_selection);
	tcase_add_test(tc, test_context_errors);
	tcase_add_loop_test(tc, test_refusals, 0, (int)(sizeof(refusals) / sizeof(refusals[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("exec");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exec_v1);
	tcase_add_test(tc, test_exec_oke);
	tcase_add_loop_test(tc, test_exec_errors, 0,
			    (int)(sizeof(exec_errors) / sizeof(exec_errors[0])));
	tcase_add_test(tc, test_exec_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_no_secret_in_errors);
	tcase_add_test(tc, test_billion_laughs);
	tcase_add_test(tc, test_yaml_limits);
	tcase_add_test(tc, test_error_buffer);
	tcase_add_test(tc, test_nul_keys);
	tcase_add_test(tc, test_kubeconfig_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("in-cluster");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_incluster);
	tcase_add_test(tc, test_incluster_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kubeconfig_suite(), CK_NORMAL);
}
