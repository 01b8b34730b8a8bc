/* indexname.h - reading Tracardi's Elasticsearch index names (design.md §3). */
#ifndef TRACUP_INDEXNAME_H
#define TRACUP_INDEXNAME_H

#define TINDEX_TENANT_MAX 32

/* {prod-|static-}{prefix}.{tenant}.{name}[-{partition}], e.g.
 * "prod-0820.ffe49.tracardi-event-2024-3". */
struct tindex {
    char prefix_kind;                    /* 0 none (staging), 'p' prod-, 's' static- */
    char db_version[16];                 /* "0.7.4", "0.8.0" (three-digit prefixes get their dots back),
                                            "08x", "0820", "09x" as written */
    char tenant[TINDEX_TENANT_MAX + 1];  /* "ffe49", or a TENANT_NAME-pinned name */
    char name[128];                      /* "tracardi-event" */
    char partition[16];                  /* "2024-3", "2024-q1", "2024-year", or "" */
};

/* Parses a Tracardi index name. The tenant must be 5 lower-case hex digits
 * (md5-derived names). Returns 0, or -1 (out zeroed) for names that are not
 * Tracardi's: system indices ('.'), upper case, other layouts, names over
 * 255 bytes. */
int tindex_parse(const char *index, struct tindex *out);

/* The same, also accepting pinned_tenant (TENANT_NAME, or INSTANCE_PREFIX
 * before 0.8.1; [a-z0-9_-]{1,32}) as the tenant. pinned_tenant may be NULL. */
int tindex_parse_pinned(const char *index, const char *pinned_tenant, struct tindex *out);

/* The same, accepting any tenant TENANT_NAME could pin ([a-z0-9_-]{1,32}):
 * for grouping the indices of releases and tenants tracup has no container
 * of (multi-tenant hosts, earlier manual installs). */
int tindex_parse_loose(const char *index, struct tindex *out);

/* The release group an index belongs to: its db_version (borrowed from t).
 * Staging, production and static indices of one release share it. */
const char *tindex_release_key(const struct tindex *t);

/* True for a tenant name TENANT_NAME may pin: [a-z0-9_-]{1,32}. */
int tindex_valid_tenant(const char *tenant);

#endif
