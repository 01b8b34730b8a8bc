#!/usr/bin/env bash
# End to end: `tracup plan` and `tracup upgrade` refuse the upgrades that cannot be done
# blue-green (shared db_version, downgrade, -dev/latest without consent, missing MySQL,
# same version, target indices already present, shard budget too small), each with a
# clear reason, and a refused upgrade changes nothing: no green container is ever
# created, no journal is left that blocks a later upgrade, and the stack keeps
# answering its version through the edge.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

TRACUP=${TRACUP:-$TB_REPO_DIR/build/src/tracup}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"
P82=${TB_E2E_PREFIX}rf82      # 0.8.2 without MySQL
P90=${TB_E2E_PREFIX}rf90      # 0.9.0 (with MySQL)
P81=${TB_E2E_PREFIX}rf81      # 0.8.1, installed and seeded
WORK=$(mktemp -d)
tb_cleanup_add "rm -rf '$WORK'"
tb_cleanup_add "tb_compose_down '$P82'"
tb_cleanup_add "tb_compose_down '$P90'"
tb_cleanup_add "tb_compose_down '$P81'"
OUT=$WORK/out ERR=$WORK/err
REG=$TB_REGISTRY
export TRACUP_STATE_DIR=$WORK/state
export TRACUP_ADMIN_EMAIL=$TB_ADMIN_EMAIL
export TRACUP_ADMIN_PASSWORD=green-secret-1
mkdir -p "$TRACUP_STATE_DIR"

jqe() { tb_jqe "$@"; }
# tb_compose_up with up to three tries: a free port picked at random can be taken by
# another process's connection before docker binds it ("address already in use").
compose_up() {  # PROJECT VERSION
  local i
  for ((i = 1; i <= 3; i++)); do
    tb_compose_up "$1" "$2" && return 0
    tb_log "compose up of $1 failed (try $i of 3)"
    tb_compose_down "$1"
  done
  return 1
}
tracup() { timeout 180 "$TRACUP" "$@"; }

# Containers created since unix time T0 that belong to stack P (by label or name).
created_since() {  # T0 P
  docker events --since "$1" --until "$(date +%s)" --filter type=container --filter event=create \
    --format '{{.Actor.Attributes.name}} {{index .Actor.Attributes "tracup.stack"}}' 2>/dev/null |
    awk -v p="$2" 'index($1, p "-") == 1 || index($1, p "_") == 1 || $2 == p'
}
green_containers() { docker ps -aq --filter "label=tracup.stack=$1" --filter label=tracup.color=green; }
# A journal that is not finished (rolled back or finalized) blocks the next upgrade.
no_blocking_journal() {  # P
  local j=$TRACUP_STATE_DIR/$1/journal.json
  [ ! -e "$j" ] || jqe '.state == "rolled_back" or .state == "finalized"' "$j"
}
answers_version() {  # URL VERSION
  [ "$(curl -s --max-time 5 "$1/info/version")" = "\"$2\"" ]
}
# A plan refusal that says an earlier upgrade is still under way.
no_in_progress_refusal() {  # PLAN_JSON
  jqe '[.refusals[] | select(test("upgrade .* of this stack is|resume or roll it back|finalize or roll it back"))] | length == 0' "$1"
}

# refused_upgrade DESC P API_URL VERSION WANT_RC PATTERN TRACUP_ARGS…: run `upgrade`,
# expect WANT_RC with PATTERN (extended regex) on stderr, and nothing changed.
refused_upgrade() {
  local desc=$1 p=$2 url=$3 version=$4 want=$5 pattern=$6 rc t0; shift 6
  t0=$(date +%s)
  tracup upgrade "$@" --stack "$p" --yes --smoke-timeout 20 --observe 5 >"$OUT" 2>"$ERR"; rc=$?
  sleep 1   # the events of the last second are complete
  tb_check "$desc: upgrade exits $want (got $rc)" [ "$rc" = "$want" ]
  tb_check "$desc: upgrade says why" grep -qE -- "$pattern" "$ERR"
  tb_check "$desc: no container was created" test -z "$(created_since "$t0" "$p")"
  tb_check "$desc: no green container exists" test -z "$(green_containers "$p")"
  tb_check "$desc: no unfinished journal is left" no_blocking_journal "$p"
  tb_check "$desc: the edge still answers $version" answers_version "$url" "$version"
  if [ "$rc" != "$want" ]; then sed 's/^/#   /' "$ERR" | tail -n 5 >&2; fi
}

echo "--- a 0.8.2 stack without MySQL"
compose_up "$P82" 0.8.2 || tb_die "the 0.8.2 stack did not come up"
URL82=$TB_API_URL

tracup plan --to 0.8.1 --registry "$REG" --stack "$P82" >"$OUT" 2>"$ERR"; rc=$?
tb_check "downgrade: plan exits 1" [ $rc = 1 ]
tb_check "downgrade: plan says the data moves forward only" grep -qE 'forward only' "$OUT"
tb_check "downgrade: plan says 0.8.1 is older than 0.8.2" grep -qE '0\.8\.1 is older than the running 0\.8\.2' "$OUT"
tracup plan --to 0.8.1 --registry "$REG" --stack "$P82" --json >"$OUT" 2>"$ERR"
tb_check "downgrade: plan --json lists the refusal" jqe '.ok == false and ([.refusals[] | select(test("forward only"))] | length == 1)' "$OUT"
refused_upgrade "downgrade" "$P82" "$URL82" 0.8.2 1 'forward only|older' --to 0.8.1 --registry "$REG"

tracup plan --to 0.9.0-dev --registry "$REG" --stack "$P82" >"$OUT" 2>"$ERR"; rc=$?
tb_check "0.9.0-dev: plan exits 2 naming --allow-dev" bash -c "[ $rc = 2 ] && grep -q -- '--allow-dev' '$ERR'"
refused_upgrade "0.9.0-dev without --allow-dev" "$P82" "$URL82" 0.8.2 2 '--allow-dev' --to 0.9.0-dev --registry "$REG"

tracup plan --to latest --registry "$REG" --stack "$P82" >"$OUT" 2>"$ERR"; rc=$?
tb_check "latest: plan exits 2 saying it is not a version" bash -c "[ $rc = 2 ] && grep -q \"'latest' is not a version\" '$ERR'"
refused_upgrade "latest" "$P82" "$URL82" 0.8.2 2 "'latest' is not a version" --to latest --registry "$REG"

tracup plan --to 0.9.0 --registry "$REG" --stack "$P82" >"$OUT" 2>"$ERR"; rc=$?
tb_check "0.9.0 without MySQL: plan exits 1" [ $rc = 1 ]
tb_check "0.9.0 without MySQL: plan names MYSQL_HOST and --mysql-host" \
  bash -c "grep -q 'needs MySQL' '$OUT' && grep -q 'MYSQL_HOST' '$OUT' && grep -q -- '--mysql-host' '$OUT'"
tracup plan --to 0.9.0 --registry "$REG" --stack "$P82" --json >"$OUT" 2>"$ERR"
tb_check "0.9.0 without MySQL: plan --json lists the MySQL refusal" \
  jqe '[.refusals[] | select(test("MYSQL_HOST") and test("--mysql-host"))] | length == 1' "$OUT"
refused_upgrade "0.9.0 without MySQL" "$P82" "$URL82" 0.8.2 1 'MYSQL_HOST.*--mysql-host' --to 0.9.0 --registry "$REG"

tracup plan --to 0.8.2 --registry "$REG" --stack "$P82" >"$OUT" 2>"$ERR"; rc=$?
tb_check "same version: plan exits 1 saying 0.8.2 already runs" \
  bash -c "[ $rc = 1 ] && grep -q 'Tracardi 0.8.2 already runs' '$OUT'"
refused_upgrade "same version" "$P82" "$URL82" 0.8.2 1 'already runs' --to 0.8.2 --registry "$REG"

# Fixed: naming a MySQL lets the plan through; no earlier attempt is "in progress".
tracup plan --to 0.9.0 --registry "$REG" --stack "$P82" --mysql-host mysql:3306 --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "after the refusals: plan to 0.9.0 with --mysql-host is ready (exit 0)" [ $rc = 0 ]
tb_check "…and nothing is in progress" no_in_progress_refusal "$OUT"
tb_compose_down "$P82"

echo "--- a 0.9.0 stack: 1.0.0 shares its db_version"
compose_up "$P90" 0.9.0 || tb_die "the 0.9.0 stack did not come up"
URL90=$TB_API_URL
tracup plan --to 1.0.0 --registry "$REG" --stack "$P90" >"$OUT" 2>"$ERR"; rc=$?
tb_check "0.9.0 -> 1.0.0: plan exits 1" [ $rc = 1 ]
tb_check "0.9.0 -> 1.0.0: plan says both share db_version 09x" grep -qE "share db_version '?09x" "$OUT"
tb_check "0.9.0 -> 1.0.0: plan says 1.0.0's source could not be read, and names --share-data" \
  bash -c "grep -q 'whose source tracup could not read' '$OUT' && grep -q -- '--share-data' '$OUT'"
tracup plan --to 1.0.0 --registry "$REG" --stack "$P90" --json >"$OUT" 2>"$ERR"
tb_check "0.9.0 -> 1.0.0: plan --json lists the db_version refusal" \
  jqe '.ok == false and ([.refusals[] | select(test("share db_version") and test("--share-data"))] | length == 1)' "$OUT"
refused_upgrade "0.9.0 -> 1.0.0" "$P90" "$URL90" 0.9.0 1 'share db_version' --to 1.0.0 --registry "$REG"
tb_check "0.9.0 -> 1.0.0: the refusal on stderr names --share-data" grep -q -- '--share-data' "$ERR"
tracup plan --to 1.0.0 --registry "$REG" --stack "$P90" --json >"$OUT" 2>"$ERR"
tb_check "0.9.0 -> 1.0.0: a later plan is refused for db_version only, not for an upgrade in progress" \
  bash -c "jq -e '(.refusals | length) == 1' '$OUT' >/dev/null && jq -e '[.refusals[] | select(test(\"of this stack is\"))] | length == 0' '$OUT' >/dev/null"
tb_compose_down "$P90"

echo "--- a 0.8.1 stack, installed, with documents"
compose_up "$P81" 0.8.1 || tb_die "the 0.8.1 stack did not come up"
URL81=$TB_API_URL ES81=$TB_ELASTIC_URL
tb_check "0.8.1 stack installed and seeded" tb_seed_blue "$P81" 0.8.1 3
blue_docs=$(tb_release_docs 08x 01506)

# The target's indices already exist (a failed attempt, a manual install): a migration
# into them would duplicate documents (tracardi issue #565).
LEFT=0820.ffe49.tracardi-event-2024-3
curl -s --max-time 10 -X PUT "$ES81/$LEFT/_doc/left-1?refresh=true" -H 'content-type: application/json' \
  -d '{"left":"by an earlier attempt"}' >/dev/null
tb_check "an index of 0.8.2 exists ($LEFT, 1 document)" \
  bash -c "curl -s --max-time 10 '$ES81/$LEFT/_count' | jq -e '.count == 1' >/dev/null"
tracup plan --to 0.8.2 --registry "$REG" --stack "$P81" >"$OUT" 2>"$ERR"; rc=$?
tb_check "existing target indices: plan exits 1" [ $rc = 1 ]
tb_check "existing target indices: plan names issue #565 and db_version 0820" \
  bash -c "grep -q '#565' '$OUT' && grep -qE 'indices of db_version 0820' '$OUT' && grep -q 'duplicate' '$OUT'"
tracup plan --to 0.8.2 --registry "$REG" --stack "$P81" --json >"$OUT" 2>"$ERR"
tb_check "existing target indices: plan --json lists the #565 refusal" \
  jqe '.ok == false and ([.refusals[] | select(test("#565"))] | length == 1)' "$OUT"
refused_upgrade "existing target indices" "$P81" "$URL81" 0.8.1 1 '#565' --to 0.8.2 --registry "$REG"
tb_check "existing target indices: the refused upgrade left $LEFT and its document alone" \
  bash -c "curl -s --max-time 10 '$ES81/$LEFT/_count' | jq -e '.count == 1' >/dev/null"
tb_check "existing target indices: blue's documents are as they were ($blue_docs)" \
  [ "$(tb_release_docs 08x 01506)" = "$blue_docs" ]
curl -s --max-time 10 -X DELETE "$ES81/$LEFT" >/dev/null
tracup plan --to 0.8.2 --registry "$REG" --stack "$P81" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "with $LEFT deleted the plan is ready (exit 0)" [ $rc = 0 ]
tb_check "…and nothing is in progress" no_in_progress_refusal "$OUT"

# The shard budget: cluster.max_shards_per_node low enough that 0.8.2 cannot fit.
set_shard_limit() {  # N|null
  curl -s --max-time 10 -X PUT "$ES81/_cluster/settings" -H 'content-type: application/json' \
    -d "{\"persistent\":{\"cluster.max_shards_per_node\":$1}}" | jq -e '.acknowledged == true' >/dev/null
}
tb_cleanup_add "curl -s --max-time 5 -X PUT '$ES81/_cluster/settings' -H 'content-type: application/json' -d '{\"persistent\":{\"cluster.max_shards_per_node\":null}}'"
tracup plan --to 0.8.2 --registry "$REG" --stack "$P81" --json >"$OUT" 2>"$ERR"
open=$(jq -r '.elasticsearch.shards_open' "$OUT")
tb_check "the plan reports the shards open ($open)" [ "${open:-0}" -gt 0 ]
limit=$((open + 40))
tb_check "cluster.max_shards_per_node set to $limit (40 free)" set_shard_limit "$limit"
tracup plan --to 0.8.2 --registry "$REG" --stack "$P81" >"$OUT" 2>"$ERR"; rc=$?
tracup plan --to 0.8.2 --registry "$REG" --stack "$P81" --json >"$WORK/plan.json" 2>/dev/null
needed=$(jq -r '.elasticsearch.shards_needed' "$WORK/plan.json")
tb_check "shard limit: plan exits 1" [ $rc = 1 ]
# shellcheck disable=SC2016  # $l is jq's variable
tb_check "shard limit: plan --json has the numbers (limit $limit, 40 free, $needed needed)" \
  jqe --argjson l "$limit" '.ok == false and .elasticsearch.shard_limit == $l and .elasticsearch.max_shards_per_node == $l
        and .elasticsearch.shards_free == 40 and .elasticsearch.shards_needed > 40' "$WORK/plan.json"
tb_check "shard limit: the refusal names needed, free and limit" \
  grep -qE "needs about $needed shards, but only 40 of $limit are free" "$OUT"
tb_check "shard limit: the refusal names cluster.max_shards_per_node" grep -q 'cluster.max_shards_per_node' "$OUT"
refused_upgrade "shard limit" "$P81" "$URL81" 0.8.1 1 'shard budget' --to 0.8.2 --registry "$REG"
tb_check "shard limit: the refused upgrade created no 0820 index" \
  [ "$(curl -s --max-time 10 "$ES81/_cat/indices?format=json" | jq '[.[] | select(.index | test("^(prod-|static-)?0820\\."))] | length')" = 0 ]

# 0.8.2 installs 116 shards (39 indices, staging and production) where 0.8.1 uses fewer:
# 100 free shards are not enough for it either.
limit=$((open + 100))
set_shard_limit "$limit"
tracup plan --to 0.8.2 --registry "$REG" --stack "$P81" --json >"$WORK/plan.json" 2>/dev/null; rc=$?
tb_check "shard limit with 100 free (0.8.2 needs 116): plan refuses (exit $rc, needed $(jq -r .elasticsearch.shards_needed "$WORK/plan.json"))" \
  bash -c "[ $rc = 1 ] && jq -e '[.refusals[] | select(test(\"shard budget\"))] | length == 1' '$WORK/plan.json' >/dev/null"

tb_check "shard limit removed" set_shard_limit null
tracup plan --to 0.8.2 --registry "$REG" --stack "$P81" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "with the limit back to default the plan is ready (exit 0)" [ $rc = 0 ]
tb_check "…and nothing is in progress" no_in_progress_refusal "$OUT"
tb_check "the 0.8.1 stack still answers 0.8.1 through the edge" answers_version "$URL81" 0.8.1
tb_check "no green container of any of the three stacks remains" \
  test -z "$(green_containers "$P82")$(green_containers "$P90")$(green_containers "$P81")"
tb_compose_down "$P81"

echo "--- --allow-downgrade: an older release on the indices it left behind"
PD=${TB_E2E_PREFIX}rfdown
compose_up "$PD" 0.8.2 || tb_die "the 0.8.2 stack for the downgrade did not come up"
URLD=$TB_API_URL
tracup plan --to 0.8.1 --allow-downgrade --registry "$REG" --stack "$PD" >"$OUT" 2>"$ERR"; rc=$?
tb_check "downgrade without 0.8.1's indices is refused: they are gone" bash -c "[ $rc = 1 ] && grep -q 'are gone' '$OUT'"
curl -s -XPUT "$TB_ELASTIC_URL/08x.01506.tracardi-event-2024-3" -H 'content-type: application/json' -d '{}' >/dev/null
curl -s -XPOST "$TB_ELASTIC_URL/08x.01506.tracardi-event-2024-3/_doc?refresh=true" -H 'content-type: application/json' \
    -d '{"kept":1}' >/dev/null
tracup plan --to 0.8.1 --allow-downgrade --registry "$REG" --stack "$PD" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "with them, plan is ready and migrates nothing" \
    bash -c "[ $rc = 0 ] && jq -e '.downgrade and (.hops[0].migration | length == 0)' '$OUT' >/dev/null"
tracup upgrade --to 0.8.1 --allow-downgrade --registry "$REG" --stack "$PD" --yes --observe 3 >"$OUT" 2>"$ERR"; rc=$?
tb_check "upgrade --allow-downgrade exits 0 and the edge answers 0.8.1" \
    bash -c "[ $rc = 0 ] && [ \"\$(curl -s '$URLD/info/version' | tr -d '\"')\" = 0.8.1 ]"
tb_check "…install and migration were skipped" grep -q 'downgrade: skipped' "$OUT"
docs=$(curl -s "$TB_ELASTIC_URL/08x.01506.tracardi-event-2024-3/_count" | jq -r .count)
tb_check "…0.8.1's index keeps its document ($docs)" [ "$docs" = 1 ]
tracup rollback --yes --stack "$PD" >"$OUT" 2>"$ERR"; rc=$?
tb_check "rolling the downgrade back answers 0.8.2 again" \
    bash -c "[ $rc = 0 ] && [ \"\$(curl -s '$URLD/info/version' | tr -d '\"')\" = 0.8.2 ]"
tb_check "…and never deletes the indices that were there before" \
    test "$(curl -s "$TB_ELASTIC_URL/08x.01506.tracardi-event-2024-3/_count" | jq -r .count)" = 1

tb_summary
