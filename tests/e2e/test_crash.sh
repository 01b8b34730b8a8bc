#!/usr/bin/env bash
# End to end: a tracup upgrade that dies half-way leaves a journal that `status` explains
# and that `resume` or `rollback` finishes. For each kill point (start-green, migrate,
# switch) tracup is killed as a crash would kill it; `resume` must finish the upgrade with
# the migration run exactly once per context, and `rollback` must bring back blue with its
# indices untouched. Also: SIGTERM in the migrate phase (a clean interruption), a SIGKILL
# while the migration runs, and a corrupt journal (every command refuses, nothing changes).
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
export TRACUP_ADMIN_PASSWORD=green-secret-2
unset TRACUP_TEST_KILL_AT
OUT=$WORK/out ERR=$WORK/err
FROM=0.8.1 TO=0.8.2
SEED=5

jqe() { tb_jqe "$@"; }

# ------------------------------------------------------------------ helpers

# The stack's containers (compose ones and tracup's own): id, name, state; sorted.
containers_of() {
    { docker ps -a --filter "label=com.docker.compose.project=$1" --format '{{.ID}} {{.Names}} {{.State}}'
      docker ps -a --filter "label=tracup.stack=$1" --format '{{.ID}} {{.Names}} {{.State}}'; } | sort -u
}
greens_of() { docker ps -aq --filter "label=tracup.stack=$1" --filter "label=tracup.color=green"; }
# Green containers hold the compose network: remove them before `compose down`.
remove_greens() {
    local ids; ids=$(greens_of "$1")
    # shellcheck disable=SC2086
    [ -z "$ids" ] || timeout 60 docker rm -f -v $ids >/dev/null 2>&1 || true
}
stack_down() { remove_greens "$1"; tb_compose_down "$1" >/dev/null 2>&1; }

public_version() { curl -s --max-time 3 "$TB_API_URL/info/version" 2>/dev/null | jq -r 'strings' 2>/dev/null; }

# Documents per index of blue's release (staging, production, static), as sorted JSON.
blue_docs() {
    curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json" |
        jq -c '[.[] | select(.index | test("^(prod-|static-)?08x\\.01506\\.")) | {(.index): .["docs.count"]}] | add // {} | to_entries | sort_by(.key) | from_entries'
}
# Indices of the target release (0820.ffe49).
green_indices() {
    curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json&expand_wildcards=all" |
        jq '[.[] | select(.index | test("^(prod-|static-)?0820\\.ffe49\\."))] | length'
}
# Migration runs into 0820 that the worker started, for a context (staging|production),
# from the hidden index every stand-in worker run writes to.
runs() {
    curl -s --max-time 10 "$TB_ELASTIC_URL/.standin-migration-runs/_search?size=1000" 2>/dev/null |
        jq --arg c "$1" '[.hits.hits[]?._source | select(.to_db_version == "0820" and .context == $c)] | length' 2>/dev/null ||
        echo 0
}
runs_pair() { echo "$(runs staging)/$(runs production)"; }

status_json() {  # P: the stack's status, as JSON, into $WORK/status.json
    "$TRACUP" status --json --registry "$TB_REGISTRY" --stack "$1" >"$WORK/status.json" 2>"$ERR"
    jq --arg p "$1" '.stacks[] | select(.name == $p) | .upgrade' "$WORK/status.json" >"$WORK/upgrade.json" 2>/dev/null
}
journal_of() { echo "$TRACUP_STATE_DIR/$1/journal.json"; }

upgrade() {  # P [more args]: the upgrade command line, options the test always gives
    local p=$1; shift
    "$TRACUP" upgrade --to "$TO" --registry "$TB_REGISTRY" --stack "$p" --observe 3 --yes "$@"
}
# upgrade_bg P: the same, in the background; BG_PID is tracup's own pid (signals go to it).
BG_PID=
upgrade_bg() {
    "$TRACUP" upgrade --to "$TO" --registry "$TB_REGISTRY" --stack "$1" --observe 3 --yes >"$OUT" 2>"$ERR" &
    BG_PID=$!
}
kill_bg() { [ -z "$BG_PID" ] || kill -9 "$BG_PID" 2>/dev/null; }
tb_cleanup_add kill_bg
resume() { "$TRACUP" resume --stack "$1" --observe 3; }
rollback() { "$TRACUP" rollback --stack "$1" --yes; }

# Matrix cells, by row label.
declare -A M_STATUS M_RESUME M_ROLLBACK M_RUNS
ROWS=()
cell_add() {  # ARRAY LABEL TEXT
    local -n arr=$1
    arr[$2]=${arr[$2]:+${arr[$2]}; }$3
}
row() { local r; for r in "${ROWS[@]}"; do [ "$r" = "$1" ] && return; done; ROWS+=("$1"); }

# fresh_stack P: a 0.8.1 stack, installed and seeded; remembers blue's documents.
fresh_stack() {
    local p=$1 try
    # Free ports are picked before compose binds them: another test on the host may take
    # one in between, so a failed start is retried (bounded).
    for try in 1 2 3; do
        tb_compose_up "$p" "$FROM" && break
        stack_down "$p"
        [ "$try" = 3 ] && return 1
        tb_log "retrying the start of $p"
    done
    tb_cleanup_add "remove_greens '$p'"
    tb_seed_blue "$p" "$FROM" "$SEED" || return 1
    BLUE_DOCS=$(blue_docs)
    [ "$(jq '[.[] | tonumber] | add // 0' <<<"$BLUE_DOCS")" -gt 0 ] || { tb_log "no documents in blue's indices"; return 1; }
}

# after_kill LABEL P PHASE RC: what is left after tracup died at PHASE.
after_kill() {
    local label=$1 p=$2 phase=$3 rc=$4 v st ph
    tb_check "$label: tracup was killed (exit $rc, want 137)" [ "$rc" = 137 ]
    status_json "$p"
    st=$(jq -r '.state // "-"' "$WORK/upgrade.json" 2>/dev/null)
    ph=$(jq -r '.phase // "-"' "$WORK/upgrade.json" 2>/dev/null)
    tb_check "$label: status reports the upgrade running at $phase (got $st at $ph)" \
        jqe --arg ph "$phase" --arg f "$FROM" --arg t "$TO" \
        '.state == "running" and .phase == $ph and .from == $f and .to == $t' "$WORK/upgrade.json"
    "$TRACUP" status --registry "$TB_REGISTRY" --stack "$p" >"$WORK/status.txt" 2>&1
    tb_check "$label: human status says how to go on (resume or rollback)" \
        grep -q "not finished: 'tracup resume' continues it, 'tracup rollback' undoes it" "$WORK/status.txt"
    v=$(public_version)
    if [ "$phase" = switch ]; then
        tb_check "$label: the public endpoint answers a version ($v)" [ "$v" = "$FROM" -o "$v" = "$TO" ]
    elif [ "$phase" = observe ]; then
        tb_check "$label: the public endpoint answers the new $TO ($v)" [ "$v" = "$TO" ]
    else
        tb_check "$label: the public endpoint still answers blue's $FROM ($v)" [ "$v" = "$FROM" ]
    fi
    cell_add M_STATUS "$label" "$st@$ph"
}

# kill_at LABEL P PHASE: upgrade with the crash hook at PHASE.
kill_at() {
    local label=$1 p=$2 phase=$3 rc
    TRACUP_TEST_KILL_AT=$phase upgrade "$p" >"$OUT" 2>"$ERR"; rc=$?
    # "<phase>:end" dies once the phase is journaled done: status still names that phase.
    after_kill "$label" "$p" "${phase%:end}" "$rc"
}

# kill_mid_migration LABEL P: SIGKILL once the staging migration was posted.
kill_mid_migration() {
    local label=$1 p=$2 pid i rc j posted=0
    j=$(journal_of "$p")
    upgrade_bg "$p"
    pid=$BG_PID
    for ((i = 0; i < 600; i++)); do
        if jqe '.state == "running" and .hops[0].migration.staging.posted == true' "$j" 2>/dev/null; then posted=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null; rc=$?; BG_PID=
    tb_check "$label: the journal recorded the staging migration as posted before the kill" [ $posted = 1 ]
    after_kill "$label" "$p" "migrate:$TO" "$rc"
}

# do_rollback LABEL P RUNS_BEFORE: rollback after a kill; blue serves, untouched.
do_rollback() {
    local label=$1 p=$2 before=$3 rc v docs rs rp
    rollback "$p" >"$OUT" 2>"$ERR"; rc=$?
    tb_check "$label: rollback exits 0 (got $rc)" [ "$rc" = 0 ]
    [ "$rc" = 0 ] || cat "$OUT" "$ERR" | tail -n 20 | sed 's/^/#   /' >&2
    status_json "$p"
    tb_check "$label: status reports the upgrade rolled back" jqe '.state == "rolled_back"' "$WORK/upgrade.json"
    v=$(public_version)
    tb_check "$label: the public endpoint answers $FROM ($v)" [ "$v" = "$FROM" ]
    tb_check "$label: no green container (nor green Redis) is left" [ -z "$(greens_of "$p")" ]
    tb_check "$label: no network of tracup's is left" [ -z "$(docker network ls -q --filter "label=tracup.stack=$p")" ]
    docs=$(blue_docs)
    tb_check "$label: blue's indices hold exactly the documents they had" [ "$docs" = "$BLUE_DOCS" ]
    [ "$docs" = "$BLUE_DOCS" ] || tb_log "before: $BLUE_DOCS" "after: $docs"
    rs=$(( $(runs staging) - ${before%/*} )); rp=$(( $(runs production) - ${before#*/} ))
    tb_check "$label: the migration ran at most once per context (staging $rs, production $rp)" \
        [ "$rs" -le 1 -a "$rp" -le 1 ]
    tb_check "$label: the indices of $TO are gone (no switch happened)" [ "$(green_indices)" = 0 ]
    cell_add M_ROLLBACK "$label" "rc=$rc v=$v"
    cell_add M_RUNS "$label" "rollback:$rs/$rp"
}

# do_resume LABEL P RUNS_BEFORE [WANT_POSTED]: resume after a kill; the upgrade finishes.
do_resume() {
    local label=$1 p=$2 before=$3 rc v rs rp api
    resume "$p" >"$OUT" 2>"$ERR"; rc=$?
    tb_check "$label: resume exits 0 (got $rc)" [ "$rc" = 0 ]
    [ "$rc" = 0 ] || cat "$OUT" "$ERR" | tail -n 20 | sed 's/^/#   /' >&2
    status_json "$p"
    tb_check "$label: status reports the upgrade done" jqe '.state == "done"' "$WORK/upgrade.json"
    v=$(public_version)
    tb_check "$label: the public endpoint answers $TO ($v)" [ "$v" = "$TO" ]
    rs=$(( $(runs staging) - ${before%/*} )); rp=$(( $(runs production) - ${before#*/} ))
    tb_check "$label: the migration ran exactly once per context (staging $rs, production $rp)" \
        [ "$rs" = 1 -a "$rp" = 1 ]
    tb_check "$label: blue's indices hold exactly the documents they had" [ "$(blue_docs)" = "$BLUE_DOCS" ]
    # The new api's own account of the runs into its release agrees with Elasticsearch's.
    api=$(curl -s --max-time 10 "$TB_API_URL/standin/migrations")
    tb_check "$label: GET /standin/migrations of $TO agrees ($(jq -c '[.runs[]? | {(.context): .count}] | add' <<<"$api" 2>/dev/null))" \
        jqe --argjson s "$(runs staging)" --argjson p "$(runs production)" \
        '([.runs[] | select(.context == "staging") | .count] | add // 0) == $s and ([.runs[] | select(.context == "production") | .count] | add // 0) == $p' <<<"$api"
    cell_add M_RESUME "$label" "rc=$rc v=$v"
    cell_add M_RUNS "$label" "resume:$rs/$rp"
}

# ------------------------------------------------------------------ kill points

for point in "start-green:$TO" "migrate:$TO" switch; do
    label=${point%%:*}
    row "$label"
    P=${TB_E2E_PREFIX}crash-${label}
    echo "--- kill at $point (stack $P)"
    fresh_stack "$P" || { tb_fail "$label: the $FROM stack did not come up"; stack_down "$P"; continue; }

    # Variant B: crash, then roll back.
    r0=$(runs_pair)
    kill_at "$label" "$P" "$point"
    do_rollback "$label" "$P" "$r0"

    # Variant A on the same stack (the rollback removed the new release's indices).
    r0=$(runs_pair)
    kill_at "$label" "$P" "$point"
    if [ "$label" = start-green ]; then
        # A corrupt journal of an upgrade under way: every command refuses, nothing changes.
        echo "--- a corrupt journal (stack $P)"
        J=$(journal_of "$P")
        cp -p "$J" "$WORK/journal.good"
        truncate -s $(( $(stat -c %s "$J") / 2 )) "$J"
        cp -p "$J" "$WORK/journal.bad"
        before=$(containers_of "$P")
        "$TRACUP" status --registry "$TB_REGISTRY" --stack "$P" >"$OUT" 2>"$ERR"; rc=$?
        tb_check "corrupt: status still reports the stack (exit $rc)" [ "$rc" = 0 ]
        tb_check "corrupt: status says the journal is corrupt" grep -q "journal .* is corrupt" "$OUT"
        tb_check "corrupt: …and how to proceed" grep -q "move the file aside" "$OUT"
        status_json "$P"
        tb_check "corrupt: status --json carries the error and the hint" \
            jqe '(.error | test("corrupt")) and (.hint | length > 0)' "$WORK/upgrade.json"
        "$TRACUP" resume --stack "$P" --registry "$TB_REGISTRY" --observe 3 >"$OUT" 2>"$ERR"; rc_res=$?
        tb_check "corrupt: resume refuses (exit $rc_res)" [ "$rc_res" != 0 ]
        tb_check "corrupt: …saying the journal is corrupt" grep -q "corrupt" "$ERR"
        "$TRACUP" rollback --stack "$P" --registry "$TB_REGISTRY" --yes >"$OUT" 2>"$ERR"; rc_rb=$?
        tb_check "corrupt: rollback refuses (exit $rc_rb)" [ "$rc_rb" != 0 ]
        tb_check "corrupt: …saying the journal is corrupt" grep -q "corrupt" "$ERR"
        upgrade "$P" >"$OUT" 2>"$ERR"; rc_up=$?
        tb_check "corrupt: a new upgrade refuses (exit $rc_up)" [ "$rc_up" != 0 ]
        tb_check "corrupt: the containers are as before" [ "$(containers_of "$P")" = "$before" ]
        tb_check "corrupt: the journal file is left as it was" cmp -s "$J" "$WORK/journal.bad"
        tb_check "corrupt: the public endpoint still answers $FROM" [ "$(public_version)" = "$FROM" ]
        row corrupt
        cell_add M_STATUS corrupt "says corrupt"
        cell_add M_RESUME corrupt "rc=$rc_res"
        cell_add M_ROLLBACK corrupt "rc=$rc_rb"
        cell_add M_RUNS corrupt "-"
        # The operator puts the good journal back; the upgrade goes on.
        cp -p "$WORK/journal.good" "$J"
    fi
    do_resume "$label" "$P" "$r0"
    stack_down "$P"
done

# ------------------------------------------------------------------ every other phase boundary

# back_to_blue P: after a resumed upgrade is done, roll back and delete the new release's
# indices (traffic reached them, so the rollback keeps them), so the next point starts clean.
back_to_blue() {
    local p=$1 idx
    rollback "$p" >"$OUT" 2>"$ERR" || return 1
    for idx in $(curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json&expand_wildcards=all" |
                 jq -r '.[].index | select(test("^(prod-|static-)?0820\\.ffe49\\."))'); do
        curl -s --max-time 10 -X DELETE "$TB_ELASTIC_URL/$idx" >/dev/null || return 1
    done
    [ "$(green_indices)" = 0 ] && [ "$(public_version)" = "$FROM" ]
}

# One stack, one way out per point (TB_CRASH_MORE=0 skips them: the sanitizer pass).
if [ "${TB_CRASH_MORE:-1}" = 1 ]; then
    P=${TB_E2E_PREFIX}crash-more
    echo "--- every other phase boundary (stack $P)"
    if fresh_stack "$P"; then
        for pw in "preflight:end rollback" "pull resume" "snapshot:end rollback" "smoke:$TO resume" \
                  "install:$TO rollback" "observe resume"; do
            point=${pw%% *} way=${pw##* }
            label=${point%%:*}
            [ "${point##*:}" = end ] && label=after-$label
            row "$label"
            r0=$(runs_pair)
            kill_at "$label" "$P" "$point"
            if [ "$way" = rollback ]; then
                do_rollback "$label" "$P" "$r0"
            else
                do_resume "$label" "$P" "$r0"
                tb_check "$label: rolled back after done, blue serves again" back_to_blue "$P"
            fi
        done
    else
        tb_fail "more: the $FROM stack did not come up"
    fi
    stack_down "$P"
fi

# ------------------------------------------------------------------ SIGKILL while the migration runs

row kill-9-mid-migrate
P=${TB_E2E_PREFIX}crash-mid
echo "--- SIGKILL while the migration runs (stack $P)"
if fresh_stack "$P"; then
    r0=$(runs_pair)
    kill_mid_migration kill-9-mid-migrate "$P"
    do_rollback kill-9-mid-migrate "$P" "$r0"
    r0=$(runs_pair)
    kill_mid_migration kill-9-mid-migrate "$P"
    do_resume kill-9-mid-migrate "$P" "$r0"
    tb_check "kill-9-mid-migrate: resume did not post the staging migration again" \
        grep -q "staging: started before, not started again" "$OUT"
else
    tb_fail "kill-9-mid-migrate: the $FROM stack did not come up"
fi
stack_down "$P"

# ------------------------------------------------------------------ SIGTERM in migrate

row sigterm-migrate
P=${TB_E2E_PREFIX}crash-term
echo "--- SIGTERM in the migrate phase (stack $P)"
if fresh_stack "$P"; then
    r0=$(runs_pair)
    J=$(journal_of "$P")
    upgrade_bg "$P"
    pid=$BG_PID
    seen=0
    for ((i = 0; i < 600; i++)); do
        if [ "$(jq -r '"\(.state) \(.phase)"' "$J" 2>/dev/null)" = "running migrate:$TO" ]; then seen=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    tb_check "sigterm: the journal reached migrate:$TO" [ $seen = 1 ]
    kill -TERM "$pid" 2>/dev/null
    rc=124
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        tb_log "tracup did not stop within 60 s of SIGTERM"; kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null; rc=$?; BG_PID=
    tb_check "sigterm: tracup exits 6, interrupted (got $rc)" [ "$rc" = 6 ]
    [ "$rc" = 6 ] || sed 's/^/#   /' "$OUT" "$ERR" | tail -n 5 >&2
    tb_check "sigterm: it says it stopped at a safe point" grep -q "interrupted" "$OUT"
    status_json "$P"
    st=$(jq -r '"\(.state)@\(.phase)"' "$WORK/upgrade.json" 2>/dev/null)
    tb_check "sigterm: status reports the upgrade interrupted at migrate:$TO ($st)" \
        jqe --arg ph "migrate:$TO" '.state == "interrupted" and .phase == $ph' "$WORK/upgrade.json"
    tb_check "sigterm: the public endpoint still answers $FROM" [ "$(public_version)" = "$FROM" ]
    cell_add M_STATUS sigterm-migrate "$st (exit $rc)"
    M_ROLLBACK[sigterm-migrate]="-"
    do_resume sigterm-migrate "$P" "$r0"
else
    tb_fail "sigterm: the $FROM stack did not come up"
fi
stack_down "$P"

# ------------------------------------------------------------------ the matrix

echo "--- matrix (runs = migration runs staging/production into 0820 during that step)"
printf '%-20s | %-40s | %-14s | %-14s | %s\n' "kill point" status resume rollback "migration runs"
for r in "${ROWS[@]}"; do
    printf '%-20s | %-40s | %-14s | %-14s | %s\n' "$r" "${M_STATUS[$r]:--}" "${M_RESUME[$r]:--}" \
        "${M_ROLLBACK[$r]:--}" "${M_RUNS[$r]:--}"
done

for p in start-green migrate switch more mid term; do
    left=$(tb_compose_leftovers "${TB_E2E_PREFIX}crash-$p")
    [ -z "$left" ] || tb_fail "leftovers of ${TB_E2E_PREFIX}crash-$p: $left"
done
tb_summary
