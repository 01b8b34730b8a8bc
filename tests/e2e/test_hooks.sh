#!/usr/bin/env bash
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# End to end: operator hooks around an upgrade 0.8.1 -> 0.8.2, a rollback and a finalize
# of a compose stack:
#   1. a world-writable hook is refused; a pre-upgrade hook that exits 3 stops the upgrade
#      before anything changes (exit 1, no green container, nothing to resume); plan runs
#      no hooks;
#   2. the upgrade with hooks, killed after pre-upgrade and resumed: pre-upgrade,
#      post-switch, post-upgrade once each, in order,
#      with the upgrade's facts; post-switch sees 0.8.2 at the public URL; no secret in
#      any hook's environment; hook output on stderr, stdout stays JSON;
#   3. a pre-finalize hook that fails: nothing is removed;
#   4. a pre-rollback hook that hangs is killed within its timeout and stops the rollback;
#      without it the rollback runs, and post-rollback is told it rolled back;
#   5. an upgrade whose migration fails rolls back on its own although a pre-rollback hook
#      says no (an automatic rollback is for safety), and the post hooks hear of it; a
#      copy still writing into the failed release's indices is stopped before they go.
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
mkdir -p "$TRACUP_STATE_DIR"
export TRACUP_ADMIN_EMAIL=admin@example.com
export TRACUP_ADMIN_PASSWORD="hook-Adm1n-$RANDOM$RANDOM-pw"
unset TRACUP_HOOKS_DIR
OUT=$WORK/out ERR=$WORK/err
LOG=$WORK/log HOOKS=$WORK/hooks VETO=$WORK/veto
mkdir -p "$LOG" && chmod 0755 "$WORK"
mkdir -m 0755 "$HOOKS" "$VETO"

P=${TB_E2E_PREFIX}hooks
tb_cleanup_add "tb_compose_down '$P'"

jqe() { tb_jqe "$@"; }
tu() { local cmd=$1; shift; "$TRACUP" "$cmd" --registry "$TB_REGISTRY" --stack "$P" "$@"; }
version_at() { curl -s --max-time 3 "$1/info/version" | jq -r . 2>/dev/null; }
greens() { docker ps -aq --filter "label=tracup.stack=$P" --filter label=tracup.color=green; }
svc_state() { docker ps -a --filter "label=com.docker.compose.project=$P" \
  --filter "label=com.docker.compose.service=$1" --format '{{.State}}' | head -n1; }
order() { tr '\n' ' ' <"$LOG/order" 2>/dev/null | sed 's/ $//'; }
running() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -n "$st" ] && [ "$st" != Z ]; }
env_of() { grep -x "$2=.*" "$LOG/env-$1" 2>/dev/null | cut -d= -f2-; }  # POINT KEY

# hook FILE BODY: an executable shell script (mode 0755: others may not change it).
hook() {
  mkdir -p "$(dirname "$1")" && chmod 0755 "$(dirname "$1")"
  printf '#!/bin/sh\n%s\n' "$2" >"$1" && chmod 0755 "$1"
}
# The recorder, at every point: its name in the order log, its first environment
# (as the kernel handed it over, /proc/PID/environ), a line on its stdout.
REC='echo "$TRACUP_HOOK" >>'"'$LOG/order'"'
tr "\0" "\n" </proc/$$/environ >'"'$LOG'"'/env-"$TRACUP_HOOK"
echo "recorded $TRACUP_HOOK"'
for point in pre-upgrade post-switch post-upgrade pre-rollback post-rollback pre-finalize; do
  hook "$HOOKS/$point.d/10-rec" "$REC"
done
hook "$HOOKS/post-switch.d/20-public" \
  "curl -s --max-time 5 \"\$TRACUP_PUBLIC_URL/info/version\" >'$LOG/public-at-post-switch'"

###########################################################################
echo "--- 1. a pre-upgrade hook says no"
tb_compose_up "$P" 0.8.1 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; tb_die "the 0.8.1 stack did not come up"; }
tb_check "blue is installed and seeded" tb_seed_blue "$P" 0.8.1 1
API=$TB_API_URL
hook "$VETO/pre-upgrade" 'echo "not today: change freeze"; exit 3'
hook "$VETO/post-upgrade.d/10-rec" "$REC"
TRACUP_HOOKS_DIR=$HOOKS tu plan --to 0.8.2 >"$OUT" 2>"$ERR"; rc=$?
tb_check "plan exits 0 and runs no hook" bash -c "[ $rc = 0 ] && [ ! -e '$LOG/order' ] && ! grep -q '^hook ' '$ERR'"
# A hook anyone may change would run with tracup's privileges: refused before anything.
mkdir -m 0755 "$WORK/unsafe" && hook "$WORK/unsafe/post-upgrade" 'exit 0' && chmod 0777 "$WORK/unsafe/post-upgrade"
tu upgrade --to 0.8.2 --yes --hooks-dir "$WORK/unsafe" >"$OUT" 2>"$ERR"; rc=$?
tb_check "a world-writable hook refuses the upgrade (exit 1) before a journal is written" bash -c \
  "[ $rc = 1 ] && grep -q \"hook '$WORK/unsafe/post-upgrade' is writable by everyone\" '$ERR' && [ ! -e '$TRACUP_STATE_DIR/$P/journal.json' ]"
t0=$SECONDS
TRACUP_HOOKS_DIR=$VETO tu upgrade --to 0.8.2 --observe 2 --smoke-timeout 60 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_log "the vetoed upgrade took $((SECONDS - t0))s (exit $rc)"
tb_check "the upgrade exits 1" [ $rc = 1 ]
tb_check "…saying which hook said no and that nothing started" \
  grep -qx "error: pre-upgrade hook 'pre-upgrade' exited 3: the upgrade was not started" "$ERR"
tb_check "…with the hook's output on stderr, prefixed" grep -qx "hook pre-upgrade: not today: change freeze" "$ERR"
tb_check "…and none on stdout" bash -c "! grep -q 'not today' '$OUT'"
tb_check "no green container was created" [ -z "$(greens)" ]
tb_check "no post-upgrade hook ran" [ ! -e "$LOG/order" ]
J=$TRACUP_STATE_DIR/$P/journal.json
tb_check "the journal: not started, no phase after preflight, the hook's run recorded" \
  jqe '.state == "rolled_back" and (.not_started | test("exited 3")) and ([.phases[].name] == ["preflight"])
       and .hooks == [.hooks[0]] and .hooks[0].name == "pre-upgrade" and .hooks[0].status == "exited" and .hooks[0].exit_code == 3' "$J"
tu resume >"$OUT" 2>"$ERR"; rc=$?
tb_check "resume: nothing to resume (exit 1)" bash -c "[ $rc = 1 ] && grep -q 'nothing to resume' '$ERR'"
tb_check "blue still serves 0.8.1" [ "$(version_at "$API")" = 0.8.1 ]

###########################################################################
echo "--- 1b. SIGTERM while the pre-upgrade hook runs: interrupted, not a no"
SLOW=$WORK/slow
hook "$SLOW/pre-upgrade" "touch '$LOG/slow-started'; sleep 30"
# Not through tu(): $! must be tracup itself, not a subshell.
TRACUP_HOOKS_DIR=$SLOW "$TRACUP" upgrade --registry "$TB_REGISTRY" --stack "$P" --to 0.8.2 --observe 2 \
  --smoke-timeout 60 --yes >"$OUT" 2>"$ERR" &
pid=$!
for _ in $(seq 1 200); do [ -e "$LOG/slow-started" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -TERM "$pid" 2>/dev/null
wait "$pid"; rc=$?
tb_check "the upgrade stops as interrupted (exit 6)" bash -c "[ -e '$LOG/slow-started' ] && [ $rc = 6 ]"
tb_check "…the journal says interrupted, no phase after preflight, nothing 'not started'" \
  jqe '.state == "interrupted" and ([.phases[].name] == ["preflight"]) and (has("not_started") | not)' "$J"
tb_check "…no green container was created" [ -z "$(greens)" ]
# resume runs the hook that was cut short again: this time it says no.
TRACUP_HOOKS_DIR=$VETO tu resume >"$OUT" 2>"$ERR"; rc=$?
tb_check "resume runs pre-upgrade again (the veto now: exit 1, not started)" bash -c \
  "[ $rc = 1 ] && grep -qx \"error: pre-upgrade hook 'pre-upgrade' exited 3: the upgrade was not started\" '$ERR'"
tb_check "blue still serves 0.8.1" [ "$(version_at "$API")" = 0.8.1 ]

###########################################################################
echo "--- 2. the upgrade with hooks, killed after pre-upgrade and resumed"
TRACUP_TEST_KILL_AT=pull tu upgrade --to 0.8.2 --observe 2 --smoke-timeout 60 --yes --hooks-dir "$HOOKS" \
  --hook-timeout 20 >"$WORK/up0.out" 2>"$WORK/up0.err"; rc=$?
tb_check "the upgrade dies as a crash would, at pull, after pre-upgrade ran" bash -c "[ $rc = 137 ] && [ '$(order)' = pre-upgrade ]"
t0=$SECONDS
# No --hooks-dir: the journaled run's applies.
tu resume --json >"$WORK/up.json" 2>"$WORK/up.err"; rc=$?
tb_log "the resumed upgrade took $((SECONDS - t0))s (exit $rc)"
tb_check "resume exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 30 "$WORK/up.json" "$WORK/up.err" >&2
tb_check "pre-upgrade (not again on resume), post-switch, post-upgrade ran once each, in order" [ "$(order)" = "pre-upgrade post-switch post-upgrade" ]
ID=$(jq -r .id "$J")
for point in pre-upgrade post-switch post-upgrade; do
  tb_check "$point: stack, versions, id, switch and public URL" bash -c "
    [ '$(env_of "$point" TRACUP_STACK)' = '$P' ] && [ '$(env_of "$point" TRACUP_FROM)' = 0.8.1 ] &&
    [ '$(env_of "$point" TRACUP_TO)' = 0.8.2 ] && [ '$(env_of "$point" TRACUP_UPGRADE_ID)' = '$ID' ] &&
    [ '$(env_of "$point" TRACUP_SWITCH)' = edge ] && [ '$(env_of "$point" TRACUP_PUBLIC_URL)' = '$API' ] &&
    [ '$(env_of "$point" TRACUP_HOOK)' = '$point' ]"
done
tb_check "the phase each saw: preflight, switch, done" \
  [ "$(env_of pre-upgrade TRACUP_PHASE) $(env_of post-switch TRACUP_PHASE) $(env_of post-upgrade TRACUP_PHASE)" = "preflight switch done" ]
tb_check "the result post hooks saw: switched, done; pre-upgrade none" \
  [ "$(env_of post-switch TRACUP_RESULT) $(env_of post-upgrade TRACUP_RESULT) $(env_of pre-upgrade TRACUP_RESULT)x" = "switched done x" ]
tb_check "post-switch saw the public URL answer 0.8.2" [ "$(jq -r . "$LOG/public-at-post-switch" 2>/dev/null)" = 0.8.2 ]
tb_check "the hooks' environment holds only PATH, HOME, the locale and TRACUP_* facts" \
  bash -c "! cut -d= -f1 '$LOG'/env-* | grep -vxE 'PATH|HOME|LANG|LC_ALL|TZ|TRACUP_(HOOK|STACK|FROM|TO|PHASE|PUBLIC_URL|UPGRADE_ID|SWITCH|RESULT)'"
tb_check "…never the admin password (by name or value), the admin email or DOCKER_CONFIG" \
  bash -c "! grep -qE '^(TRACUP_ADMIN_PASSWORD|TRACUP_ADMIN_EMAIL|DOCKER_CONFIG)=' '$LOG'/env-* && ! grep -qF -- '$TRACUP_ADMIN_PASSWORD' '$LOG'/env-*"
tb_check "hook output is on stderr, prefixed by point and name" \
  grep -qx "hook post-switch/10-rec: recorded post-switch" "$WORK/up.err"
# Every line, the stale lock the killed run left included, is a JSON event.
tb_check "stdout is JSON events only, no hook output" \
  bash -c "[ -s '$WORK/up.json' ] && jq -e . '$WORK/up.json' >/dev/null && ! grep -q 'recorded ' '$WORK/up.json' &&
           jq -s -e 'map(select(.phase == \"lock\") | .message | test(\"recovered a stale lock\")) | any' '$WORK/up.json' >/dev/null"
tb_check "the journal records the 4 hook runs, ok, without their output" \
  jqe '[.hooks[] | select(.status == "ok" and .exit_code == 0)] | length == 4 and (tostring | test("recorded") | not)' "$J"
"$TRACUP" history --stack "$P" --json >"$WORK/history.json" 2>"$ERR"
tb_check "the history's upgrade record lists its hook runs" \
  jqe --arg id "$ID" '[.[] | select(.operation == "upgrade" and .id == $id and .result == "done") | .hooks | map(.hook)]
       == [["pre-upgrade", "post-switch", "post-switch", "post-upgrade"]]' "$WORK/history.json"

###########################################################################
echo "--- 3. a pre-finalize hook says no"
hook "$HOOKS/pre-finalize.d/20-veto" 'echo "backups not verified"; exit 4'
# Should the veto not hold, tracup dies after the containers, before any image goes.
TRACUP_TEST_KILL_AT=finalize-indices tu finalize --yes --hooks-dir "$HOOKS" >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize exits 1" [ $rc = 1 ]
tb_check "…saying the hook said no and nothing was removed" \
  grep -qx "error: pre-finalize hook '20-veto' exited 4: nothing was removed" "$ERR"
tb_check "blue's containers are all still there" bash -c \
  "[ '$(svc_state api)' = exited ] && [ '$(svc_state gui)' = exited ] && [ '$(svc_state redis)' = exited ]"
tb_check "the journal still says done" jqe '.state == "done"' "$J"
tb_check "pre-finalize's recorder ran before the veto" [ "$(order)" = "pre-upgrade post-switch post-upgrade pre-finalize" ]
rm -f "$HOOKS/pre-finalize.d/20-veto"

###########################################################################
echo "--- 4. a pre-rollback hook that hangs, then the rollback"
hook "$HOOKS/pre-rollback.d/20-hang" "sleep 300 & echo \$! >'$LOG/hang.pid'; sleep 300"
t0=$SECONDS
tu rollback --yes --hooks-dir "$HOOKS" --hook-timeout 2 >"$OUT" 2>"$ERR"; rc=$?
took=$((SECONDS - t0))
tb_log "the rollback with a hanging hook took ${took}s (exit $rc)"
tb_check "rollback exits 1 within the hook's 2 s and the 3 s grace" bash -c "[ $rc = 1 ] && [ $took -le 12 ]"
tb_check "…saying the hook was killed and nothing was rolled back" \
  grep -qx "error: pre-rollback hook '20-hang' did not finish within 2 s and was killed: nothing was rolled back" "$ERR"
HANG=$(cat "$LOG/hang.pid" 2>/dev/null)
gone=no; [ -n "$HANG" ] && ! running "$HANG" && gone=yes
tb_check "the hook's background child is gone too" [ "$gone" = yes ]
tb_check "nothing changed: 0.8.2 serves, green runs, the journal says done" bash -c \
  "[ '$(version_at "$API")' = 0.8.2 ] && [ -n '$(greens)' ] && jq -e '.state == \"done\"' '$J' >/dev/null"
rm -f "$HOOKS/pre-rollback.d/20-hang"
: >"$LOG/order"
tu rollback --yes --hooks-dir "$HOOKS" >"$OUT" 2>"$ERR"; rc=$?
tb_check "rollback exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 20 "$OUT" "$ERR" >&2
tb_check "pre-rollback, then post-rollback ran" [ "$(order)" = "pre-rollback post-rollback" ]
tb_check "post-rollback was told: rolled_back, blue 0.8.1 serves again" \
  bash -c "[ '$(env_of post-rollback TRACUP_RESULT)' = rolled_back ] && [ '$(version_at "$API")' = 0.8.1 ]"

###########################################################################
echo "--- 5. an automatic rollback is not vetoed"
hook "$HOOKS/pre-rollback.d/20-no" 'echo "no rollbacks today"; exit 3'
# A copy that outlives the migration's worker (huey's retry of a 0.9 plan, a 0.8.x job's
# own _reindex task): started as the rollback begins, it writes into 0.8.2's indices for
# about 15 s (300 batches of one document). The rollback must stop it before it deletes
# them, or the copy creates the index again.
STRAGGLER_SRC=tbe2e-straggler-src
for i in $(seq 1 300); do printf '{"index":{"_index":"%s"}}\n{"n":%d}\n' "$STRAGGLER_SRC" "$i"; done >"$WORK/straggler.ndjson"
curl -s --max-time 30 -X POST "$TB_ELASTIC_URL/_bulk?refresh=true" -H 'content-type: application/x-ndjson' \
  --data-binary @"$WORK/straggler.ndjson" | jq -e '.errors == false' >/dev/null || tb_die "could not seed the straggler's source"
tb_cleanup_add "curl -s -X DELETE '$TB_ELASTIC_URL/$STRAGGLER_SRC' >/dev/null"
hook "$HOOKS/pre-rollback.d/15-straggler" "curl -s --max-time 5 -X POST '$TB_ELASTIC_URL/_reindex?wait_for_completion=false' \
  -H 'content-type: application/json' -d '{\"source\":{\"index\":\"$STRAGGLER_SRC\",\"size\":1},\"dest\":{\"index\":\"0820.ffe49.tracardi-flow\"}}' >'$LOG/straggler'"
: >"$LOG/order"
t0=$SECONDS
"$TRACUP" upgrade --to 0.8.2 --registry "$TB_REGISTRY/faulty/migration-fail" --from-registry "$TB_REGISTRY" \
  --stack "$P" --yes --smoke-timeout 60 --observe 2 --hooks-dir "$HOOKS" >"$WORK/up5.out" 2>"$WORK/up5.err"; rc=$?
tb_log "the failing upgrade took $((SECONDS - t0))s (exit $rc)"
tb_check "the upgrade fails and is rolled back (exit 4)" [ $rc = 4 ]
[ $rc = 4 ] || tail -n 20 "$WORK/up5.out" "$WORK/up5.err" >&2
tb_check "pre-upgrade, pre-rollback, post-rollback, post-upgrade ran in that order" \
  [ "$(order)" = "pre-upgrade pre-rollback post-rollback post-upgrade" ]
tb_check "the pre-rollback hook's no is a warning, and the rollback went on" bash -c \
  "grep -qx \"warning: pre-rollback hook '20-no' exited 3\" '$WORK/up5.err' && grep -q 'automatic rollback goes on regardless' '$WORK/up5.out'"
tb_check "pre-rollback saw the phase that failed (migrate:0.8.2)" [ "$(env_of pre-rollback TRACUP_PHASE)" = migrate:0.8.2 ]
tb_check "post-rollback and post-upgrade were told: rolled_back" \
  [ "$(env_of post-rollback TRACUP_RESULT) $(env_of post-upgrade TRACUP_RESULT)" = "rolled_back rolled_back" ]
tb_check "blue 0.8.1 serves, no green container is left" bash -c "[ '$(version_at "$API")' = 0.8.1 ] && [ -z '$(greens)' ]"
tb_check "the copy started at pre-rollback ran ($(cat "$LOG/straggler" 2>/dev/null))" jqe '.task | test(":")' "$LOG/straggler"
tb_check "the rollback stopped the copy still writing into 0.8.2's indices before deleting them" \
  grep -q "stopped 1 copy Elasticsearch still ran into 0820.ffe49.\* (a migration job that outlived its worker)" "$WORK/up5.out"
sleep 16  # past the copy's own end: nothing writes into 0820.ffe49 any more
tb_check "no index of 0.8.2 comes back after the rollback" \
  bash -c "[ \"\$(curl -s --max-time 10 '$TB_ELASTIC_URL/_cat/indices?format=json' | jq '[.[] | select(.index | test(\"^(prod-|static-)?0820\\\\.ffe49\\\\.\"))] | length')\" = 0 ]"

tb_check "no secret in the journal, the history or the output" \
  bash -c "! grep -rqaF -- '$TRACUP_ADMIN_PASSWORD' '$TRACUP_STATE_DIR' '$WORK'/up*.* '$OUT' '$ERR'"

tb_summary
