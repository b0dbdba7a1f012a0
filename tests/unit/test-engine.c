/* test-engine.c - the engine's capacity arithmetic (DESIGN.md section 4, D3). */
#include <check.h>
#include <stdlib.h>

#include "engine/engine.h"

static const struct {
	int gpn, gpr, nodes, min_nodes, max_nodes, pool, max;
	int rpn, nodes_max, max_eff;
} cases[] = {
	/* H100.8, 2 GPUs, node autoscaling to 2 nodes: 4 per node, 8 hostable. */
	{ 8, 2, 1, 1, 2, 1, 8, 4, 2, 8 },
	/* A10.2, 1 GPU, no node autoscaling, pool 1: 2 hostable of 8. */
	{ 2, 1, 0, 0, 0, 1, 8, 2, 1, 2 },
	/* 3 GPUs on an 8-GPU shape: 2 per node (2 GPUs idle). */
	{ 8, 3, 1, 1, 3, 1, 10, 2, 3, 6 },
	/* Replica larger than the node: nothing fits. */
	{ 2, 4, 0, 0, 0, 5, 4, 0, 5, 0 },
	/* GPUs per node unknown: max_eff = max. */
	{ 0, 1, 0, 0, 0, 1, 7, -1, 1, 7 },
	/* Pool size without node autoscaling: 3 nodes x 4. */
	{ 4, 1, 0, 0, 0, 3, 100, 4, 3, 12 },
	/* Node autoscaling ignores the pool size. */
	{ 4, 1, 1, 1, 4, 3, 100, 4, 4, 16 },
	/* The largest counts the schema allows stay in range. */
	{ ENGINE_MAX_GPUS, 1, 1, 1, ENGINE_MAX_NODES, 1, ENGINE_MAX_REPLICAS, ENGINE_MAX_GPUS,
	  ENGINE_MAX_NODES, ENGINE_MAX_REPLICAS },
};

START_TEST(test_capacity)
{
	engine_policy_t p = { 0 };

	p.gpus_per_node = cases[_i].gpn;
	p.gpus_per_replica = cases[_i].gpr;
	p.nodes = cases[_i].nodes;
	p.min_nodes = cases[_i].min_nodes;
	p.max_nodes = cases[_i].max_nodes;
	p.pool_size = cases[_i].pool;
	p.max_replicas = cases[_i].max;
	p.min_replicas = 1;
	ck_assert_int_eq(engine_replicas_per_node(&p), cases[_i].rpn);
	ck_assert_int_eq(engine_nodes_max(&p), cases[_i].nodes_max);
	ck_assert_int_eq(engine_max_eff(&p), cases[_i].max_eff);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("capacity");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_capacity, 0, sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
