/* fuzz-ocipool.c - libFuzzer target for the Container Engine body parsers of oci.h:
 * oci_node_pool_parse() (what GetNodePool answers, and what a resize or a delete reads
 * again for its etag) and oci_work_request_parse().
 *
 * Each input goes to both parsers, in a buffer of exactly its size (no NUL), so an
 * over-read shows up under ASan. Besides "no crash, no leak, no hang" the target holds the
 * code to oci.h:
 *   - a parser returns 0, -EINVAL or -ENOMEM; on failure err is one NUL-terminated,
 *     non-empty line and the output is untouched;
 *   - a pool has size -1 or 0..INT32_MAX, at most 10,000 nodes, nodes NULL exactly when
 *     there are none, no etag (that comes from a header), and an error message only with
 *     a node's nodeError;
 *   - a work request's percent_complete is -1 (absent) or within 0..100;
 *   - clearing twice is safe and leaves the output zeroed;
 *   - parsing is deterministic: the same bytes give the same pool.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/ocipool/, dictionary ocipool.dict.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/oci.h"
#include "tests/fuzz/fuzz-common.h"

#define MAX_NODES 10000

static void check_line(const char *s, size_t size)
{
	REQUIRE(memchr(s, '\0', size) != NULL);
	REQUIRE(s[0] != '\0');
	REQUIRE(strchr(s, '\n') == NULL);
}

static bool zeroed(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_pool(const oci_node_pool_t *p)
{
	REQUIRE(p->size >= -1);
	REQUIRE(p->n_nodes <= MAX_NODES);
	REQUIRE((p->nodes != NULL) == (p->n_nodes > 0));
	REQUIRE(p->etag == NULL);
	fprintf(sink, "%s %s %s %d\n", p->id ? p->id : "-", p->name ? p->name : "-",
		p->lifecycle_state ? p->lifecycle_state : "-", (int)p->size);
	for (size_t i = 0; i < p->n_nodes; i++) {
		const oci_node_t *n = &p->nodes[i];

		fprintf(sink, "%s %s %s %s %s %s\n", n->id ? n->id : "-", n->name ? n->name : "-",
			n->lifecycle_state ? n->lifecycle_state : "-",
			n->private_ip ? n->private_ip : "-", n->error_code ? n->error_code : "-",
			n->error_message ? n->error_message : "-");
	}
}

static bool same_pool(const oci_node_pool_t *a, const oci_node_pool_t *b)
{
	if (!same(a->id, b->id) || !same(a->name, b->name) || !same(a->cluster_id, b->cluster_id) ||
	    !same(a->compartment_id, b->compartment_id) ||
	    !same(a->lifecycle_state, b->lifecycle_state) || !same(a->node_shape, b->node_shape) ||
	    a->size != b->size || a->n_nodes != b->n_nodes)
		return false;
	for (size_t i = 0; i < a->n_nodes; i++) {
		const oci_node_t *x = &a->nodes[i], *y = &b->nodes[i];

		if (!same(x->id, y->id) || !same(x->name, y->name) ||
		    !same(x->lifecycle_state, y->lifecycle_state) ||
		    !same(x->private_ip, y->private_ip) || !same(x->error_code, y->error_code) ||
		    !same(x->error_message, y->error_message))
			return false;
	}
	return true;
}

static void fuzz_pool(const char *buf, size_t size)
{
	oci_node_pool_t p, q;
	char err[512];
	int rc;

	memset(&p, 0, sizeof(p));
	rc = oci_node_pool_parse(buf, size, &p, err, sizeof(err));
	REQUIRE(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc < 0) {
		check_line(err, sizeof(err));
		REQUIRE(zeroed(&p, sizeof(p)));
		fprintf(sink, "%s\n", err);
		return;
	}
	check_pool(&p);
	memset(&q, 0, sizeof(q));
	REQUIRE(oci_node_pool_parse(buf, size, &q, err, sizeof(err)) == 0);
	REQUIRE(same_pool(&p, &q));
	oci_node_pool_clear(&q);
	oci_node_pool_clear(&p);
	REQUIRE(zeroed(&p, sizeof(p)));
	oci_node_pool_clear(&p);
	REQUIRE(zeroed(&p, sizeof(p)));
}

static void fuzz_work_request(const char *buf, size_t size)
{
	oci_work_request_t w;
	char err[512];
	int rc;

	memset(&w, 0, sizeof(w));
	rc = oci_work_request_parse(buf, size, &w, err, sizeof(err));
	REQUIRE(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc < 0) {
		check_line(err, sizeof(err));
		REQUIRE(zeroed(&w, sizeof(w)));
		return;
	}
	REQUIRE(w.percent_complete == -1 ||
		(w.percent_complete >= 0 && w.percent_complete <= 100));
	fprintf(sink, "%s %s %s %g\n", w.id ? w.id : "-", w.operation_type ? w.operation_type : "-",
		w.status ? w.status : "-", w.percent_complete);
	oci_work_request_clear(&w);
	REQUIRE(zeroed(&w, sizeof(w)));
	oci_work_request_clear(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	fuzz_pool(buf, size);
	fuzz_work_request(buf, size);
	free(buf);
	return 0;
}
