/* exec.c - exec credential plugins (client.authentication.k8s.io ExecCredential), run as a
 * child process without ever blocking the loop.
 *
 * posix_spawn (safe in a process with threads: curl's resolver has some) starts the
 * command with stdin on /dev/null and stdout and stderr on pipes; an http_timer_t then
 * polls the pipes (non-blocking reads) and waitpid(WNOHANG) every few milliseconds until
 * the child has exited and both pipes are at end of file, or the timeout passes (SIGKILL,
 * then reaped on later polls). Output past K8S_MAX_EXEC_OUTPUT kills it too. Polling
 * rather than watching the fds keeps k8s/ free of any loop adapter beyond http/'s timers;
 * a plugin runs for a second every few minutes, so the polls cost nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "k8s/k8s-client.h"

extern char **environ;

#define POLL_MS 5

struct k8s_exec_run {
	pid_t pid;      /* 0 once reaped */
	int status;     /* of waitpid */
	int out, errfd; /* read ends; -1 at EOF */
	char *obuf, *ebuf;
	size_t olen, elen;
	int64_t deadline;
	bool killed_timeout, killed_size;
	http_timer_t *timer;
};

/* The command, found: itself when it has a '/', else the first executable in $PATH. */
static bool find_command(const char *cmd, char *buf, size_t size)
{
	const char *path = getenv("PATH");

	if (!cmd || !cmd[0])
		return false;
	if (strchr(cmd, '/')) {
		snprintf(buf, size, "%s", cmd);
		return access(cmd, X_OK) == 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		struct stat st;

		if ((size_t)snprintf(buf, size, "%.*s/%s", (int)n, n ? path : ".", cmd) < size &&
		    stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return true;
		path += n + (end ? 1 : 0);
	}
	return false;
}

static void not_found(const k8s_exec_t *x, char *err, size_t errsz)
{
	http_errf(err, errsz, "exec plugin %s: not found or not executable%s%s%s", x->command,
		 strchr(x->command, '/') ? "" : " in $PATH",
		 x->install_hint ? "; " : "", x->install_hint ? x->install_hint : "");
}

int k8s_exec_check(k8s_client_t *c, char *err, size_t errsz)
{
	char path[4096];
	const k8s_exec_t *x = c->cluster->exec;

	if (x->interactive_mode && !strcmp(x->interactive_mode, "Always")) {
		http_errf(err, errsz, "exec plugin %s: interactiveMode Always needs a terminal; "
				     "autoscalerd has none",
			 x->command);
		return -EINVAL;
	}
	if (!find_command(x->command, path, sizeof(path))) {
		not_found(x, err, errsz);
		return -ENOENT;
	}
	return 0;
}

/* KUBERNETES_EXEC_INFO=<ExecCredential with spec>, as client-go sets it. */
static char *exec_info(const k8s_client_t *c)
{
	const k8s_exec_t *x = c->cluster->exec;
	const k8s_cluster_t *cl = c->cluster;
	cJSON *j = cJSON_CreateObject(), *spec, *cluster;
	char *s = NULL, *out = NULL;

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "apiVersion", x->api_version);
	cJSON_AddStringToObject(j, "kind", "ExecCredential");
	spec = cJSON_AddObjectToObject(j, "spec");
	if (spec) {
		cJSON_AddBoolToObject(spec, "interactive", false);
		if (x->provide_cluster_info && (cluster = cJSON_AddObjectToObject(spec, "cluster"))) {
			cJSON_AddStringToObject(cluster, "server", cl->server);
			if (cl->tls_server_name)
				cJSON_AddStringToObject(cluster, "tls-server-name", cl->tls_server_name);
			if (cl->insecure_skip_tls_verify)
				cJSON_AddBoolToObject(cluster, "insecure-skip-tls-verify", true);
			if (cl->ca_pem && cl->ca_pem_len < (1u << 20)) {
				char *b = malloc(4 * ((cl->ca_pem_len + 2) / 3) + 1);

				if (b) {
					EVP_EncodeBlock((unsigned char *)b,
							(const unsigned char *)cl->ca_pem,
							(int)cl->ca_pem_len);
					cJSON_AddStringToObject(cluster, "certificate-authority-data", b);
					free(b);
				}
			}
		}
	}
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (s && asprintf(&out, "KUBERNETES_EXEC_INFO=%s", s) < 0)
		out = NULL;
	free(s);
	return out;
}

static void run_free(k8s_client_t *c)
{
	struct k8s_exec_run *r = c->exec;

	if (!r)
		return;
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, &r->status, 0) < 0 && errno == EINTR)
			;
	}
	if (r->out >= 0)
		close(r->out);
	if (r->errfd >= 0)
		close(r->errfd);
	http_timer_free(r->timer);
	free(r->obuf);
	free(r->ebuf);
	free(r);
	c->exec = NULL;
}

void k8s_exec_stop(k8s_client_t *c)
{
	run_free(c);
}

/* Reads what the pipe holds now; -1 at EOF or error (closed then). */
static void drain_pipe(struct k8s_exec_run *r, int *fd, char **buf, size_t *len)
{
	char tmp[4096];

	while (*fd >= 0) {
		ssize_t n = read(*fd, tmp, sizeof(tmp));

		if (n > 0) {
			size_t keep = (size_t)n;
			char *b;

			if (*len + keep > K8S_MAX_EXEC_OUTPUT) {
				r->killed_size = true;
				keep = K8S_MAX_EXEC_OUTPUT - *len;
			}
			if (keep && (b = realloc(*buf, *len + keep + 1))) {
				memcpy(b + *len, tmp, keep);
				*len += keep;
				b[*len] = '\0';
				*buf = b;
			}
			if (r->killed_size && r->pid > 0)
				kill(r->pid, SIGKILL);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		close(*fd);
		*fd = -1;
	}
}

/* RFC 3339 ("2026-12-05T01:02:03Z", fractions and offsets allowed) -> time_t. */
static int parse_rfc3339(const char *s, time_t *ret)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
	const char *p;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n < 19)
		return -EINVAL;
	p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) {
		int sign = *p == '-' ? -1 : 1;

		oh *= sign;
		om *= sign;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ret = t - (time_t)oh * 3600 - (time_t)om * 60;
	return 0;
}

/* The plugin's stdout as an ExecCredential: a token or a certificate, and the expiry. */
static void finish_run(k8s_client_t *c)
{
	struct k8s_exec_run *r = c->exec;
	const k8s_exec_t *x = c->cluster->exec;
	char err[K8S_ERROR_MAX], tail[200] = "";
	const cJSON *av, *kind, *st, *tok, *cert, *key, *exp;
	time_t expires = 0;
	cJSON *j = NULL;

	if (r->elen) { /* the end of stderr says what went wrong, usually */
		const char *e = r->ebuf + (r->elen > 150 ? r->elen - 150 : 0);

		snprintf(tail, sizeof(tail), ": %s", e);
	}
	if (r->killed_timeout) {
		http_errf(err, sizeof(err), "exec plugin %s: no answer within %lld ms, killed%s",
			 x->command, (long long)c->exec_timeout_ms, tail);
		goto fail;
	}
	if (r->killed_size) {
		http_errf(err, sizeof(err), "exec plugin %s: more than %u bytes of output, killed",
			 x->command, K8S_MAX_EXEC_OUTPUT);
		goto fail;
	}
	if (WIFSIGNALED(r->status)) {
		http_errf(err, sizeof(err), "exec plugin %s: killed by signal %d%s", x->command,
			 WTERMSIG(r->status), tail);
		goto fail;
	}
	if (WEXITSTATUS(r->status) == 127 && !r->olen) {
		not_found(x, err, sizeof(err));
		goto fail;
	}
	if (WEXITSTATUS(r->status) != 0) {
		http_errf(err, sizeof(err), "exec plugin %s: exited with status %d%s", x->command,
			 WEXITSTATUS(r->status), tail);
		goto fail;
	}
	j = r->olen ? cJSON_ParseWithLength(r->obuf, r->olen) : NULL;
	av = cJSON_GetObjectItemCaseSensitive(j, "apiVersion");
	kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
	st = cJSON_GetObjectItemCaseSensitive(j, "status");
	if (!cJSON_IsObject(j) || !cJSON_IsString(kind) ||
	    strcmp(kind->valuestring, "ExecCredential")) {
		http_errf(err, sizeof(err), "exec plugin %s: its output is not an ExecCredential "
					   "(JSON with kind ExecCredential)",
			 x->command);
		goto fail;
	}
	if (!cJSON_IsString(av) || strcmp(av->valuestring, x->api_version)) {
		http_errf(err, sizeof(err), "exec plugin %s: answered apiVersion %.80s, the "
					   "kubeconfig asks for %s",
			 x->command, cJSON_IsString(av) ? av->valuestring : "(none)",
			 x->api_version);
		goto fail;
	}
	tok = cJSON_GetObjectItemCaseSensitive(st, "token");
	cert = cJSON_GetObjectItemCaseSensitive(st, "clientCertificateData");
	key = cJSON_GetObjectItemCaseSensitive(st, "clientKeyData");
	exp = cJSON_GetObjectItemCaseSensitive(st, "expirationTimestamp");
	if (exp && !cJSON_IsNull(exp) &&
	    (!cJSON_IsString(exp) || parse_rfc3339(exp->valuestring, &expires) < 0)) {
		http_errf(err, sizeof(err), "exec plugin %s: status.expirationTimestamp is not an "
					   "RFC 3339 time",
			 x->command);
		goto fail;
	}
	if (expires && expires <= time(NULL)) {
		http_errf(err, sizeof(err), "exec plugin %s: returned a credential that expired "
					   "at %s",
			 x->command, exp->valuestring);
		goto fail;
	}
	if (cJSON_IsString(tok) && tok->valuestring[0]) {
		char *t = strdup(tok->valuestring);

		cJSON_Delete(j);
		run_free(c);
		k8s_cred_done(c, t, NULL, NULL, expires, t ? NULL : "out of memory");
		free(t);
		return;
	}
	if (cJSON_IsString(cert) && cJSON_IsString(key) && cert->valuestring[0] &&
	    key->valuestring[0]) {
		char *cp = strdup(cert->valuestring), *kp = strdup(key->valuestring);

		cJSON_Delete(j);
		run_free(c);
		k8s_cred_done(c, NULL, cp, kp, expires, cp && kp ? NULL : "out of memory");
		free(cp);
		free(kp);
		return;
	}
	http_errf(err, sizeof(err), "exec plugin %s: the ExecCredential has neither status.token "
				   "nor status.clientCertificateData and clientKeyData",
		 x->command);
fail:
	cJSON_Delete(j);
	run_free(c);
	k8s_cred_done(c, NULL, NULL, NULL, 0, err);
}

static void on_poll(void *arg)
{
	k8s_client_t *c = arg;
	struct k8s_exec_run *r = c->exec;

	drain_pipe(r, &r->out, &r->obuf, &r->olen);
	drain_pipe(r, &r->errfd, &r->ebuf, &r->elen);
	if (r->pid > 0) {
		pid_t w = waitpid(r->pid, &r->status, WNOHANG);

		if (w == r->pid || (w < 0 && errno == ECHILD))
			r->pid = 0;
	}
	if (r->pid > 0 && k8s_now_ms() >= r->deadline && !r->killed_timeout) {
		r->killed_timeout = true;
		kill(r->pid, SIGKILL);
	}
	/* Done when it has exited; a grandchild holding the pipes open is not waited for. */
	if (r->pid == 0) {
		drain_pipe(r, &r->out, &r->obuf, &r->olen);
		drain_pipe(r, &r->errfd, &r->ebuf, &r->elen);
		finish_run(c);
		return;
	}
	http_timer_arm(r->timer, POLL_MS);
}

int k8s_exec_start(k8s_client_t *c, char *err, size_t errsz)
{
	const k8s_exec_t *x = c->cluster->exec;
	struct k8s_exec_run *r;
	posix_spawn_file_actions_t fa;
	char path[4096], **argv = NULL, **envp = NULL, *info = NULL;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, rc = -ENOMEM;
	size_t ne = 0, i, k = 0, env_from = 0, env_to = 0;
	bool said = false;

	if (c->exec)
		return 0; /* one run at a time */
	if (!find_command(x->command, path, sizeof(path))) {
		not_found(x, err, errsz);
		return -ENOENT;
	}
	while (environ && environ[ne])
		ne++;
	r = calloc(1, sizeof(*r));
	argv = calloc(x->n_args + 2, sizeof(char *));
	envp = calloc(ne + x->n_env + 2, sizeof(char *));
	info = exec_info(c);
	if (!r || !argv || !envp || !info)
		goto out;
	r->out = r->errfd = -1;
	argv[0] = x->command;
	for (i = 0; i < x->n_args; i++)
		argv[i + 1] = x->args[i];
	/* the daemon's environment, the plugin's env entries over it, and the exec info */
	for (i = 0; i < ne; i++) {
		bool overridden = !strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21);

		for (size_t e = 0; e < x->n_env && !overridden; e++) {
			size_t n = strlen(x->env_names[e]);

			overridden = !strncmp(environ[i], x->env_names[e], n) && environ[i][n] == '=';
		}
		if (!overridden)
			envp[k++] = environ[i];
	}
	env_from = env_to = k;
	for (i = 0; i < x->n_env; i++) {
		if (asprintf(&envp[k], "%s=%s", x->env_names[i], x->env_values[i]) < 0)
			goto out;
		env_to = ++k;
	}
	envp[k++] = info;
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		rc = -errno;
		http_errf(err, errsz, "exec plugin %s: pipe: %s", x->command, strerror(errno));
		said = true;
		goto out;
	}
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	rc = posix_spawn(&r->pid, path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		http_errf(err, errsz, "exec plugin %s: cannot start it: %s", x->command,
			 strerror(rc));
		said = true;
		rc = -rc;
		r->pid = 0;
		goto out;
	}
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	r->out = po[0];
	r->errfd = pe[0];
	po[0] = pe[0] = -1;
	r->deadline = k8s_now_ms() + c->exec_timeout_ms;
	if ((rc = http_timer_new(c->http, on_poll, c, &r->timer)) < 0) {
		c->exec = r;
		run_free(c);
		r = NULL;
		goto out;
	}
	c->exec = r;
	r = NULL;
	http_timer_arm(c->exec->timer, 1);
	rc = 0;
out:
	if (rc == -ENOMEM && !said)
		http_errf(err, errsz, "exec plugin %s: out of memory", x->command);
	for (i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	if (r) {
		if (r->out >= 0)
			close(r->out);
		if (r->errfd >= 0)
			close(r->errfd);
		free(r);
	}
	for (i = env_from; envp && i < env_to; i++) /* the entries made here */
		free(envp[i]);
	free(info);
	free(argv);
	free(envp);
	return rc;
}
