#!/usr/bin/env bash
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# End to end: blue stacks built from Tracardi's own compose files (tests/e2e/stacks/, each
# naming its source), without the edge, switched with --switch ports:
#   1. 0.8.0 with its two apis (tracardi-api-prod has PRODUCTION=yes): status shows both;
#      with the edge plan refuses, naming them; with --switch ports each gets a green twin
#      of its own environment, the migration goes once through the api that reads
#      x-context, both ports move to 0.8.1, and rollback brings both back; again, then
#      finalize --delete-old-indices removes both blue apis and 0.8.0's indices;
#   2. 0.8.1 with its update worker (REDIS_HOST only) -> 0.8.2.1, the published patch tag:
#      green's update worker carries blue's worker's environment (not the api's), no apm
#      is added, the migration ran once per context, the partitions 0.8.2's plan leaves
#      out are copied by tracup, then rollback; again, then finalize;
#   3. 0.8.2.1 with apm in worker mode and no update worker -> 0.9.0 with --mysql-host:
#      green gets an update worker, apm keeps blue's MODE=worker, the tables Tracardi 0.9
#      does not copy are named, then finalize; the same upgrade whose copy into MySQL
#      loses a record rolls back;
#   3d. the same whose asynchronous profile copy fails (huey runs the plan again): rolled
#      back, no index of 0.9 left;
#   3c. 0.8.2 -> 0.8.2.1, a patch tag of one db_version: green on blue's own indices,
#      nothing installed or migrated; rollback deletes nothing (what green wrote stays);
#      finalize refuses --delete-old-indices and keeps the indices;
#   4. 0.9.0 and the 1.0.0 open-source layout: status; 0.9 -> 1.0 (one db_version, 1.x's
#      source unread) is refused without --share-data, runs with it, and rolls back;
#      again, then finalize keeps the shared indices.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

TRACUP=${TRACUP:-$TB_REPO_DIR/build/src/tracup}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"
WORK=$(mktemp -d)
tb_cleanup_add "rm -rf '$WORK'"
export TRACUP_STATE_DIR=$WORK/state
export TRACUP_ADMIN_EMAIL=$TB_ADMIN_EMAIL
export TRACUP_ADMIN_PASSWORD="green-St4ck-$RANDOM$RANDOM"
mkdir -p "$TRACUP_STATE_DIR"
OUT=$WORK/out ERR=$WORK/err
P80=${TB_E2E_PREFIX}st80 P81=${TB_E2E_PREFIX}st81 P82=${TB_E2E_PREFIX}st821 P90=${TB_E2E_PREFIX}st90
P100=${TB_E2E_PREFIX}st100 P82B=${TB_E2E_PREFIX}st821b P82S=${TB_E2E_PREFIX}st82s
for p in "$P80" "$P81" "$P82" "$P82B" "$P82S" "$P90" "$P100"; do tb_cleanup_add "tb_compose_down '$p'"; done

jqe() { tb_jqe "$@"; }
tu() { local cmd=$1 stack=$2; shift 2; timeout 300 "$TRACUP" "$cmd" --registry "$TB_REGISTRY" --stack "$stack" "$@"; }
version_at() { curl -s --max-time 3 "$1/info/version" | jq -r . 2>/dev/null; }

# stack_up PROJECT FILE [NAME=VALUE...]: the official layout under the test bed's images,
# its ports picked free on 127.0.0.1; sets API_URL, ES_URL (and TB_API_URL, TB_ELASTIC_URL).
stack_up() {
  local project=$1 file=$2 dir ports try
  shift 2
  dir=$(tb_compose_dir "$project")
  for ((try = 1; try <= 3; try++)); do
    rm -rf "$dir"; mkdir -p "$dir"
    cp "$HERE/stacks/$file" "$dir/docker-compose.yml"
    : >"$dir/empty.env"
    ports=$(tb_free_ports 4) || return 1
    {
      echo "TRACARDI_REGISTRY=$TB_REGISTRY"
      echo "ELASTIC_IMAGE=$TB_ELASTIC_IMAGE"
      echo "REDIS_IMAGE=$TB_REDIS_IMAGE"
      echo "MYSQL_IMAGE=$TB_MYSQL_IMAGE"
      echo "API_PORT=$(sed -n 1p <<<"$ports")"
      echo "GUI_PORT=$(sed -n 2p <<<"$ports")"
      echo "ES_PORT=$(sed -n 3p <<<"$ports")"
      echo "API_PROD_PORT=$(sed -n 4p <<<"$ports")"
      printf '%s\n' "$@"
    } >"$dir/tb.env"
    API_URL=http://127.0.0.1:$(sed -n 1p <<<"$ports")
    ES_URL=http://127.0.0.1:$(sed -n 3p <<<"$ports")
    TB_API_URL=$API_URL TB_ELASTIC_URL=$ES_URL
    if tb_compose "$project" up -d >"$dir/up.log" 2>&1 && tb_wait_http "$API_URL/info/version" 60 &&
       tb_wait_http "$ES_URL/_cluster/health" 30; then
      return 0
    fi
    tb_log "$project did not come up (try $try of 3)"; tail -n 5 "$dir/up.log" >&2
    tb_compose_down "$project"
  done
  return 1
}
# The container of a stack whose name holds WHAT, among tracup's green ones.
green_of() { docker ps -a --filter "label=tracup.stack=$1" --filter label=tracup.color=green --format '{{.Names}}' | grep -- "$2" | head -n1; }
env_of() { docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" 2>/dev/null; }
state_of() { docker inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }

echo "--- 1. 0.8.0 with two apis"
stack_up "$P80" tracardi-0.8.0.yml || tb_die "the 0.8.0 stack did not come up"
tu status "$P80" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "status exits 0" [ $rc = 0 ]
tb_check "status lists both apis, one with PRODUCTION=yes" \
  jqe --arg p "$P80" '[.stacks[] | select(.name == $p) | .containers[] | select(.role == "api" and .state == "running")] | length == 2' "$OUT"
tb_check "0.8.0.11's api reports its library's version, 0.8.0" [ "$(version_at "$API_URL")" = 0.8.0 ]
PROD_URL=http://127.0.0.1:$(sed -n 's/^API_PROD_PORT=//p' "$(tb_compose_dir "$P80")/tb.env")
tb_check "both apis answer 0.8.0" bash -c "[ '$(version_at "$API_URL")' = 0.8.0 ] && [ '$(version_at "$PROD_URL")' = 0.8.0 ]"
tu plan "$P80" --to 0.8.1 --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "plan with the edge (the default) refuses: two apis move with --switch ports only" \
  bash -c "[ $rc = 1 ] && jq -e '[.refusals[] | select(test(\"2 apis\") and test(\"tracardi-api-prod.*PRODUCTION=yes\") and test(\"--switch ports only\"))] | length == 1' '$OUT' >/dev/null"
tb_check "…and nothing was created" test -z "$(docker ps -aq --filter "label=tracup.stack=$P80")"
tb_seed_blue "$P80" 0.8.0 3 || tb_die "could not seed the 0.8.0 stack"
tu plan "$P80" --to 0.8.1 --switch ports --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "plan --switch ports is ok, a green twin for tracardi-api-prod with PRODUCTION=yes" \
  bash -c "[ $rc = 0 ] && jq -e '.ok and (.blue.other_apis | length == 1) and
     ([.hops[0].containers[] | select(.twin_of != null) | select((.twin_of | test(\"tracardi-api-prod\")) and (.env | index(\"PRODUCTION=yes\") != null))] | length == 1) and
     (.blue.api | test(\"tracardi-api-prod\") | not)' '$OUT' >/dev/null"
tu upgrade "$P80" --to 0.8.1 --switch ports --observe 3 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "upgrade of both apis to 0.8.1 exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 15 "$ERR" >&2
tb_check "…both published ports answer 0.8.1" bash -c "[ '$(version_at "$API_URL")' = 0.8.1 ] && [ '$(version_at "$PROD_URL")' = 0.8.1 ]"
TWIN=$(green_of "$P80" tracardi-api-prod)
MAIN=$(green_of "$P80" "tracardi-api-0.8.1")
tb_check "…the twin keeps PRODUCTION=yes, the api it migrated through has none" \
  bash -c "[ -n '$TWIN' ] && env_of() { docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' \"\$1\"; }
           env_of '$TWIN' | grep -qx 'PRODUCTION=yes' && ! env_of '$MAIN' | grep -q '^PRODUCTION=yes'"
GAPI=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$MAIN" | awk '{print $1}')
tb_check "…one migration POST in all (the twin took none), through the api that reads x-context, naming staging" \
  jqe '.posts == [{"from_version":"080","x_context":"staging"}]' <(curl -s --max-time 5 "http://$GAPI/standin/migrations")
tu rollback "$P80" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "rollback exits 0, both ports answer 0.8.0 again, no green left" \
  bash -c "[ $rc = 0 ] && [ '$(version_at "$API_URL")' = 0.8.0 ] && [ '$(version_at "$PROD_URL")' = 0.8.0 ] &&
           [ -z '$(docker ps -aq --filter "label=tracup.stack=$P80" --filter label=tracup.color=green)' ]"

BLUE80=$(tb_release_docs 080 fa73a)
tu upgrade "$P80" --to 0.8.1 --switch ports --observe 2 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "the same upgrade runs again after the rollback" [ $rc = 0 ]
tu finalize "$P80" --delete-old-indices --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize --delete-old-indices exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 15 "$ERR" >&2
tb_check "…both blue apis are gone, both twins still answer 0.8.1 on the published ports" \
  bash -c "[ -z '$(docker ps -aq --filter "label=com.docker.compose.project=$P80" --filter label=com.docker.compose.service=tracardi-api)' ] &&
           [ -z '$(docker ps -aq --filter "label=com.docker.compose.project=$P80" --filter label=com.docker.compose.service=tracardi-api-prod)' ] &&
           [ '$(version_at "$API_URL")' = 0.8.1 ] && [ '$(version_at "$PROD_URL")' = 0.8.1 ]"
tb_check "…0.8.0's indices are deleted (they held $BLUE80 documents), 0.8.1's hold the copy" \
  bash -c "[ '$(tb_release_docs 080 fa73a)' = 0 ] && [ -z \"\$(curl -s --max-time 10 '$TB_ELASTIC_URL/_cat/indices?format=json' | jq -r '.[].index | select(test(\"^(prod-|static-)?080\\\\.fa73a\\\\.\"))')\" ] &&
           [ $(tb_release_docs 08x 01506) -ge $BLUE80 ]"
tb_compose_down "$P80"

echo "--- 1b. 0.8.1 whose only api runs with PRODUCTION=yes"
stack_up "$P81" tracardi-0.8.1.yml API_PRODUCTION=yes || tb_die "the 0.8.1 stack did not come up"
tu plan "$P81" --to 0.8.2.1 --switch ports --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "plan refuses: x-context is ignored under PRODUCTION=yes, staging could not be migrated" \
  bash -c "[ $rc = 1 ] && jq -e '[.refusals[] | select(test(\"PRODUCTION=yes.*x-context\"))] | length == 1' '$OUT' >/dev/null"
tb_compose_down "$P81"

echo "--- 2. 0.8.1 with its update worker -> 0.8.2.1"
stack_up "$P81" tracardi-0.8.1.yml || tb_die "the 0.8.1 stack did not come up"
tb_seed_blue "$P81" 0.8.1 3 || tb_die "could not seed the 0.8.1 stack"
tu status "$P81" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "status names api, gui, worker, redis and elasticsearch" \
  jqe --arg p "$P81" '[.stacks[] | select(.name == $p) | .containers[] | .role] | sort | unique == ["api","elasticsearch","gui","redis","worker"]' "$OUT"
tu plan "$P81" --to 0.9.0 --switch ports --mysql-host mysql --json >"$OUT" 2>"$ERR"
tb_check "plan 0.8.1 -> 0.9.0 goes through 0.8.2 at its newest published tag, 0.8.2.1" \
  jqe '[.hops[].to] == ["0.8.2.1", "0.9.0"]' "$OUT"
tu plan "$P81" --to 0.8.2.1 --switch ports --json >"$OUT" 2>"$ERR"; rc=$?
cp "$OUT" "$WORK/plan81.json"
tb_check "plan --to 0.8.2.1 (a patch tag) is ok" bash -c "[ $rc = 0 ] && jq -e '.ok == true' '$OUT' >/dev/null"
# Entities: a single index in 0.8.1, partitioned in 0.8.2, yet 0.8.2's plan copies them into
# a single index no alias covers (tests/standins/README.md, facts 37).
for i in 1 2 3; do printf '{"index":{"_index":"08x.01506.tracardi-entity","_id":"e%d"}}\n{"type":"seeded"}\n' "$i"; done >"$WORK/entities.ndjson"
for i in 1 2; do printf '{"index":{"_index":"prod-08x.01506.tracardi-entity","_id":"p%d"}}\n{"type":"seeded"}\n' "$i"; done >>"$WORK/entities.ndjson"
curl -s --max-time 30 -X POST "$TB_ELASTIC_URL/_bulk?refresh=true" -H 'content-type: application/x-ndjson' \
  --data-binary @"$WORK/entities.ndjson" | jq -e '.errors == false' >/dev/null || tb_die "could not seed entities"
tu upgrade "$P81" --to 0.8.2.1 --switch ports --observe 3 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "upgrade to 0.8.2.1 exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 15 "$ERR" >&2
tb_check "the published port answers 0.8.2 (what 0.8.2.1's library says)" [ "$(version_at "$API_URL")" = 0.8.2 ]
W=$(green_of "$P81" update-worker)
tb_check "green's update worker runs" [ "$(state_of "$W")" = running ]
tb_check "…with blue's worker's environment (REDIS_HOST only, on green's Redis), not the api's" \
  bash -c "env_of() { docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' \"\$1\"; }
           e=\$(env_of '$W'); grep -q '^REDIS_HOST=redis://$P81-redis-0.8.2.1:6379' <<<\"\$e\" && ! grep -q '^ELASTIC_HOST=' <<<\"\$e\" && ! grep -q '^DEMO=' <<<\"\$e\""
tb_check "no apm is added: tracup upgrades the workers blue runs (0.8.1 ran none)" test -z "$(green_of "$P81" apm)"
GAPI=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$(green_of "$P81" tracardi-api)" | awk '{print $1}')
tb_check "the migration ran once per context (0.8.2 acts on one context a POST)" \
  jqe '.runs | map({context, count}) | sort_by(.context) == [{"context":"production","count":1},{"context":"staging","count":1}]' \
  <(curl -s --max-time 5 "http://$GAPI/standin/migrations")
tb_check "the upgrade followed the copies through Celery's state" grep -qE "[0-9]+ of [0-9]+ copies done, 100%" "$OUT"
# 0.8.2's plan lists no partition (tests/standins/README.md, facts 34): tracup copies them.
tb_check "tracup copied the 4 event and profile partitions 0.8.2's plan left out, as its schema file says" \
  bash -c "grep -q \"Tracardi 0.8.2.1's plan leaves out every partition of the old release; tracup copies the 4 it holds (12 documents) itself\" '$OUT' &&
           grep -qE 'tracup made the [0-9]+ copies Tracardi.s plan left out' '$OUT'"
tb_check "…so 0.8.2.1 reads blue's events and profiles through its aliases, staging and production" \
  bash -c "for a in ffe49.tracardi-event ffe49.tracardi-profile prod-ffe49.tracardi-event prod-ffe49.tracardi-profile; do
             [ \"\$(curl -s --max-time 10 '$TB_ELASTIC_URL/'\$a/_count | jq -r .count)\" = 3 ] || exit 1; done"
tb_check "…and its entities: the plan's copy into 0820.ffe49.tracardi-entity (no alias) is copied on into the partition 0.8.2.1 reads" \
  bash -c "grep -q \"Tracardi's plan copies into '0820.ffe49.tracardi-entity', which 0.8.2.1 does not read\" '$OUT' &&
           [ \"\$(curl -s --max-time 10 '$TB_ELASTIC_URL/ffe49.tracardi-entity/_count' | jq -r .count)\" = 3 ] &&
           [ \"\$(curl -s --max-time 10 '$TB_ELASTIC_URL/prod-ffe49.tracardi-entity/_count' | jq -r .count)\" = 2 ]"
tb_check "each migration POST named its context, staging too (x-context: staging, never absent)" \
  jqe '[.posts[] | select(.from_version == "08x") | .x_context] | sort == ["production", "staging"]' \
  <(curl -s --max-time 5 "http://$GAPI/standin/migrations")
tb_check "plan names the header it sends for each context" \
  jqe '[.hops[0].migration[] | .header] == ["x-context: staging", "x-context: production"]' "$WORK/plan81.json"
tu rollback "$P81" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "rollback exits 0" [ $rc = 0 ]
tb_check "the published port answers 0.8.1 again" [ "$(version_at "$API_URL")" = 0.8.1 ]
tu upgrade "$P81" --to 0.8.2.1 --switch ports --observe 2 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "the same upgrade runs again after the rollback" [ $rc = 0 ]
tu finalize "$P81" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize exits 0: blue's api and update worker are gone, green's worker runs, 0.8.2 answers" \
  bash -c "[ $rc = 0 ] && [ -z '$(docker ps -aq --filter "label=com.docker.compose.project=$P81" --filter label=com.docker.compose.service=tracardi-api)' ] &&
           [ -z '$(docker ps -aq --filter "label=com.docker.compose.project=$P81" --filter label=com.docker.compose.service=worker)' ] &&
           [ '$(state_of "$(green_of "$P81" update-worker)")' = running ] && [ '$(version_at "$API_URL")' = 0.8.2 ]"
[ $rc = 0 ] || tail -n 15 "$ERR" >&2
tb_check "…without --delete-old-indices, 0.8.1's indices stay" [ "$(tb_release_docs 08x 01506)" -ge 12 ]
tb_compose_down "$P81"

echo "--- 3. 0.8.2.1 with apm in worker mode and no update worker -> 0.9.0"
stack_up "$P82" tracardi-0.8.2.1.yml || tb_die "the 0.8.2.1 stack did not come up"
tb_seed_blue "$P82" 0.8.2 3 || tb_die "could not seed the 0.8.2.1 stack"
tu plan "$P82" --to 0.9.0 --switch ports --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "plan without MySQL refuses, saying 0.9 needs it" \
  bash -c "[ $rc = 1 ] && jq -e '[.refusals[] | select(test(\"needs MySQL\"))] | length == 1' '$OUT' >/dev/null"
# A MySQL for the new release, on the stack's network (the stand-in accepts the port).
docker run -d --name "$P82-mysql" --network "${P82}_default" --network-alias mysql \
  --label "com.docker.compose.project=$P82" "$TB_MYSQL_IMAGE" >/dev/null || tb_die "no MySQL container"
tu upgrade "$P82" --to 0.9.0 --switch ports --mysql-host mysql --observe 3 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "upgrade to 0.9.0 with --mysql-host exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 15 "$ERR" >&2
tb_check "the published port answers 0.9.0" [ "$(version_at "$API_URL")" = 0.9.0 ]
W=$(green_of "$P82" update-worker)
tb_check "green has an update worker (0.9 migrates through it; blue ran none)" [ "$(state_of "$W")" = running ]
A=$(green_of "$P82" apm)
tb_check "green's apm keeps blue's apm's MODE and PAUSE" \
  bash -c "docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' '$A' | grep -qx 'MODE=worker' &&
           docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' '$A' | grep -qx 'PAUSE=15'"
tb_check "the tables Tracardi 0.9 does not copy are named (empty here, so the upgrade goes on)" \
  grep -q "tracardi-segment' was not copied by Tracardi, and holds nothing" "$OUT"
tu finalize "$P82" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize exits 0" [ $rc = 0 ]
tb_check "blue's api is gone" test -z "$(docker ps -aq --filter "label=com.docker.compose.project=$P82" --filter "label=com.docker.compose.service=tracardi-api")"
tb_check "0.9.0 still answers" [ "$(version_at "$API_URL")" = 0.9.0 ]
tb_compose_down "$P82"

# faulty_09_upgrade FAULT: a seeded 0.8.2.1 stack with a MySQL, upgraded to 0.9.0 from the
# fault registry's images (blue's from the test bed's own); sets rc.
faulty_09_upgrade() {
  stack_up "$P82B" tracardi-0.8.2.1.yml || tb_die "the 0.8.2.1 stack did not come up"
  tb_seed_blue "$P82B" 0.8.2 3 || tb_die "could not seed the 0.8.2.1 stack"
  docker run -d --name "$P82B-mysql" --network "${P82B}_default" --network-alias mysql \
    --label "com.docker.compose.project=$P82B" "$TB_MYSQL_IMAGE" >/dev/null || tb_die "no MySQL container"
  timeout 300 "$TRACUP" upgrade --stack "$P82B" --to 0.9.0 --registry "$TB_REGISTRY/faulty/$1" \
    --from-registry "$TB_REGISTRY" \
    --switch ports --mysql-host mysql --observe 3 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
}

echo "--- 3b. 0.8.2.1 -> 0.9.0 whose copy into MySQL loses a record"
faulty_09_upgrade migration-bad-record
tb_check "a copy that finished with a record error fails the migration (rolled back, exit 4)" [ $rc = 4 ]
tb_check "…naming the task and Tracardi's last error" \
  grep -qE "task 'Migration of .*' finished, but Tracardi could not copy at least one record \(the last error: 1 validation error" "$ERR"
tb_check "0.8.2.1 still answers" [ "$(version_at "$API_URL")" = 0.8.2 ]
tb_compose_down "$P82B"

echo "--- 3d. 0.8.2.1 -> 0.9.0 whose asynchronous profile copy fails (huey runs the plan again)"
faulty_09_upgrade migration-fail
# tracup names the failed row, or (when the task list already holds only huey's second
# attempt) the second orchestrator
tb_check "a failed profile copy fails the migration (rolled back, exit 4), naming the task or huey's re-run" \
  bash -c "[ $rc = 4 ] && grep -qE \"task 'Migration of .0820.ffe49.tracardi-profile-[^']*' failed|huey started it again\" '$ERR'"
[ $rc = 4 ] || tail -n 15 "$ERR" >&2
sleep 3  # a copy of huey's second run would write into 0.9's indices now
LEFT9=$(curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json" | jq -r '[.[].index | select(test("^(prod-|static-)?09x\\.8504a\\."))] | join(" ")')
tb_check "…no index of 0.9 is left or comes back ($LEFT9), and 0.8.2.1 answers" \
  bash -c "[ -z '$LEFT9' ] && [ '$(version_at "$API_URL")' = 0.8.2 ]"
tb_compose_down "$P82B"

# The names of a release's indices (staging, production, static), sorted.
index_names() { curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json" |
  jq -r --arg re "^(prod-|static-)?$1\\.$2\\." '[.[] | .index | select(test($re))] | sort | .[]'; }
# One document written into the shared event index, as the new release would write it.
write_event() {
  local idx
  idx=$(index_names "$1" "$2" | grep -E "^$1\.$2\.tracardi-event-" | head -n1)
  [ -n "$idx" ] && curl -s --max-time 10 -X POST "$TB_ELASTIC_URL/$idx/_doc/$3?refresh=true" \
    -H 'content-type: application/json' -d '{"type":"written-by-green"}' | jq -e '.result == "created"' >/dev/null
}
doc_exists() { local idx; idx=$(index_names "$1" "$2" | grep -E "^$1\.$2\.tracardi-event-" | head -n1)
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$TB_ELASTIC_URL/$idx/_doc/$3")" = 200 ]; }
blue_api_state() { state_of "$(docker ps -aq --filter "label=com.docker.compose.project=$1" --filter label=com.docker.compose.service=tracardi-api | head -n1)"; }

echo "--- 3c. 0.8.2 -> 0.8.2.1 on shared data (one db_version, 0820)"
stack_up "$P82S" tracardi-0.8.2.1.yml TRACARDI_VERSION=0.8.2 || tb_die "the 0.8.2 stack did not come up"
tb_seed_blue "$P82S" 0.8.2 3 || tb_die "could not seed the 0.8.2 stack"
BEFORE=$(index_names 0820 ffe49)
DOCS0=$(tb_release_docs 0820 ffe49)
tu plan "$P82S" --to 0.8.2.1 --switch ports --json >"$OUT" 2>"$ERR"; rc=$?
cp "$OUT" "$WORK/plan82s.json"
tb_check "plan 0.8.2 -> 0.8.2.1 is ok: a patch tag, no flag needed" bash -c "[ $rc = 0 ] && jq -e '.ok == true' '$OUT' >/dev/null"
tb_check "…on blue's indices, confirmed, nothing migrated, no shard added" \
  jqe '.shared_data.db_version == "0820" and .shared_data.tenant == "ffe49" and .shared_data.confirmed == true and
       (.hops | length == 1) and .hops[0].migration == [] and .hops[0].shared_data == true and
       .elasticsearch.shards_needed == 0' "$OUT"
tu plan "$P82S" --to 0.8.2.1 --switch ports >"$OUT" 2>"$ERR"
tb_check "plan says what a rollback cannot undo" \
  bash -c "grep -q 'runs on 0.8.2.s own data (0820.ffe49.\*, prod-0820.ffe49.\*), nothing is installed or migrated' '$OUT' &&
           grep -q 'mapping fields its install or its writes add' '$OUT' && ! grep -q 'migrate  ' '$OUT'"
tb_check "…says green's workers wait for blue's to stop" grep -q "green's workers are created stopped and start once blue's have stopped" "$OUT"
tb_check "…pulls each image by the registry's digest (no bundle here, so no 'offline' line)" \
  bash -c "grep -qE '^  pull +$TB_REGISTRY/tracardi/tracardi-api:0.8.2.1 +sha256:' '$OUT' && ! grep -q offline '$OUT'"
export TRACUP_ADMIN_PASSWORD_GREEN=$TRACUP_ADMIN_PASSWORD
export TRACUP_ADMIN_PASSWORD=$TB_BLUE_PASSWORD   # shared data: blue's own admin
tu upgrade "$P82S" --to 0.8.2.1 --switch ports --observe 3 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "upgrade to 0.8.2.1 on shared data exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 15 "$ERR" >&2
tb_check "…found the schema installed and migrated nothing" \
  bash -c "grep -q \"shares 0.8.2's data and finds it installed: nothing to install\" '$OUT' &&
           grep -q 'nothing to migrate: both releases use db_version 0820' '$OUT'"
DIG=$(jq -r '.hops[0].images[] | select(.image == "api") | .digest' "$WORK/plan82s.json")
tb_check "…green's api runs 0.8.2.1 by the registry's digest" \
  bash -c "[ -n '$DIG' ] && [ '$(docker inspect -f '{{.Config.Image}}' "$(green_of "$P82S" tracardi-api)")' = '$TB_REGISTRY/tracardi/tracardi-api@$DIG' ]"
GAPI=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$(green_of "$P82S" tracardi-api)" | awk '{print $1}')
tb_check "…green ran no migration" jqe '.runs | length == 0' <(curl -s --max-time 5 "http://$GAPI/standin/migrations")
tb_check "…and Elasticsearch has the same 0820 indices, no more, no fewer" [ "$(index_names 0820 ffe49)" = "$BEFORE" ]
tb_check "blue's api is stopped, kept for the way back" [ "$(blue_api_state "$P82S")" = exited ]
tb_check "no update worker is added: nothing is migrated and blue runs none" test -z "$(green_of "$P82S" update-worker)"
tb_check "green's apm was created stopped and started at done, after blue's stopped" \
  bash -c "grep -q 'apm-0.8.2.1 created (.*), stopped until blue' '$OUT' && grep -q 'done .*apm-0.8.2.1 started: blue.s workers have stopped' '$OUT' &&
           [ '$(state_of "$(green_of "$P82S" apm)")' = running ] &&
           [ '$(state_of "$(docker ps -aq --filter "label=com.docker.compose.project=$P82S" --filter label=com.docker.compose.service=tracardi-apm)")' = exited ]"
write_event 0820 ffe49 green-wrote-1 || tb_die "could not write into the shared event index"
tu rollback "$P82S" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "rollback exits 0" [ $rc = 0 ]
tb_check "…its confirmation says what green wrote stays in the shared indices" \
  grep -q "0.8.2.1 ran on 0.8.2's own indices (one db_version): what it wrote while it served stays in them" "$OUT"
tb_check "…says nothing is deleted" grep -q "0.8.2.1 ran on 0.8.2's own indices: nothing is deleted; what it wrote while it served stays in them" "$OUT"
tb_check "…blue's api serves again, green is gone" \
  bash -c "[ '$(blue_api_state "$P82S")' = running ] && [ -z '$(green_of "$P82S" tracardi-api)' ] && [ '$(version_at "$API_URL")' = 0.8.2 ]"
tb_check "…every index is still there, and what green wrote with them" \
  bash -c "[ '$(index_names 0820 ffe49 | tr '\n' ' ')' = '$(tr '\n' ' ' <<<"$BEFORE")' ] && [ $(tb_release_docs 0820 ffe49) -ge $((DOCS0 + 1)) ]"
tb_check "…the document green wrote is in blue's index" doc_exists 0820 ffe49 green-wrote-1
tb_check "…and no deletion was even tried (no leftover, no 'cannot delete')" \
  bash -c "! grep -qE 'cannot delete|indices of 0.8.2.1 stay' '$OUT' && jq -e 'has(\"leftover_indices\") | not' '$TRACUP_STATE_DIR/$P82S/journal.json' >/dev/null"
tu upgrade "$P82S" --to 0.8.2.1 --switch ports --observe 2 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "the same upgrade runs again after the rollback" [ $rc = 0 ]
tu finalize "$P82S" --delete-old-indices --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize --delete-old-indices is refused: the old indices are the new release's" \
  bash -c "[ $rc != 0 ] && grep -q 'there are no old indices to delete' '$ERR'"
tb_check "…and removed nothing" bash -c "[ '$(blue_api_state "$P82S")' = exited ] && [ '$(index_names 0820 ffe49 | wc -l)' = '$(wc -l <<<"$BEFORE")' ]"
tu finalize "$P82S" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize exits 0, keeping the indices and saying why" \
  bash -c "[ $rc = 0 ] && grep -q 'Indices 0820.ffe49 stay: Tracardi 0.8.2.1 runs on them' '$OUT'"
tb_check "…blue's api is gone, the indices and green's answers stay" \
  bash -c "[ -z '$(docker ps -aq --filter "label=com.docker.compose.project=$P82S" --filter label=com.docker.compose.service=tracardi-api)' ] &&
           [ '$(index_names 0820 ffe49 | wc -l)' = '$(wc -l <<<"$BEFORE")' ] && [ '$(version_at "$API_URL")' = 0.8.2 ]"
tb_check "…with the document green wrote" doc_exists 0820 ffe49 green-wrote-1
tu plan "$P82S" --to 0.8.2.1 --switch ports --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "plan --to 0.8.2.1 now: already runs (its api says 0.8.2, its label 0.8.2.1)" \
  bash -c "[ $rc = 1 ] && jq -e '[.refusals[] | select(. == \"Tracardi 0.8.2.1 already runs\")] | length == 1' '$OUT' >/dev/null"
export TRACUP_ADMIN_PASSWORD=$TRACUP_ADMIN_PASSWORD_GREEN
tb_compose_down "$P82S"

echo "--- 4. 0.9.0 and the 1.0.0 open-source layout"
stack_up "$P90" tracardi-0.9.0.yml || tb_die "the 0.9.0 stack did not come up"
tu status "$P90" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "0.9.0: status names the api, worker, MySQL" \
  bash -c "[ $rc = 0 ] && jq -e --arg p '$P90' '[.stacks[] | select(.name == \$p) | .containers[] | .role] | (index(\"api\") != null and index(\"worker\") != null and index(\"mysql\") != null)' '$OUT' >/dev/null"
tb_seed_blue "$P90" 0.9.0 2 || tb_die "could not seed the 0.9.0 stack"
BEFORE=$(index_names 09x 8504a)
tu plan "$P90" --to 1.0.0 --switch ports --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "0.9.0 -> 1.0.0 without --share-data is refused: 1.x's source could not be read" \
  bash -c "[ $rc = 1 ] && jq -e '[.refusals[] | select(test(\"share db_version .09x.\") and test(\"could not read\") and test(\"--share-data\"))] | length == 1' '$OUT' >/dev/null"
tb_check "…saying what cannot be confirmed" jqe '.shared_data.confirmed == false and (.shared_data.unconfirmed | test("1.0.0"))' "$OUT"
tu plan "$P90" --to 1.0.0 --switch ports --share-data --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "…with --share-data the plan is ok, MySQL tables named among what a rollback cannot undo" \
  bash -c "[ $rc = 0 ] && jq -e '.ok and ([.shared_data.rollback_cannot_undo[] | select(test(\"MySQL\"))] | length == 1)' '$OUT' >/dev/null"
export TRACUP_ADMIN_PASSWORD=$TB_BLUE_PASSWORD
tu upgrade "$P90" --to 1.0.0 --switch ports --share-data --observe 2 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "upgrade 0.9.0 -> 1.0.0 --share-data exits 0 and serves 1.0.0" bash -c "[ $rc = 0 ] && [ '$(version_at "$API_URL")' = 1.0.0 ]"
[ $rc = 0 ] || tail -n 15 "$ERR" >&2
tb_check "…on the same 09x indices" [ "$(index_names 09x 8504a)" = "$BEFORE" ]
tu rollback "$P90" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "…no deletion was tried" bash -c "! grep -qE 'cannot delete|indices of 1.0.0 stay' '$OUT'"
tb_check "rollback serves 0.9.0 again and deletes nothing" \
  bash -c "[ $rc = 0 ] && [ '$(version_at "$API_URL")' = 0.9.0 ] && [ '$(index_names 09x 8504a | tr '\n' ' ')' = '$(tr '\n' ' ' <<<"$BEFORE")' ]"
tu upgrade "$P90" --to 1.0.0 --switch ports --share-data --observe 2 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "the same upgrade runs again after the rollback" [ $rc = 0 ]
tu finalize "$P90" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize exits 0, keeps the 09x indices and says why; blue's api is gone, 1.0.0 answers" \
  bash -c "[ $rc = 0 ] && grep -q 'Indices 09x.8504a stay: Tracardi 1.0.0 runs on them' '$OUT' &&
           [ '$(index_names 09x 8504a | tr '\n' ' ')' = '$(tr '\n' ' ' <<<"$BEFORE")' ] &&
           [ -z '$(docker ps -aq --filter "label=com.docker.compose.project=$P90" --filter label=com.docker.compose.service=tracardi-api)' ] &&
           [ '$(version_at "$API_URL")' = 1.0.0 ]"
[ $rc = 0 ] || tail -n 15 "$ERR" >&2
export TRACUP_ADMIN_PASSWORD=$TRACUP_ADMIN_PASSWORD_GREEN
tb_compose_down "$P90"
stack_up "$P100" tracardi-0.9.0.yml TRACARDI_VERSION=1.0.0 || tb_die "the 1.0.0 stack did not come up"
tu status "$P100" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "1.0.0: status reads the release" \
  bash -c "[ $rc = 0 ] && jq -e --arg p '$P100' '[.stacks[] | select(.name == \$p) | .containers[] | select(.role == \"api\") | .tag] == [\"1.0.0\"]' '$OUT' >/dev/null"
tb_compose_down "$P100"

tb_summary
