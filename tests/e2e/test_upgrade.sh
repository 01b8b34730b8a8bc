#!/usr/bin/env bash
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# End to end: `tracup plan`, `upgrade` and `rollback` on compose-started stand-in stacks.
#   1. 0.8.1 -> 0.8.2 through the edge with no failed request, blue kept, data migrated,
#      journal, status and history on record;
#   2. a second tracup on a stack that is locked is refused with the holder's details,
#      and a stale lock of a dead process is recovered;
#   3. rollback after done: asks first, then goes back with no failed request, keeps the
#      new release's indices, and refuses a second time;
#   4. rollback recreates blue's api from the snapshot when it was removed by hand
#      (and a real concurrent upgrade is refused while the first runs);
#   5. 0.8.0 -> 0.8.2 across two hops through the intermediate 0.8.1.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

TRACUP=${TRACUP:-$TB_REPO_DIR/build/src/tracup}
PROBE=${TRACUP_PROBE:-$TB_REPO_DIR/build/bench/tracup-probe}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"
[ -x "$PROBE" ] || tb_die "no probe at $PROBE (build first)"

WORK=$(mktemp -d)
tb_cleanup_add "rm -rf '$WORK'"
export TRACUP_STATE_DIR=$WORK/state
mkdir -p "$TRACUP_STATE_DIR"
# The new release's admin: from the environment only, never on a command line.
export TRACUP_ADMIN_EMAIL=admin@example.com
export TRACUP_ADMIN_PASSWORD="green-Adm1n-$RANDOM$RANDOM-pw"
# Blue's installation token: distinctive, so a leak would show.
TOKEN="inst-Tok3n-$RANDOM$RANDOM"
OUT=$WORK/out ERR=$WORK/err

P1=${TB_E2E_PREFIX}up
P2=${TB_E2E_PREFIX}uprm
P3=${TB_E2E_PREFIX}up2hop
tb_cleanup_add "tb_compose_down '$P1'"
tb_cleanup_add "tb_compose_down '$P2'"
tb_cleanup_add "tb_compose_down '$P3'"

jqe() { tb_jqe "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# tracup against one stack of the test bed; upgrade with short observe and smoke windows.
tu() { local cmd=$1 stack=$2; shift 2; "$TRACUP" "$cmd" --registry "$TB_REGISTRY" --stack "$stack" "$@"; }
upgrade() { local stack=$1 to=$2 observe=$3; shift 3
  tu upgrade "$stack" --to "$to" --observe "$observe" --smoke-timeout 60 --yes "$@"; }
version_at() { curl -s --max-time 3 "$1/info/version" | jq -r . 2>/dev/null; }
# docker ps -a names/states by labels: `ps_labels LABEL=V...` prints "name state" lines.
ps_labels() { local a=() l; for l in "$@"; do a+=(--filter "label=$l"); done
  docker ps -a "${a[@]}" --format '{{.Names}} {{.State}}'; }
# The state of a compose service's container ("" when there is none).
svc_state() { ps_labels "com.docker.compose.project=$1" "com.docker.compose.service=$2" | awk '{print $2}' | head -n1; }
no_secret() {  # DESC FILE...: neither the admin password nor the installation token appears
  if grep -rqF -e "$TRACUP_ADMIN_PASSWORD" -e "$TOKEN" -- "${@:2}" 2>/dev/null; then
    tb_fail "$1: a secret appears"; else tb_pass "$1: no secret"; fi
}

# Documents by index family (prefix, tenant and partition stripped; prod- kept) of the
# event and profile indices of one release, as JSON {family: docs}.
families() {  # PREFIX TENANT
  curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json" |
    jq -c --arg re "^(prod-)?$1\\.$2\\.tracardi-(event|profile)-" '
      [.[] | select(.index | test($re))
           | {k: (.index | sub("^(?<c>prod-)?[^.]+\\.[^.]+\\."; "\(.c // "")")
                         | sub("-[0-9]{4}-([0-9]{1,2}|q[1-4]|year)$"; "")),
              n: (.["docs.count"] | tonumber)}]
      | group_by(.k) | map({key: .[0].k, value: (map(.n) | add)}) | from_entries'
}
# Every family of $1 with documents has at least as many in $2.
families_covered() {
  jq -en --argjson b "$1" --argjson g "$2" \
    '([$b[]] | add // 0) > 0 and all($b | to_entries[]; .value <= ($g[.key] // 0))' >/dev/null
}

write_events() {  # INDEX N: N documents into INDEX, as the serving release would
  local i
  [ -n "$1" ] || return 1
  for ((i = 1; i <= $2; i++)); do
    printf '{"index":{"_index":"%s"}}\n{"seq":%d,"type":"written-after-switch"}\n' "$1" "$i"
  done | curl -s --max-time 10 -X POST "$TB_ELASTIC_URL/_bulk" -H 'content-type: application/x-ndjson' \
    --data-binary @- | jqe '.errors == false'
}

# tb_compose_up, once more on fresh ports when the first try fails: a free port can be
# taken by another process (a client's ephemeral port) before the edge binds it.
stack_up() {  # PROJECT VERSION
  tb_compose_up "$1" "$2" 2>"$WORK/up-$1.log" && return 0
  tb_log "$1 did not come up; once more on other ports"
  tb_compose_down "$1"
  tb_compose_up "$1" "$2" || { cat "$WORK/up-$1.log" >&2; return 1; }
}

# tb_seed_blue with the stack's own installation token.
seed_blue() {  # PROJECT VERSION N TOKEN
  local project=$1 version=$2 n=$3 token=$4 code prefix tenant idx i body=$WORK/seed.ndjson
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST "$TB_API_URL/install" \
    -H 'content-type: application/json' \
    -d "{\"username\":\"$TB_ADMIN_EMAIL\",\"password\":\"$TB_BLUE_PASSWORD\",\"token\":\"$token\",\"needs_admin\":true,\"update_mapping\":false}")
  [ "$code" = 200 ] || { tb_log "install of $project answered $code"; return 1; }
  case "$version" in
    0.8.1) prefix=08x; tenant=01506 ;;
    *) tb_log "seed_blue: $version not handled"; return 1 ;;
  esac
  for idx in $(curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json" | jq -r '.[].index' |
               grep -E "^(prod-)?$prefix\.$tenant\.tracardi-(event|profile)-"); do
    for ((i = 1; i <= n; i++)); do
      printf '{"index":{"_index":"%s"}}\n{"seq":%d,"type":"seeded"}\n' "$idx" "$i"
    done
  done >"$body"
  [ -s "$body" ] || return 1
  curl -s --max-time 30 -X POST "$TB_ELASTIC_URL/_bulk" -H 'content-type: application/x-ndjson' \
    --data-binary @"$body" | jqe '.errors == false'
}

# The bounded load: 200 requests/s at the public endpoint until a stop file appears.
PROBE_PID=""
probe_start() {  # NAME
  PROBE_OUT=$WORK/probe-$1.json PROBE_STOP=$WORK/probe-$1.stop
  "$PROBE" --url "$TB_API_URL/info/version" --rate 200 --duration 150 --record-version \
    --until-file "$PROBE_STOP" --json >"$PROBE_OUT" 2>"$WORK/probe-$1.err" &
  PROBE_PID=$!
  tb_cleanup_add "touch '$PROBE_STOP'; kill $PROBE_PID"
  sleep 1
}
probe_stop() { touch "$PROBE_STOP"; wait "$PROBE_PID"; PROBE_PID=""; }
probe_report() {  # NAME: one line of numbers for the log
  jq -r --arg n "$1" '"# probe \($n): sent \(.sent), ok \(.ok), failed \(.failed), max gap \(.max_gap_ms) ms, p99 \(.latency_ms.p99) ms, versions " + ([.versions[] | "\(.version) x\(.count)"] | join(", "))' "$PROBE_OUT" >&2
}
probe_versions_are() {  # V1 V2: the versions seen, in order of first answer
  jqe --arg a "$1" --arg b "$2" '[.versions | sort_by(.first_ms)[] | .version] == [$a, $b]' "$PROBE_OUT"
}

###########################################################################
echo "--- 1. 0.8.1 -> 0.8.2 through the edge"
INSTALLATION_TOKEN=$TOKEN stack_up "$P1" 0.8.1 || tb_die "the 0.8.1 stack did not come up"
tb_check "blue is installed and seeded" seed_blue "$P1" 0.8.1 4 "$TOKEN"
API1=$TB_API_URL
BLUE_DOCS=$(tb_release_docs 08x 01506)
BLUE_FAM=$(families 08x 01506)
tb_log "blue holds $BLUE_DOCS documents; event/profile families $BLUE_FAM"
tb_check "blue holds documents" [ "${BLUE_DOCS:-0}" -gt 0 ]

tu plan "$P1" --to 0.8.2 --json >"$WORK/plan.json" 2>"$ERR"; rc=$?
tb_check "plan exits 0" [ $rc = 0 ]
tb_check "plan: ok, no refusals, blue 0.8.1" jqe '.ok == true and .refusals == [] and .blue.version == "0.8.1"' "$WORK/plan.json"
tb_check "plan: one hop to 0.8.2 (08x -> 0820), not intermediate" \
  jqe '(.hops | length) == 1 and .hops[0].to == "0.8.2" and .hops[0].from_db_version == "08x" and .hops[0].to_db_version == "0820" and .hops[0].intermediate == false' "$WORK/plan.json"
tb_check "plan: api, gui and update-worker images with digests" \
  jqe '[.hops[0].images[] | select(.digest | test("^sha256:[0-9a-f]{64}$")) | .image] as $i | ["api","gui","update-worker"] - $i == []' "$WORK/plan.json"
tb_check "plan: green containers named <stack>-<image>-0.8.2, pinned by digest" \
  jqe --arg p "$P1" '[.hops[0].containers[] | select((.name | startswith($p + "-")) and (.name | endswith("-0.8.2")) and (.image | test("@sha256:[0-9a-f]{64}$")))] | length >= 3' "$WORK/plan.json"
tb_check "plan: the api's env shows INSTALLATION_TOKEN=***" \
  jqe '.hops[0].containers[] | select(.role == "api") | .env | index("INSTALLATION_TOKEN=***") != null' "$WORK/plan.json"
tb_check "plan: green gets its own Redis" \
  jqe --arg p "$P1" '.hops[0].redis.name == ($p + "-redis-0.8.2")' "$WORK/plan.json"
no_secret "plan" "$WORK/plan.json" "$ERR"
tu plan "$P1" --to 0.8.2 >"$OUT" 2>"$ERR"; rc=$?
tb_check "human plan exits 0" [ $rc = 0 ]
no_secret "human plan" "$OUT" "$ERR"

probe_start up1
t0=$(now)
upgrade "$P1" 0.8.2 5 >"$WORK/up1.out" 2>"$WORK/up1.err"; rc=$?
UP1_S=$(since "$t0")
probe_stop
probe_report up1
tb_log "upgrade 0.8.1 -> 0.8.2 took ${UP1_S}s (exit $rc)"
tb_check "upgrade exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 30 "$WORK/up1.out" "$WORK/up1.err" >&2
tb_check "upgrade says done" grep -q 'Tracardi 0.8.2 serves stack' "$WORK/up1.out"
tb_check "no request failed during the upgrade" jqe '.sent > 0 and .failed == 0' "$PROBE_OUT"
tb_check "the probe saw 0.8.1, then 0.8.2" probe_versions_are 0.8.1 0.8.2
no_secret "upgrade output" "$WORK/up1.out" "$WORK/up1.err"

tb_check "the public endpoint answers 0.8.2" [ "$(version_at "$API1")" = 0.8.2 ]
for role in api gui worker redis; do
  tb_check "green $role runs" bash -c "[ \"\$(docker ps --filter label=tracup.stack=$P1 --filter label=tracup.color=green \
    --filter label=tracup.role=$role --filter label=tracup.version=0.8.2 -q | wc -l)\" = 1 ]"
done
tb_check "green's api is named $P1-tracardi-api-0.8.2" bash -c "docker ps --format '{{.Names}}' | grep -qx '$P1-tracardi-api-0.8.2'"
for svc in api gui update-worker redis; do
  tb_check "blue's $svc is kept, stopped" [ "$(svc_state "$P1" "$svc")" = exited ]
done
tb_check "Elasticsearch and the edge still run" \
  bash -c "[ '$(svc_state "$P1" elasticsearch)' = running ] && [ '$(svc_state "$P1" edge)' = running ]"
tb_check "blue's indices hold exactly their documents ($BLUE_DOCS)" [ "$(tb_release_docs 08x 01506)" = "$BLUE_DOCS" ]
GREEN_FAM=$(families 0820 ffe49)
tb_log "0.8.2's event/profile families: $GREEN_FAM"
tb_check "0.8.2's indices hold the migrated event and profile documents" families_covered "$BLUE_FAM" "$GREEN_FAM"

J1=$TRACUP_STATE_DIR/$P1/journal.json
tb_check "the journal is mode 0600" [ "$(stat -c %a "$J1" 2>/dev/null)" = 600 ]
tb_check "the journal says done, 0.8.1 -> 0.8.2" jqe '.state == "done" and .from.version == "0.8.1" and .to == "0.8.2"' "$J1"
UPGRADE_ID=$(jq -r .id "$J1")
tb_check "green carries the upgrade's id" bash -c "[ \"\$(docker ps -q --filter label=tracup.stack=$P1 --filter label=tracup.upgrade=$UPGRADE_ID | wc -l)\" -ge 4 ]"
tb_check "no lock is left behind" [ ! -e "$TRACUP_STATE_DIR/$P1/lock" ]
tu status "$P1" --json >"$WORK/status.json" 2>"$ERR"; rc=$?
tb_check "status shows the upgrade done" \
  jqe --arg p "$P1" --arg id "$UPGRADE_ID" '[.stacks[] | select(.name == $p) | .upgrade | select(.id == $id and .state == "done" and .from == "0.8.1" and .to == "0.8.2")] | length == 1' "$WORK/status.json"
tb_check "status: the api answers 0.8.2" jqe --arg p "$P1" '.stacks[] | select(.name == $p) | .api.details.version == "0.8.2"' "$WORK/status.json"
"$TRACUP" history --stack "$P1" --json >"$WORK/history.json" 2>"$ERR"; rc=$?
tb_check "history exits 0" [ $rc = 0 ]
tb_check "history: the upgrade, done, 0.8.1 -> 0.8.2, with digests" \
  jqe --arg id "$UPGRADE_ID" '[.[] | select(.operation == "upgrade" and .id == $id and .result == "done" and .from == "0.8.1" and .to == "0.8.2"
        and ([.digests[] | select(test("^sha256:[0-9a-f]{64}$"))] | length) >= 3)] | length == 1' "$WORK/history.json"
no_secret "journal, history, status" "$J1" "$TRACUP_STATE_DIR/$P1/history.jsonl" "$WORK/status.json" "$WORK/history.json"
tb_check "the admin password is nowhere under the state directory" bash -c "! grep -rqaF -- '$TRACUP_ADMIN_PASSWORD' '$TRACUP_STATE_DIR'"
# The snapshot keeps blue's environment, secrets masked (their values are in the
# stack's secrets/ file); rollback recreates blue from both.
tb_check "the snapshot is mode 0600" [ "$(stat -c %a "$(jq -r .upgrade_dir "$J1")/snapshot.tar" 2>/dev/null)" = 600 ]

###########################################################################
echo "--- 2. the lock"
# A lock as tracup writes it (src/upgrade/lock.c), held by a live process of this test.
write_lock() {  # STACK PID
  printf '{"pid":%d,"user":"e2e","host":"%s","started":"2024-03-01T10:00:00Z","operation":"upgrade --to 0.8.2"}' \
    "$2" "$(hostname)" >"$TRACUP_STATE_DIR/$1/lock"
}
sleep 120 &
HOLDER=$!
tb_cleanup_add "kill $HOLDER"
write_lock "$P1" "$HOLDER"
jsum=$(sha256sum <"$J1")
upgrade "$P1" 0.8.2 3 >"$OUT" 2>"$ERR"; rc=$?
tb_check "a second upgrade is refused (exit 1)" [ $rc = 1 ]
tb_check "…naming the holder's pid and operation" \
  bash -c "grep -q 'another tracup holds this stack' '$ERR' && grep -q 'by pid $HOLDER' '$ERR' && grep -q \"'upgrade --to 0.8.2'\" '$ERR'"
tu rollback "$P1" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "a rollback is refused too (exit 1), naming pid $HOLDER" bash -c "[ $rc = 1 ] && grep -q 'by pid $HOLDER' '$ERR'"
tb_check "…and nothing changed: journal, lock, public version" \
  bash -c "[ '$(sha256sum <"$J1")' = '$jsum' ] && [ -e '$TRACUP_STATE_DIR/$P1/lock' ] && [ '$(version_at "$API1")' = 0.8.2 ]"
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
# The holder is gone: its lock is stale and the next tracup recovers it (step 3's rollback).

###########################################################################
echo "--- 3. rollback after done"
# What 0.8.2 writes while it serves: documents in one of its event indices.
WROTE=7
EV=$(curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json" | jq -r '.[].index' | grep -E '^0820\.ffe49\.tracardi-event-[0-9]{4}-' | head -n1)
tb_check "0.8.2 writes $WROTE events into ${EV:-(no index)}" write_events "$EV" "$WROTE"
tu rollback "$P1" </dev/null >"$OUT" 2>"$ERR"; rc=$?
tb_check "rollback without --yes and without a terminal: exit 1" [ $rc = 1 ]
tb_check "…it says to pass --yes and that nothing changed" bash -c "grep -q -- '--yes' '$ERR' && grep -q 'nothing was changed' '$ERR'"
tb_check "…it warns that the $WROTE documents 0.8.2 wrote stay in its own indices" \
  grep -q "it wrote $WROTE documents .* into its own indices" "$OUT"
tb_check "…and nothing changed: journal, green, public version" \
  bash -c "[ '$(sha256sum <"$J1")' = '$jsum' ] && docker ps --format '{{.Names}}' | grep -qx '$P1-tracardi-api-0.8.2' && [ '$(version_at "$API1")' = 0.8.2 ]"

GREEN_DOCS=$(tb_release_docs 0820 ffe49)
probe_start rb1
t0=$(now)
tu rollback "$P1" --yes >"$WORK/rb1.out" 2>"$WORK/rb1.err"; rc=$?
RB1_S=$(since "$t0")
probe_stop
probe_report rb1
tb_log "rollback 0.8.2 -> 0.8.1 took ${RB1_S}s (exit $rc)"
tb_check "rollback --yes exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 30 "$WORK/rb1.out" "$WORK/rb1.err" >&2
tb_check "…recovering the stale lock of the dead pid $HOLDER" \
  grep -q "recovered a stale lock of pid $HOLDER ('upgrade --to 0.8.2'" "$WORK/rb1.out"
tb_check "no lock is left behind" [ ! -e "$TRACUP_STATE_DIR/$P1/lock" ]
tb_check "no request failed during the rollback" jqe '.sent > 0 and .failed == 0' "$PROBE_OUT"
tb_check "the probe saw 0.8.2, then 0.8.1" probe_versions_are 0.8.2 0.8.1
tb_check "the public endpoint answers 0.8.1" [ "$(version_at "$API1")" = 0.8.1 ]
for svc in api gui update-worker redis; do
  tb_check "blue's $svc runs" [ "$(svc_state "$P1" "$svc")" = running ]
done
tb_check "no green container is left" [ -z "$(ps_labels "tracup.stack=$P1" tracup.color=green)" ]
tb_check "0.8.2's indices are kept with what they held ($GREEN_DOCS)" \
  bash -c "[ '${GREEN_DOCS:-0}' -gt 0 ] && [ '$(tb_release_docs 0820 ffe49)' = '$GREEN_DOCS' ]"
tb_check "…and the rollback says so" grep -q 'indices of 0.8.2 stay' "$WORK/rb1.out"
tb_check "blue's indices still hold their documents ($BLUE_DOCS)" [ "$(tb_release_docs 08x 01506)" = "$BLUE_DOCS" ]
tb_check "the journal says rolled_back" jqe '.state == "rolled_back"' "$J1"
"$TRACUP" history --stack "$P1" --json >"$WORK/history.json" 2>"$ERR"
tb_check "history has the rollback, done" jqe '[.[] | select(.operation == "rollback" and .result == "done")] | length == 1' "$WORK/history.json"
tu rollback "$P1" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "a second rollback is refused (exit 1): already rolled back" bash -c "[ $rc = 1 ] && grep -q 'already rolled back' '$ERR'"
no_secret "rollback output" "$WORK/rb1.out" "$WORK/rb1.err" "$J1"
tb_compose_down "$P1"

###########################################################################
echo "--- 4. rollback with blue's api removed by hand"
stack_up "$P2" 0.8.1 || tb_die "the second 0.8.1 stack did not come up"
tb_check "blue is installed and seeded" tb_seed_blue "$P2" 0.8.1 2
API2=$TB_API_URL
"$TRACUP" upgrade --registry "$TB_REGISTRY" --stack "$P2" --to 0.8.2 --observe 3 --smoke-timeout 60 --yes \
  >"$WORK/up2.out" 2>"$WORK/up2.err" &
UP2_PID=$!
tb_cleanup_add "kill $UP2_PID"
for ((i = 0; i < 100; i++)); do [ -e "$TRACUP_STATE_DIR/$P2/lock" ] && break; sleep 0.1; done
upgrade "$P2" 0.8.2 3 >"$OUT" 2>"$ERR"; rc=$?
tb_check "an upgrade while another runs on the stack is refused (exit 1)" [ $rc = 1 ]
tb_check "…naming the running tracup's pid $UP2_PID and 'upgrade --to 0.8.2'" \
  bash -c "grep -q 'by pid $UP2_PID ' '$ERR' && grep -q \"'upgrade --to 0.8.2'\" '$ERR'"
grep -q "by pid $UP2_PID " "$ERR" || cat "$ERR" >&2
wait "$UP2_PID"; rc=$?
tb_check "the first upgrade exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 30 "$WORK/up2.out" "$WORK/up2.err" >&2
tb_check "the public endpoint answers 0.8.2" [ "$(version_at "$API2")" = 0.8.2 ]
tb_check "blue's api is removed by hand" docker rm -f "$(ps_labels "com.docker.compose.project=$P2" com.docker.compose.service=api | awk '{print $1}')"
t0=$(now)
tu rollback "$P2" --yes >"$WORK/rb2.out" 2>"$WORK/rb2.err"; rc=$?
tb_log "rollback with blue's api recreated took $(since "$t0")s (exit $rc)"
tb_check "rollback exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 30 "$WORK/rb2.out" "$WORK/rb2.err" >&2
tb_check "…saying it recreated blue's api from the snapshot" grep -qE 'recreated .*api.* from the snapshot' "$WORK/rb2.out"
tb_check "the public endpoint answers 0.8.1" [ "$(version_at "$API2")" = 0.8.1 ]
tb_check "blue's api runs again" [ "$(svc_state "$P2" api)" = running ]
tb_check "no green container is left" [ -z "$(ps_labels "tracup.stack=$P2" tracup.color=green)" ]
tb_compose_down "$P2"

###########################################################################
echo "--- 5. 0.8.0 -> 0.8.2 across two hops"
stack_up "$P3" 0.8.0 || tb_die "the 0.8.0 stack did not come up"
tb_check "blue is installed and seeded" tb_seed_blue "$P3" 0.8.0 3
API3=$TB_API_URL
OLD_FAM=$(families 080 fa73a)
tb_log "0.8.0's event/profile families: $OLD_FAM"
tu plan "$P3" --to 0.8.2 --json >"$WORK/plan3.json" 2>"$ERR"; rc=$?
tb_check "plan exits 0, ok" bash -c "[ $rc = 0 ] && jq -e '.ok == true' '$WORK/plan3.json' >/dev/null"
tb_check "plan: two hops, 0.8.1 intermediate, then 0.8.2" \
  jqe '[.hops[] | [.to, .intermediate]] == [["0.8.1", true], ["0.8.2", false]]' "$WORK/plan3.json"
t0=$(now)
upgrade "$P3" 0.8.2 3 >"$WORK/up3.out" 2>"$WORK/up3.err"; rc=$?
tb_log "upgrade 0.8.0 -> 0.8.2 took $(since "$t0")s (exit $rc)"
tb_check "upgrade exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 30 "$WORK/up3.out" "$WORK/up3.err" >&2
tb_check "the public endpoint answers 0.8.2" [ "$(version_at "$API3")" = 0.8.2 ]
tb_check "no 0.8.1 container is left" [ -z "$(ps_labels "tracup.stack=$P3" tracup.version=0.8.1)" ]
tb_check "no index of the intermediate 0.8.1 is left (08x.01506.*)" \
    [ "$(curl -s "$TB_ELASTIC_URL/_cat/indices?format=json" | jq '[.[] | select(.index | test("^(prod-|static-)?08x\\.01506\\."))] | length')" = 0 ]
tb_check "green 0.8.2's api runs" bash -c "docker ps --format '{{.Names}}' | grep -qx '$P3-tracardi-api-0.8.2'"
NEW_FAM=$(families 0820 ffe49)
tb_log "0.8.2's event/profile families: $NEW_FAM"
tb_check "0.8.2's indices hold the event and profile documents seeded into 0.8.0" families_covered "$OLD_FAM" "$NEW_FAM"
tb_check "the journal says done, 0.8.0 -> 0.8.2" jqe '.state == "done" and .from.version == "0.8.0" and .to == "0.8.2"' "$TRACUP_STATE_DIR/$P3/journal.json"
tb_compose_down "$P3"

tb_log "timings: upgrade ${UP1_S}s, rollback ${RB1_S}s"
tb_summary
