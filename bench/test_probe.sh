#!/usr/bin/env bash
# Self-test of tracup-probe against a throwaway HTTP server on a free 127.0.0.1 port: rate,
# counts and versions against a live server, connect errors against a dead port, early stops
# by --until-file and SIGTERM, refused arguments. Prints "N passed, N failed" last; exits 77
# when a tool it needs is missing. Every wait is bounded and only its own PIDs are killed.
#
#   bench/test_probe.sh build/bench/tracup-probe
set -uo pipefail

PROBE=${1:-${TRACUP_PROBE:-}}
if [ -z "$PROBE" ] || [ ! -x "$PROBE" ]; then
    echo "error: no tracup-probe at '$PROBE'; pass the built binary as the first argument" >&2
    exit 1
fi
for tool in jq timeout mktemp; do
    command -v "$tool" >/dev/null 2>&1 || { echo "skip: '$tool' not found"; exit 77; }
done
if command -v python3 >/dev/null 2>&1; then
    SERVER_KIND=python3
elif command -v busybox >/dev/null 2>&1 && busybox --list 2>/dev/null | grep -qx httpd; then
    SERVER_KIND=busybox
else
    echo "skip: neither python3 nor busybox httpd found to serve test pages"
    exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tracup-probe-test.XXXXXX")
PASSED=0
FAILED=0
SERVER_PID=
BG_PID=

cleanup() {
    local pid
    for pid in "$BG_PID" "$SERVER_PID"; do
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null
        wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { PASSED=$((PASSED + 1)); printf 'ok %d - %s\n' $((PASSED + FAILED)) "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'not ok %d - %s\n' $((PASSED + FAILED)) "$*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# jcheck DESCRIPTION FILE JQ-EXPRESSION: passes when the expression is true for the file.
jcheck() {
    if jq -e "$3" "$2" >/dev/null 2>&1; then
        pass "$1"
    else
        fail "$1"
        printf '#   %s is false for:\n' "$3"
        sed 's/^/#   /' "$2" | head -40
    fi
}

# wait_gone PID SECONDS: true once the process is gone, false when it outlives the bound.
wait_gone() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    ! kill -0 "$1" 2>/dev/null
}

# Prints a TCP port nothing on 127.0.0.1 listens on (the kernel's pick when python3 exists).
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
        return
    fi
    local port hex i
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 40000))
        hex=$(printf '%04X' "$port")
        if ! awk -v h=":$hex" '$2 ~ h"$" && $4 == "0A" { found = 1 } END { exit !found }' \
            /proc/net/tcp 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    return 1
}

# probe NAME ARGS...: runs the probe bounded in time; stdout to $WORK/NAME.out, rc to $WORK/NAME.rc.
probe() {
    local name=$1
    shift
    timeout 60 "$PROBE" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    echo $? >"$WORK/$name.rc"
}

rc_is() { [ "$(cat "$WORK/$1.rc")" = "$2" ]; }

start_server() {
    mkdir -p "$WORK/www"
    printf '"0.8.2"' >"$WORK/www/version"
    if [ "$SERVER_KIND" = python3 ]; then
        (cd "$WORK/www" && exec python3 -m http.server "$PORT" --bind 127.0.0.1) \
            >"$WORK/server.log" 2>&1 &
    else
        busybox httpd -f -p "127.0.0.1:$PORT" -h "$WORK/www" >"$WORK/server.log" 2>&1 &
    fi
    SERVER_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        if timeout 5 "$PROBE" --url "$URL" --max-requests 1 --json 2>/dev/null |
            jq -e '.ok == 1' >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null
    wait_gone "$SERVER_PID" 5 || kill -KILL "$SERVER_PID" 2>/dev/null
    wait_gone "$SERVER_PID" 5 || return 1
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

# bg_probe NAME ARGS...: starts the probe in the background; BG_PID is its PID.
bg_probe() {
    local name=$1
    shift
    timeout 60 "$PROBE" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    BG_PID=$!
}

# bg_finish NAME SECONDS: waits (bounded) for the background probe and records its rc.
bg_finish() {
    if wait_gone "$BG_PID" "$2"; then
        wait "$BG_PID"
        echo $? >"$WORK/$1.rc"
    else
        echo timeout >"$WORK/$1.rc"
    fi
    BG_PID=
}

PORT=$(free_port) || { echo "error: no free port on 127.0.0.1" >&2; exit 1; }
URL="http://127.0.0.1:$PORT/version"
echo "# serving with $SERVER_KIND on $URL"
if ! start_server; then
    fail "the $SERVER_KIND test server answers on port $PORT"
    echo "$PASSED passed, $FAILED failed"
    exit 1
fi

# 100 req/s for 2 s, a new connection each: about 200 requests, none failed, one version.
probe live --url "$URL" --rate 100 --duration 2 --json --record-version
check "live: exits 0" rc_is live 0
jcheck "live: sent within 30% of 200" "$WORK/live.out" '.sent >= 140 and .sent <= 260'
jcheck "live: nothing failed" "$WORK/live.out" '.failed == 0 and .ok == .sent'
jcheck "live: versions are [\"0.8.2\"]" "$WORK/live.out" '[.versions[].version] == ["0.8.2"]'
jcheck "live: stopped by duration, with latencies and a gap" "$WORK/live.out" \
    '.stopped_by == "duration" and .latency_ms.p50 > 0 and .latency_ms.max >= .latency_ms.p99 and .max_gap_ms > 0'
jcheck "live: the longest gap is placed in the run" "$WORK/live.out" \
    '.max_gap_from_ms >= 0 and .max_gap_to_ms <= (.elapsed_s + .drain_s) * 1000
     and ((.max_gap_to_ms - .max_gap_from_ms) - .max_gap_ms | fabs) < 0.01'

probe keep --url "$URL" --rate 50 --duration 1 --keepalive --json
jcheck "keepalive: nothing failed" "$WORK/keep.out" '.keepalive and .sent > 0 and .failed == 0'

probe text --url "$URL" --max-requests 5 --record-version
check "text report: exits 0" rc_is text 0
check "text report: 5 ok" \
    grep -q -e '^ok  *5$' "$WORK/text.out"
text_names_stop_and_version() {
    grep -q "stopped by max-requests" "$1" && grep -q '"0.8.2" x 5' "$1"
}
check "text report: stopped by max-requests and names the version" \
    text_names_stop_and_version "$WORK/text.out"

# --until-file ends a 20 s run as soon as the file appears.
bg_probe until --url "$URL" --rate 50 --duration 20 --until-file "$WORK/stop" --json
sleep 1
touch "$WORK/stop"
bg_finish until 10
check "until-file: exits 0 within 10 s" rc_is until 0
jcheck "until-file: stopped early by the file" "$WORK/until.out" \
    '.stopped_by == "until-file" and .elapsed_s < 5 and .sent > 0 and .failed == 0'

# SIGTERM ends a run cleanly and the report is still printed.
bg_probe term --url "$URL" --rate 50 --duration 20 --json
sleep 1
kill -TERM "$BG_PID" 2>/dev/null
bg_finish term 10
check "SIGTERM: exits 0 within 10 s" rc_is term 0
jcheck "SIGTERM: report printed, stopped by the signal" "$WORK/term.out" \
    '.stopped_by == "signal" and .elapsed_s < 5 and .sent > 0'

# The same port with nothing listening: every request fails to connect.
check "the test server stops" stop_server
probe dead --url "$URL" --rate 100 --duration 1 --json
check "dead port: exits 0" rc_is dead 0
jcheck "dead port: failed == sent > 0" "$WORK/dead.out" '.sent > 0 and .failed == .sent and .ok == 0'
jcheck "dead port: counted as connect errors" "$WORK/dead.out" \
    '.errors.connect == .sent and .max_gap_ms == null and .max_gap_from_ms == null and .latency_ms == null'

# Refusals: nothing is sent, exit 2.
probe far --url "http://192.0.2.1:$PORT/"
check "non-loopback host refused with exit 2" rc_is far 2
check "the refusal names --allow-host" grep -q -- "--allow-host 192.0.2.1" "$WORK/far.err"
probe tls --url "https://127.0.0.1:$PORT/"
check "https refused with exit 2" rc_is tls 2
probe lookalike --url "http://127.0.0.1.example:$PORT/"
check "look-alike host refused with exit 2" rc_is lookalike 2
probe norate --url "$URL" --rate 0
check "--rate 0 refused with exit 2" rc_is norate 2
probe long --url "$URL" --duration 3601
check "--duration 3601 refused with exit 2" rc_is long 2
probe bogus --url "$URL" --bogus
check "unknown option refused with exit 2" rc_is bogus 2
probe nourl --rate 10
check "missing --url refused with exit 2" rc_is nourl 2
# The until-file check comes after the host check, so these prove the host passed
# without a packet being sent.
probe stale --url "$URL" --until-file "$WORK/stop"
check "an existing until-file is refused with exit 2" rc_is stale 2
probe v6 --url "http://[::1]:$PORT/" --until-file "$WORK/stop"
check "::1 passes the host check" grep -q "until-file" "$WORK/v6.err"
probe named --url "http://localhost:$PORT/" --until-file "$WORK/stop"
check "localhost passes the host check" grep -q "until-file" "$WORK/named.err"
probe allowed --url "http://192.0.2.1:$PORT/" --allow-host 192.0.2.1 --until-file "$WORK/stop"
check "--allow-host admits the host it names" grep -q "until-file" "$WORK/allowed.err"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
