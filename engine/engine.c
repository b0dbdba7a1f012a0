/* engine.c - the smoothing engine.
 *
 * So far: the capacity arithmetic of DESIGN section 4 (D3), which config/ uses to reject
 * policies whose minimum cannot be hosted. The tick pipeline lands with its own issue.
 */
#include "engine/engine.h"

int engine_replicas_per_node(const engine_policy_t *p)
{
	if (p->gpus_per_node <= 0 || p->gpus_per_replica <= 0)
		return -1;
	return p->gpus_per_node / p->gpus_per_replica;
}

int engine_nodes_max(const engine_policy_t *p)
{
	return p->nodes ? p->max_nodes : p->pool_size;
}

int engine_max_eff(const engine_policy_t *p)
{
	int rpn = engine_replicas_per_node(p);
	int64_t hostable;

	if (rpn < 0)
		return p->max_replicas;
	/* Bounded by ENGINE_MAX_NODES * ENGINE_MAX_GPUS: no overflow, but keep it 64-bit. */
	hostable = (int64_t)engine_nodes_max(p) * rpn;
	return hostable < p->max_replicas ? (int)hostable : p->max_replicas;
}
