/* prometheus.c - the Prometheus child process of prometheus.h.
 *
 * Start: a port is found by binding 127.0.0.1:0 and closing again, so someone may take it
 * before Prometheus binds; Prometheus then exits logging "address already in use" and we
 * try again with a new port. Everything the child needs (argv, the log fd, the fd limit) is
 * prepared before fork: the test process has threads (the fakes' servers), so between fork
 * and exec the child only makes async-signal-safe calls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "tests/fakes/prometheus.h"
#include "tests/fakes/test-util.h"

#define BODY_MAX (8u << 20)
#define START_TRIES 5
#define READY_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 10000
#define LOG_TAIL 1024

struct test_prom {
	pid_t pid;  /* 0 once reaped */
	int status; /* of waitpid, once reaped */
	uint16_t port;
	size_t n;
	CURL *curl;
	bool curl_inited;
	char dir[PATH_MAX];
	char url[64];
};

static void seterr(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int test_prom_binary(char *buf, size_t size)
{
	const char *env = getenv("AUTOSCALERD_PROMETHEUS"), *path = getenv("PATH");
	char cand[PATH_MAX];

	if (env && *env) {
		if (access(env, X_OK) < 0 || (size_t)snprintf(buf, size, "%s", env) >= size)
			return -ENOENT;
		return 0;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (len > 0 && len < sizeof(cand) - 16) {
			snprintf(cand, sizeof(cand), "%.*s/prometheus", (int)len, path);
			if (access(cand, X_OK) == 0) {
				if ((size_t)snprintf(buf, size, "%s", cand) >= size)
					return -ENOENT;
				return 0;
			}
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return -ENOENT;
}

/* Strings that go into prometheus.yml unescaped: addresses and Kubernetes names. */
static bool valid_word(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > 253)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-") == len;
}

static int write_config(const char *dir, const test_prom_target_t *targets, size_t n,
			int scrape_ms)
{
	char path[PATH_MAX + 32];
	int timeout_ms = scrape_ms < 10000 ? scrape_ms : 10000;
	FILE *f;

	snprintf(path, sizeof(path), "%s/prometheus.yml", dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f,
		"global:\n"
		"  scrape_interval: %dms\n"
		"  scrape_timeout: %dms\n"
		"scrape_configs:\n"
		"  - job_name: vllm\n"
		"    static_configs:\n",
		scrape_ms, timeout_ms);
	for (size_t i = 0; i < n; i++)
		fprintf(f,
			"      - targets: [\"%s\"]\n"
			"        labels: {namespace: \"%s\", pod: \"%s\"}\n",
			targets[i].address, targets[i].namespace_, targets[i].pod);
	if (ferror(f)) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

/* A loopback port that was free a moment ago. */
static int pick_port(uint16_t *ret)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		r = -errno;
	close(fd);
	if (r == 0)
		*ret = ntohs(sin.sin_port);
	return r;
}

/* The last bytes of prometheus.log. */
static void log_tail(const test_prom_t *p, char *buf, size_t size)
{
	char path[PATH_MAX + 32];
	size_t len = 0;
	off_t end;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/prometheus.log", p->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > 0 && size > 1) {
		size_t want = size - 1 < LOG_TAIL ? size - 1 : LOG_TAIL;
		off_t from = end > (off_t)want ? end - (off_t)want : 0;
		ssize_t got = pread(fd, buf, want, from);

		len = got > 0 ? (size_t)got : 0;
	}
	close(fd);
	buf[len] = '\0';
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
}

/* Forks and execs Prometheus listening on p->port. */
static int spawn(test_prom_t *p, const char *bin)
{
	char a_config[PATH_MAX + 32], a_tsdb[PATH_MAX + 32], a_listen[64], logpath[PATH_MAX + 32];
	char *argv[] = { (char *)bin, a_config, a_tsdb, a_listen, (char *)"--log.level=warn",
			 NULL };
	struct rlimit rl;
	int maxfd, logfd, nullfd, r = 0;
	pid_t parent = getpid(), pid;

	snprintf(a_config, sizeof(a_config), "--config.file=%s/prometheus.yml", p->dir);
	snprintf(a_tsdb, sizeof(a_tsdb), "--storage.tsdb.path=%s/data", p->dir);
	snprintf(a_listen, sizeof(a_listen), "--web.listen-address=127.0.0.1:%u",
		 (unsigned)p->port);
	snprintf(logpath, sizeof(logpath), "%s/prometheus.log", p->dir);
	maxfd = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
		maxfd = (int)rl.rlim_cur;
	logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return -errno;
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0) {
		r = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };
		sigset_t none;

		/* Die with the thread that started us, even if it died before the prctl. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
			_exit(127);
		/* Nothing of the test process leaks into Prometheus. */
		if (close_range(3, ~0u, 0) < 0)
			for (int fd = 3; fd < maxfd; fd++)
				close(fd);
		/* An ignored or blocked SIGTERM would make test_prom_stop wait in vain. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		execv(bin, argv);
		_exit(127);
	}
	p->pid = pid;
out:
	if (nullfd >= 0)
		close(nullfd);
	close(logfd);
	return r;
}

/* Waits up to timeout_ms for the child to exit and reaps it. true when it is gone. A pidfd
 * would be the event to wait for, but valgrind 3.19 knows no pidfd_open: this polls. */
static bool reap(test_prom_t *p, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	while (p->pid > 0) {
		pid_t w = waitpid(p->pid, &p->status, WNOHANG);

		if (w == p->pid || (w < 0 && errno != EINTR))
			p->pid = 0;
		else if (now_ms() >= deadline)
			break;
		else
			sleep_ms(10);
	}
	return p->pid == 0;
}

struct buf {
	char *data;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	char *d;

	if (n > BODY_MAX - b->len)
		return 0; /* too big: the transfer fails */
	d = realloc(b->data, b->len + n + 1);
	if (!d)
		return 0;
	b->data = d;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* GET p->url + path; the body (NUL-terminated, caller frees) and status on success. */
static int get(test_prom_t *p, const char *path, long *ret_status, char **ret_body, char *err,
	       size_t errsz)
{
	char url[8192];
	struct buf b = { 0 };
	CURLcode c;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", p->url, path) >= sizeof(url)) {
		seterr(err, errsz, "URL too long");
		return -E2BIG;
	}
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &b);
	c = curl_easy_perform(p->curl);
	if (c != CURLE_OK) {
		free(b.data);
		seterr(err, errsz, "GET %s: %s", path, curl_easy_strerror(c));
		return c == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
	}
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, ret_status);
	*ret_body = b.data ? b.data : strdup("");
	return *ret_body ? 0 : -ENOMEM;
}

/* Polls /-/ready until 200. 0; -EAGAIN when Prometheus exited because the port was taken;
 * another negative errno when it exited otherwise or did not get ready in time. */
static int wait_ready(test_prom_t *p, char *err, size_t errsz)
{
	int64_t deadline = now_ms() + READY_TIMEOUT_MS;
	char tail[LOG_TAIL + 1];

	for (;;) {
		long status = 0;
		char *body = NULL;

		if (get(p, "/-/ready", &status, &body, NULL, 0) == 0) {
			free(body);
			if (status == 200)
				return 0;
		}
		if (reap(p, 0)) {
			log_tail(p, tail, sizeof(tail));
			if (strstr(tail, "address already in use"))
				return -EAGAIN;
			seterr(err, errsz, "prometheus exited at startup (%s %d):\n%s",
			       WIFEXITED(p->status) ? "exit status" : "signal",
			       WIFEXITED(p->status) ? WEXITSTATUS(p->status) : WTERMSIG(p->status),
			       tail);
			return -EIO;
		}
		if (now_ms() > deadline) {
			log_tail(p, tail, sizeof(tail));
			seterr(err, errsz, "prometheus not ready after %d s:\n%s",
			       READY_TIMEOUT_MS / 1000, tail);
			return -ETIMEDOUT;
		}
		sleep_ms(50); /* no event tells when it is ready */
	}
}

int test_prom_start(const test_prom_target_t *targets, size_t n, int scrape_ms,
		    test_prom_t **ret, char *err, size_t errsz)
{
	const char *tmp = getenv("TMPDIR");
	char bin[PATH_MAX];
	test_prom_t *p = NULL;
	int r;

	seterr(err, errsz, "%s", "");
	r = test_prom_binary(bin, sizeof(bin));
	if (r < 0) {
		seterr(err, errsz, "no prometheus ($AUTOSCALERD_PROMETHEUS or PATH)");
		return r;
	}
	if (n == 0 || n > TEST_PROM_MAX_TARGETS || scrape_ms < 100 || scrape_ms > 60000) {
		seterr(err, errsz, "bad arguments: %zu targets, scrape every %d ms", n, scrape_ms);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!valid_word(targets[i].address) || !valid_word(targets[i].namespace_) ||
		    !valid_word(targets[i].pod)) {
			seterr(err, errsz, "target %zu: address or label missing or not plain", i);
			return -EINVAL;
		}

	p = calloc(1, sizeof(*p));
	if (!p) {
		seterr(err, errsz, "out of memory");
		return -ENOMEM;
	}
	p->n = n;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		seterr(err, errsz, "curl_global_init failed");
		r = -ENOMEM;
		goto out;
	}
	p->curl_inited = true;
	p->curl = curl_easy_init();
	if (!p->curl) {
		seterr(err, errsz, "curl_easy_init failed");
		r = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(p->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, on_data);

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if ((size_t)snprintf(p->dir, sizeof(p->dir), "%s/autoscalerd-prom-XXXXXX", tmp) >=
	    sizeof(p->dir) - 64) {
		p->dir[0] = '\0';
		seterr(err, errsz, "$TMPDIR too long");
		r = -ENAMETOOLONG;
		goto out;
	}
	if (!mkdtemp(p->dir)) {
		r = -errno;
		seterr(err, errsz, "mkdtemp %s: %s", p->dir, strerror(-r));
		p->dir[0] = '\0';
		goto out;
	}
	r = write_config(p->dir, targets, n, scrape_ms);
	if (r < 0) {
		seterr(err, errsz, "writing %s/prometheus.yml: %s", p->dir, strerror(-r));
		goto out;
	}

	for (int try = 0; try < START_TRIES; try++) {
		r = pick_port(&p->port);
		if (r < 0) {
			seterr(err, errsz, "no free loopback port: %s", strerror(-r));
			goto out;
		}
		snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%u", (unsigned)p->port);
		r = spawn(p, bin);
		if (r < 0) {
			seterr(err, errsz, "starting %s: %s", bin, strerror(-r));
			goto out;
		}
		r = wait_ready(p, err, errsz);
		if (r != -EAGAIN)
			break;
		seterr(err, errsz, "port taken %d times in a row", START_TRIES);
	}
	if (r < 0)
		goto out;
	*ret = p;
	p = NULL;
out:
	test_prom_stop(p);
	return r;
}

test_prom_t *test_prom_stop(test_prom_t *p)
{
	if (!p)
		return NULL;
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		if (!reap(p, STOP_TIMEOUT_MS))
			test_prom_kill(p);
	}
	if (p->dir[0])
		test_rm_tree(p->dir);
	if (p->curl)
		curl_easy_cleanup(p->curl);
	if (p->curl_inited)
		curl_global_cleanup();
	free(p);
	return NULL;
}

uint16_t test_prom_port(const test_prom_t *p)
{
	return p->port;
}

const char *test_prom_url(const test_prom_t *p)
{
	return p->url;
}

const char *test_prom_dir(const test_prom_t *p)
{
	return p->dir;
}

void test_prom_kill(test_prom_t *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
}

/* Targets of the vllm job that are up, or a negative errno. */
static int count_up(test_prom_t *p)
{
	const cJSON *data, *list, *t;
	cJSON *root = NULL;
	char *body = NULL;
	long status = 0;
	int r, up = 0;

	r = get(p, "/api/v1/targets?state=active", &status, &body, NULL, 0);
	if (r < 0)
		return r;
	if (status != 200) {
		r = -EPROTO;
		goto out;
	}
	root = cJSON_Parse(body);
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	list = cJSON_GetObjectItemCaseSensitive(data, "activeTargets");
	if (!cJSON_IsArray(list)) {
		r = -EPROTO;
		goto out;
	}
	cJSON_ArrayForEach(t, list) {
		const cJSON *pool = cJSON_GetObjectItemCaseSensitive(t, "scrapePool");
		const cJSON *health = cJSON_GetObjectItemCaseSensitive(t, "health");

		if (cJSON_IsString(pool) && strcmp(pool->valuestring, "vllm") == 0 &&
		    cJSON_IsString(health) && strcmp(health->valuestring, "up") == 0)
			up++;
	}
	r = up;
out:
	cJSON_Delete(root);
	free(body);
	return r;
}

int test_prom_wait_up(test_prom_t *p, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		if (reap(p, 0))
			return -ESRCH;
		if (count_up(p) >= (int)p->n)
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(100); /* the next scrape is the event, and Prometheus tells of none */
	}
}

/* A sample value as the API writes it: a decimal, "NaN", "+Inf" or "-Inf". */
static int parse_value(const cJSON *pair, double *ret)
{
	const cJSON *s = cJSON_GetArrayItem(pair, 1);
	char *end;
	double v;

	if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsString(s))
		return -EPROTO;
	errno = 0;
	v = strtod(s->valuestring, &end); /* C locale: the tests never call setlocale */
	if (end == s->valuestring || *end || errno == ERANGE)
		return -EPROTO;
	*ret = v;
	return 0;
}

int test_prom_query(test_prom_t *p, const char *promql, double *values, size_t max,
		    size_t *ret_n, char *err, size_t errsz)
{
	const cJSON *status, *data, *type, *result, *e;
	char path[8192], *q, *body = NULL;
	cJSON *root = NULL;
	long http_status = 0;
	size_t n = 0;
	int r;

	q = curl_easy_escape(p->curl, promql, 0);
	if (!q) {
		seterr(err, errsz, "out of memory");
		return -ENOMEM;
	}
	r = (size_t)snprintf(path, sizeof(path), "/api/v1/query?query=%s", q) >= sizeof(path)
		    ? -E2BIG
		    : 0;
	curl_free(q);
	if (r < 0) {
		seterr(err, errsz, "query too long");
		return r;
	}
	r = get(p, path, &http_status, &body, err, errsz);
	if (r < 0)
		return r;
	r = -EPROTO;
	root = cJSON_Parse(body);
	status = cJSON_GetObjectItemCaseSensitive(root, "status");
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	type = cJSON_GetObjectItemCaseSensitive(data, "resultType");
	result = cJSON_GetObjectItemCaseSensitive(data, "result");
	if (!cJSON_IsString(status) || strcmp(status->valuestring, "success") != 0) {
		e = cJSON_GetObjectItemCaseSensitive(root, "error");
		seterr(err, errsz, "HTTP %ld: %s", http_status,
		       cJSON_IsString(e) ? e->valuestring : "not a Prometheus API answer");
		goto out;
	}
	if (!cJSON_IsString(type)) {
		seterr(err, errsz, "no resultType");
		goto out;
	}
	if (strcmp(type->valuestring, "scalar") == 0) {
		if (max < 1 || parse_value(result, &values[0]) < 0) {
			seterr(err, errsz, "bad scalar");
			goto out;
		}
		n = 1;
	} else if (strcmp(type->valuestring, "vector") == 0 && cJSON_IsArray(result)) {
		cJSON_ArrayForEach(e, result) {
			const cJSON *value = cJSON_GetObjectItemCaseSensitive(e, "value");

			if (n >= max) {
				seterr(err, errsz, "more than %zu samples", max);
				goto out;
			}
			if (parse_value(value, &values[n]) < 0) {
				seterr(err, errsz, "bad sample");
				goto out;
			}
			n++;
		}
	} else {
		seterr(err, errsz, "result type %s", type->valuestring);
		goto out;
	}
	*ret_n = n;
	r = 0;
out:
	cJSON_Delete(root);
	free(body);
	return r;
}
