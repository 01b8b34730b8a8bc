#!/usr/bin/env bash
# End to end: the switch strategies besides the edge. --switch ports on a stack that
# publishes its own ports (a short gap, measured), tracup adopt putting that stack
# behind the edge once (its gap printed) and then an edge upgrade that drops nothing,
# and --switch external with an operator's own command.
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
export TRACUP_STATE_DIR=$WORK/state TRACUP_ADMIN_EMAIL=$TB_ADMIN_EMAIL
TRACUP_ADMIN_PASSWORD=green-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
export TRACUP_ADMIN_PASSWORD
OUT=$WORK/out ERR=$WORK/err
jqe() { tb_jqe "$@"; }
version_at() { curl -s --max-time 3 "$1/info/version" | tr -d '"'; }

# probe_start URL NAME / probe_stop NAME: a bounded load through the public endpoint.
probe_start() {
    rm -f "$WORK/$2.stop"
    "$PROBE" --url "$1/info/version" --rate 100 --duration 240 --record-version \
        --until-file "$WORK/$2.stop" --json >"$WORK/$2.json" 2>"$WORK/$2.err" &
    echo $! >"$WORK/$2.pid"
    sleep 1
}
probe_stop() {
    touch "$WORK/$1.stop"
    local pid; pid=$(cat "$WORK/$1.pid")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stack_up() {  # PROJECT VERSION: a seeded stack (retried once on a port clash)
    local _try
    for _try in 1 2; do
        tb_compose_up "$1" "$2" >/dev/null 2>&1 && tb_seed_blue "$1" "$2" 3 && return 0
        tb_compose_down "$1" >/dev/null 2>&1
    done
    return 1
}

echo "--- --switch ports"
P=${TB_E2E_PREFIX}sw
TB_NO_EDGE=1 stack_up "$P" 0.8.1 || tb_die "the edge-less 0.8.1 stack did not come up"
PUB=$TB_API_URL
"$TRACUP" plan --to 0.8.2 --registry "$TB_REGISTRY" --stack "$P" >"$OUT" 2>"$ERR"; rc=$?
tb_check "plan without an edge is refused, naming adopt and --switch ports" \
    bash -c "[ $rc = 1 ] && grep -q 'tracup adopt' '$OUT' && grep -q -- '--switch ports' '$OUT'"
"$TRACUP" plan --to 0.8.2 --registry "$TB_REGISTRY" --stack "$P" --switch ports --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "plan --switch ports is ready and says it costs a gap" bash -c "[ $rc = 0 ] && jq -e '.ok and (.switch.gap|test(\"gap\"))' '$OUT' >/dev/null"
probe_start "$PUB" ports
"$TRACUP" upgrade --to 0.8.2 --registry "$TB_REGISTRY" --stack "$P" --switch ports --observe 3 --yes >"$OUT" 2>"$ERR"; rc=$?
probe_stop ports
tb_check "upgrade --switch ports exits 0" [ $rc = 0 ]
tb_check "…blue's published port answers 0.8.2" [ "$(version_at "$PUB")" = 0.8.2 ]
gap=$(jq -r '.switch_gap_ms // empty' "$TRACUP_STATE_DIR/$P/journal.json")
tb_check "…the gap is measured, printed and journaled ($gap ms)" bash -c "[ -n '$gap' ] && grep -q 'did not answer for at most $gap ms' '$OUT'"
pgap=$(jq -r '.longest_gap_ms // .max_gap_ms // 0' "$WORK/ports.json")
tb_check "…the probe's longest gap (${pgap%.*} ms) is within the measured one plus a second" \
    bash -c "[ ${pgap%.*} -le $((gap + 1500)) ]"
tb_check "…and the probe saw 0.8.1 then 0.8.2" jqe '[.versions[].version] == ["0.8.1","0.8.2"]' "$WORK/ports.json"
"$TRACUP" rollback --yes --stack "$P" >"$OUT" 2>"$ERR"; rc=$?
tb_check "rollback gives blue its ports back (exit 0, answers 0.8.1)" bash -c "[ $rc = 0 ] && [ \"\$(curl -s '$PUB/info/version' | tr -d '\"')\" = 0.8.1 ]"
tb_check "…no green container is left" \
    test -z "$(docker ps -aq --filter "label=tracup.stack=$P" --filter label=tracup.color=green)"

echo "--- tracup adopt"
EDGE_IMAGE=$TB_EDGE_IMAGE
"$TRACUP" adopt --registry "$TB_REGISTRY" --stack "$P" --edge-image "$EDGE_IMAGE" >"$OUT" 2>"$ERR"; rc=$?
tb_check "adopt without --yes changes nothing (exit 1, says why)" \
    bash -c "[ $rc = 1 ] && grep -q 'stops answering' '$ERR' && [ -z \"\$(docker ps -aq --filter name=^/$P-edge\$)\" ]"
probe_start "$PUB" adopt
"$TRACUP" adopt --registry "$TB_REGISTRY" --stack "$P" --edge-image "$EDGE_IMAGE" --yes >"$OUT" 2>"$ERR"; rc=$?
probe_stop adopt
agap=$(grep -oE 'did not answer for [0-9]+ ms' "$OUT" | grep -oE '[0-9]+')
tb_check "adopt --yes exits 0 and prints the gap (${agap:-none} ms)" bash -c "[ $rc = 0 ] && [ -n '$agap' ]"
tb_check "…the edge owns the public ports and answers 0.8.1" \
    bash -c "docker port '$P-edge' 8686 | grep -q . && [ \"\$(curl -s '$PUB/info/version' | tr -d '\"')\" = 0.8.1 ]"
tb_check "…the api publishes no port any more" test -z "$(docker port "${P}_api_1" 2>/dev/null)"
tb_check "…history records the adopt and its gap" \
    bash -c "'$TRACUP' history --stack '$P' --json | jq -e '[.[] | select(.operation==\"adopt\" and .gap_ms>=0)] | length == 1' >/dev/null"
"$TRACUP" adopt --registry "$TB_REGISTRY" --stack "$P" --edge-image "$EDGE_IMAGE" --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "a second adopt is refused: the stack has an edge" bash -c "[ $rc = 1 ] && grep -q 'already has an edge' '$ERR'"
probe_start "$PUB" edge
"$TRACUP" upgrade --to 0.8.2 --registry "$TB_REGISTRY" --stack "$P" --observe 3 --blue-standby --yes \
    >"$OUT" 2>"$ERR"; rc=$?
probe_stop edge
tb_check "after adopt, an upgrade through the edge exits 0" [ $rc = 0 ]
tb_check "…and drops no request" jqe '.failed == 0 and .sent > 100' "$WORK/edge.json"
tb_check "…the edge answers 0.8.2" [ "$(version_at "$PUB")" = 0.8.2 ]

echo "--- --blue-standby: blue's api and gui keep running after done, its workers stop"
state_of() { docker inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
tb_check "…done says blue stands by" grep -q 'stands by' "$OUT"
tb_check "…blue's api and gui run, its update-worker is stopped" bash -c \
    "[ \"\$(docker inspect -f '{{.State.Status}}' '${P}_api_1')\" = running ] &&
     [ \"\$(docker inspect -f '{{.State.Status}}' '${P}_gui_1')\" = running ] &&
     [ \"\$(docker inspect -f '{{.State.Status}}' '${P}_update-worker_1')\" = exited ]"
"$TRACUP" indices --stack "$P" --json >"$WORK/idx.json" 2>"$ERR"; rc=$?
tb_check "…indices takes green's api as the live one, blue's as the rollback target" bash -c \
    "[ $rc = 0 ] && jq -e '[.groups[] | select(.uses | index(\"live\")) | .release] == [\"0.8.2\"] and
                           [.groups[] | select(.uses | index(\"rollback\")) | .release] == [\"0.8.1\"]' '$WORK/idx.json' >/dev/null"
"$TRACUP" check --registry "$TB_REGISTRY" --stack "$P" --json >"$WORK/check.json" 2>"$ERR"; rc=$?
tb_check "…check compares with green's release, not blue's standing by" bash -c \
    "[ $rc = 0 ] && jq -e '.running == \"0.8.2\"' '$WORK/check.json' >/dev/null"
started=$(docker inspect -f '{{.State.StartedAt}}' "${P}_api_1")
probe_start "$PUB" standby
t0=$EPOCHREALTIME
"$TRACUP" rollback --yes --stack "$P" >"$OUT" 2>"$ERR"; rc=$?
t1=$EPOCHREALTIME
probe_stop standby
tb_check "rollback from standby exits 0 and the edge answers 0.8.1" \
    bash -c "[ $rc = 0 ] && [ \"\$(curl -s '$PUB/info/version' | tr -d '\"')\" = 0.8.1 ]"
tb_check "…blue's api was not restarted (same StartedAt), its worker runs again" bash -c \
    "[ \"\$(docker inspect -f '{{.State.StartedAt}}' '${P}_api_1')\" = '$started' ] &&
     [ \"\$(docker inspect -f '{{.State.Status}}' '${P}_update-worker_1')\" = running ]"
tb_check "…and drops no request" jqe '.failed == 0 and .sent > 10' "$WORK/standby.json"
cp "$OUT" /tmp/rb.out; tb_log "rollback from standby took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
"$TRACUP" upgrade --to 0.8.2 --registry "$TB_REGISTRY" --stack "$P" --switch ports --blue-standby --yes \
    >"$OUT" 2>"$ERR"; rc=$?
tb_check "--blue-standby with --switch ports is a usage error" bash -c "[ $rc = 2 ] && grep -q 'blue-standby needs' '$ERR'"

echo "--- --switch external"
Q=${TB_E2E_PREFIX}ext
stack_up "$Q" 0.8.1 || tb_die "the 0.8.1 stack did not come up"
QPUB=$TB_API_URL
CONF=$(tb_compose_dir "$Q")/edge/tracup-edge.conf
EDGE=$(tb_container "$Q" edge)
# The operator's own proxy: here the same nginx, repointed by a command of the operator's.
cat >"$WORK/switch.sh" <<SWITCH
#!/bin/sh
echo "\$TRACUP_GREEN_API_NAME \$TRACUP_TARGET_VERSION" >"$WORK/switch.args"
sed -i "s/server api:80;/server \$TRACUP_GREEN_API_NAME:80;/" "$CONF" && docker kill -s HUP "$EDGE" >/dev/null
SWITCH
chmod 755 "$WORK/switch.sh"
"$TRACUP" upgrade --to 0.8.2 --registry "$TB_REGISTRY" --stack "$Q" --switch external \
    --switch-command "$WORK/switch.sh" --public-url "$QPUB" --observe 3 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "upgrade --switch external exits 0" [ $rc = 0 ]
tb_check "…the command got the new api's name and the version" grep -qx "$Q-tracardi-api-0.8.2 0.8.2" "$WORK/switch.args"
tb_check "…and the public URL answers 0.8.2" [ "$(version_at "$QPUB")" = 0.8.2 ]
failing=$WORK/fail.sh; printf '#!/bin/sh\nexit 3\n' >"$failing"; chmod 755 "$failing"
# A stack of its own: Q's upgrade is done and on record until it is finalized.
Q2=${TB_E2E_PREFIX}ext2
stack_up "$Q2" 0.8.1 || tb_die "the second 0.8.1 stack did not come up"
"$TRACUP" upgrade --to 0.8.2 --registry "$TB_REGISTRY" --stack "$Q2" --switch external \
    --switch-command "$failing" --public-url "$TB_API_URL" --observe 3 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "a failing switch command rolls back (exit 4)" bash -c "[ $rc = 4 ] && grep -q 'switch command failed' '$ERR'"
tb_check "…and blue answers" [ "$(version_at "$TB_API_URL")" = 0.8.1 ]
if grep -qF -- "$TRACUP_ADMIN_PASSWORD" "$OUT" "$ERR" "$WORK"/*.json 2>/dev/null; then
    tb_fail "the admin password appears in the output"
else
    tb_pass "the admin password appears nowhere in the output"
fi
tb_summary
