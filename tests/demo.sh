#!/usr/bin/env bash
# tracup on the built-in test bed: builds tracup, brings the test bed up (a Docker
# daemon and local registries when none answer, stand-in images built here), deploys a
# stand-in Tracardi 0.8.1 stack with compose/docker-compose.yml, shows `tracup status`,
# pulls 0.8.2, and upgrades the stack blue-green to 0.8.2 while a probe sends requests
# through the public endpoint and reports whether any failed. The stack is left running
# to look at; `bash tests/e2e/testbed.sh down` removes it and stops what the test bed
# started.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "installing build dependencies (Debian packages) when missing"
bash tests/deps.sh
step "building tracup"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
TRACUP=$REPO/build/src/tracup
step "bringing the test bed up"
bash tests/e2e/testbed.sh up

# shellcheck source=e2e/lib.sh
. tests/e2e/lib.sh
tb_require_daemon
PROJECT=${TB_E2E_PREFIX}demo
tb_compose_down "$PROJECT" >/dev/null 2>&1 || true
step "deploying Tracardi 0.8.1 (stand-in) as compose project '$PROJECT'"
tb_compose_up "$PROJECT" 0.8.1 8686 8787
# shellcheck disable=SC2034  # lib.sh reads it on exit
TB_CLEANUPS=()   # keep the stack: it is the demo
echo "api through the edge: $TB_API_URL   gui: $TB_GUI_URL"

step "tracup status --registry $TB_REGISTRY"
"$TRACUP" status --registry "$TB_REGISTRY" --stack "$PROJECT"

# The test bed built every image on this host: drop the 0.8.2 tags so the pull is real.
for r in tracardi-api tracardi-gui update-worker; do docker rmi "$TB_REGISTRY/tracardi/$r:0.8.2" >/dev/null 2>&1 || true; done
step "tracup pull --to 0.8.2 --registry $TB_REGISTRY"
"$TRACUP" pull --to 0.8.2 --registry "$TB_REGISTRY" --stack "$PROJECT"

step "installing Tracardi 0.8.1 and writing some events, so there is data to migrate"
tb_seed_blue "$PROJECT" 0.8.1 20
export TRACUP_STATE_DIR=$TB_STATE_DIR/demo-state
rm -rf "$TRACUP_STATE_DIR"
export TRACUP_ADMIN_EMAIL=admin@example.com
TRACUP_ADMIN_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export TRACUP_ADMIN_PASSWORD

step "tracup plan --to 0.8.2"
"$TRACUP" plan --to 0.8.2 --registry "$TB_REGISTRY" --stack "$PROJECT"

step "tracup upgrade --to 0.8.2, with a probe at 200 requests a second through $TB_API_URL"
PROBE=$REPO/build/bench/tracup-probe
STOP=$TB_STATE_DIR/demo-probe.stop
rm -f "$STOP"
"$PROBE" --url "$TB_API_URL/info/version" --rate 200 --duration 300 --record-version \
    --until-file "$STOP" >"$TB_STATE_DIR/demo-probe.txt" 2>&1 &
probe=$!
sleep 1
rc=0
"$TRACUP" upgrade --to 0.8.2 --registry "$TB_REGISTRY" --stack "$PROJECT" --observe 10 --yes || rc=$?
touch "$STOP"
wait "$probe" || true
step "what the probe saw"
cat "$TB_STATE_DIR/demo-probe.txt"

step "done (tracup exit code $rc)"
echo "The stack keeps running on 0.8.2; 'tracup rollback --stack $PROJECT --yes' (with"
echo "TRACUP_STATE_DIR=$TRACUP_STATE_DIR) goes back to 0.8.1."
echo "Remove it all and stop the test bed with: bash tests/e2e/testbed.sh down"
exit "$rc"
