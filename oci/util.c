/* util.c - the small pieces oci/'s files share: the monotonic clock, random request ids,
 * OCI's error bodies, UTC timestamps for messages. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "oci/oci-private.h"

int64_t oci_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Should OpenSSL's generator ever fail: the clock and a counter (only backoff jitter and
 * request ids depend on these bits). */
void oci_random_bytes(void *buf, size_t n)
{
	static uint64_t counter;
	unsigned char *p = buf;
	struct timespec ts;
	uint64_t x;

	if (RAND_bytes(buf, (int)n) == 1)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
	    ++counter * 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
}

void oci_request_id(char buf[OCI_REQUEST_ID_LEN])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char rnd[(OCI_REQUEST_ID_LEN - 1) / 2];

	oci_random_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++) {
		buf[2 * i] = hex[rnd[i] >> 4];
		buf[2 * i + 1] = hex[rnd[i] & 15];
	}
	buf[OCI_REQUEST_ID_LEN - 1] = '\0';
}

void oci_reply_read(const http_response_t *res, oci_reply_t *rp)
{
	const char *rid = http_response_header(res, "opc-request-id");
	const cJSON *code, *msg;
	cJSON *j;

	memset(rp, 0, sizeof(*rp));
	if (rid)
		http_errf(rp->request_id, sizeof(rp->request_id), "%s", rid);
	if (res->outcome == HTTP_SUCCESS || !res->body || !res->body_len ||
	    res->body_len > OCI_MAX_ERROR_BODY)
		return;
	j = cJSON_ParseWithLength(res->body, res->body_len);
	code = cJSON_GetObjectItemCaseSensitive(j, "code");
	msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsString(code) && code->valuestring)
		http_errf(rp->code, sizeof(rp->code), "%s", code->valuestring);
	if (cJSON_IsString(msg) && msg->valuestring)
		http_errf(rp->message, sizeof(rp->message), "%s", msg->valuestring);
	cJSON_Delete(j);
}

void oci_iso_time(time_t t, char buf[32])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, 32, "%lld", (long long)t);
}
