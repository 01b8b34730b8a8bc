#!/usr/bin/env bash
# bench/run.sh - tracup's benchmarks, side by side with what operators do today, in one run.
#
#   bash bench/run.sh                      # everything; 10 to 15 minutes
#   BENCH_BUILD_DIR=build-rel bash bench/run.sh
#
# On the local test bed (tests/e2e/testbed.sh; brought up when there is none yet), with the
# stand-in Tracardi images and an api boot delay of BENCH_BOOT_DELAY seconds (8):
#   1. the switch during an upgrade 0.8.1 -> 0.8.2, under tracup-probe at BENCH_RATE
#      requests a second (500), a new connection per request: `tracup upgrade` through the
#      edge, `tracup upgrade --switch ports`, `docker-compose up -d` after editing the
#      version, and the manual docker pull / stop / rm / run sequence;
#   2. `tracup rollback` through the edge, under the same probe, after an upgrade that
#      stopped blue (the default) and after one with --blue-standby;
#   3. pulls of api + gui + update-worker (images with ~330-450 MiB of random layers,
#      from 127.0.0.1:5000/bench): `tracup pull` (concurrent) against `docker pull` of each
#      in sequence (and, for reference, three `docker pull` at once);
#   4. tracup's CPU time for a whole upgrade and its peak RSS while pulling a 500 MiB image
#      (both from /usr/bin/time -v);
#   5. wall time of `tracup --version` and `tracup status`.
# Writes bench/results/latest.md (the tables) and bench/results/latest.json (the raw
# numbers) and prints the tables; the logs of the last run stay in .testbed/bench/last-run.
#
# Not part of the test suite. Everything it creates (compose projects named
# ${TB_E2E_PREFIX}bench*, the bench images, their registry manifests) is removed at the
# end, also on failure; the registry cannot garbage-collect its blobs while it runs, so
# the layers (deterministic, the same every run: ~1.7 GB) stay in its storage.
#
# Environment: BENCH_BUILD_DIR (build), BENCH_RATE (500), BENCH_BOOT_DELAY (8),
# BENCH_OBSERVE (5, tracup's --observe), BENCH_BG_RATE (50, the probe over the whole
# upgrade), BENCH_PULL_ROUNDS (3), BENCH_ATTEMPTS (3: a section the Docker daemon restarted
# under, or that failed, runs again), BENCH_TW_MAX (3000: TIME_WAIT sockets to wait below
# before a window), BENCH_OUT_DIR (bench/results), BENCH_ONLY (comma list of
# pull,memory,edge,ports,compose,manual: run only those; results then go to
# .testbed/bench/partial unless BENCH_OUT_DIR is set).
set -uo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
case "${1:-}" in
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "usage: bash bench/run.sh (settings come from the environment; --help)" >&2; exit 2 ;;
esac

RUN_T0=$EPOCHREALTIME
BUILD=${BENCH_BUILD_DIR:-build}
case "$BUILD" in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
RATE=${BENCH_RATE:-500}
BOOT_DELAY=${BENCH_BOOT_DELAY:-8}
OBSERVE=${BENCH_OBSERVE:-5}
BG_RATE=${BENCH_BG_RATE:-50}
ONLY=${BENCH_ONLY:-}
FROM=0.8.1 TO=0.8.2
# The probe's windows at RATE are kept short and start with few TIME_WAIT sockets: see
# the note on docker-proxy in the report.
TW_MAX=${BENCH_TW_MAX:-3000}

say() { printf '\n== %s\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# ------------------------------------------------------------------ tools and build
say "tools"
if [ ! -x /usr/bin/time ]; then
    [ "$(id -u)" = 0 ] || die "/usr/bin/time is missing (Debian package 'time'); install it as root"
    note "installing Debian's 'time' (/usr/bin/time)"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends time >/dev/null ||
        { timeout 600 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 \
            apt-get install -y -qq --no-install-recommends time >/dev/null; } ||
        die "could not install the 'time' package"
fi
for t in jq curl openssl tar ss cmake awk sha256sum docker; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' is needed (bash tests/deps.sh and tests/e2e/testbed.sh up install it)"
done
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (EPOCHREALTIME)"

say "building tracup and tracup-probe in $BUILD"
{ timeout 600 cmake -S "$REPO" -B "$BUILD" >/dev/null &&
  timeout 1200 cmake --build "$BUILD" -j "$(nproc)" --target tracup tracup-probe >/dev/null; } ||
    die "build failed (cmake -S . -B $BUILD && cmake --build $BUILD)"
TRACUP=$BUILD/src/tracup
PROBE=$BUILD/bench/tracup-probe
if [ ! -x "$TRACUP" ] || [ ! -x "$PROBE" ]; then die "no tracup or tracup-probe in $BUILD"; fi

# ------------------------------------------------------------------ the test bed
TB_STATE=${TRACUP_TESTBED_DIR:-$REPO/.testbed}
# Brought up when there is none, or when its daemon is down (after `testbed.sh down`).
if [ ! -f "$TB_STATE/env" ] || ! timeout 10 docker version >/dev/null 2>&1; then
    say "bringing the test bed up"
    timeout 1200 cmake --build "$BUILD" -j "$(nproc)" --target tracup-standin >/dev/null || die "building the stand-ins failed"
    TRACUP_STANDIN_BIN=$BUILD/tests/standins/tracup-standin timeout 1800 bash tests/e2e/testbed.sh up ||
        die "tests/e2e/testbed.sh up failed"
fi
# A test bed that exists is left as it is (other test runs may be stopping its registry
# on purpose): wait a while for the open registry instead.
for ((i = 0; i < 120; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:5000/v2/)" = 200 ] && break
    [ "$i" = 0 ] && echo "bench: waiting (up to 2 minutes) for the registry at 127.0.0.1:5000" >&2
    sleep 1
done
[ "$i" -lt 120 ] || die "the test bed's registry 127.0.0.1:5000 does not answer (bash tests/e2e/testbed.sh status)"
# shellcheck source=../tests/e2e/lib.sh
. "$REPO/tests/e2e/lib.sh"   # its EXIT trap runs the cleanups registered below
tb_require_daemon
[ -x "$TB_COMPOSE_BIN" ] || die "no docker-compose at $TB_COMPOSE_BIN"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tracup-bench.XXXXXX")
tb_cleanup_add "rm -rf '$WORK'"
LOGS=$TB_STATE/bench/last-run
rm -rf "$LOGS" && mkdir -p "$LOGS" "$WORK/res"
if [ -n "${BENCH_OUT_DIR:-}" ]; then OUT_DIR=$BENCH_OUT_DIR
elif [ -n "$ONLY" ]; then OUT_DIR=$TB_STATE/bench/partial
else OUT_DIR=$REPO/bench/results; fi
mkdir -p "$OUT_DIR"

export TRACUP_STATE_DIR=$WORK/state TRACUP_CONFIG=$WORK/tracup.conf
: >"$TRACUP_CONFIG"
mkdir -p "$TRACUP_STATE_DIR"
export TRACUP_ADMIN_EMAIL=$TB_ADMIN_EMAIL
TRACUP_ADMIN_PASSWORD=bench-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
export TRACUP_ADMIN_PASSWORD

# The stand-in api boots in BOOT_DELAY s: docker-compose gets an override file for the
# api's environment (compose/docker-compose.yml stays as it is); tracup's green copies
# blue's environment, and the manual run copies the old container's.
cat >"$WORK/override.yml" <<EOF
version: "2.4"
services:
  api:
    environment:
      STANDIN_BOOT_DELAY: "$BOOT_DELAY"
EOF
cat >"$WORK/compose" <<'EOF'
#!/usr/bin/env bash
# docker-compose with the benchmark's override file after the project's own -f FILE.
args=() added=0
while [ $# -gt 0 ]; do
    args+=("$1")
    if [ "$1" = -f ] && [ "$added" = 0 ] && [ $# -gt 1 ]; then
        args+=("$2" -f "$BENCH_COMPOSE_OVERRIDE"); added=1; shift
    fi
    shift
done
exec "$BENCH_COMPOSE_REAL" "${args[@]}"
EOF
chmod 755 "$WORK/compose"
export BENCH_COMPOSE_OVERRIDE=$WORK/override.yml BENCH_COMPOSE_REAL=$TB_COMPOSE_BIN
TB_COMPOSE_BIN=$WORK/compose

BENCH_REG=$TB_REGISTRY/bench            # api, gui, update-worker with big layers
BIG_REG=$TB_REGISTRY/bench/big          # one 500 MiB api
BASE_REG=$TB_REGISTRY                   # the test bed's own images (blue, bases)

# ------------------------------------------------------------------ helpers
now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# tv FILE FIELD: a number from /usr/bin/time -v output.
tv() {
    case "$2" in
        user) sed -n 's/^[[:space:]]*User time (seconds): //p' "$1" ;;
        sys) sed -n 's/^[[:space:]]*System time (seconds): //p' "$1" ;;
        rss) sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1" ;;
        wall) sed -n 's/^[[:space:]]*Elapsed (wall clock) time.*: //p' "$1" |
              awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }' ;;
    esac
}
tv_json() {  # FILE: {"user_s","sys_s","cpu_s","max_rss_kb","wall_s"}
    jq -n --argjson u "$(tv "$1" user)" --argjson s "$(tv "$1" sys)" --argjson r "$(tv "$1" rss)" \
        --argjson w "$(tv "$1" wall)" \
        '{user_s: $u, sys_s: $s, cpu_s: (($u + $s) * 100 | round / 100), max_rss_kb: $r, wall_s: $w}'
}

version_at() { curl -s --max-time 2 "$1/info/version" 2>/dev/null | tr -d '"'; }
# wait_version URL VERSION SECONDS: until URL answers VERSION (bounded).
wait_version() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ "$(version_at "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# CPU accounting from /proc, to see where a pull's time goes: the host's busy share and the
# CPU seconds of dockerd and of the open registry (their own and their children's).
CLK=$(getconf CLK_TCK 2>/dev/null || echo 100)
DOCKERD_PID=$(cat "$TB_STATE/dockerd.pid" 2>/dev/null || pidof dockerd | awk '{ print $1 }')
REGISTRY_PID=$(cat "$TB_STATE/registry-open.pid" 2>/dev/null || echo 0)
proc_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_snap() {
    echo "$(awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat)" \
        "$(proc_ticks "${DOCKERD_PID:-0}")" "$(proc_ticks "$REGISTRY_PID")"
}
cpu_json() {  # "SNAP_BEFORE" "SNAP_AFTER"
    jq -n --arg a "$1" --arg b "$2" --argjson clk "$CLK" '
        ($a | split(" ") | map(tonumber)) as $x | ($b | split(" ") | map(tonumber)) as $y |
        {host_busy_pct: (if $y[1] > $x[1] then (($y[0] - $x[0]) / ($y[1] - $x[1]) * 1000 | round / 10) else null end),
         host_busy_cpu_s: (($y[0] - $x[0]) / $clk * 100 | round / 100),
         dockerd_cpu_s: (($y[2] - $x[2]) / $clk * 100 | round / 100),
         registry_cpu_s: (($y[3] - $x[3]) / $clk * 100 | round / 100)}'
}

# TIME_WAIT sockets on the host; wait (bounded) until few remain, so a window at RATE
# does not start behind the last one's (see the docker-proxy note in the report).
tw_count() { ss -Htan state time-wait 2>/dev/null | wc -l; }
wait_tw() {
    local i n
    for ((i = 0; i < 90; i++)); do
        n=$(tw_count)
        [ "$n" -lt "$TW_MAX" ] && break
        sleep 1
    done
    tw_count
}

# probe_start NAME URL RATE: a bounded probe until NAME.stop appears (at most 15 min).
declare -A PROBE_PID PROBE_T CPU_AT CPU_WIN TW_END
probe_start() {
    local name=$1 url=$2 rate=$3
    rm -f "$WORK/$name.stop"
    CPU_AT[$name]=$(cpu_snap)
    PROBE_T[$name]=$(now)
    "$PROBE" --url "$url/info/version" --rate "$rate" --duration 900 --record-version \
        --until-file "$WORK/$name.stop" --json >"$WORK/probe-$name.json" 2>"$WORK/probe-$name.err" &
    PROBE_PID[$name]=$!
    tb_cleanup_add "touch '$WORK/$name.stop'; kill ${PROBE_PID[$name]}"
}
probe_stop() {
    local name=$1 pid=${PROBE_PID[$1]} i
    touch "$WORK/$name.stop"
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    CPU_WIN[$name]=$(cpu_json "${CPU_AT[$name]}" "$(cpu_snap)")
    TW_END[$name]=$(tw_count)
    cp "$WORK/probe-$name.json" "$LOGS/" 2>/dev/null
    jq -e '.sent >= 0' "$WORK/probe-$name.json" >/dev/null 2>&1 ||
        { note "probe $name left no report"; echo '{}' >"$WORK/probe-$name.json"; }
}

# wait_line FILE REGEX PID SECONDS: until FILE has a line matching REGEX, while PID lives.
wait_line() {
    local i
    for ((i = 0; i < $4 * 20; i++)); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# phases FILE: where tracup's time went, from its "[  12.3s] phase  message" lines: each
# line reports work done since the line before it, so the interval is the line's phase's;
# [{phase, s}] in order of first appearance (tracup's start-up is "upgrade"/"rollback").
phases() {
    sed -nE 's/^\[ *([0-9.]+)s\] ([a-z-]+) .*/\1 \2/p' "$1" |
        jq -R -s '[split("\n")[] | select(length > 0) | split(" ") | {t: (.[0] | tonumber), p: .[1]}]
                  | . as $l
                  | [range(length) as $i | {p: $l[$i].p, dt: ($l[$i].t - (if $i > 0 then $l[$i - 1].t else 0 end))}]
                  | reduce .[] as $e ([]; if any(.[]; .phase == $e.p)
                                          then map(if .phase == $e.p then .s += $e.dt else . end)
                                          else . + [{phase: $e.p, s: $e.dt}] end)
                  | map(.s |= (. * 10 | round / 10))'
}

# events FILE: tracup's lines as [{t, phase, msg}] (paths left out of the messages).
events() {
    sed -nE 's/^\[ *([0-9.]+)s\] ([a-z-]+) +(.*)/\1\t\2\t\3/p' "$1" |
        jq -R -s '[split("\n")[] | select(length > 0) | split("\t")
                   | {t: (.[0] | tonumber), phase: .[1],
                      msg: (.[2] | gsub(" ?\\((logs|journal) in [^)]*\\)"; "") | gsub(" in /[^ ;]*"; ""))}]'
}

# record_switch KEY LABEL ENDPOINT PROBE T_OP OP_WALL RC OLD NEW [BG_PROBE]: one result.
record_switch() {
    local key=$1 label=$2 endpoint=$3 probe=$4 t_op=$5 wall=$6 rc=$7 old=$8 new=$9 bg=${10:-}
    local bgj=null
    [ -n "$bg" ] && bgj=$(jq -c '{rate, sent, ok, failed, errors, max_gap_ms, elapsed_s,
        p99_ms: .latency_ms.p99, versions: [.versions[]? | .version]}' "$WORK/probe-$bg.json")
    jq --arg key "$key" --arg lab "$label" --arg endpoint "$endpoint" \
       --argjson off "$(secs "$t_op" "${PROBE_T[$probe]}")" --argjson wall "$wall" --argjson rc "$rc" \
       --arg old "$old" --arg new "$new" --argjson bg "$bgj" --argjson tw "${TW_AT[$probe]:-null}" \
       --argjson cpu "${CPU_WIN[$probe]:-null}" --argjson twe "${TW_END[$probe]:-null}" '
       def at($v): [.versions[]? | select(.version == $v)][0];
       {key: $key, label: $lab, endpoint: $endpoint, exit: $rc, operation_s: $wall,
        probe_started_s: $off, tw_at_start: $tw, tw_at_end: $twe,
        rate, keepalive, sent, ok, failed, errors, status, first_error, max_gap_ms,
        latency_ms, max_send_lag_ms, window_s: .elapsed_s,
        max_gap_from_s: (if .max_gap_from_ms != null then ((.max_gap_from_ms / 1000 + $off) * 1000 | round / 1000) else null end),
        max_gap_to_s: (if .max_gap_to_ms != null then ((.max_gap_to_ms / 1000 + $off) * 1000 | round / 1000) else null end),
        host_cpu_busy_pct: $cpu.host_busy_pct,
        versions: [.versions[]? | {version, count}],
        old_last_s: (if at($old) then ((at($old).last_ms / 1000 + $off) * 1000 | round / 1000) else null end),
        new_first_s: (if at($new) then ((at($new).first_ms / 1000 + $off) * 1000 | round / 1000) else null end),
        saw_both: ((at($old) != null) and (at($new) != null)),
        background: $bg}' "$WORK/probe-$probe.json" >"$WORK/tmp.json" &&
        mv "$WORK/tmp.json" "$WORK/res/switch-$key.json" || { note "could not record $key"; return 1; }
    jq -r '"   \(.label): sent \(.sent), failed \(.failed), longest gap \(.max_gap_ms) ms, p99 \(.latency_ms.p99 // "-") ms, new version from \(.new_first_s) s, operation \(.operation_s) s (exit \(.exit))"' \
        "$WORK/res/switch-$key.json" >&2
}
declare -A TW_AT

# Stacks: compose projects the test bed's cleanup also finds.
stack_up() {  # PROJECT [noedge]
    local p=$1 try
    for try in 1 2; do
        if [ "${2:-}" = noedge ]; then TB_NO_EDGE=1 tb_compose_up "$p" "$FROM" >"$LOGS/up-$p.log" 2>&1
        else tb_compose_up "$p" "$FROM" >"$LOGS/up-$p.log" 2>&1; fi && return 0
        note "$p did not come up (try $try)"
        tb_compose_down "$p" >/dev/null 2>&1
    done
    return 1
}
stack_down() { tb_compose_down "$1" >/dev/null 2>&1; }

# ------------------------------------------------------------------ images
# Layers of incompressible data, the same bytes every run (AES-CTR of zeros under a key
# derived from the layer's name, files and tar headers with fixed times), so the
# registry stores them once however often the benchmark runs.
declare -A SPEC=(
    [api]="170 150 130"
    [gui]="120 110 100"
    [update-worker]="150 120 100"
)
declare -A REPO_OF=([api]=tracardi/tracardi-api [gui]=tracardi/tracardi-gui [update-worker]=tracardi/update-worker)
BIG_MIB=500
BENCH_REFS=()

make_layer() {  # OUT.tar NAME MIB
    local out=$1 name=$2 mib=$3 key root
    key=$(printf 'tracup-bench/%s' "$name" | sha256sum | cut -c1-32)
    root=$(mktemp -d "$WORK/layer.XXXXXX")
    mkdir "$root/bench"
    openssl enc -aes-128-ctr -nosalt -K "$key" -iv 00000000000000000000000000000000 \
        -in /dev/zero 2>/dev/null | head -c $((mib * 1048576)) >"$root/bench/$name.bin"
    [ "$(stat -c %s "$root/bench/$name.bin")" = $((mib * 1048576)) ] || return 1
    touch -d @946684800 "$root/bench/$name.bin" "$root/bench"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@946684800 \
        -C "$root" -cf "$out" bench || return 1
    rm -rf "$root"
}

# base_id REF: the local image id of a test-bed image, pulled from the local registry
# when another test removed the tag.
base_id() {
    docker image inspect -f '{{.Id}}' "$1" 2>/dev/null && return 0
    timeout 300 docker pull -q "$1" >/dev/null 2>&1 || return 1
    docker image inspect -f '{{.Id}}' "$1"
}

build_image() {  # TARGET_REF BASE_REF NAME MIB...
    local ref=$1 base=$2 name=$3 ctx id n=0 mib try
    shift 3
    ctx=$WORK/ctx-$name
    rm -rf "$ctx" && mkdir -p "$ctx"
    for mib in "$@"; do
        n=$((n + 1))
        make_layer "$ctx/l$n.tar" "$name-$n" "$mib" || return 1
    done
    for try in 1 2 3; do
        id=$(base_id "$base") || continue
        {
            echo "FROM $id"
            for ((n = 1; n <= $#; n++)); do echo "ADD l$n.tar /"; done
            echo "LABEL tracup.bench=1"
        } >"$ctx/Dockerfile"
        DOCKER_BUILDKIT=0 timeout 900 docker build -q --force-rm -t "$ref" "$ctx" >"$LOGS/build-$name.log" 2>&1 &&
            break
        id=""
    done
    rm -rf "$ctx"
    [ -n "$id" ] || return 1
    BENCH_REFS+=("$ref")
    timeout 900 docker push "$ref" >"$LOGS/push-$name.log" 2>&1
}

drop_local() {  # REF...: remove local copies so the next pull is real
    local r
    for r in "$@"; do
        timeout 120 docker rmi "$r" >/dev/null 2>&1
        docker image inspect "$r" >/dev/null 2>&1 && note "$r is still on the host: its next pull is not a full one"
    done
    return 0
}

registry_delete() {  # REF on 127.0.0.1:5000: its manifest (blobs stay until a GC)
    local ref=$1 path tag digest
    path=${ref#"$TB_REGISTRY"/}; tag=${path##*:}; path=${path%:*}
    digest=$(curl -s -I --max-time 10 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$TB_REGISTRY/v2/$path/manifests/$tag" | tr -d '\r' |
        sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
    [ -n "$digest" ] && curl -s -o /dev/null --max-time 10 -X DELETE "http://$TB_REGISTRY/v2/$path/manifests/$digest"
}
cleanup_images() {
    local r
    for r in "${BENCH_REFS[@]}"; do
        drop_local "$r"
        registry_delete "$r"
    done
}
tb_cleanup_add cleanup_images

ALL_IMAGES=api,gui,update-worker
ref_of() { echo "$BENCH_REG/${REPO_OF[$1]}:$TO"; }
BIG_REF=$BIG_REG/tracardi/tracardi-api:$TO
bench_refs() { local k; for k in api gui update-worker; do ref_of "$k"; done; }

# ------------------------------------------------------------------ machine
say "machine"
root_dir=$(docker info -f '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)
free_kb=$(df -Pk "$root_dir" | awk 'NR == 2 { print $4 }')
work_free_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
need_kb=$(( (450 + 330 + 370 + BIG_MIB) * 1024 * 4 ))   # built, pushed, pulled, plus room
[ "$free_kb" -gt "$need_kb" ] || die "$root_dir has $((free_kb / 1048576)) GiB free; the benchmark needs about $((need_kb / 1048576)) GiB"
[ "$work_free_kb" -gt $((500 * 1024 * 3)) ] || die "$WORK has too little space for the image layers"
others=$(docker ps -q | wc -l)
jq -n --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson nproc "$(nproc)" \
    --argjson mem "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" \
    --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
    --arg kernel "$(uname -r)" --arg docker "$(docker version -f '{{.Server.Version}}' 2>/dev/null)" \
    --arg compose "$("$BENCH_COMPOSE_REAL" version --short 2>/dev/null)" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson others "$others" \
    --arg tracup "$("$TRACUP" --version 2>/dev/null)" --arg commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)" \
    --argjson dirty "$( [ -n "$(git -C "$REPO" status --porcelain 2>/dev/null | head -n1)" ] && echo true || echo false)" \
    '{date: $date, nproc: $nproc, mem_total_kb: $mem, mem_total_gib: ($mem / 1048576 * 10 | round / 10),
      cpu: $cpu, kernel: $kernel, docker: $docker, docker_compose: $compose, tracup: $tracup,
      commit: $commit, dirty_tree: $dirty, loadavg_at_start: $load, containers_running_at_start: $others}' \
    >"$WORK/res/machine.json"
jq -r '"   \(.nproc) cores (\(.cpu)), \(.mem_total_gib) GiB, docker \(.docker), load \(.loadavg_at_start), \(.containers_running_at_start) containers running"' "$WORK/res/machine.json" >&2

# ------------------------------------------------------------------ build the images
say "building the benchmark images (random layers) and pushing them to $BENCH_REG"
t0=$(now)
for k in api gui update-worker; do
    # shellcheck disable=SC2086  # the layer sizes are words on purpose
    build_image "$(ref_of "$k")" "$BASE_REG/${REPO_OF[$k]}:$TO" "$k" ${SPEC[$k]} ||
        die "building or pushing $(ref_of "$k") failed (logs in $LOGS)"
done
build_image "$BIG_REF" "$BASE_REG/tracardi/tracardi-api:$TO" big "$BIG_MIB" ||
    die "building or pushing $BIG_REF failed (logs in $LOGS)"
# gui and update-worker for the big release: the test bed's own, retagged.
for k in gui update-worker; do
    id=$(base_id "$BASE_REG/${REPO_OF[$k]}:$TO") || die "no $BASE_REG/${REPO_OF[$k]}:$TO"
    docker tag "$id" "$BIG_REG/${REPO_OF[$k]}:$TO" && BENCH_REFS+=("$BIG_REG/${REPO_OF[$k]}:$TO")
    timeout 300 docker push "$BIG_REG/${REPO_OF[$k]}:$TO" >>"$LOGS/push-big.log" 2>&1 || die "push of the big release's $k failed"
done
drop_local "${BENCH_REFS[@]}"
declare -A SIZE_MIB
for k in api gui update-worker; do
    SIZE_MIB[$k]=$(echo "${SPEC[$k]}" | tr ' ' '\n' | awk '{ s += $1 } END { print s }')
done
note "built and pushed in $(secs "$t0" "$(now)") s"
jq -n --argjson api "${SIZE_MIB[api]}" --argjson gui "${SIZE_MIB[gui]}" --argjson w "${SIZE_MIB[update-worker]}" \
    --argjson big "$BIG_MIB" --arg sa "${SPEC[api]}" --arg sg "${SPEC[gui]}" --arg sw "${SPEC[update-worker]}" \
    --arg reg "$BENCH_REG" --arg bigreg "$BIG_REG" \
    '{registry: $reg, big_registry: $bigreg,
      added_mib: {api: $api, gui: $gui, "update-worker": $w, big_api: $big},
      layers_mib: {api: ($sa | split(" ") | map(tonumber)), gui: ($sg | split(" ") | map(tonumber)),
                   "update-worker": ($sw | split(" ") | map(tonumber)), big_api: [$big]}}' >"$WORK/res/images.json"

# ------------------------------------------------------------------ 3. pulls
# Each variant starts with none of the images on the host. PULL_ROUNDS rounds, the order of
# the variants rotated each round so that load from elsewhere on the host falls on all of
# them alike; the report gives each variant's median.
PULL_ROUNDS=${BENCH_PULL_ROUNDS:-3}
pull_sequence() {  # ROUND: each image with docker pull, one after the other
    local r=$1 k t0 s singles='{}' c0
    c0=$(cpu_snap)
    for k in api gui update-worker; do
        t0=$(now)
        timeout 900 docker pull "$(ref_of "$k")" >"$LOGS/pull-docker-$k-$r.log" 2>&1 || return 1
        s=$(secs "$t0" "$(now)")
        singles=$(jq -c --arg k "$k" --argjson s "$s" '. + {($k): $s}' <<<"$singles")
    done
    jq -n --argjson singles "$singles" --argjson cpu "$(cpu_json "$c0" "$(cpu_snap)")" --argjson r "$r" \
        '{round: $r, s: ([$singles[]] | add * 1000 | round / 1000), singles: $singles, cpu: $cpu}' \
        >"$WORK/pull-sequence-$r.json"
}
pull_parallel() {  # ROUND: the three docker pull at once
    local r=$1 k t0 c0 pids=() p rc=0
    c0=$(cpu_snap)
    t0=$(now)
    for k in api gui update-worker; do
        timeout 900 docker pull "$(ref_of "$k")" >"$LOGS/pull-docker-par-$k-$r.log" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    [ "$rc" = 0 ] || return 1
    jq -n --argjson s "$(secs "$t0" "$(now)")" --argjson cpu "$(cpu_json "$c0" "$(cpu_snap)")" --argjson r "$r" \
        '{round: $r, s: $s, cpu: $cpu}' >"$WORK/pull-parallel-$r.json"
}
pull_tracup() {  # ROUND: tracup pull of the three
    local r=$1 t0 c0
    c0=$(cpu_snap)
    t0=$(now)
    /usr/bin/time -v -o "$WORK/time-pull-$r.txt" "$TRACUP" pull --to "$TO" --registry "$BENCH_REG" \
        --images "$ALL_IMAGES" >"$LOGS/pull-tracup-$r.log" 2>&1 || return 1
    jq -n --argjson s "$(secs "$t0" "$(now)")" --argjson cpu "$(cpu_json "$c0" "$(cpu_snap)")" --argjson r "$r" \
        --argjson tv "$(tv_json "$WORK/time-pull-$r.txt")" '{round: $r, s: $s, cpu: $cpu, tracup_process: $tv}' \
        >"$WORK/pull-tracup-$r.json"
    cp "$WORK/time-pull-$r.txt" "$LOGS/"
}

section_pull() {
    say "pulls, $PULL_ROUNDS rounds: docker pull of each in sequence, three docker pulls at once, tracup pull"
    mapfile -t refs < <(bench_refs)
    variants=(sequence parallel tracup)
    for ((r = 1; r <= PULL_ROUNDS; r++)); do
        for ((j = 0; j < 3; j++)); do
            v=${variants[$(( (j + r - 1) % 3 ))]}
            drop_local "${refs[@]}"
            "pull_$v" "$r" || { note "pull round $r ($v) failed (logs in $LOGS)"; return 1; }
            note "round $r, $v: $(jq -r .s "$WORK/pull-$v-$r.json") s"
        done
    done
    drop_local "${refs[@]}"
    jq -n --argjson seq "$(jq -s . "$WORK"/pull-sequence-*.json)" --argjson par "$(jq -s . "$WORK"/pull-parallel-*.json)" \
        --argjson tu "$(jq -s . "$WORK"/pull-tracup-*.json)" \
        --argjson total "$((SIZE_MIB[api] + SIZE_MIB[gui] + SIZE_MIB[update-worker]))" '
        def med: sort | .[(length - 1) / 2 | floor];
        def medrun: sort_by(.s) | .[(length - 1) / 2 | floor];
        ($seq | map(.singles) | {api: map(.api) | med, gui: map(.gui) | med,
                                 "update-worker": map(.["update-worker"]) | med}) as $singles |
        ($singles | [.[]] | max) as $slow | ($seq | medrun) as $ms | ($par | medrun) as $mp | ($tu | medrun) as $mt |
        {rounds: ($seq | length), added_mib: $total,
         docker_pull_s: $singles, slowest_single_s: $slow,
         docker_sequence_s: $ms.s, docker_parallel_s: $mp.s, tracup_pull_s: $mt.s,
         tracup_process: $mt.tracup_process,
         cpu: {docker_sequence: $ms.cpu, docker_parallel: $mp.cpu, tracup: $mt.cpu},
         ratio_tracup_to_slowest: ($mt.s / $slow * 100 | round / 100),
         ratio_sequence_to_tracup: ($ms.s / $mt.s * 100 | round / 100),
         ratio_tracup_to_docker_parallel: ($mt.s / $mp.s * 100 | round / 100),
         all_rounds: {sequence: ($seq | sort_by(.round)), parallel: ($par | sort_by(.round)), tracup: ($tu | sort_by(.round))}}' \
        >"$WORK/res/pull.json" || { note "could not summarize the pulls"; return 1; }
}

# ------------------------------------------------------------------ 4b. memory, 500 MiB pull
section_memory() {
    say "tracup's peak memory while pulling a $BIG_MIB MiB image"
    drop_local "$BIG_REF"
    c0=$(cpu_snap)
    /usr/bin/time -v -o "$WORK/time-big.txt" "$TRACUP" pull --to "$TO" --registry "$BIG_REG" --images api \
        >"$LOGS/pull-big.log" 2>&1 &
    tpid=$!
    # What the resident memory is made of, sampled from /proc/PID/smaps_rollup every 50 ms:
    # anonymous (heap, stacks: what tracup allocates) against file-backed pages (the
    # program and its shared libraries).
    cpid=""
    for ((i = 0; i < 100; i++)); do
        cpid=$(pgrep -P "$tpid" | head -n1)
        [ -n "$cpid" ] && break
        sleep 0.02
    done
    tb_cleanup_add "kill ${cpid:-$tpid} $tpid"
    smax='{"rss_kb":0}' libs=0
    for ((i = 0; i < 18000; i++)); do
        [ -n "$cpid" ] && [ -r "/proc/$cpid/smaps_rollup" ] || break
        cur=$(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Anonymous:/ { a = $2 } /^Shared_Clean:/ { sc = $2 }
                   /^Shared_Dirty:/ { sd = $2 } /^Private_Clean:/ { pc = $2 } /^Private_Dirty:/ { pd = $2 }
                   END { if (r != "") printf "{\"rss_kb\":%d,\"pss_kb\":%d,\"anonymous_kb\":%d,\"file_kb\":%d,\"shared_kb\":%d,\"private_kb\":%d}", r, p, a, r - a, sc + sd, pc + pd }' \
              "/proc/$cpid/smaps_rollup" 2>/dev/null)
        [ -n "$cur" ] || break
        if [ "$(jq -n --argjson a "$cur" --argjson b "$smax" '$a.rss_kb > $b.rss_kb')" = true ]; then
            smax=$cur
            cp "/proc/$cpid/smaps" "$WORK/smaps-peak" 2>/dev/null
        fi
        [ "$libs" = 0 ] && libs=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$cpid/maps" 2>/dev/null | sort -u | wc -l)
        sleep 0.05
    done
    wait "$tpid" || { note "tracup pull of the $BIG_MIB MiB image failed (log: $LOGS/pull-big.log)"; return 1; }
    # Resident kB by mapping at the peak: the files (tracup, each shared object) and the rest.
    bymap=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6 ? $6 : "[anonymous]"); sub(".*/", "", name) }
                 /^Rss:/ { rss[name] += $2 }
                 END { for (n in rss) if (rss[n] > 0) printf "%s\t%d\n", n, rss[n] }' "$WORK/smaps-peak" 2>/dev/null |
        jq -R -s '[split("\n")[] | select(length > 0) | split("\t") | {name: .[0], rss_kb: (.[1] | tonumber)}]
                  | sort_by(-.rss_kb)')
    [ -n "$bymap" ] || bymap='[]'
    cpu_big=$(cpu_json "$c0" "$(cpu_snap)")
    /usr/bin/time -v -o "$WORK/time-version.txt" "$TRACUP" --version >/dev/null 2>&1
    cp "$WORK"/time-big.txt "$WORK"/time-version.txt "$LOGS/"
    drop_local "$BIG_REF"
    jq -n --argjson big "$(tv_json "$WORK/time-big.txt")" --argjson v "$(tv_json "$WORK/time-version.txt")" \
        --argjson mib "$BIG_MIB" --argjson smaps "$smax" --argjson libs "$libs" --argjson cpu "$cpu_big" \
        --argjson bymap "$bymap" \
        --arg ldd "$(ldd "$TRACUP" 2>/dev/null | awk '{ print $1 }' | tr '\n' ' ')" \
        '{image_mib: $mib, pull: $big, version_baseline: $v, cpu: $cpu,
          pull_rss_mib: ($big.max_rss_kb / 1024 * 10 | round / 10),
          over_baseline_kb: ($big.max_rss_kb - $v.max_rss_kb),
          smaps_at_peak: $smaps, shared_objects_mapped: $libs, ldd: ($ldd | rtrimstr(" ")),
          rss_by_mapping_kb: $bymap}' >"$WORK/res/memory.json"
    jq -r '"   peak RSS \(.pull.max_rss_kb) kB pulling \(.image_mib) MiB (tracup --version: \(.version_baseline.max_rss_kb) kB)"' "$WORK/res/memory.json" >&2
}

# ------------------------------------------------------------------ 1+2. tracup through the edge, rollback
# add_tracup KEY OUTPUT TIMEFILE: tracup's CPU and memory, its phases and lines, and the
# phase the longest gap fell in: the first line after the gap's middle reports it.
add_tracup() {
    [ -f "$WORK/res/switch-$1.json" ] || return 1
    jq --argjson tv "$(tv_json "$3")" --argjson ph "$(phases "$2")" --argjson ev "$(events "$2")" '
        . + {tracup_process: $tv, phases: $ph, events: $ev}
        | . + {max_gap_phase: (if .max_gap_from_s == null then null
                 else ((.max_gap_from_s + .max_gap_to_s) / 2) as $g
                 | if $g < 0 then "before tracup started"
                   else [$ev[] | select(.t >= $g)][0].phase // "after tracup exited" end end)}' \
        "$WORK/res/switch-$1.json" >"$WORK/tmp.json" && mv "$WORK/tmp.json" "$WORK/res/switch-$1.json"
}

# The probe at RATE starts when tracup starts the migration (a few seconds before the
# switch) and stops a second after the upgrade ends: a window at RATE must stay under about
# 25 s on this host (see the docker-proxy note). A second probe at BG_RATE covers the whole
# upgrade: pull, green's start, smoke test and install included.
tracup_upgrade_under_probe() {  # KEY LABEL PROJECT URL SWITCH
    local key=$1 label=$2 p=$3 url=$4 sw=$5 t_op rc pid wall via="published port"
    [ "$sw" = edge ] && via=edge
    mapfile -t refs < <(bench_refs)
    drop_local "${refs[@]}"
    TW_AT[$key]=$(wait_tw)
    probe_start "$key-bg" "$url" "$BG_RATE"
    sleep 1
    t_op=$(now)
    /usr/bin/time -v -o "$WORK/time-$key.txt" "$TRACUP" upgrade --to "$TO" --registry "$BENCH_REG" \
        --from-registry "$BASE_REG" --stack "$p" --switch "$sw" --observe "$OBSERVE" --smoke-timeout 180 --yes \
        >"$LOGS/$key.out" 2>&1 &
    pid=$!
    tb_cleanup_add "pkill -TERM -P $pid; kill $pid"
    if ! wait_line "$LOGS/$key.out" '^\[ *[0-9.]+s\] (migrate|switch) ' "$pid" 900; then
        wait "$pid"; rc=$?
        probe_stop "$key-bg"
        note "tracup upgrade ended (exit $rc) before the migration:"
        grep -E '^error|refused' "$LOGS/$key.out" | tail -n 3 >&2
        return 1
    fi
    probe_start "$key" "$url" "$RATE"
    wait "$pid"; rc=$?
    wall=$(secs "$t_op" "$(now)")
    if [ "$rc" = 0 ]; then
        wait_version "$url" "$TO" 60 || note "$url does not answer $TO"
        sleep 1
    fi
    probe_stop "$key"
    probe_stop "$key-bg"
    cp "$WORK/time-$key.txt" "$LOGS/"
    record_switch "$key" "$label" "$via" "$key" "$t_op" "$wall" "$rc" "$FROM" "$TO" "$key-bg"
    add_tracup "$key" "$LOGS/$key.out" "$WORK/time-$key.txt"
    [ "$rc" = 0 ] || { tail -n 20 "$LOGS/$key.out" >&2; return 1; }
}

section_edge() {
    say "tracup upgrade through the edge, then tracup rollback"
    P=${TB_E2E_PREFIX}benchedge
    tb_cleanup_add "tb_compose_down '$P'"
    stack_up "$P" || { note "the $FROM stack $P did not come up (log: $LOGS/up-$P.log)"; return 1; }
    URL=$TB_API_URL
    tb_seed_blue "$P" "$FROM" 3 >/dev/null 2>&1 || { note "seeding $P failed"; return 1; }
    tracup_upgrade_under_probe edge "tracup upgrade (edge)" "$P" "$URL" edge || { note "tracup upgrade through the edge failed"; return 1; }

    say "tracup rollback"
    TW_AT[rollback]=$(wait_tw)
    probe_start rollback "$URL" "$RATE"
    sleep 1
    t_op=$(now)
    /usr/bin/time -v -o "$WORK/time-rollback.txt" "$TRACUP" rollback --yes --stack "$P" --registry "$BASE_REG" \
        >"$LOGS/rollback.out" 2>&1; rc=$?
    wall=$(secs "$t_op" "$(now)")
    wait_version "$URL" "$FROM" 60 || note "$URL does not answer $FROM after the rollback"
    sleep 1
    probe_stop rollback
    cp "$WORK/time-rollback.txt" "$LOGS/"
    record_switch rollback "tracup rollback (edge)" edge rollback "$t_op" "$wall" "$rc" "$TO" "$FROM"
    add_tracup rollback "$LOGS/rollback.out" "$WORK/time-rollback.txt"
    [ "$rc" = 0 ] || { tail -n 20 "$LOGS/rollback.out" >&2; return 1; }

    say "tracup upgrade --blue-standby, then tracup rollback"
    "$TRACUP" upgrade --to "$TO" --registry "$BENCH_REG" --from-registry "$BASE_REG" --stack "$P" --observe 1 \
        --smoke-timeout 180 --blue-standby --yes >"$LOGS/upgrade-standby.out" 2>&1 ||
        { note "tracup upgrade --blue-standby failed"; tail -n 20 "$LOGS/upgrade-standby.out" >&2; return 1; }
    wait_version "$URL" "$TO" 60 || note "$URL does not answer $TO"
    TW_AT[rollback-standby]=$(wait_tw)
    probe_start rollback-standby "$URL" "$RATE"
    sleep 1
    t_op=$(now)
    /usr/bin/time -v -o "$WORK/time-rollback-standby.txt" "$TRACUP" rollback --yes --stack "$P" \
        --registry "$BASE_REG" >"$LOGS/rollback-standby.out" 2>&1; rc=$?
    wall=$(secs "$t_op" "$(now)")
    wait_version "$URL" "$FROM" 60 || note "$URL does not answer $FROM after the rollback"
    sleep 1
    probe_stop rollback-standby
    cp "$WORK/time-rollback-standby.txt" "$LOGS/"
    record_switch rollback-standby "tracup rollback (edge, --blue-standby)" edge rollback-standby "$t_op" "$wall" \
        "$rc" "$TO" "$FROM"
    add_tracup rollback-standby "$LOGS/rollback-standby.out" "$WORK/time-rollback-standby.txt"
    [ "$rc" = 0 ] || { tail -n 20 "$LOGS/rollback-standby.out" >&2; return 1; }

    say "start-up: tracup --version and tracup status"
    vt=() st=()
    for ((i = 0; i < 20; i++)); do
        t0=$EPOCHREALTIME; "$TRACUP" --version >/dev/null 2>&1; t1=$EPOCHREALTIME
        vt+=("$(secs "$t0" "$t1")")
    done
    for ((i = 0; i < 10; i++)); do
        t0=$EPOCHREALTIME; "$TRACUP" status --stack "$P" --registry "$BASE_REG" >"$LOGS/status.out" 2>&1; src=$?; t1=$EPOCHREALTIME
        st+=("$(secs "$t0" "$t1")")
    done
    /usr/bin/time -v -o "$WORK/time-status.txt" "$TRACUP" status --stack "$P" --registry "$BASE_REG" >/dev/null 2>&1
    cp "$WORK/time-status.txt" "$LOGS/"
    jq -n --argjson v "$(printf '%s\n' "${vt[@]}" | jq -s .)" --argjson s "$(printf '%s\n' "${st[@]}" | jq -s .)" \
        --argjson src "$src" --argjson tv "$(tv_json "$WORK/time-status.txt")" '
        def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        def ms: . * 1000 * 10 | round / 10;
        {version: {runs: ($v | length), median_ms: ($v | med | ms), min_ms: ($v | min | ms), max_ms: ($v | max | ms)},
         status: {runs: ($s | length), median_ms: ($s | med | ms), min_ms: ($s | min | ms), max_ms: ($s | max | ms),
                  exit: $src, process: $tv}}' >"$WORK/res/startup.json"
    jq -r '"   tracup --version \(.version.median_ms) ms, tracup status \(.status.median_ms) ms (medians)"' "$WORK/res/startup.json" >&2
    stack_down "$P"
}

section_ports() {
    say "tracup upgrade --switch ports"
    P=${TB_E2E_PREFIX}benchports
    tb_cleanup_add "tb_compose_down '$P'"
    stack_up "$P" noedge || { note "the $FROM stack $P did not come up (log: $LOGS/up-$P.log)"; return 1; }
    URL=$TB_API_URL
    tb_seed_blue "$P" "$FROM" 3 >/dev/null 2>&1 || { note "seeding $P failed"; return 1; }
    tracup_upgrade_under_probe ports "tracup upgrade --switch ports" "$P" "$URL" ports ||
        { note "tracup upgrade --switch ports failed"; return 1; }
    stack_down "$P"
}

# ------------------------------------------------------------------ 1. by hand
section_compose() {
    say "by hand: edit the version, docker-compose pull, docker-compose up -d"
    P=${TB_E2E_PREFIX}benchcompose
    tb_cleanup_add "tb_compose_down '$P'"
    stack_up "$P" noedge || { note "the $FROM stack $P did not come up (log: $LOGS/up-$P.log)"; return 1; }
    URL=$TB_API_URL
    mapfile -t refs < <(bench_refs)
    drop_local "${refs[@]}"
    dir=$(tb_compose_dir "$P")
    sed -i -e "s|^TRACARDI_VERSION=.*|TRACARDI_VERSION=$TO|" -e "s|^TRACARDI_REGISTRY=.*|TRACARDI_REGISTRY=$BENCH_REG|" "$dir/tb.env"
    t0=$(now)
    tb_compose "$P" pull api gui update-worker >"$LOGS/compose-pull.log" 2>&1 || { note "docker-compose pull failed"; return 1; }
    note "docker-compose pull: $(secs "$t0" "$(now)") s (before the window)"
    TW_AT[compose]=$(wait_tw)
    probe_start compose "$URL" "$RATE"
    sleep 1
    t_op=$(now)
    tb_compose "$P" up -d >"$LOGS/compose-up.log" 2>&1; rc=$?
    wall=$(secs "$t_op" "$(now)")
    wait_version "$URL" "$TO" 90 || note "$URL does not answer $TO"
    sleep 1
    probe_stop compose
    record_switch compose "docker-compose up -d (recreate)" "published port" compose "$t_op" "$wall" "$rc" "$FROM" "$TO"
    [ "$rc" = 0 ] || return 1
    stack_down "$P"
}

manual_replace() {  # PROJECT SERVICE IMAGE [PUBLISH]: stop, remove, run the new image
    local p=$1 svc=$2 image=$3 publish=${4:-} old oldimg net envf args=()
    old=$(tb_container "$p" "$svc")
    [ -n "$old" ] || return 1
    oldimg=$(docker inspect -f '{{.Image}}' "$old") || return 1
    net=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{println $k}}{{end}}' "$old" | head -n1)
    envf=$WORK/env-$svc
    # What compose set (not the image's defaults): the operator's docker run -e list.
    comm -23 <(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$old" | sed '/^$/d' | sort) \
             <(docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$oldimg" | sed '/^$/d' | sort) >"$envf"
    [ -n "$publish" ] && args+=(-p "$publish")
    timeout 60 docker stop -t 10 "$old" >/dev/null && timeout 60 docker rm "$old" >/dev/null || return 1
    timeout 60 docker run -d --name "${p}_${svc}_manual" --network "$net" --network-alias "$svc" \
        --restart unless-stopped --label tracup.bench=1 --env-file "$envf" "${args[@]}" "$image" >/dev/null
}

section_manual() {
    say "by hand: docker pull, then docker stop / rm / run for api, gui, update-worker"
    P=${TB_E2E_PREFIX}benchmanual
    tb_cleanup_add "tb_compose_down '$P'"
    for s in api gui update-worker; do tb_cleanup_add "docker rm -f '${P}_${s}_manual'"; done
    stack_up "$P" noedge || { note "the $FROM stack $P did not come up (log: $LOGS/up-$P.log)"; return 1; }
    URL=$TB_API_URL GUI_PORT=$TB_PUBLIC_GUI_PORT API_PORT=$TB_PUBLIC_API_PORT
    mapfile -t refs < <(bench_refs)
    drop_local "${refs[@]}"
    t0=$(now)
    for k in api gui update-worker; do
        timeout 900 docker pull "$(ref_of "$k")" >>"$LOGS/manual-pull.log" 2>&1 || { note "docker pull $(ref_of "$k") failed"; return 1; }
    done
    note "docker pull x3: $(secs "$t0" "$(now)") s (before the window)"
    TW_AT[manual]=$(wait_tw)
    probe_start manual "$URL" "$RATE"
    sleep 1
    t_op=$(now)
    rc=0
    manual_replace "$P" api "$(ref_of api)" "127.0.0.1:$API_PORT:80" || rc=1
    manual_replace "$P" gui "$(ref_of gui)" "127.0.0.1:$GUI_PORT:80" || rc=1
    manual_replace "$P" update-worker "$(ref_of update-worker)" || rc=1
    wall=$(secs "$t_op" "$(now)")
    wait_version "$URL" "$TO" 90 || note "$URL does not answer $TO"
    sleep 1
    probe_stop manual
    record_switch manual "docker pull, stop, rm, run (by hand)" "published port" manual "$t_op" "$wall" "$rc" "$FROM" "$TO"
    [ "$rc" = 0 ] || return 1
    docker rm -f "${P}_api_manual" "${P}_gui_manual" "${P}_update-worker_manual" >/dev/null 2>&1
    stack_down "$P"
}

# ------------------------------------------------------------------ run the sections
# Other test runs on this host restart the Docker daemon now and then: a section under
# which it restarted (or that failed) runs once more, from a fresh stack.
daemon_pid() { pidof dockerd 2>/dev/null | awk '{ print $1 }'; }
wait_daemon() {
    local i
    for ((i = 0; i < 120; i++)); do
        timeout 5 docker version >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}
section_files() {
    case $1 in
        pull|memory) echo "$1" ;;
        edge) echo switch-edge switch-rollback switch-rollback-standby startup ;;
        *) echo "switch-$1" ;;
    esac
}
# The open registry too may be stopped for a while by another test.
wait_registry() {
    local i
    for ((i = 0; i < 180; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$TB_REGISTRY/v2/")" = 200 ] && return 0
        sleep 1
    done
    return 1
}
ATTEMPTS=${BENCH_ATTEMPTS:-3}
RERUNS=() FAILED=()
run_section() {  # NAME
    local name=$1 try pid0 p f ok why
    want "$name" || return 0
    p=""
    case $name in edge|ports|compose|manual) p=${TB_E2E_PREFIX}bench$name ;; esac
    for ((try = 1; try <= ATTEMPTS; try++)); do
        for f in $(section_files "$name"); do rm -f "$WORK/res/$f.json"; done
        [ -z "$p" ] || rm -rf "${TRACUP_STATE_DIR:?}/$p"
        wait_daemon || { note "no Docker daemon answers"; break; }
        wait_registry || { note "the registry $TB_REGISTRY does not answer"; break; }
        pid0=$(daemon_pid)
        DOCKERD_PID=$pid0
        ok=0 why=failed
        "section_$name" && ok=1
        if [ "$(daemon_pid)" != "$pid0" ]; then
            ok=0 why="the Docker daemon restarted under it"
        fi
        if [ -n "$p" ]; then
            stack_down "$p"
            docker rm -f "${p}_api_manual" "${p}_gui_manual" "${p}_update-worker_manual" >/dev/null 2>&1
        fi
        [ "$ok" = 1 ] && return 0
        note "$name: $why (attempt $try)"
        RERUNS+=("$name (attempt $try: $why)")
        # What a failed attempt measured stays in the logs, not in the results.
        for f in $(section_files "$name"); do
            [ -f "$WORK/res/$f.json" ] && mv "$WORK/res/$f.json" "$LOGS/failed-$f-$try.json"
        done
    done
    FAILED+=("$name")
    return 1
}
for section in pull memory edge ports compose manual; do run_section "$section"; done

# ------------------------------------------------------------------ report
say "report"
run_s=$(secs "$RUN_T0" "$(now)")
settings=$(jq -n --argjson rate "$RATE" --argjson bg "$BG_RATE" --argjson delay "$BOOT_DELAY" \
    --argjson observe "$OBSERVE" --arg from "$FROM" --arg to "$TO" --arg only "$ONLY" \
    '{rate: $rate, background_rate: $bg, api_boot_delay_s: $delay, observe_s: $observe, from: $from, to: $to,
      new_connection_per_request: true, only: (if $only == "" then null else $only end)}')
res() { if jq -e . "$WORK/res/$1.json" >/dev/null 2>&1; then cat "$WORK/res/$1.json"; else echo null; fi; }
switches=$(for k in edge ports compose manual; do res "switch-$k"; done | jq -s 'map(select(. != null))')
jq -n --argjson machine "$(res machine)" --argjson settings "$settings" --argjson images "$(res images)" \
    --argjson switch "$switches" --argjson rollback "$(res switch-rollback)" \
    --argjson rollback_standby "$(res switch-rollback-standby)" --argjson pull "$(res pull)" \
    --argjson memory "$(res memory)" --argjson startup "$(res startup)" --argjson run_s "$run_s" \
    --arg command "bash bench/run.sh" --arg load_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --argjson reruns "$(printf '%s\n' "${RERUNS[@]}" | jq -R -s 'split("\n") | map(select(length > 0))')" \
    --argjson failed "$(printf '%s\n' "${FAILED[@]}" | jq -R -s 'split("\n") | map(select(length > 0))')" '
    ($switch | map(select(.key == "edge"))[0]) as $edge |
    {command: $command, run_s: $run_s, machine: ($machine + {loadavg_at_end: $load_end}),
     settings: $settings, images: $images, switch: $switch, rollback: $rollback,
     rollback_standby: $rollback_standby, pull: $pull,
     memory: $memory, startup: $startup, reruns: $reruns, failed_sections: $failed,
     goals: [
       {goal: "no failed request through the edge", target: "0",
        measured: (if $edge then "\($edge.failed) (\($edge.rate)/s window) + \($edge.background.failed) (\($edge.background.rate)/s, whole upgrade)" else null end),
        met: (if $edge then ($edge.failed == 0 and $edge.background.failed == 0) else null end)},
       {goal: "longest gap through the edge", target: "< 100 ms",
        measured: (if $edge then "\($edge.max_gap_ms * 10 | round / 10) ms" else null end),
        met: (if $edge and $edge.max_gap_ms != null then $edge.max_gap_ms < 100 else null end)},
       {goal: "rollback: blue answers through the edge (blue stopped at done, the default)", target: "< 2 s",
        measured: (if $rollback then "\($rollback.new_first_s * 10 | round / 10) s, \($rollback.failed) failed" else null end),
        met: (if $rollback and $rollback.new_first_s != null then ($rollback.new_first_s < 2 and $rollback.failed == 0) else null end)},
       {goal: "rollback: blue answers through the edge (upgrade --blue-standby)", target: "< 2 s",
        measured: (if $rollback_standby then "\($rollback_standby.new_first_s * 10 | round / 10) s, \($rollback_standby.failed) failed" else null end),
        met: (if $rollback_standby and $rollback_standby.new_first_s != null then ($rollback_standby.new_first_s < 2 and $rollback_standby.failed == 0) else null end)},
       {goal: "concurrent pull vs the slowest single pull", target: "<= 1.2x",
        measured: (if $pull then "\($pull.ratio_tracup_to_slowest)x (\($pull.tracup_pull_s * 10 | round / 10) s / \($pull.slowest_single_s * 10 | round / 10) s)" else null end),
        met: (if $pull then $pull.ratio_tracup_to_slowest <= 1.2 else null end)},
       {goal: "tracup CPU time, whole upgrade", target: "< 0.5 s",
        measured: (if $edge then "\($edge.tracup_process.cpu_s) s (user \($edge.tracup_process.user_s) + sys \($edge.tracup_process.sys_s))" else null end),
        met: (if $edge then $edge.tracup_process.cpu_s < 0.5 else null end)},
       {goal: "tracup peak RSS pulling a 500 MiB image", target: "< 10 MiB",
        measured: (if $memory then "\($memory.pull.max_rss_kb) kB (\($memory.smaps_at_peak.anonymous_kb // "?") kB of it anonymous)" else null end),
        met: (if $memory then $memory.pull.max_rss_kb < 10240 else null end)}
     ]}' >"$OUT_DIR/latest.json" || die "could not assemble the results"

# The Markdown report, from the JSON alone.
jq -r -f "$REPO/bench/report.jq" "$OUT_DIR/latest.json" >"$OUT_DIR/latest.md" || die "could not write the report"
cp "$OUT_DIR/latest.json" "$OUT_DIR/latest.md" "$LOGS/" 2>/dev/null
cat "$OUT_DIR/latest.md"
printf '\nwritten: %s/latest.md, %s/latest.json (logs: %s); %s s\n' "$OUT_DIR" "$OUT_DIR" "$LOGS" "$run_s" >&2
