/* fake-vllm.c - the vLLM /metrics fake of fake-vllm.h. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "tests/fakes/fake-vllm.h"
#include "tests/fakes/test-util.h"

/* vLLM's bounds for vllm:e2e_request_latency_seconds (the last one is +Inf). */
static const double bounds[] = { 0.3,   0.5,   0.8,   1.0,   1.5,   2.0,    2.5,    5.0,
				 10.0,  15.0,  20.0,  30.0,  40.0,  50.0,   60.0,   120.0,
				 240.0, 480.0, 960.0, 1920.0, 7680.0, INFINITY };
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

#define MODEL "fake-model"
#define BODY_MAX 8192

struct pod {
	fake_vllm_t *f;
	struct MHD_Daemon *d;
	uint16_t port;
	atomic_long scrapes;
	pthread_mutex_t lock; /* guards what follows */
	double t;             /* monotonic seconds the counters are current at */
	double rps, slow, slo;
	double bucket[N_BOUNDS]; /* cumulative: requests with latency <= bounds[i] */
	double sum;
};

struct fake_vllm {
	size_t n;
	struct pod pods[];
};

/* Brings p's counters up to now at the rates set since p->t. Called with p->lock held. */
static void advance(struct pod *p, double now)
{
	double dt = now - p->t, n, slow, fast, lat_fast, lat_slow;

	p->t = now;
	if (dt <= 0 || p->rps <= 0)
		return;
	n = p->rps * dt;
	slow = n * p->slow;
	fast = n - slow;
	lat_fast = p->slo * 0.5;
	lat_slow = p->slo * 2.0;
	for (size_t i = 0; i < N_BOUNDS; i++)
		p->bucket[i] += (lat_fast <= bounds[i] ? fast : 0) +
				(lat_slow <= bounds[i] ? slow : 0);
	p->sum += fast * lat_fast + slow * lat_slow;
}

/* A float as prometheus_client writes it (floatToGoString): Python's repr ("5.0", "0.3",
 * "1e+16"), except that from seven integer digits on it switches to an exponent the way that
 * function does ("1.234567e+06"). */
static void py_float(double v, char *buf, size_t size)
{
	char tmp[40], digits[24], out[64];
	const char *e;
	int nd = 0, x, o = 0;

	if (isnan(v) || isinf(v) || v == 0) {
		snprintf(buf, size, "%s", isnan(v) ? "NaN" : isinf(v) ? (v > 0 ? "+Inf" : "-Inf")
							      : signbit(v) ? "-0.0" : "0.0");
		return;
	}
	/* The shortest mantissa that reads back as v, as repr finds it. */
	for (int p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	e = strchr(tmp, 'e');
	for (const char *s = tmp; s < e; s++)
		if (*s >= '0' && *s <= '9')
			digits[nd++] = *s;
	x = atoi(e + 1);
	if (v < 0)
		out[o++] = '-';
	if (x < -4 || x >= 16 || (v > 0 && x >= 6)) {
		bool go = x >= -4 && x < 16; /* Go's exponent: trailing zeros go, "e+0" and x */

		while (go && nd > 1 && digits[nd - 1] == '0')
			nd--;
		out[o++] = digits[0];
		if (nd > 1)
			o += sprintf(out + o, ".%.*s", nd - 1, digits + 1);
		if (go)
			o += sprintf(out + o, "e+0%d", x);
		else
			o += sprintf(out + o, "e%c%02d", x < 0 ? '-' : '+', abs(x));
	} else if (x < 0) {
		o += sprintf(out + o, "0.%.*s%.*s", -x - 1, "0000", nd, digits);
	} else {
		for (int i = 0; i <= x; i++)
			out[o++] = i < nd ? digits[i] : '0';
		o += sprintf(out + o, ".%.*s", nd > x + 1 ? nd - x - 1 : 1,
			     nd > x + 1 ? digits + x + 1 : "0");
	}
	out[o] = '\0';
	snprintf(buf, size, "%s", out);
}

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->size ? o->buf + o->len : NULL,
		      o->len < o->size ? o->size - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

size_t fake_vllm_render(fake_vllm_t *f, size_t pod, char *buf, size_t size)
{
	struct pod *p = &f->pods[pod];
	struct out o = { buf, size, 0 };
	double bucket[N_BOUNDS], sum, running;
	char v[64], le[64];

	assert(pod < f->n);
	pthread_mutex_lock(&p->lock);
	advance(p, test_now_s());
	memcpy(bucket, p->bucket, sizeof(bucket));
	sum = p->sum;
	/* Little's law: arrivals per second times the mean time in the system. */
	running = p->rps * p->slo * ((1 - p->slow) * 0.5 + p->slow * 2.0);
	pthread_mutex_unlock(&p->lock);

	if (size)
		buf[0] = '\0';
	put(&o, "# HELP vllm:num_requests_running Number of requests currently running on GPU.\n"
		"# TYPE vllm:num_requests_running gauge\n");
	py_float(floor(running), v, sizeof(v));
	put(&o, "vllm:num_requests_running{model_name=\"" MODEL "\"} %s\n", v);
	put(&o, "# HELP vllm:e2e_request_latency_seconds Histogram of end to end request latency "
		"in seconds.\n"
		"# TYPE vllm:e2e_request_latency_seconds histogram\n");
	for (size_t i = 0; i < N_BOUNDS; i++) {
		py_float(bounds[i], le, sizeof(le));
		py_float(floor(bucket[i]), v, sizeof(v));
		put(&o, "vllm:e2e_request_latency_seconds_bucket{model_name=\"" MODEL
			"\",le=\"%s\"} %s\n",
		    le, v);
	}
	py_float(floor(bucket[N_BOUNDS - 1]), v, sizeof(v));
	put(&o, "vllm:e2e_request_latency_seconds_count{model_name=\"" MODEL "\"} %s\n", v);
	py_float(sum, v, sizeof(v));
	put(&o, "vllm:e2e_request_latency_seconds_sum{model_name=\"" MODEL "\"} %s\n", v);
	return o.len;
}

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, char *body,
				 size_t len, const char *ctype)
{
	struct MHD_Response *res =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result r;

	if (!res)
		return MHD_NO;
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	r = MHD_queue_response(c, status, res);
	MHD_destroy_response(res);
	return r;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct pod *p = cls;
	char body[BODY_MAX];
	size_t len;

	(void)version;
	(void)upload;
	if (!*con_cls) {
		/* first call: headers only; answer on the next one */
		*con_cls = p;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* a body is not expected: drop it */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0)
		return send_body(c, 404, (char *)"not found\n", 10, "text/plain");
	len = fake_vllm_render(p->f, (size_t)(p - p->f->pods), body, sizeof(body));
	assert(len < sizeof(body)); /* the exposition has a fixed number of lines */
	atomic_fetch_add(&p->scrapes, 1);
	return send_body(c, 200, body, len, "text/plain; version=0.0.4; charset=utf-8");
}

int fake_vllm_start(size_t n_pods, fake_vllm_t **ret)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	fake_vllm_t *f;
	double now = test_now_s();
	int r = 0;

	if (n_pods == 0 || n_pods > FAKE_VLLM_MAX_PODS)
		return -EINVAL;
	f = calloc(1, sizeof(*f) + n_pods * sizeof(f->pods[0]));
	if (!f)
		return -ENOMEM;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (size_t i = 0; i < n_pods; i++) {
		struct pod *p = &f->pods[i];
		const union MHD_DaemonInfo *info;

		p->f = f;
		p->t = now;
		p->slo = 1.0;
		pthread_mutex_init(&p->lock, NULL);
		f->n = i + 1; /* what fake_vllm_stop cleans up */
		p->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL,
					NULL, handler, p, MHD_OPTION_SOCK_ADDR, &sin,
					MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
		if (!p->d) {
			r = -EADDRNOTAVAIL;
			goto out;
		}
		info = MHD_get_daemon_info(p->d, MHD_DAEMON_INFO_BIND_PORT);
		p->port = info ? info->port : 0;
		if (!p->port) {
			r = -EADDRNOTAVAIL;
			goto out;
		}
	}
	*ret = f;
	f = NULL;
out:
	fake_vllm_stop(f);
	return r;
}

fake_vllm_t *fake_vllm_stop(fake_vllm_t *f)
{
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n; i++) {
		fake_vllm_stop_pod(f, i);
		pthread_mutex_destroy(&f->pods[i].lock);
	}
	free(f);
	return NULL;
}

uint16_t fake_vllm_port(const fake_vllm_t *f, size_t pod)
{
	assert(pod < f->n);
	return f->pods[pod].port;
}

void fake_vllm_set(fake_vllm_t *f, size_t pod, double rps, double slow_fraction, double slo)
{
	struct pod *p = &f->pods[pod];

	assert(pod < f->n);
	assert(isfinite(rps) && rps >= 0);
	assert(slow_fraction >= 0 && slow_fraction <= 1);
	assert(isfinite(slo) && slo > 0);
	pthread_mutex_lock(&p->lock);
	advance(p, test_now_s()); /* the old rates up to now, the new ones from now on */
	p->rps = rps;
	p->slow = slow_fraction;
	p->slo = slo;
	pthread_mutex_unlock(&p->lock);
}

void fake_vllm_stop_pod(fake_vllm_t *f, size_t pod)
{
	struct pod *p = &f->pods[pod];

	assert(pod < f->n);
	if (p->d)
		MHD_stop_daemon(p->d);
	p->d = NULL;
}

long fake_vllm_scrapes(fake_vllm_t *f, size_t pod)
{
	assert(pod < f->n);
	return atomic_load(&f->pods[pod].scrapes);
}
