#!/usr/bin/env bash
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# End to end: faults of the world around an upgrade, each on a 0.8.1 stack going to 0.8.2.
#   1. the journal's disk read-only, or full (a small tmpfs): tracup refuses to start;
#   2. the registry stopped, a wrong password, an unknown tag: a clear error, no container;
#   3. Elasticsearch stopped during the migration: the upgrade fails and rolls back, blue
#      serves once Elasticsearch is back, its documents untouched;
#   4. the Docker daemon restarted while tracup waits for green: a clear error (exit 3),
#      the journal intact and interrupted; `resume` waits for Elasticsearch (kept down
#      until it says so) and finishes.
# Prints the matrix (fault x outcome) at the end.
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
export TRACUP_ADMIN_EMAIL=$TB_ADMIN_EMAIL
export TRACUP_ADMIN_PASSWORD=green-secret-env
unset TRACUP_TEST_KILL_AT
OUT=$WORK/out ERR=$WORK/err
P=${TB_E2E_PREFIX}fenv
tb_cleanup_add "tb_compose_down '$P'"
tb_cleanup_add "docker ps -aq --filter label=tracup.stack=$P | xargs -r docker rm -f >/dev/null 2>&1"

jqe() { tb_jqe "$@"; }
declare -A MATRIX
FAULTS=()
outcome() { FAULTS+=("$1"); MATRIX[$1]=$2; }
public_version() { curl -s --max-time 3 "$TB_API_URL/info/version" 2>/dev/null | jq -r 'strings' 2>/dev/null; }
greens() { docker ps -aq --filter "label=tracup.stack=$P" --filter label=tracup.color=green; }
blue_docs() {
  curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json" |
    jq -c '[.[] | select(.index | test("^(prod-|static-)?08x\\.01506\\.")) | {(.index): .["docs.count"]}] | add // {} | to_entries | sort_by(.key) | from_entries'
}
green_indices() {
  curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json&expand_wildcards=all" |
    jq '[.[] | select(.index | test("^(prod-|static-)?0820\\.ffe49\\."))] | length'
}
upgrade_to() { local to=$1; shift; "$TRACUP" upgrade --to "$to" --stack "$P" --observe 2 --smoke-timeout 120 --yes "$@"; }
upgrade() { upgrade_to 0.8.2 "$@"; }
# Waits (bounded, 60 s) until the journal's phase is $1; echoes nothing, returns 1 on timeout.
wait_phase() {
  local j=$TRACUP_STATE_DIR/$P/journal.json i
  for ((i = 0; i < 600; i++)); do
    [ "$(jq -r '"\(.state) \(.phase)"' "$j" 2>/dev/null)" = "running $1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# Waits (bounded, 120 s) until green's api container exists while the journal is in
# start-green or smoke; returns 1 when the upgrade moved on or ended first.
wait_green_api() {
  local j=$TRACUP_STATE_DIR/$P/journal.json i ph
  for ((i = 0; i < 2400; i++)); do
    ph=$(jq -r '"\(.state) \(.phase)"' "$j" 2>/dev/null)
    case "$ph" in
      "running start-green:0.8.2"|"running smoke:0.8.2")
        [ -n "$(docker ps -q --filter "label=tracup.stack=$P" --filter label=tracup.role=api --filter label=tracup.color=green)" ] &&
          return 0 ;;
      "running install:"*|"running migrate:"*|"running switch"|"running observe"|"done "*) return 1 ;;
    esac
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
es_container() { tb_container "$P" elasticsearch; }
es_up() {  # bounded: Elasticsearch answers its health
  local i
  for ((i = 0; i < 120; i++)); do
    curl -s --max-time 2 "$TB_ELASTIC_URL/_cluster/health" | jqe '.status == "green" or .status == "yellow"' && return 0
    sleep 0.5
  done
  return 1
}
# resume_while_es_down WHAT [ARG...]: stops Elasticsearch, runs resume (with ARGs) until it
# says it waits for Elasticsearch before WHAT, starts Elasticsearch again and checks that
# resume then finishes with exit 0 (kept in RESUME_RC). Bounded: 120 s to wait, 180 s to end.
resume_while_es_down() {
  local what=$1 es rpid i; shift
  es=$(es_container)
  docker stop -t 2 "$es" >/dev/null
  "$TRACUP" resume --stack "$P" --registry "$TB_REGISTRY" --observe 2 "$@" >"$OUT" 2>"$ERR" &
  rpid=$!
  for ((i = 0; i < 600; i++)); do
    grep -q 'waiting for Elasticsearch' "$OUT" 2>/dev/null && break
    kill -0 "$rpid" 2>/dev/null || break
    sleep 0.2
  done
  tb_check "…resume waits for Elasticsearch before $what" grep -q "waiting for Elasticsearch before $what" "$OUT"
  docker start "$es" >/dev/null
  for ((i = 0; i < 900; i++)); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$rpid" 2>/dev/null
  wait "$rpid"; RESUME_RC=$?
  tb_check "resume finishes the upgrade once Elasticsearch answers (exit $RESUME_RC)" [ $RESUME_RC = 0 ]
  [ $RESUME_RC = 0 ] || tail -n 15 "$OUT" "$ERR" | sed 's/^/#   /' >&2
}
drop_green_indices() {  # test scaffolding: 0.8.2's indices, so the next section can upgrade again
  local idx
  for idx in $(curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json&expand_wildcards=all" |
               jq -r '.[].index | select(test("^(prod-|static-)?0820\\.ffe49\\."))'); do
    curl -s --max-time 10 -X DELETE "$TB_ELASTIC_URL/$idx" >/dev/null
  done
}
# Nothing of the upgrade on the host: no green container, no new image of 0.8.2's
# from the failing registry, blue serving.
nothing_created() {  # LABEL
  tb_check "$1: no container was created" [ -z "$(greens)" ]
  tb_check "$1: blue still serves 0.8.1" [ "$(public_version)" = 0.8.1 ]
}

# A run cut short (the daemon down at its cleanup) may have left the stack behind.
docker ps -aq --filter "label=tracup.stack=$P" | xargs -r docker rm -f >/dev/null 2>&1
tb_compose_down "$P" >/dev/null 2>&1
tb_compose_up "$P" 0.8.1 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; tb_die "the stack did not come up"; }
tb_check "blue is installed and seeded" tb_seed_blue "$P" 0.8.1 3
BLUE_DOCS=$(blue_docs)

###########################################################################
echo "--- 1. the journal cannot be written"
RO=$WORK/ro FULL=$WORK/full
mkdir -p "$RO" "$FULL"
if mount -t tmpfs -o size=64k,mode=0700 tmpfs "$RO" && mount -o remount,ro "$RO" &&
   mount -t tmpfs -o size=32k,mode=0700 tmpfs "$FULL"; then
  tb_cleanup_add "umount '$RO' '$FULL' 2>/dev/null"
  TRACUP_STATE_DIR=$RO upgrade --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR"; rc=$?
  tb_check "read-only state dir: upgrade exits 1" [ $rc = 1 ]
  tb_check "…saying the state directory cannot be written" grep -qi "read-only\|TRACUP_STATE_DIR" "$ERR"
  nothing_created "read-only"
  outcome "journal read-only" "exit $rc, nothing created"
  # Fill the tmpfs to the last block: the stack's directory fits, the journal does not.
  mkdir -p "$FULL/$P" && chmod 700 "$FULL/$P"
  # 8 kB left: the lock fits, the journal (tens of kB) does not.
  dd if=/dev/zero of="$FULL/filler" bs=1k count=24 status=none 2>/dev/null
  TRACUP_STATE_DIR=$FULL upgrade --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR"; rc=$?
  tb_check "full state dir: upgrade exits 1" [ $rc = 1 ]
  tb_check "…refusing to start without a journal" grep -q "refusing to start without a journal" "$ERR"
  tb_check "…and no journal (nor a half one) is left" [ ! -s "$FULL/$P/journal.json" ]
  nothing_created "full"
  outcome "journal disk full" "exit $rc, nothing created"
else
  tb_fail "cannot mount a tmpfs (root needed) for the read-only and full journal cases"
fi

###########################################################################
echo "--- 2. the registry: stopped, wrong password, unknown tag"
upgrade_to 0.8.2-rc9 --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR"; rc=$?
tb_check "unknown tag 0.8.2-rc9: upgrade exits 1 naming the image" \
  bash -c "[ $rc = 1 ] && grep -q 'tracardi-api:0.8.2-rc9' '$OUT' '$ERR'"
nothing_created "unknown tag"
outcome "unknown tag" "exit $rc, nothing created"

mkdir -p "$WORK/bad"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$TB_REGISTRY_AUTH" "$(printf '%s:%s' "$TB_REGISTRY_USER" wrong-password | base64 -w0)" \
  >"$WORK/bad/config.json"
DOCKER_CONFIG=$WORK/bad upgrade --registry "$TB_REGISTRY_AUTH" --from-registry "$TB_REGISTRY" >"$OUT" 2>"$ERR"; rc=$?
tb_check "wrong registry password: upgrade exits 1 with an authentication error" \
  bash -c "[ $rc = 1 ] && grep -qiE 'unauthorized|authentication' '$OUT' '$ERR'"
nothing_created "wrong password"
outcome "wrong password" "exit $rc, nothing created"

REGPID=$(cat "$TB_STATE_DIR/registry-open.pid" 2>/dev/null)
if [ -n "$REGPID" ] && kill -0 "$REGPID" 2>/dev/null; then
  printf 'stall_timeout = 5\nconnect_timeout = 3\n' >"$WORK/tracup.conf"
  kill -STOP "$REGPID"   # a registry that hangs: connections open, nothing answers
  tb_cleanup_add "kill -CONT $REGPID 2>/dev/null"
  t0=$(date +%s)
  TRACUP_CONFIG=$WORK/tracup.conf upgrade --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR" &
  upid=$!
  for ((i = 0; i < 900; i++)); do kill -0 "$upid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$upid" 2>/dev/null
  wait "$upid"; rc=$?
  kill -CONT "$REGPID"
  tb_check "registry hanging: upgrade gives up by itself within 3 min (exit $rc after $(( $(date +%s) - t0 )) s)" [ $rc = 1 ]
  tb_check "…with a clear error about the registry" grep -qiE 'registry|timed out|did not answer|stalled' "$OUT" "$ERR"
  nothing_created "registry hanging"
  outcome "registry hanging" "exit $rc, nothing created"
  # Stopped altogether: nothing listens.
  kill -TERM "$REGPID"; for ((i = 0; i < 50; i++)); do kill -0 "$REGPID" 2>/dev/null || break; sleep 0.1; done
  upgrade --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR"; rc=$?
  tb_check "registry stopped: upgrade exits 1 with a clear error" \
    bash -c "[ $rc = 1 ] && grep -qiE 'registry|connect|refused' '$OUT' '$ERR'"
  nothing_created "registry stopped"
  outcome "registry stopped" "exit $rc, nothing created"
  tb_check "the test bed brings the registry back" bash -c "bash '$HERE/testbed.sh' up >/dev/null 2>&1"
else
  tb_fail "the open registry was not started by the test bed: cannot stop it"
fi

###########################################################################
echo "--- 3. Elasticsearch stopped during the migration"
upgrade --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR" &
upid=$!
if wait_phase "migrate:0.8.2" "$upid"; then
  ES_ID=$(es_container)
  docker stop -t 2 "$ES_ID" >/dev/null
  for ((i = 0; i < 1500; i++)); do kill -0 "$upid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$upid" 2>/dev/null
  wait "$upid"; rc=$?
  docker start "$ES_ID" >/dev/null
  tb_check "ES stopped in migrate: the upgrade failed and rolled back (exit $rc, want 4)" [ $rc = 4 ]
  # Stopped while the migration runs, or while it is planned: either way it names it.
  tb_check "…naming Elasticsearch" grep -qiE 'Elasticsearch|:9200' "$OUT"
  [ $rc = 4 ] || tail -n 15 "$OUT" "$ERR" | sed 's/^/#   /' >&2
  tb_check "Elasticsearch is back" es_up
  tb_check "blue serves 0.8.1 once Elasticsearch is back" [ "$(public_version)" = 0.8.1 ]
  tb_check "no green container is left" [ -z "$(greens)" ]
  tb_check "blue's documents are exactly as before" [ "$(blue_docs)" = "$BLUE_DOCS" ]
  # Whatever the rollback could not delete while Elasticsearch was down, it said so;
  # a new plan must not be left to migrate into it (tracardi #565).
  if [ "$(green_indices)" != 0 ]; then
    tb_check "…the indices it could not delete are named in the output" grep -q '0820' "$OUT"
    "$TRACUP" plan --to 0.8.2 --registry "$TB_REGISTRY" --stack "$P" >"$WORK/plan.out" 2>&1
    tb_check "…and plan refuses to migrate into them" grep -q 'already holds' "$WORK/plan.out"
    drop_green_indices
  fi
  outcome "ES stopped in migrate" "exit $rc, blue serves, docs intact"
else
  kill -9 "$upid" 2>/dev/null; wait "$upid" 2>/dev/null
  tb_fail "the upgrade never reached migrate:0.8.2"; tail -n 15 "$OUT" "$ERR" >&2
fi

###########################################################################
echo "--- 3b. a resume that lands in migrate while Elasticsearch is down"
# As after a daemon restart: the process died at the start of migrate and Elasticsearch
# is not back yet. The copy's baseline counts must come from a cluster that answers,
# so resume waits for it instead of rolling back (or counting zeros).
J=$TRACUP_STATE_DIR/$P/journal.json
TRACUP_TEST_KILL_AT=migrate:0.8.2 upgrade --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR"; rc=$?
if [ $rc = 137 ]; then
  tb_pass "killed at the start of migrate"
  tb_check "…the journal stops at migrate:0.8.2 with nothing posted" \
    jqe '.phase == "migrate:0.8.2" and ((.hops[0].migration.staging.posted // false) | not)' "$J"
  resume_while_es_down migrating --smoke-timeout 120
  tb_check "…the migration was verified with counts that match" grep -q 'counts match' "$OUT"
  tb_check "…0.8.2 serves" [ "$(public_version)" = 0.8.2 ]
  tb_check "…blue's documents are exactly as before" [ "$(blue_docs)" = "$BLUE_DOCS" ]
  outcome "ES down when resume migrates" "waits, resume: exit $RESUME_RC"
else
  tb_fail "killed at the start of migrate (exit $rc, want 137)"
  tail -n 15 "$OUT" "$ERR" | sed 's/^/#   /' >&2
  outcome "ES down when resume migrates" "not killed at migrate: exit $rc"
fi
# Back to 0.8.1 for section 4 (0.8.2's indices stay after a rollback from done).
# (When 3b went wrong there may be nothing to roll back; the check below decides.)
"$TRACUP" rollback --stack "$P" --yes >"$WORK/rb.out" 2>&1 || sed 's/^/#   /' "$WORK/rb.out" >&2
drop_green_indices
tb_check "blue serves 0.8.1 again" [ "$(public_version)" = 0.8.1 ]

###########################################################################
echo "--- 4. the Docker daemon restarted while tracup waits for green"
if [ "${TB_NO_DAEMON_RESTART:-0}" = 1 ]; then
  tb_log "TB_NO_DAEMON_RESTART=1: not restarting the daemon"
elif [ -f "$TB_STATE_DIR/dockerd.pid" ] && kill -0 "$(cat "$TB_STATE_DIR/dockerd.pid")" 2>/dev/null; then
  J=$TRACUP_STATE_DIR/$P/journal.json
  upgrade --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR" &
  upid=$!
  # Green's api is started and tracup waits for it: restart then. On a slow host the api
  # may boot before smoke begins, so the restart can also land at the end of start-green.
  if wait_green_api "$upid"; then
    bash "$HERE/testbed.sh" restart-daemon >"$WORK/restart.log" 2>&1 || cat "$WORK/restart.log" >&2
    for ((i = 0; i < 900; i++)); do kill -0 "$upid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$upid" 2>/dev/null
    wait "$upid"; rc=$?
    tb_check "daemon restarted in smoke: tracup stops with exit 3 (got $rc)" [ $rc = 3 ]
    [ $rc = 3 ] || tail -n 15 "$OUT" "$ERR" | sed 's/^/#   /' >&2
    tb_check "…saying the daemon stopped answering and what to do" \
      bash -c "grep -q 'Docker daemon stopped answering' '$ERR' '$OUT' && grep -q 'tracup resume' '$OUT'"
    tb_check "…the journal is intact: interrupted at $(jq -r .phase "$J") (start-green or smoke)" \
      jqe '.state == "interrupted" and (.phase == "smoke:0.8.2" or .phase == "start-green:0.8.2")' "$J"
    # The edge was reloaded by 3b's switch and rollback: it must come back too.
    tb_check "the stack's containers, the edge among them, come back with the daemon" \
      tb_wait_http "$TB_API_URL/info/version" 60
    # Elasticsearch comes back on its own clock after a restart: resume must wait for it
    # rather than install into nothing. Keep it down until resume says it waits.
    resume_while_es_down installing
    tb_check "…0.8.2 serves" [ "$(public_version)" = 0.8.2 ]
    tb_check "…blue's documents are exactly as before" [ "$(blue_docs)" = "$BLUE_DOCS" ]
    outcome "daemon restarted in smoke" "exit 3, resume: exit $RESUME_RC"
  else
    kill -9 "$upid" 2>/dev/null; wait "$upid" 2>/dev/null
    tb_fail "the upgrade never had a green api to wait for"; tail -n 15 "$OUT" "$ERR" >&2
  fi
elif [ "${CI:-}" = true ]; then
  tb_fail "the Docker daemon was not started by the test bed: it cannot be restarted here"
else
  tb_skip "the Docker daemon was not started by the test bed: not restarting it"
fi

echo "--- matrix"
for f in "${FAULTS[@]}"; do printf '%-28s | %s\n' "$f" "${MATRIX[$f]}"; done
tb_summary
