/* region.c - regions and their realms' domains (oci.h "regions and endpoints").
 *
 * Endpoints are https://SERVICE.REGION.DOMAIN, where DOMAIN is the second-level domain of
 * the region's realm. Commercial regions (realm oc1, oraclecloud.com) are the rule and
 * every region missing from the table below is taken as one: new commercial regions then
 * work without a release of ours. Only regions of the other realms are listed.
 *
 * Source: the public OCI Python SDK, src/oci/regions_definitions.py (REGION_REALMS and
 * REALMS, 2024). The SDK also learns regions at run time (~/.oci/regions-config.json,
 * $OCI_REGION_METADATA, instance metadata); we do not: a region of a realm added later is
 * reached by giving its endpoint explicitly.
 */
#include <string.h>

#include "oci/oci.h"

static const struct realm {
	const char *id;
	const char *domain;
} realms[] = {
	{ "oc1", "oraclecloud.com" },     { "oc2", "oraclegovcloud.com" },
	{ "oc3", "oraclegovcloud.com" },  { "oc4", "oraclegovcloud.uk" },
	{ "oc8", "oraclecloud8.com" },    { "oc9", "oraclecloud9.com" },
	{ "oc10", "oraclecloud10.com" },  { "oc14", "oraclecloud14.com" },
	{ "oc15", "oraclecloud15.com" },  { "oc19", "oraclecloud.eu" },
	{ "oc20", "oraclecloud20.com" },  { "oc21", "oraclecloud21.com" },
	{ "oc23", "oraclecloud23.com" },  { "oc24", "oraclecloud24.com" },
	{ "oc26", "oraclecloud26.com" },  { "oc29", "oraclecloud29.com" },
	{ "oc35", "oraclecloud35.com" },
};

/* Regions outside the commercial realm oc1. */
static const struct region {
	const char *name;
	const char *realm;
} regions[] = {
	{ "us-langley-1", "oc2" },      { "us-luke-1", "oc2" },

	{ "us-gov-ashburn-1", "oc3" },  { "us-gov-chicago-1", "oc3" },
	{ "us-gov-phoenix-1", "oc3" },

	{ "uk-gov-london-1", "oc4" },   { "uk-gov-cardiff-1", "oc4" },

	{ "ap-chiyoda-1", "oc8" },      { "ap-ibaraki-1", "oc8" },

	{ "me-dcc-muscat-1", "oc9" },

	{ "ap-dcc-canberra-1", "oc10" },

	{ "eu-dcc-milan-1", "oc14" },   { "eu-dcc-milan-2", "oc14" },
	{ "eu-dcc-dublin-1", "oc14" },  { "eu-dcc-dublin-2", "oc14" },
	{ "eu-dcc-rating-1", "oc14" },  { "eu-dcc-rating-2", "oc14" },

	{ "ap-dcc-gazipur-1", "oc15" },

	{ "eu-madrid-2", "oc19" },      { "eu-frankfurt-2", "oc19" },

	{ "eu-jovanovac-1", "oc20" },

	{ "me-dcc-doha-1", "oc21" },

	{ "us-somerset-1", "oc23" },    { "us-thames-1", "oc23" },

	{ "eu-dcc-zurich-1", "oc24" },  { "eu-crissier-1", "oc24" },

	{ "me-abudhabi-3", "oc26" },

	{ "me-abudhabi-2", "oc29" },    { "me-abudhabi-4", "oc29" },

	{ "ap-seoul-2", "oc35" },       { "ap-suwon-1", "oc35" },
	{ "ap-chuncheon-2", "oc35" },
};

const char *oci_region_domain(const char *region)
{
	for (size_t i = 0; region && i < sizeof(regions) / sizeof(regions[0]); i++) {
		if (strcmp(region, regions[i].name))
			continue;
		for (size_t j = 0; j < sizeof(realms) / sizeof(realms[0]); j++)
			if (!strcmp(regions[i].realm, realms[j].id))
				return realms[j].domain;
	}
	return realms[0].domain;
}

bool oci_region_valid(const char *region)
{
	size_t n;

	if (!region)
		return false;
	n = strlen(region);
	if (n < 3 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = region[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}
