/* releases.c - what each Tracardi release calls its indices, aliases, templates and migrations */
#include "releases.h"
#include "hash.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(n) { n, IK_SINGLE, NULL }
#define T(n) { n, IK_STATIC, NULL }
#define M(n, p) { n, IK_MULTI, p }

/* Index lists as each release's storage resource table defines them. */
static const struct index_def idx_080[] = {
	T("tracardi-bridge"), M("tracardi-event", "month"), S("tracardi-entity"), S("tracardi-entity-list"),
	M("tracardi-log", "month"), M("tracardi-user-log", "month"), M("tracardi-session", "month"),
	M("tracardi-profile", "month"), S("tracardi-console-log"), S("tracardi-user"), S("tracardi-pro"),
	S("tracardi-resource"), S("tracardi-source"), S("tracardi-event-redirect"), S("tracardi-flow"),
	S("tracardi-rule"), S("tracardi-segment"), S("tracardi-live-segment"), S("tracardi-event-management"),
	S("tracardi-event_to_profile"), S("tracardi-debug-info"), S("tracardi-api-instance"),
	S("tracardi-heartbeats"), S("tracardi-events-tags"), S("tracardi-consent-type"),
	S("tracardi-consent-data-compliance"), S("tracardi-event-reshaping"), S("tracardi-event-validation"),
	S("tracardi-destination"), T("tracardi-flow-action-plugins"), S("tracardi-import"), S("tracardi-task"),
	S("tracardi-report"), S("tracardi-identification-point"), S("tracardi-version"),
};

static const struct index_def idx_081[] = {
	T("tracardi-bridge"), M("tracardi-event", "month"), S("tracardi-entity"), S("tracardi-entity-list"),
	M("tracardi-log", "month"), M("tracardi-user-log", "month"), M("tracardi-session", "month"),
	M("tracardi-profile", "month"), M("tracardi-item", "month"), S("tracardi-console-log"),
	S("tracardi-user"), S("tracardi-pro"), S("tracardi-resource"), S("tracardi-source"),
	S("tracardi-event-redirect"), S("tracardi-flow"), S("tracardi-rule"), S("tracardi-segment"),
	S("tracardi-live-segment"), S("tracardi-content"), S("tracardi-setting"), S("tracardi-event-management"),
	S("tracardi-event_to_profile"), S("tracardi-debug-info"), S("tracardi-heartbeats"),
	S("tracardi-events-tags"), S("tracardi-consent-type"), S("tracardi-consent-data-compliance"),
	S("tracardi-event-reshaping"), S("tracardi-event-validation"), S("tracardi-destination"),
	T("tracardi-flow-action-plugins"), S("tracardi-import"), S("tracardi-task"), S("tracardi-report"),
	S("tracardi-identification-point"), S("tracardi-version"),
};

/* 39 indices: 10 partitioned (each with its own default partitioning), 2 static. */
static const struct index_def idx_082[] = {
	T("tracardi-bridge"), M("tracardi-event", "month"), M("tracardi-entity", "quarter"),
	M("tracardi-log", "month"), M("tracardi-user-log", "year"), M("tracardi-session", "quarter"),
	M("tracardi-profile", "quarter"), M("tracardi-item", "year"), M("tracardi-console-log", "month"),
	M("tracardi-dispatch-log", "month"), M("tracardi-field-update-log", "month"), S("tracardi-user"),
	S("tracardi-pro"), S("tracardi-entity-list"), S("tracardi-resource"), S("tracardi-source"),
	S("tracardi-event-redirect"), S("tracardi-flow"), S("tracardi-rule"), S("tracardi-segment"),
	S("tracardi-live-segment"), S("tracardi-content"), S("tracardi-setting"), S("tracardi-event-management"),
	S("tracardi-event_to_profile"), S("tracardi-debug-info"), S("tracardi-heartbeats"),
	S("tracardi-events-tags"), S("tracardi-consent-type"), S("tracardi-consent-data-compliance"),
	S("tracardi-event-reshaping"), S("tracardi-event-validation"), S("tracardi-destination"),
	T("tracardi-flow-action-plugins"), S("tracardi-import"), S("tracardi-task"), S("tracardi-report"),
	S("tracardi-identification-point"), S("tracardi-version"),
};

/* From 0.9 everything but the collected data lives in MySQL. */
static const struct index_def idx_09x[] = {
	M("tracardi-event", "quarter"), M("tracardi-entity", "quarter"), M("tracardi-log", "month"),
	M("tracardi-session", "quarter"), M("tracardi-profile", "quarter"), M("tracardi-field-update-log", "month"),
};

#define R(n) { n, n, 0, "reindex", NULL, 0, 0 }
#define RM(n) { n, n, 1, "reindex", NULL, 0, 0 }
#define R1(n, p) { n, n, 1, "reindex_to_one_index", p, 0, 0 }
#define SQL(n, t) { n, n, 0, "copy_to_mysql", t, 0, 0 }
#define SQLS(n, t) { n, n, 0, "copy_to_mysql", t, 1, 0 }
/* 0.9.0-dev process_engine/migration/elastic/0820_to_09x.json: "asynchronous": false */
#define RS(n) { n, n, 0, "reindex", NULL, 0, 1 }
#define RMS(n) { n, n, 1, "reindex", NULL, 0, 1 }

/* Migration plans, in the order the release's plan files list them. */
static const struct plan_entry plan_074_080[] = {
	R("tracardi-console-log"), RM("tracardi-user-log"), R("tracardi-destination"), R("tracardi-flow"),
	RM("tracardi-session"), R("tracardi-resource"), RM("tracardi-profile"), R("tracardi-source"),
	R("tracardi-task"), R("tracardi-consent-type"), R("tracardi-events-tags"), R("tracardi-user"),
	R("tracardi-pro"), R("tracardi-import"), R("tracardi-state-threshold"), R("tracardi-rule"),
	R("tracardi-event-management"), R("tracardi-event-redirect"), R("tracardi-event-reshaping"),
	R("tracardi-api-instance"), R("tracardi-live-segment"), R("tracardi-event-validation"),
	R("tracardi-entity"), R("tracardi-debug-info"), RM("tracardi-log"), R("tracardi-segment"),
	R("tracardi-report"), R("tracardi-bridge"), RM("tracardi-event"),
};

static const struct plan_entry plan_080_08x[] = {
	R("tracardi-rule"), R("tracardi-event-reshaping"), R("tracardi-live-segment"),
	R("tracardi-consent-data-compliance"), R("tracardi-entity-list"), R("tracardi-source"), RM("tracardi-log"),
	R("tracardi-debug-info"), R("tracardi-version"), R("tracardi-flow"), R("tracardi-destination"),
	R("tracardi-event_to_profile"), R("tracardi-import"), R("tracardi-console-log"), R("tracardi-task"),
	R("tracardi-user"), RM("tracardi-profile"), R("tracardi-event-redirect"), R("tracardi-segment"),
	R("tracardi-consent-type"), RM("tracardi-user-log"), R("tracardi-events-tags"), R("tracardi-report"),
	RM("tracardi-session"), R("tracardi-event-management"), R("tracardi-entity"),
	R("tracardi-identification-point"), R("tracardi-heartbeats"), R("tracardi-resource"), R("tracardi-pro"),
	RM("tracardi-event"), R("tracardi-event-validation"),
};

static const struct plan_entry plan_08x_082x[] = {
	R("tracardi-entity"), R("tracardi-consent-type"), R("tracardi-segment"), R("tracardi-identification-point"),
	R("tracardi-events-tags"), R("tracardi-source"), R("tracardi-consent-data-compliance"),
	RM("tracardi-user-log"), R("tracardi-event-reshaping"), R("tracardi-heartbeats"), R("tracardi-pro"),
	R("tracardi-task"), R("tracardi-live-segment"), R("tracardi-event-management"), R("tracardi-user"),
	RM("tracardi-log"), R("tracardi-destination"), R("tracardi-event-redirect"), R("tracardi-content"),
	R("tracardi-entity-list"), R("tracardi-report"), RM("tracardi-session"), R("tracardi-debug-info"),
	R("tracardi-event_to_profile"), R("tracardi-rule"), R("tracardi-resource"), R("tracardi-flow"),
	R("tracardi-import"), R("tracardi-event-validation"), RM("tracardi-item"), R("tracardi-console-log"),
	R1("tracardi-profile", "quarter"), R("tracardi-version"), R("tracardi-setting"),
	R1("tracardi-event", "quarter"),
};

static const struct plan_entry plan_082x_0820[] = {
	R("tracardi-entity"), R("tracardi-consent-type"), R("tracardi-segment"), R("tracardi-identification-point"),
	R("tracardi-events-tags"), R("tracardi-source"), R("tracardi-consent-data-compliance"),
	RM("tracardi-user-log"), R("tracardi-event-reshaping"), R("tracardi-heartbeats"), R("tracardi-pro"),
	R("tracardi-task"), R("tracardi-live-segment"), R("tracardi-event-management"), R("tracardi-user"),
	RM("tracardi-log"), R("tracardi-destination"), R("tracardi-event-redirect"), R("tracardi-content"),
	R("tracardi-entity-list"), R("tracardi-report"), RM("tracardi-session"), R("tracardi-debug-info"),
	R("tracardi-event_to_profile"), R("tracardi-rule"), R("tracardi-resource"), R("tracardi-flow"),
	R("tracardi-import"), R("tracardi-event-validation"), RM("tracardi-item"), R("tracardi-console-log"),
	RM("tracardi-profile"), R("tracardi-version"), R("tracardi-setting"), RM("tracardi-event"),
};

static const struct plan_entry plan_0820_09x[] = {
	SQLS("tracardi-bridge", "bridge"), SQL("tracardi-consent-type", "consent-type"),
	SQL("tracardi-segment", "segment"), SQL("tracardi-identification-point", "identification-point"),
	SQL("tracardi-events-tags", "events-tags"), SQL("tracardi-source", "event-source"),
	SQL("tracardi-consent-data-compliance", "consent-data-compliance"),
	SQL("tracardi-event-reshaping", "event-reshaping"), SQL("tracardi-task", "task"),
	SQL("tracardi-live-segment", "live-segment"), SQL("tracardi-event-management", "event-management"),
	SQL("tracardi-user", "user"), SQL("tracardi-destination", "destination"),
	SQL("tracardi-event-redirect", "event-redirect"), SQL("tracardi-report", "report"),
	SQL("tracardi-event_to_profile", "event_to_profile"), SQL("tracardi-rule", "rule"),
	SQL("tracardi-resource", "resource"), SQL("tracardi-flow", "flow"), SQL("tracardi-import", "import"),
	SQL("tracardi-event-validation", "event-validation"), SQL("tracardi-setting", "setting"),
	RMS("tracardi-log"), RMS("tracardi-session"), RM("tracardi-profile"), RMS("tracardi-event"),
	RS("tracardi-entity"),
};

static const struct migration_def mig_080[] = { { "074", plan_074_080, N(plan_074_080), 0, NULL, 0 } };
static const struct migration_def mig_081[] = { { "080", plan_080_08x, N(plan_080_08x), 1, NULL, 0 } };
static const struct migration_def mig_082[] = {
	/* tracardi 0.8.2.1 process_engine/migration/migration_manager.py available_migrations; its
	 * _get_partitioned_indices pattern loses {4} and {1,2} in an f-string (facts 34) */
	{ "08x", plan_08x_082x, N(plan_08x_082x), 0, "08x_to_082x", 1 },
	{ "082x", plan_082x_0820, N(plan_082x_0820), 0, "082x_to_0820", 1 },
};
static const struct migration_def mig_09x[] = { { "0820", plan_0820_09x, N(plan_0820_09x), 0, NULL, 0 } };

static const struct release releases[] = {
	{ "0.8.0", "0.8.0", idx_080, N(idx_080), mig_080, N(mig_080), 0, 0, 1 },
	{ "0.8.1", "08x", idx_081, N(idx_081), mig_081, N(mig_081), 0, 0, 1 },
	{ "0.8.2", "0820", idx_082, N(idx_082), mig_082, N(mig_082), 1, 0, 1 },
	{ "0.9.0", "09x", idx_09x, N(idx_09x), mig_09x, N(mig_09x), 1, 1, 1 },
	{ "1.0.0", "09x", idx_09x, N(idx_09x), mig_09x, N(mig_09x), 1, 1, 1 },
};

/*
 * The indices whose mapping asks for ELASTIC_INDEX_SHARDS (%%SHARDS%%); every other one asks
 * for ELASTIC_CONF_INDEX_SHARDS (tracardi tracardi/service/setup/mappings/ files): event, log,
 * session and profile, plus entity, console-log and dispatch-log from 0.8.2. user-log, item
 * and field-update-log are partitioned but take the config shard count.
 */
int idx_data_shards(const struct release *rel, const char *name)
{
	static const char *const base[] = { "tracardi-event", "tracardi-log", "tracardi-session", "tracardi-profile",
					    NULL };
	static const char *const from082[] = { "tracardi-entity", "tracardi-console-log", "tracardi-dispatch-log",
					       NULL };
	for (size_t i = 0; base[i]; i++)
		if (strcmp(name, base[i]) == 0)
			return 1;
	for (size_t i = 0; rel->v082 && from082[i]; i++)
		if (strcmp(name, from082[i]) == 0)
			return 1;
	return 0;
}

const struct release *release_find(const char *version)
{
	for (size_t i = 0; i < N(releases); i++)
		if (strcmp(releases[i].version, version) == 0)
			return &releases[i];
	return NULL;
}

const char *release_names(void)
{
	return "0.8.0, 0.8.1, 0.8.2, 0.9.0, 1.0.0";
}

void naming_init(struct naming *nm, const struct release *rel)
{
	char md5[33];
	const char *v = rel->db_version;
	size_t o = 0;
	memset(nm, 0, sizeof *nm);
	nm->rel = rel;
	for (; *v && o + 1 < sizeof nm->prefix; v++)
		if (*v != '.')
			nm->prefix[o++] = *v;
	/* 0.8.0 named tenants INSTANCE_PREFIX and hashed the version string itself */
	int old = strcmp(rel->version, "0.8.0") == 0;
	const char *pinned = getenv(old ? "INSTANCE_PREFIX" : "TENANT_NAME");
	if (pinned && *pinned) {
		snprintf(nm->tenant, sizeof nm->tenant, "%s", pinned);
	} else {
		const char *basis = old ? rel->version : rel->db_version;
		md5_hex(basis, strlen(basis), md5);
		snprintf(nm->tenant, sizeof nm->tenant, "%.5s", md5);
	}
	const char *date = getenv("STANDIN_DATE");
	int y = 0, m = 0;
	if (!date || sscanf(date, "%d-%d", &y, &m) != 2 || m < 1 || m > 12) {
		time_t t = time(NULL);
		struct tm tm;
		localtime_r(&t, &tm);
		y = tm.tm_year + 1900;
		m = tm.tm_mon + 1;
	}
	nm->year = y;
	nm->month = m;
}

void partition_suffix(const struct naming *nm, const char *partition, char *out, size_t n)
{
	if (strcmp(partition, "quarter") == 0)
		snprintf(out, n, "%d-q%d", nm->year, (nm->month - 1) / 3 + 1);
	else if (strcmp(partition, "year") == 0)
		snprintf(out, n, "%d-year", nm->year);
	else
		snprintf(out, n, "%d-%d", nm->year, nm->month);
}

static const char *ctx_prefix(const struct index_def *d, int production)
{
	if (d->kind == IK_STATIC)
		return "static-";
	return production ? "prod-" : "";
}

char *idx_write_name(const struct naming *nm, const struct index_def *d, int production)
{
	if (d->kind == IK_MULTI) {
		char suffix[32];
		partition_suffix(nm, d->partition, suffix, sizeof suffix);
		return xasprintf("%s%s.%s.%s-%s", ctx_prefix(d, production), nm->prefix, nm->tenant, d->name, suffix);
	}
	return xasprintf("%s%s.%s.%s", ctx_prefix(d, production), nm->prefix, nm->tenant, d->name);
}

char *idx_alias_name(const struct naming *nm, const struct index_def *d, int production)
{
	/* 0.8.x aliases carry no version: the tenant name alone separates releases */
	if (nm->rel->v09)
		return xasprintf("%s%s.%s.%s", ctx_prefix(d, production), nm->prefix, nm->tenant, d->name);
	return xasprintf("%s%s.%s", ctx_prefix(d, production), nm->tenant, d->name);
}

char *idx_template_name(const struct naming *nm, const struct index_def *d, int production)
{
	return xasprintf("%stemplate.%s.%s.%s", ctx_prefix(d, production), nm->prefix, nm->tenant, d->name);
}

char *idx_template_pattern(const struct naming *nm, const struct index_def *d, int production)
{
	return xasprintf("%s%s.%s.%s-*-*", ctx_prefix(d, production), nm->prefix, nm->tenant, d->name);
}

const struct index_def *idx_by_name(const struct release *rel, const char *name)
{
	for (size_t i = 0; i < rel->nindices; i++)
		if (strcmp(rel->indices[i].name, name) == 0)
			return &rel->indices[i];
	return NULL;
}

char *mysql_table_index(const struct naming *nm, const char *table, int production)
{
	return xasprintf(".standin-mysql.%s%s.%s.%s", production ? "prod-" : "", nm->prefix, nm->tenant, table);
}

char *task_index_name(const struct naming *nm, int production)
{
	const struct index_def *d = idx_by_name(nm->rel, "tracardi-task");
	if (d)
		return idx_write_name(nm, d, production);
	return mysql_table_index(nm, "task", production);
}

char *user_index_name(const struct naming *nm)
{
	/* users are always read in the staging context */
	const struct index_def *d = idx_by_name(nm->rel, "tracardi-user");
	if (d)
		return idx_alias_name(nm, d, 0);
	return mysql_table_index(nm, "user", 0);
}

/* mkdir -p for an absolute path */
static int mkdir_p(const char *dir)
{
	char buf[512];
	if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

void release_write_schemas(const struct release *rel, const char *dir)
{
	for (size_t m = 0; m < rel->nmigrations; m++) {
		const struct migration_def *mig = &rel->migrations[m];
		if (!mig->file)
			continue;
		json_t *arr = json_array();
		/* the real files open with a comment string; readers skip what is not an object */
		json_array_append_new(arr, json_string("stand-in schemas: no painless scripts (the stand-in es runs none)"));
		for (size_t k = 0; k < mig->n; k++) {
			const struct plan_entry *e = &mig->entries[k];
			char id[41];
			char *seed = xasprintf("%s>%s#%zu", e->from, e->to, k);
			sha1_hex(seed, strlen(seed), id);
			free(seed);
			json_t *params = json_object();
			if (strcmp(e->worker, "reindex_to_one_index") == 0) {
				json_object_set_new(params, "partitioning", json_string(e->param));
				json_object_set_new(params, "replace", json_string("(\\d{4}-\\d+)$"));
			}
			json_array_append_new(arr, json_pack("{s:s, s:{s:s, s:s, s:b, s:n, s:n}, s:s, s:o, s:b}", "id", id,
							     "copy_index", "from_index", e->from, "to_index", e->to, "multi",
							     e->multi, "production", "script", "worker", e->worker, "params",
							     params, "asynchronous", !e->sync));
		}
		char *path = xasprintf("%s/%s.json", dir, mig->file);
		if (mkdir_p(dir) < 0 || json_dump_file(arr, path, JSON_INDENT(1)) < 0)
			logmsg("warning: cannot write the schema file %s", path);
		else
			logmsg("schemas of the %s migration in %s", mig->from_db, path);
		free(path);
		json_decref(arr);
	}
}
