/* shapes.c - GPUs per node of OCI's GPU shapes (DESIGN.md section 6).
 *
 * The table is what the capacity plan starts from; `gpus_per_node` in a policy overrides it,
 * so a shape this table does not know yet never blocks an operator.
 */
#include <string.h>

#include "config/config.h"

static const struct shape {
	const char *name;
	int gpus;
	const char *resource;
} shapes[] = {
	{ "VM.GPU.A10.1", 1, "nvidia.com/gpu" },
	{ "VM.GPU.A10.2", 2, "nvidia.com/gpu" },
	{ "BM.GPU.A10.4", 4, "nvidia.com/gpu" },
	{ "VM.GPU2.1", 1, "nvidia.com/gpu" },
	{ "BM.GPU2.2", 2, "nvidia.com/gpu" },
	{ "VM.GPU3.1", 1, "nvidia.com/gpu" },
	{ "VM.GPU3.2", 2, "nvidia.com/gpu" },
	{ "VM.GPU3.4", 4, "nvidia.com/gpu" },
	{ "BM.GPU3.8", 8, "nvidia.com/gpu" },
	{ "BM.GPU4.8", 8, "nvidia.com/gpu" },
	{ "BM.GPU.B4.8", 8, "nvidia.com/gpu" },
	{ "BM.GPU.A100-v2.8", 8, "nvidia.com/gpu" },
	{ "BM.GPU.H100.8", 8, "nvidia.com/gpu" },
	{ "BM.GPU.H200.8", 8, "nvidia.com/gpu" },
	{ "BM.GPU.L40S.4", 4, "nvidia.com/gpu" },
	{ "BM.GPU.L40S-NC.4", 4, "nvidia.com/gpu" },
	{ "BM.GPU.MI300X.8", 8, "amd.com/gpu" },
	{ "BM.GPU.B200.8", 8, "nvidia.com/gpu" },
	{ "BM.GPU.B300.8", 8, "nvidia.com/gpu" },
	{ "BM.GPU.GB200.4", 4, "nvidia.com/gpu" },
	{ "BM.GPU.GB300.4", 4, "nvidia.com/gpu" },
};

int config_shape_gpus(const char *shape, const char **resource)
{
	if (!shape)
		return 0;
	/* OCI shape names are case-sensitive in the API; match them exactly. */
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (strcmp(shapes[i].name, shape) == 0) {
			if (resource)
				*resource = shapes[i].resource;
			return shapes[i].gpus;
		}
	return 0;
}
