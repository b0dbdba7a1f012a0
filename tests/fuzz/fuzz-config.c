/* fuzz-config.c - libFuzzer target for the policy file parser (config_load_buffer).
 *
 * The input is handed over as it comes: not NUL-terminated, any bytes, any length, so an
 * over-read shows up under ASan. Besides "no crash, no leak, no hang" the target holds the
 * parser to the contract of config.h and drives the printers over whatever it accepted:
 *   - 0 means a config and no error; failure means no config (*ret untouched) and, for
 *     -EINVAL, at least one error saying why;
 *   - every diagnostic kept has a message, and at most CONFIG_MAX_DIAGS are kept;
 *   - check's printout (policies, capacity plan) works on every accepted file.
 * A broken invariant aborts, which libFuzzer reports as a crash with the input saved.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/config/, dictionary config.dict.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "tests/fuzz/fuzz-common.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A sentinel to tell "untouched" from "set to NULL" on failure. */
	config_t *const untouched = (config_t *)(uintptr_t)&sink;
	config_t *cfg = untouched;
	config_diags_t diags = {0};
	int r;

	r = config_load_buffer((const char *)data, size, &cfg, &diags);
	if (r == 0) {
		REQUIRE(cfg != untouched && cfg != NULL);
		REQUIRE(diags.errors == 0);
		for (size_t i = 0; i < cfg->n_policies; i++) {
			config_capacity_t cap;

			config_print_policy(&cfg->policies[i], sink);
			config_capacity(&cfg->policies[i], &cap);
			fprintf(sink, "%d %d %d %d\n", cap.gpus_per_node, cap.replicas_per_node,
				cap.hostable, cap.max_eff);
		}
	} else {
		REQUIRE(r < 0);
		REQUIRE(cfg == untouched);
		cfg = NULL;
		if (r == -EINVAL)
			REQUIRE(diags.errors > 0);
	}

	REQUIRE(diags.n <= CONFIG_MAX_DIAGS);
	REQUIRE(diags.n + diags.dropped == diags.errors + diags.warnings);
	for (size_t i = 0; i < diags.n; i++)
		REQUIRE(diags.v[i].msg != NULL);
	config_diags_print(&diags, "fuzz.yaml", sink);

	config_free(cfg);
	config_diags_clear(&diags);
	return 0;
}
