/* fuzz-kubeconfig.c - libFuzzer target for the kubeconfig reader (k8s_kubeconfig_parse).
 *
 * The input is one kubeconfig file's bytes, handed over as they come (not NUL-terminated,
 * so an over-read shows up under ASan), parsed twice: for current-context and for a context
 * named "prod". Besides "no crash, no leak, no hang" the target holds the reader to
 * kubeconfig.h:
 *   - failure leaves *ret alone and says why in one NUL-terminated line; the only errors
 *     from memory are -EINVAL, -EFBIG and -ENOMEM;
 *   - success gives a server that is an http(s) URL without a trailing '/', a namespace,
 *     the context's name, at most one of CA file and CA data, PEM that is PEM and as long
 *     as its length says, no tokenFile beside a token, an exec plugin within its limits
 *     with an interactive mode the daemon can honour.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/kubeconfig/, dictionary
 * kubeconfig.dict.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "k8s/kubeconfig.h"
#include "tests/fuzz/fuzz-common.h"

#define NAME "/fuzz/kubeconfig"

static void check_pem(const char *pem, size_t len)
{
	if (!pem)
		return;
	REQUIRE(strlen(pem) == len);
	REQUIRE(strstr(pem, "-----BEGIN") != NULL);
}

static void check_cluster(const k8s_cluster_t *c, const char *context)
{
	size_t n;

	REQUIRE(c->server && c->namespace_ && c->context && c->source);
	REQUIRE(strncasecmp(c->server, "https://", 8) == 0 ||
		strncasecmp(c->server, "http://", 7) == 0);
	n = strlen(c->server);
	REQUIRE(n > 0 && c->server[n - 1] != '/');
	REQUIRE(strcmp(c->source, NAME) == 0);
	if (context)
		REQUIRE(strcmp(c->context, context) == 0);
	REQUIRE(!(c->ca_file && c->ca_pem));
	REQUIRE(!(c->cert_file && c->cert_pem));
	REQUIRE(!(c->key_file && c->key_pem));
	REQUIRE(!(c->token && c->token_file));
	REQUIRE(!(c->insecure_skip_tls_verify && (c->ca_file || c->ca_pem)));
	check_pem(c->ca_pem, c->ca_pem_len);
	check_pem(c->cert_pem, c->cert_pem_len);
	check_pem(c->key_pem, c->key_pem_len);
	if (c->exec) {
		const k8s_exec_t *x = c->exec;

		REQUIRE(x->api_version && x->command && x->interactive_mode);
		REQUIRE(strcmp(x->interactive_mode, "Never") == 0 ||
			strcmp(x->interactive_mode, "IfAvailable") == 0);
		REQUIRE(x->n_args <= K8S_MAX_EXEC_ARGS && x->n_env <= K8S_MAX_EXEC_ENV);
		for (size_t i = 0; i < x->n_args; i++)
			REQUIRE(x->args[i] != NULL);
		for (size_t i = 0; i < x->n_env; i++)
			REQUIRE(x->env_names[i] && x->env_names[i][0] && x->env_values[i] &&
				!strchr(x->env_names[i], '='));
	}
	fprintf(sink, "%s %s %s\n", c->server, c->namespace_, c->context);
}

static void run(const uint8_t *data, size_t size, const char *context)
{
	/* a sentinel to tell "untouched" from "set to NULL" on failure */
	k8s_cluster_t *const untouched = (k8s_cluster_t *)(uintptr_t)&sink;
	k8s_cluster_t *c = untouched;
	char err[K8S_ERROR_MAX];
	int r;

	memset(err, 'x', sizeof(err));
	r = k8s_kubeconfig_parse((const char *)data, size, NAME, context, &c, err, sizeof(err));
	if (r == 0) {
		REQUIRE(c != untouched && c != NULL);
		check_cluster(c, context);
		k8s_cluster_free(c);
		return;
	}
	REQUIRE(r == -EINVAL || r == -EFBIG || r == -ENOMEM);
	REQUIRE(c == untouched);
	REQUIRE(memchr(err, '\0', sizeof(err)) != NULL);
	REQUIRE(err[0] != '\0' || r == -ENOMEM);
	REQUIRE(strchr(err, '\n') == NULL);
	fprintf(sink, "%s\n", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;

	if (!once) { /* "~/" paths: a fixed home, whatever the environment */
		setenv("HOME", "/fuzz-home", 1);
		once = 1;
	}
	run(data, size, NULL);
	run(data, size, "prod");
	return 0;
}
