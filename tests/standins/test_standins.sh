#!/usr/bin/env bash
# Tests for tracup-standin: runs every mode natively on 127.0.0.1 and pins behaviour to
# design.md §3 (index names, install, per-release tokens, migrations, shard limit, faults).
#
# Needs (Debian packages): bash, curl, jq, redis-server.
#   apt-get install -y curl jq redis-server
# Usage: test_standins.sh path/to/tracup-standin
set -u

BIN=${1:?usage: test_standins.sh path/to/tracup-standin}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
for tool in curl jq redis-server redis-cli; do
	command -v "$tool" >/dev/null || { echo "error: '$tool' is missing (apt-get install curl jq redis-server)"; exit 1; }
done

T=$(mktemp -d /tmp/standin-test.XXXXXX)
PIDS=()
PASS=0
FAIL=0
USED_PORTS=" "
read -r EPHEMERAL_LOW _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || EPHEMERAL_LOW=32768
PORT_LOW=20000
PORT_SPAN=$((EPHEMERAL_LOW > PORT_LOW + 1000 ? EPHEMERAL_LOW - PORT_LOW : 10000))

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$FAIL" -gt 0 ]; then
		echo "--- logs kept in $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "not ok - $1${2:+ ($2)}"; }
check() { # check NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "expected '$2', got '$3'"; fi
}

# free_port VAR: a port nobody listens on and not handed out before (no subshell, so the
# list of ports already given and the random state carry over)
free_port() {
	local p
	for _ in $(seq 1 200); do
		# below the ephemeral range, so an outgoing connection cannot take it meanwhile
		p=$((PORT_LOW + RANDOM % PORT_SPAN))
		case "$USED_PORTS" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS="$USED_PORTS$p "
			printf -v "$1" '%s' "$p"
			return 0
		fi
	done
	echo "error: no free port" >&2
	exit 1
}

# start NAME VAR=value… -- command…; the PID lands in PID_NAME
start() {
	local name=$1
	shift
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$@" >"$T/$name.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	printf -v "PID_$name" '%s' "$pid"
}

stop() { # stop PID: SIGTERM, then wait at most 3 s; the exit status lands in STOP_RC
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; STOP_RC=killed; return; fi
	wait "$pid" 2>/dev/null
	STOP_RC=$?
}

wait_http() { # wait_http URL: up to 10 s for any HTTP answer
	for _ in $(seq 1 100); do
		curl -s -o /dev/null -m 1 "$1" && return 0
		sleep 0.1
	done
	return 1
}

wait_port() {
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

J='Content-Type: application/json'
for v in ES_PORT R1_PORT R2_PORT R3_PORT A1_PORT A2_PORT A3_PORT NOSQL SQL A9 A9X G U; do free_port "$v"; done
ES=http://127.0.0.1:$ES_PORT A1=http://127.0.0.1:$A1_PORT A2=http://127.0.0.1:$A2_PORT A3=http://127.0.0.1:$A3_PORT
COMMON=(STANDIN_BIND=127.0.0.1 STANDIN_DATE=2024-03 ELASTIC_HOST="http://127.0.0.1:$ES_PORT")

for r in R1 R2 R3; do
	port_var=${r}_PORT
	start "redis$r" -- redis-server --port "${!port_var}" --bind 127.0.0.1 --save "" --appendonly no
done
start es STANDIN_BIND=127.0.0.1 STANDIN_PORT="$ES_PORT" STANDIN_DATA="$T/esdata" -- "$BIN" es
start api081 "${COMMON[@]}" STANDIN_VERSION=0.8.1 STANDIN_PORT="$A1_PORT" REDIS_HOST="redis://127.0.0.1:$R1_PORT" -- "$BIN" api
start worker081 "${COMMON[@]}" STANDIN_VERSION=0.8.1 REDIS_HOST="redis://127.0.0.1:$R1_PORT" -- "$BIN" worker
start api082 "${COMMON[@]}" STANDIN_VERSION=0.8.2 STANDIN_SCHEMA_DIR="$T/schemas" STANDIN_PORT="$A2_PORT" REDIS_HOST="redis://127.0.0.1:$R2_PORT" -- "$BIN" api
# a second 0.8.2 tenant, whose worker plays the fault switches
start api082f "${COMMON[@]}" STANDIN_VERSION=0.8.2 TENANT_NAME=faulty STANDIN_PORT="$A3_PORT" REDIS_HOST="redis://127.0.0.1:$R3_PORT" -- "$BIN" api
for u in "$ES" "$A1/healthcheck" "$A2/healthcheck" "$A3/healthcheck"; do
	wait_http "$u" || bad "startup of $u"
done
for p in "$R1_PORT" "$R2_PORT" "$R3_PORT"; do wait_port "$p" || bad "redis on $p"; done

echo "# elasticsearch"
check "es answers version 7.13.2" "7.13.2" "$(curl -s $ES/ | jq -r .version.number)"
check "es tagline" "You Know, for Search" "$(curl -s $ES/ | jq -r .tagline)"
check "es health has one data node" "1" "$(curl -s $ES/_cluster/health | jq -r .number_of_data_nodes)"

echo "# api info"
check "0.8.1 /info/version is a JSON string" '"0.8.1"' "$(curl -s $A1/info/version)"
check "0.8.1 has no GET /" "404" "$(curl -s -o /dev/null -w '%{http_code}' $A1/)"
check "0.8.1 details: db_version and name" "08x 01506" "$(curl -s $A1/info/version/details | jq -r '.db_version + " " + .name')"
check "0.8.2 GET /: version, db_version, name" "0.8.2 0820 ffe49" "$(curl -s $A2/ | jq -r '.version + " " + .db_version + " " + .name')"
check "0.8.2 not installed yet" "false" "$(curl -s $A2/ | jq -r .installed.schema)"
check "healthcheck echoes an empty body" '""' "$(curl -s $A2/healthcheck)"
check "GET /install before install" "false false true null" \
	"$(curl -s $A2/install | jq -r '"\(.schema_ok) \(.admin_ok) \(.form_ok) \(.warning)"')"

echo "# install"
INSTALL='{"username":"admin@example.com","password":"secret-pw","token":"tracardi","needs_admin":true,"update_mapping":false}'
check "install with a wrong token is 403" "403" \
	"$(curl -s -o /dev/null -w '%{http_code}' -XPOST $A2/install -H "$J" -d '{"username":"admin@example.com","password":"x","token":"wrong","needs_admin":true}')"
check "install without fields is 422" "422" "$(curl -s -o /dev/null -w '%{http_code}' -XPOST $A2/install -H "$J" -d '{}')"
check "0.8.1 install" "200" "$(curl -s -o $T/i81.json -w '%{http_code}' -XPOST $A1/install -H "$J" -d "$INSTALL")"
check "0.8.2 install" "200" "$(curl -s -o $T/i82.json -w '%{http_code}' -XPOST $A2/install -H "$J" -d "$INSTALL")"
check "0.8.2 faulty-tenant install" "200" "$(curl -s -o /dev/null -w '%{http_code}' -XPOST $A3/install -H "$J" -d "$INSTALL")"
check "install answers [staging, production] with the admin made in staging" "2 true false" \
	"$(jq -r '"\(length) \(.[0].admin) \(.[1].admin)"' $T/i82.json)"
curl -s "$ES/_cat/indices?format=json" >$T/cat.json
has() { jq -e --arg i "$1" 'map(.index) | index($i) != null' $T/cat.json >/dev/null && echo yes || echo no; }
check "0.8.1 staging event index" yes "$(has 08x.01506.tracardi-event-2024-3)"
check "0.8.1 production event index" yes "$(has prod-08x.01506.tracardi-event-2024-3)"
check "0.8.1 static bridge index" yes "$(has static-08x.01506.tracardi-bridge)"
check "0.8.1 index count (35 + 35 + 2 static)" 72 "$(jq '[.[] | select(.index | test("^(prod-|static-)?08x\\.01506\\."))] | length' $T/cat.json)"
check "0.8.2 staging event index (month)" yes "$(has 0820.ffe49.tracardi-event-2024-3)"
check "0.8.2 production profile index (quarter)" yes "$(has prod-0820.ffe49.tracardi-profile-2024-q1)"
check "0.8.2 user-log index (year)" yes "$(has 0820.ffe49.tracardi-user-log-2024-year)"
check "0.8.2 index count (37 + 37 + 2 static = 39 each context)" 76 "$(jq '[.[] | select(.index | test("^(prod-|static-)?0820\\.ffe49\\."))] | length' $T/cat.json)"
check "0.8.2 partitioned indices have 3 shards, no replica on one node" "3 0" \
	"$(jq -r '.[] | select(.index == "0820.ffe49.tracardi-event-2024-3") | .pri + " " + .rep' $T/cat.json)"
check "0.8.x alias has no version" "0820.ffe49.tracardi-event-2024-3" "$(curl -s $ES/_alias/ffe49.tracardi-event | jq -r 'keys[0]')"
check "production alias" "prod-0820.ffe49.tracardi-event-2024-3" "$(curl -s $ES/_alias/prod-ffe49.tracardi-event | jq -r 'keys[0]')"
check "index template per context" "prod-0820.ffe49.tracardi-event-*-*" \
	"$(curl -s $ES/_index_template/prod-template.0820.ffe49.tracardi-event | jq -r '.index_templates[0].index_template.index_patterns[0]')"
check "GET /install after install" "true true" "$(curl -s $A2/install | jq -r '"\(.schema_ok) \(.admin_ok)"')"
# Facts row 31: install creates only what is missing, so a release that shares the indices
# finds nothing to do; a second install adds no index, no template and no admin.
rel82() { curl -s "$ES/_cat/indices?format=json" | jq -r '[.[] | select(.index | test("^(prod-|static-)?0820\\.ffe49\\.")) | (.["docs.count"] | tonumber)] | "\(length) \(add)"'; }
tpl82() { curl -s "$ES/_index_template" | jq '[.index_templates[] | select(.name | test("0820\\.ffe49"))] | length'; }
B82="$(rel82) $(tpl82)"
check "…counted over 0.8.2's 76 indices" 76 "${B82%% *}"
curl -s -o /dev/null -XPOST $A2/install -H "$J" -d "$INSTALL"
check "a second install on 0.8.2's indices creates nothing (indices, documents, templates)" "$B82" "$(rel82) $(tpl82)"
pri() { jq --arg re "$1" '[.[] | select(.index | test($re)) | .pri | tonumber] | add' $T/cat.json; }
check "0.8.1 install opens 88 primary shards (4 data indices x 3 x 2 + 31 x 2 + 2 static)" 88 \
	"$(pri '^(prod-|static-)?08x\.01506\.')"
check "0.8.2 install opens 104 primary shards (7 x 3 x 2 + 30 x 2 + 2 static)" 104 \
	"$(pri '^(prod-|static-)?0820\.ffe49\.')"
check "0.8.2 user-log, item and field-update-log take the config shard count" "1 1 1" \
	"$(jq -r '[.[] | select(.index | test("^0820\\.ffe49\\.tracardi-(user-log|item|field-update-log)-")) | .pri] | join(" ")' $T/cat.json)"
check "installed{} in GET /" "true true true" "$(curl -s $A2/ | jq -r '"\(.installed.schema) \(.installed.users) \(.installed.form)"')"
check "_cat/indices bytes=b gives plain numbers" yes \
	"$(curl -s "$ES/_cat/indices?format=json&bytes=b" | jq -r 'if all(.[]; ."store.size" | test("^[0-9]+$")) then "yes" else "no" end')"

echo "# login and tokens"
login() { curl -s -XPOST "$1/user/token" -d 'username=admin%40example.com&password=secret-pw' | jq -r .access_token; }
TOK81=$(login $A1)
TOK82=$(login $A2)
TOKF=$(login $A3)
check "0.8.1 token issued" 40 "${#TOK81}"
check "token answer shape" "bearer admin" "$(curl -s -XPOST $A2/user/token -d 'username=admin%40example.com&password=secret-pw' | jq -r '.token_type + " " + .roles[0]')"
check "wrong password on 0.8.2 is 400 with detail" "400 yes" \
	"$(curl -s -o $T/l.json -w '%{http_code}' -XPOST $A2/user/token -d 'username=admin%40example.com&password=nope') $(jq -r 'if .detail then "yes" else "no" end' $T/l.json)"
check "0.8.2's login detail names Redis" "Redis authentication error: Incorrect username or password." "$(jq -r .detail $T/l.json)"
check "wrong password on 0.8.1 is 500 with a JSON detail (the exception escapes)" "500 Incorrect username or password." \
	"$(curl -s -o $T/l1.json -w '%{http_code}' -XPOST $A1/user/token -d 'username=admin%40example.com&password=nope') $(jq -r .detail $T/l1.json)"
check "login without fields is 422" "422" "$(curl -s -o /dev/null -w '%{http_code}' -XPOST $A2/user/token -d 'x=1')"
check "no bearer is 401 Not authenticated" "401 Not authenticated" \
	"$(curl -s -o $T/a.json -w '%{http_code}' $A2/test/elasticsearch) $(jq -r .detail $T/a.json)"
check "0.8.2 token works on 0.8.2" "200" "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK82" $A2/test/elasticsearch)"
check "0.8.1 token is refused by 0.8.2" "401" "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK81" $A2/test/elasticsearch)"
check "/test/redis answers null" "200 null" "$(curl -s -o $T/r.json -w '%{http_code}' -H "Authorization: Bearer $TOK82" $A2/test/redis) $(cat $T/r.json)"

echo "# seed 0.8.1 data"
seed() { # seed ALIAS COUNT
	local body="" i
	for i in $(seq 1 "$2"); do body+="{\"index\":{\"_index\":\"$1\"}}"$'\n'"{\"id\":\"$1-$i\",\"type\":\"page-view\"}"$'\n'; done
	curl -s -XPOST "$ES/_bulk" -H 'Content-Type: application/x-ndjson' --data-binary "$body" | jq -r .errors
}
check "seed staging events" false "$(seed 01506.tracardi-event 7)"
check "seed staging profiles" false "$(seed 01506.tracardi-profile 5)"
check "seed staging flows" false "$(seed 01506.tracardi-flow 2)"
check "seed production events" false "$(seed prod-01506.tracardi-event 4)"
check "seed production flows" false "$(seed prod-01506.tracardi-flow 3)"
check "seed staging entities" false "$(seed 01506.tracardi-entity 2)"
count() { curl -s "$ES/$1/_count" | jq -r .count; }
check "alias count over the partition" 7 "$(count 01506.tracardi-event)"

echo "# migration 08x -> 0820"
AUTH82=(-H "Authorization: Bearer $TOK82")
check "GET /migrations on 0.8.2" '["08x","082x"]' "$(curl -s "${AUTH82[@]}" $A2/migrations | jq -c .)"
curl -s "${AUTH82[@]}" "$A2/migration/08x?from_tenant_name=01506" >$T/plan.json
# facts 34: 0.8.2's partition pattern lost {4} and {1,2} in an f-string and matches nothing
check "0.8.2's plan lists no partition, though 08x.01506.tracardi-event-2024-3 exists" "0 200" \
	"$(jq '[.schemas[] | select(.copy_index.multi)] | length' $T/plan.json) $(curl -s -o /dev/null -w '%{http_code}' "$ES/08x.01506.tracardi-event-2024-3/_count")"
check "0.8.2's plan still lists the single indices" "0820.ffe49.tracardi-flow" \
	"$(jq -r '.schemas[] | select(.copy_index.from_index == "08x.01506.tracardi-flow") | .copy_index.to_index' $T/plan.json)"
check "the api image's schema file lists the partitioned families" \
	"tracardi-event reindex_to_one_index quarter (\\d{4}-\\d+)\$|tracardi-item reindex|tracardi-log reindex|tracardi-profile reindex_to_one_index quarter (\\d{4}-\\d+)\$|tracardi-session reindex|tracardi-user-log reindex" \
	"$(jq -r '[.[] | objects | select(.copy_index.multi) | "\(.copy_index.from_index) \(.worker)\(if .params.partitioning then " \(.params.partitioning) \(.params.replace)" else "" end)"] | sort | join("|")' $T/schemas/08x_to_082x.json)"
check "plan ids are sha1-sized" 40 "$(jq -r '.schemas[0].id | length' $T/plan.json)"
check "plan warn is false before any run" false "$(jq -r .warn $T/plan.json)"
curl -s "${AUTH82[@]}" -H 'x-context: production' "$A2/migration/08x?from_tenant_name=01506" >$T/plan-prod.json
check "production plan copies prod- into prod-" "prod-0820.ffe49.tracardi-flow" \
	"$(jq -r '.schemas[] | select(.copy_index.from_index == "prod-08x.01506.tracardi-flow") | .copy_index.to_index' $T/plan-prod.json)"
check "unknown migration is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "${AUTH82[@]}" $A2/migration/074)"
check "0.8.2 has no POST /migration/elasticsearch" 405 \
	"$(curl -s -o /dev/null -w '%{http_code}' -XPOST "${AUTH82[@]}" $A2/migration/elasticsearch -H "$J" -d '{}')"

migrate() { # migrate API PLANFILE [header…]: prints the job id; the task ids before it go to $T/before
	local api=$1 plan=$2
	shift 2
	local ids
	ids=$(jq -c '[.schemas[].id]' "$plan")
	curl -s "$@" "$api/tasks/type/upgrade?limit=1000" | jq -r '.grouped.Tasks[]?.id' | sort >$T/before
	jq '.schemas | length' "$plan" >$T/expected
	curl -s -XPOST "$@" "$api/migration" -H "$J" -d "{\"from_version\":\"08x\",\"from_tenant_name\":\"01506\",\"ids\":$ids}" | jq -r .
}
# 0.8.x keeps a task's state in Celery only (tracardi worker/misc/update_progress.py): the task
# documents never change, so a job is followed through GET /import/task/{id}/status, as the GUI does.
celery_state() { curl -s "${@:3}" "$1/import/task/$2/status" | jq -r .status; }
wait_task() { # wait_task API JOBID [header…]: "done" when every job of the plan ended SUCCESS, "error" on a FAILURE
	local api=$1 job=$2 st="" n want new id
	shift 2
	want=$(cat $T/expected)
	for _ in $(seq 1 150); do
		st=$(celery_state "$api" "$job" "$@")
		case "$st" in SUCCESS|FAILURE) break ;; esac
		sleep 0.2
	done
	[ "$st" = SUCCESS ] || { echo "orchestrator $st"; return; }
	for _ in $(seq 1 150); do
		new=$(curl -s "$@" "$api/tasks/type/upgrade?limit=1000" | jq -r '.grouped.Tasks[]?.id' | sort | comm -13 $T/before - | grep -vx "$job")
		n=0 st=done
		for id in $new; do
			n=$((n + 1))
			case "$(celery_state "$api" "$id" "$@")" in
				SUCCESS) ;;
				FAILURE) echo error; return ;;
				*) st=running ;;
			esac
		done
		[ "$st" = done ] && [ "$n" -ge "$want" ] && { echo done; return; }
		sleep 0.2
	done
	echo "$st ($n of $want jobs seen)"
}

JOB1=$(migrate $A2 $T/plan.json "${AUTH82[@]}")
check "POST /migration answers the task id" 36 "${#JOB1}"
sleep 1
check "without a worker the job waits in Redis" 1 "$(redis-cli -p "$R2_PORT" llen celery)"
check "without a worker nothing ran" '[]' "$(curl -s $A2/standin/migrations | jq -c .runs)"
check "before the worker, Celery says PENDING" PENDING "$(celery_state $A2 "$JOB1" "${AUTH82[@]}")"
start worker082 "${COMMON[@]}" STANDIN_VERSION=0.8.2 REDIS_HOST="redis://127.0.0.1:$R2_PORT" -- "$BIN" worker
check "the task status needs a bearer token" 401 "$(curl -s -o /dev/null -w '%{http_code}' $A2/import/task/$JOB1/status)"
check "the worker finishes the staging migration" done "$(wait_task $A2 "$JOB1" "${AUTH82[@]}")"
check "an unknown task is PENDING with no progress" "PENDING null" \
	"$(curl -s "${AUTH82[@]}" $A2/import/task/no-such-task/status | jq -r '"\(.status) \(.progress)"')"
check "task documents are written once: PROGRESS, 0" '["PROGRESS"] [0]' \
	"$(curl -s "${AUTH82[@]}" "$A2/tasks/type/upgrade?limit=1000" | jq -c '[.grouped.Tasks[].status] | unique' ) $(curl -s "${AUTH82[@]}" "$A2/tasks/type/upgrade?limit=1000" | jq -c '[.grouped.Tasks[].progress] | unique')"
check "the orchestrator's document carries its Celery id as task_id" "$JOB1" \
	"$(curl -s "${AUTH82[@]}" "$A2/tasks/type/upgrade?limit=1000" | jq -r --arg j "$JOB1" '.grouped.Tasks[] | select(.id == $j) | .task_id')"
check "the task list takes a limit" 2 "$(curl -s "${AUTH82[@]}" "$A2/tasks/type/upgrade?limit=2" | jq '.grouped.Tasks | length')"
check "the task list is newest first" true \
	"$(curl -s "${AUTH82[@]}" "$A2/tasks/type/upgrade?limit=1000" | jq '[.grouped.Tasks[].timestamp] | . == (sort | reverse)')"
# no partition is in the plan, so no event or profile is copied (facts 34)
check "0.8.2's migration copies no staging event or profile" "0 0" "$(count ffe49.tracardi-event) $(count ffe49.tracardi-profile)"
check "staging flows copied exactly" 2 "$(count ffe49.tracardi-flow)"
# facts 37: the entity row copies into a single index 0.8.2 partitions: no template, no alias
check "entities land in 0820.ffe49.tracardi-entity, which carries no alias, so 0.8.2 reads none" "2 {} 0" \
	"$(count 0820.ffe49.tracardi-entity) $(curl -s "$ES/0820.ffe49.tracardi-entity/_alias" | jq -c '.["0820.ffe49.tracardi-entity"].aliases') $(count ffe49.tracardi-entity)"
check "production untouched by the staging run" 0 "$(count prod-ffe49.tracardi-flow)"
check "plan warns after a run" true "$(curl -s "${AUTH82[@]}" "$A2/migration/08x?from_tenant_name=01506" | jq -r .warn)"

JOB2=$(migrate $A2 $T/plan-prod.json "${AUTH82[@]}" -H 'x-context: production')
check "the worker finishes the production migration" done "$(wait_task $A2 "$JOB2" "${AUTH82[@]}" -H 'x-context: production')"
check "0.8.2's migration copies no production event" 0 "$(count prod-ffe49.tracardi-event)"
check "production flows copied exactly" 3 "$(count prod-ffe49.tracardi-flow)"
check "one run per context recorded" '[{"context":"staging","count":1,"from_version":"08x"},{"context":"production","count":1,"from_version":"08x"}]' \
	"$(curl -s $A2/standin/migrations | jq -c '.runs | map(to_entries | sort_by(.key) | from_entries)')"

# An edit the new release made before a second run: _reindex keeps ids, so the rerun puts
# the old document back (tracardi issue #565) and adds nothing.
EDIT=$(curl -s "$ES/0820.ffe49.tracardi-flow/_search" -H "$J" -d '{"size":1}' | jq -r '.hits.hits[0]._id')
curl -s -XPOST "$ES/0820.ffe49.tracardi-flow/_update/$EDIT?refresh=true" -H "$J" -d '{"doc":{"type":"edited-in-green"}}' >/dev/null
JOB3=$(migrate $A2 $T/plan.json "${AUTH82[@]}")
check "a second staging run completes" done "$(wait_task $A2 "$JOB3" "${AUTH82[@]}")"
check "the second run is recorded" 2 "$(curl -s $A2/standin/migrations | jq -r '.runs[] | select(.context == "staging") | .count')"
check "the second run overwrites by id: no more documents (issue #565)" 2 "$(count ffe49.tracardi-flow)"
check "…and reverts the new release's edit" page-view "$(curl -s "$ES/0820.ffe49.tracardi-flow/_doc/$EDIT" | jq -r ._source.type)"

echo "# fault switches"
AUTHF=(-H "Authorization: Bearer $TOKF")
curl -s "${AUTHF[@]}" "$A3/migration/08x?from_tenant_name=01506" >$T/plan-f.json
start workerf_short "${COMMON[@]}" STANDIN_VERSION=0.8.2 TENANT_NAME=faulty STANDIN_FAULT=migration-short REDIS_HOST="redis://127.0.0.1:$R3_PORT" -- "$BIN" worker
JOB4=$(migrate $A3 $T/plan-f.json "${AUTHF[@]}")
check "migration-short reports success" done "$(wait_task $A3 "$JOB4" "${AUTHF[@]}")"
check "migration-short leaves one document out per index" 1 "$(count faulty.tracardi-flow)"
stop "$PID_workerf_short"
check "worker with migration-short stops on SIGTERM" 0 "$STOP_RC"
start workerf_fail "${COMMON[@]}" STANDIN_VERSION=0.8.2 TENANT_NAME=faulty STANDIN_FAULT=migration-fail REDIS_HOST="redis://127.0.0.1:$R3_PORT" -- "$BIN" worker
curl -s "${AUTHF[@]}" -H 'x-context: production' "$A3/migration/08x?from_tenant_name=01506" >$T/plan-fp.json
JOB5=$(migrate $A3 $T/plan-fp.json "${AUTHF[@]}" -H 'x-context: production')
check "migration-fail ends the task in error" error "$(wait_task $A3 "$JOB5" "${AUTHF[@]}" -H 'x-context: production')"
check "a failed run is still recorded" 1 "$(curl -s $A3/standin/migrations | jq -r '.runs[] | select(.context == "production") | .count')"

echo "# running reindex tasks: listed, cancelled"
for i in $(seq 1 100); do printf '{"index":{"_index":"slow-src"}}\n{"n":%d}\n' "$i"; done >$T/slow.ndjson
curl -s -XPOST "$ES/_bulk" -H 'Content-Type: application/x-ndjson' --data-binary @$T/slow.ndjson >/dev/null
SLOW=$(curl -s -XPOST "$ES/_reindex?wait_for_completion=false" -H "$J" -d '{"source":{"index":"slow-src","size":1},"dest":{"index":"slow-dst"}}' | jq -r .task)
check "a running reindex is listed with its description (GET _tasks?actions=*reindex&detailed=true)" \
	"reindex from [slow-src] to [slow-dst][_doc] false" \
	"$(curl -s "$ES/_tasks?actions=*reindex&detailed=true" | jq -r --arg t "$SLOW" '.nodes[].tasks[$t] | "\(.description) \(.cancelled)"')"
check "POST _tasks/{id}/_cancel answers 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$ES/_tasks/$SLOW/_cancel")"
sleep 0.5
check "…the cancelled copy ends, saying why, short of its source, and is no longer listed" "true by user request yes null" \
	"$(curl -s "$ES/_tasks/$SLOW" | jq -r '"\(.completed) \(.response.canceled)"') $([ "$(count slow-dst)" -lt 100 ] && echo yes || echo no) $(curl -s "$ES/_tasks?actions=*reindex&detailed=true" | jq -r --arg t "$SLOW" '.nodes[].tasks[$t]')"
check "cancelling a task that ended is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$ES/_tasks/$SLOW/_cancel")"

echo "# shard limit"
OPEN=$(curl -s $ES/_cluster/health | jq -r '.active_shards + .unassigned_shards')
curl -s -XPUT $ES/_cluster/settings -H "$J" -d "{\"transient\":{\"cluster.max_shards_per_node\":$OPEN}}" >/dev/null
curl -s -XPUT $ES/one-too-many >$T/limit.json
check "creating past the limit is a validation_exception" "400 validation_exception" "$(jq -r '"\(.status) \(.error.type)"' $T/limit.json)"
check "the real reason text" "Validation Failed: 1: this action would add [2] total shards, but this cluster currently has [$OPEN]/[$OPEN] maximum shards open;" \
	"$(jq -r .error.reason $T/limit.json)"
curl -s -XPUT $ES/_cluster/settings -H "$J" -d '{"transient":{"cluster.max_shards_per_node":null},"persistent":{"cluster.max_shards_per_node":3000}}' >/dev/null
check "persistent setting applied" 3000 "$(curl -s "$ES/_cluster/settings?flat_settings=true" | jq -r '.persistent."cluster.max_shards_per_node"')"

echo "# index deletion endpoints"
check "0.8.2 refuses to delete its own indices" 409 \
	"$(curl -s -o /dev/null -w '%{http_code}' -XDELETE "${AUTH82[@]}" "$A2/indices?db_version=0820&codename=ffe49")"
check "0.8.1 refuses to delete its own indices" 409 \
	"$(curl -s -o /dev/null -w '%{http_code}' -XDELETE -H "Authorization: Bearer $TOK81" "$A1/indices/version/0.8.1?codename=01506")"

echo "# restart keeps the state"
BEFORE=$(curl -s "$ES/_cat/indices?format=json" | jq 'length')
stop "$PID_es"
check "es stops on SIGTERM" 0 "$STOP_RC"
start es2 STANDIN_BIND=127.0.0.1 STANDIN_PORT="$ES_PORT" STANDIN_DATA="$T/esdata" -- "$BIN" es
wait_http "$ES" || bad "es restart"
check "indices survive a restart" "$BEFORE" "$(curl -s "$ES/_cat/indices?format=json" | jq 'length')"
check "documents survive a restart" 7 "$(count 01506.tracardi-event)"
check "persistent settings survive, transient do not" "3000 {}" \
	"$(curl -s "$ES/_cluster/settings?flat_settings=true" | jq -r '"\(.persistent."cluster.max_shards_per_node") \(.transient)"')"

echo "# deleting an old release through the API"
curl -s -XDELETE "${AUTH82[@]}" "$A2/indices?db_version=08x&codename=01506" >$T/del.json
check "0.8.2 deletes staging and production 08x indices" 70 "$(jq 'length' $T/del.json)"
check "static indices are not deleted" 2 "$(curl -s "$ES/_cat/indices/static-08x.*?format=json" | jq 'length')"

echo "# 0.9.0, gui, idle, faults"
start api090 "${COMMON[@]}" STANDIN_VERSION=0.9.0 STANDIN_PORT="$A9X" MYSQL_PORT="$NOSQL" -- "$BIN" api
RC=timeout
for _ in $(seq 1 80); do kill -0 "$PID_api090" 2>/dev/null || { wait "$PID_api090"; RC=$?; break; }; sleep 0.1; done
check "0.9.0 refuses to boot without MySQL" 1 "$RC"
start sink STANDIN_BIND=127.0.0.1 STANDIN_PORT="$SQL" -- "$BIN" tcp-sink
wait_port "$SQL" || bad "tcp-sink"
start api090b "${COMMON[@]}" STANDIN_VERSION=0.9.0 STANDIN_PORT="$A9" MYSQL_HOST=127.0.0.1 MYSQL_PORT="$SQL" \
	REDIS_HOST="redis://127.0.0.1:$R1_PORT" -- "$BIN" api
wait_http "http://127.0.0.1:$A9/healthcheck" || bad "0.9.0 boot with mysql"
check "0.9.0 boots with MySQL: db 09x, name 8504a" "0.9.0 09x 8504a" \
	"$(curl -s http://127.0.0.1:$A9/ | jq -r '.version + " " + .db_version + " " + .name')"
curl -s -XPOST "http://127.0.0.1:$A9/install" -H "$J" -d "$INSTALL" >/dev/null
check "0.9.0 puts the version in the alias" "prod-09x.8504a.tracardi-event-2024-q1" \
	"$(curl -s "$ES/_alias/prod-09x.8504a.tracardi-event" | jq -r 'keys[0]')"
A9U=http://127.0.0.1:$A9
TOK9=$(login $A9U)
AUTH9=(-H "Authorization: Bearer $TOK9")
# 0.9 keeps tasks in MySQL rows (tracardi 0.9.0-dev worker/misc/task_progress.py): pending ->
# running -> finished/error; copy_to_mysql marks a bad record error, goes on, ends finished.
start worker090 "${COMMON[@]}" STANDIN_VERSION=0.9.0 STANDIN_FAULT=migration-bad-record \
	REDIS_HOST="redis://127.0.0.1:$R1_PORT" -- "$BIN" worker
curl -s "${AUTH9[@]}" "$A9U/migration/0820?from_tenant_name=ffe49" >$T/plan9.json
check "0.9's plan copies the static bridge into MySQL" "static-0820.ffe49.tracardi-bridge Table: bridge true" \
	"$(jq -r '.schemas[] | select(.params.mysql == "bridge") | "\(.copy_index.from_index) \(.copy_index.to_index) \(.copy_index.static)"' $T/plan9.json)"
check "0.9 answers null to the migration POST" null \
	"$(curl -s -XPOST "${AUTH9[@]}" "$A9U/migration/elasticsearch" -H "$J" -d "{\"from_version\":\"0820\",\"from_tenant_name\":\"ffe49\",\"ids\":$(jq -c '[.schemas[].id]' $T/plan9.json)}")"
ORCH9=""
for _ in $(seq 1 150); do
	curl -s "${AUTH9[@]}" "$A9U/tasks/type/upgrade?limit=1000" >$T/tasks9.json
	# the old release's task documents are copied too: this run's orchestrator is a 0.9 row
	ORCH9=$(jq -r '[.grouped.Tasks[]? | select(.name == "Migration plan orchestrator" and .status != "PROGRESS")][0].status' $T/tasks9.json)
	[ "$ORCH9" = finished ] && break
	sleep 0.2
done
check "the 0.9 orchestrator row ends finished" finished "$ORCH9"
check "a copy with a bad record ends finished, keeping the record's error as message" "finished yes" \
	"$(jq -r '[.grouped.Tasks[] | select(.name == "Migration of \"0820.ffe49.tracardi-flow\" to mysql table \"flow\"")][0] | "\(.status) \(if .message then "yes" else "no" end)"' $T/tasks9.json)"
check "a table copy_to_mysql has no class for stays pending" pending \
	"$(jq -r '[.grouped.Tasks[] | select(.name | test("to mysql table \"segment\""))][0].status' $T/tasks9.json)"
ROW9=$(jq -r '[.grouped.Tasks[] | select(.name | test("tracardi-flow"))][0].id' $T/tasks9.json)
check "GET /import/task/{id}/status reads the row on 0.9" "finished yes" \
	"$(curl -s "${AUTH9[@]}" "$A9U/import/task/$ROW9/status" | jq -r '"\(.status) \(if .message then "yes" else "no" end)"')"
check "0.8.x task documents (status PROGRESS) do not convert into 0.9's task table" "finished yes 0" \
	"$(jq -r '[.grouped.Tasks[] | select(.name | test("tracardi-task\" to mysql"))][0] | "\(.status) \(if .message then "yes" else "no" end)"' $T/tasks9.json) $(jq '[.grouped.Tasks[] | select(.status == "PROGRESS")] | length' $T/tasks9.json)"
check "an unknown 0.9 task is none" none "$(curl -s "${AUTH9[@]}" "$A9U/import/task/nope/status" | jq -r .status)"
check "0.9's plan marks the log, session, event and entity copies synchronous, the profile copy not" \
	"false:0820.ffe49.tracardi-entity false:0820.ffe49.tracardi-event false:0820.ffe49.tracardi-log false:0820.ffe49.tracardi-session true:0820.ffe49.tracardi-profile" \
	"$(jq -r '[.schemas[] | select(.worker == "reindex") | "\(.asynchronous):\(.copy_index.from_index | sub("-[0-9]{4}-.*$"; ""))"] | unique | sort_by(startswith("true")) | join(" ")' $T/plan9.json)"
# An asynchronous copy that raises leaves the orchestrator running and huey runs the whole
# plan once more (tracardi 0.9.0-dev worker/worker.py: asyncio.gather, @queue.task(retries=1)).
stop "$PID_worker090"
start worker090f "${COMMON[@]}" STANDIN_VERSION=0.9.0 STANDIN_FAULT=migration-fail \
	REDIS_HOST="redis://127.0.0.1:$R1_PORT" -- "$BIN" worker
curl -s -XPOST "${AUTH9[@]}" "$A9U/migration/elasticsearch" -H "$J" \
	-d "{\"from_version\":\"0820\",\"from_tenant_name\":\"ffe49\",\"ids\":$(jq -c '[.schemas[].id]' $T/plan9.json)}" >/dev/null
RUNS9=0
for _ in $(seq 1 200); do
	RUNS9=$(curl -s "$A9U/standin/migrations" | jq -r '[.runs[] | select(.from_version == "0820")][0].count // 0')
	[ "$RUNS9" -ge 3 ] && grep -q "attempt 2" "$T/worker090f.log" 2>/dev/null && break
	sleep 0.2
done
check "a failed asynchronous copy makes huey run the plan a second time, and no third" "3 1" \
	"$RUNS9 $(grep -c 'huey retries the job once' "$T/worker090f.log" 2>/dev/null)"
curl -s "${AUTH9[@]}" "$A9U/tasks/type/upgrade?limit=1000" >$T/tasks9f.json
check "…both attempts' profile rows end error, their orchestrators stay running" "error error running running" \
	"$(jq -r '[.grouped.Tasks[] | select(.name | test("tracardi-profile")) | select(.status == "error") | .status][0:2] + [.grouped.Tasks[] | select(.name == "Migration plan orchestrator" and .status != "PROGRESS" and .status != "finished") | .status] | join(" ")' $T/tasks9f.json)"
stop "$PID_worker090f"

start gui STANDIN_BIND=127.0.0.1 STANDIN_PORT="$G" STANDIN_VERSION=0.8.2 STANDIN_BOOT_DELAY=1 -- "$BIN" gui
sleep 0.3
check "boot delay keeps the port closed" closed "$( (exec 3<>"/dev/tcp/127.0.0.1/$G") 2>/dev/null && echo open || echo closed)"
wait_http "http://127.0.0.1:$G/" || bad "gui start"
check "gui page mentions Tracardi and the version" yes \
	"$(curl -s http://127.0.0.1:$G/ | grep -q 'Tracardi' && curl -s http://127.0.0.1:$G/ | grep -q '0.8.2' && echo yes || echo no)"

start unhealthy "${COMMON[@]}" STANDIN_VERSION=0.8.2 STANDIN_PORT="$U" STANDIN_FAULT=unhealthy -- "$BIN" api
wait_http "http://127.0.0.1:$U/install" || bad "unhealthy api start"
check "unhealthy answers 503 on /healthcheck" 503 "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$U/healthcheck)"
stop "$PID_unhealthy"
check "api stops on SIGTERM" 0 "$STOP_RC"

# Tracardi/apm app/config.py: MODE defaults to job (one pass, exit); worker loops every PAUSE s.
start apmjob STANDIN_VERSION=0.8.2 -- "$BIN" apm
RC=timeout
for _ in $(seq 1 40); do kill -0 "$PID_apmjob" 2>/dev/null || { wait "$PID_apmjob"; RC=$?; break; }; sleep 0.1; done
check "apm without MODE runs one pass and exits 0" 0 "$RC"
start apmworker STANDIN_VERSION=0.8.2 MODE=worker PAUSE=15 -- "$BIN" apm
sleep 1
check "apm with MODE=worker stays up" yes "$(kill -0 "$PID_apmworker" 2>/dev/null && echo yes || echo no)"
stop "$PID_apmworker"
check "apm stops on SIGTERM" 0 "$STOP_RC"

start crash STANDIN_FAULT=crash:1 -- "$BIN" idle
RC=timeout
for _ in $(seq 1 40); do kill -0 "$PID_crash" 2>/dev/null || { wait "$PID_crash"; RC=$?; break; }; sleep 0.1; done
check "crash:1 exits with status 1" 1 "$RC"
start idle -- "$BIN" idle
sleep 0.2
stop "$PID_idle"
check "idle stops on SIGTERM" 0 "$STOP_RC"

echo "# logs"
check "no password or install token in the logs" 0 "$(cat $T/*.log | grep -c -e secret-pw -e '"tracardi"' )"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
