/* kubeconfig.h - where the Kubernetes API server is and how to authenticate to it: a
 * kubeconfig (as kubectl reads it) or the in-cluster service account.
 *
 * Pure parsing and resolution, no network: the result is a k8s_cluster_t, everything the
 * client needs to talk to one API server as one user. Credentials that change at run time
 * (token files, exec plugins) are described here and resolved by the client (k8s.h):
 * token files are re-read when they change, exec plugins run as child processes on the
 * event loop.
 *
 * Kubeconfig loading follows kubectl (client-go's clientcmd):
 *   - the files: an explicit path (--kubeconfig, kubernetes.kubeconfig) alone; else every
 *     file of $KUBECONFIG (':'-separated, empty entries skipped, missing files ignored as
 *     kubectl does, but at least one must exist); else ~/.kube/config;
 *   - merging: for maps keyed by name (clusters, users, contexts) the first file that
 *     defines a name wins; for current-context the first file that sets it wins;
 *   - the context: the one asked for, else current-context; its cluster and user must
 *     exist; its namespace (default "default");
 *   - relative paths in a file (certificate-authority, client-certificate, client-key,
 *     tokenFile, exec command when it contains a '/') are relative to that file's folder;
 *     "~/" is the home directory;
 *   - cluster: server (https:// or http:// - kubectl proxy), certificate-authority or
 *     certificate-authority-data (base64 PEM), insecure-skip-tls-verify, tls-server-name,
 *     proxy-url (kept; the client passes it on);
 *   - user: client-certificate(-data), client-key(-data), token, tokenFile, username and
 *     password (basic), exec (apiVersion client.authentication.k8s.io/v1 or v1beta1,
 *     command, args, env [{name, value}], installHint, provideClusterInfo,
 *     interactiveMode); auth-provider is refused with a message (gone from kubectl).
 *     Precedence as client-go: a client certificate and a token may both be set; token
 *     wins over tokenFile; exec may supply either.
 *
 * Errors name the file, the context and the field, with line:column when the YAML has
 * one: "/root/.kube/config:14:7: users[0].user.client-key-data: not valid base64" or
 * "$KUBECONFIG: context \"prod\" not found (known: dev, staging)". Unknown keys are
 * ignored as kubectl ignores them (extensions, preferences, ...).
 *
 * In-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (an IPv6 host gets its
 * brackets), the token file, CA and namespace under
 * /var/run/secrets/kubernetes.io/serviceaccount/ (the folder overridable for tests).
 */
#ifndef AUTOSCALERD_K8S_KUBECONFIG_H
#define AUTOSCALERD_K8S_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define K8S_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define K8S_MAX_KUBECONFIG_SIZE (4u << 20)
#define K8S_MAX_EXEC_ARGS 64
#define K8S_MAX_EXEC_ENV 64
#define K8S_ERROR_MAX 1024

/* An exec credential plugin (client.authentication.k8s.io ExecConfig). */
typedef struct k8s_exec {
	char *api_version;  /* "client.authentication.k8s.io/v1" or ".../v1beta1" */
	char *command;      /* resolved: absolute, relative to the kubeconfig's folder, or a
			       bare name looked up in $PATH at run time */
	char **args;        /* n_args strings */
	size_t n_args;
	char **env_names, **env_values; /* added to the daemon's environment */
	size_t n_env;
	char *install_hint; /* shown when the command is missing; may be NULL */
	bool provide_cluster_info; /* KUBERNETES_EXEC_INFO carries spec.cluster */
	char *interactive_mode; /* "Never", "IfAvailable", "Always" (v1: required; Always
				   is refused: the daemon has no terminal) */
} k8s_exec_t;

/* Everything needed to talk to one API server as one user. Strings are owned (malloc'd);
 * PEM data is NUL-terminated with its length. */
typedef struct k8s_cluster {
	char *server;          /* "https://10.0.0.5:6443", no trailing '/' */
	char *tls_server_name; /* may be NULL */
	char *proxy_url;       /* may be NULL */
	bool insecure_skip_tls_verify;
	char *ca_file;         /* at most one of ca_file and ca_pem */
	char *ca_pem;
	size_t ca_pem_len;

	char *cert_file, *key_file; /* client certificate: files ... */
	char *cert_pem, *key_pem;   /* ... or data */
	size_t cert_pem_len, key_pem_len;
	char *token;           /* a static bearer token; may be NULL */
	char *token_file;      /* re-read when it changes (in-cluster: always set) */
	char *username, *password; /* basic auth; may be NULL */
	k8s_exec_t *exec;      /* may be NULL */

	char *namespace_;      /* the context's, or the service account's; never NULL */
	char *context;         /* the context's name; "in-cluster" in the cluster */
	char *source;          /* for messages: the file(s), or "in-cluster" */
} k8s_cluster_t;

k8s_cluster_t *k8s_cluster_free(k8s_cluster_t *c); /* NULL-safe; returns NULL */
/* A deep copy (the client keeps its own); NULL when memory ran out. */
k8s_cluster_t *k8s_cluster_dup(const k8s_cluster_t *c);

/* Loads a kubeconfig. path: one file (no merging), or NULL for $KUBECONFIG, then
 * ~/.kube/config. context: NULL for current-context. Returns 0 and *ret, or a negative
 * errno (-ENOENT no file, -EINVAL bad content, -EFBIG, -ENOMEM) with err saying which
 * file, context and field. */
int k8s_kubeconfig_load(const char *path, const char *context, k8s_cluster_t **ret, char *err,
			size_t errsz);

/* The same from memory (tests, fuzzing): one file's bytes; `name` stands for its path in
 * messages, and its folder anchors relative paths. */
int k8s_kubeconfig_parse(const char *buf, size_t len, const char *name, const char *context,
			 k8s_cluster_t **ret, char *err, size_t errsz);

/* The in-cluster configuration. sa_dir: NULL for K8S_SERVICEACCOUNT_DIR. Reads the
 * environment, checks that the token file and CA exist (not their content, which the
 * client reads), reads the namespace file. -ENOENT outside a cluster (no
 * KUBERNETES_SERVICE_HOST), with err saying so. */
int k8s_incluster_load(const char *sa_dir, k8s_cluster_t **ret, char *err, size_t errsz);

#endif
