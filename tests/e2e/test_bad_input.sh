#!/usr/bin/env bash
# End to end: every kind of bad input tracup can be given (command line, versions,
# configuration, the Docker daemon's answers, containers that only look like Tracardi)
# is answered by the real binary with its documented exit code and one clear `error:`
# line, and changes nothing: no request but reads reaches the daemon (none at all for
# what is refused before connecting), no state file appears, the look-alike containers
# are left as they were. The daemon's bad answers come from fake_dockerd (built with
# the unit tests), every other row runs against the test bed's daemon through
# fake_dockerd's logging proxy. Each row of README's "Bad input" table is a block here.
# shellcheck disable=SC2016  # checks run through eval, and jq programs, are quoted so on purpose
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

TRACUP=${TRACUP:-$TB_REPO_DIR/build/src/tracup}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"
FAKE_DOCKERD=${FAKE_DOCKERD:-$(cd "$(dirname "$TRACUP")/.." && pwd)/tests/unit/fake_dockerd}
[ -x "$FAKE_DOCKERD" ] || tb_die "no fake_dockerd at $FAKE_DOCKERD (build with -DTRACUP_TESTS=ON)"

WORK=$(mktemp -d)
tb_cleanup_add "rm -rf '$WORK'"
OUT=$WORK/out ERR=$WORK/err
REG=$TB_REGISTRY
FAKE_P=${TB_E2E_PREFIX}bad$$          # the look-alike containers' project, and a stack that does not exist
NOSTACK=${TB_E2E_PREFIX}bad-none$$
export TRACUP_STATE_DIR=$WORK/state
mkdir -p "$TRACUP_STATE_DIR" "$WORK/anon"
unset TRACUP_CONFIG TRACUP_REGISTRY DOCKER_API_VERSION
UPSTREAM=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) UPSTREAM=${DOCKER_HOST#unix://} ;; esac
unset DOCKER_HOST

# jq -e on a file (the last argument), which must not be empty: jq 1.6 -e passes on no input.
jqe() { [ -s "${*: -1}" ] && jq -e "$@" >/dev/null; }

# wait_line FILE: wait (5 s at most) until FILE holds a line; print it.
wait_line() {
  local i
  for ((i = 0; i < 50; i++)); do
    if [ -s "$1" ]; then head -n1 "$1"; return 0; fi
    sleep 0.1
  done
  return 1
}

# fake_dockerd's proxy to the real daemon logs each request line tracup sends.
PROXY_LOG=$WORK/proxy.log
: >"$PROXY_LOG"
"$FAKE_DOCKERD" --timeout 900 --log "$PROXY_LOG" --proxy "$UPSTREAM" >"$WORK/proxy.sock" 2>"$WORK/proxy.err" &
PROXY_PID=$!
tb_cleanup_add "kill -TERM $PROXY_PID; wait $PROXY_PID"
PROXY_SOCK=$(wait_line "$WORK/proxy.sock") || tb_die "fake_dockerd --proxy did not start: $(cat "$WORK/proxy.err")"

# ---- one row: run tracup, check the exit code, the message and that nothing changed ----

ROW_REQS=$WORK/row.reqs
# requests_since N: the proxy's request lines after the first N.
requests_since() { tail -n +"$(($1 + 1))" "$PROXY_LOG"; }
only_reads() { ! grep -qvE '^(GET|HEAD) ' "$1"; }
one_error_line() { [ "$(grep -c '^error: ' "$ERR")" = 1 ]; }
valid_utf8() { iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1; }
state_empty() { [ -z "$(find "$TRACUP_STATE_DIR" -mindepth 1 -print -quit)" ]; }
show_err() { sed 's/^/#   /' "$ERR" | cut -c 1-300 | tail -n 5 >&2; }

# bad DESC WANT_RC MESSAGE DAEMON TRACUP_ARGS…: run tracup (through the proxy unless
# ROW_DOCKER_HOST is set; environment as the caller puts it before `bad`) and check:
# exit WANT_RC; exactly one `error:` line holding MESSAGE (a fixed string); stderr
# is valid UTF-8; the state directory stays empty; and DAEMON: `none` (no request
# reached the daemon), `reads` (only GET/HEAD did), `pull` (reads and image pulls) or
# `fake` (the caller checks the fake daemon's log).
bad() {
  local desc=$1 want=$2 msg=$3 daemon=$4 rc n0 failed=$TB_FAILED; shift 4
  n0=$(wc -l <"$PROXY_LOG")
  DOCKER_HOST=${ROW_DOCKER_HOST:-unix://$PROXY_SOCK} DOCKER_CONFIG=${ROW_DOCKER_CONFIG:-$WORK/anon} \
    timeout 60 "$TRACUP" "$@" >"$OUT" 2>"$ERR"; rc=$?
  # The proxy logs a request before it forwards it: the log is complete once tracup ended.
  requests_since "$n0" >"$ROW_REQS"
  tb_check "$desc: exit $want (got $rc)" [ "$rc" = "$want" ]
  tb_check "$desc: one error line saying \"$msg\"" eval 'one_error_line && grep -qF -- "$msg" "$ERR"'
  tb_check "$desc: the message is valid UTF-8" valid_utf8 "$ERR"
  tb_check "$desc: no state file" state_empty
  case "$daemon" in
    none) tb_check "$desc: no request reached the daemon" test ! -s "$ROW_REQS" ;;
    reads) tb_check "$desc: only reads reached the daemon" only_reads "$ROW_REQS" ;;
    pull) tb_check "$desc: only reads and the pull reached the daemon" \
            eval '! grep -vE "^(GET|HEAD) |^POST /v1\.[0-9]+/images/create\?" "$ROW_REQS" | grep -q .' ;;
    fake) ;;
    *) tb_die "bad: unknown daemon mode $daemon" ;;
  esac
  [ "$TB_FAILED" = "$failed" ] || show_err
}

# json_error WANT_RC MESSAGE: --json printed {"error":{…}} with the code and message.
json_error() {
  jqe --argjson rc "$1" --arg m "$2" '.error.exit_code == $rc and (.error.message | contains($m))' "$OUT"
}

# ---- the command line ----
echo "--- the command line"
bad "unknown command" 2 "unknown command 'frobnicate'" none frobnicate
bad "help for an unknown command" 2 "unknown command 'nosuch'" none help nosuch
bad "an option before the command" 2 "unknown option '--frob' (options go after the command)" none --frob status
bad "unknown option" 2 "unknown option '--frob'" none status --frob
bad "unknown short option" 2 "unknown option '-x'" none status -x
bad "short options grouped" 2 "unknown option '-qx' (write short options one at a time)" none pull -qx --to 0.8.2
bad "missing option value" 2 "option '--to' needs a value (VERSION)" none pull --to
bad "missing required option" 2 "--to VERSION is required" none plan
bad "a value for a flag" 2 "option '--json' takes no value" none version --json=1
bad "an option given twice" 2 "option '--to' given twice" none pull --to 0.8.2 --to 0.8.3
bad "an extra argument" 2 "'status' takes no arguments ('extra')" none status extra
bad "extra arguments after options" 2 "'plan' takes no arguments ('0.8.2')" none plan --to 0.8.2 0.8.2
timeout 10 "$TRACUP" >"$OUT" 2>"$ERR"; rc=$?
tb_check "no command: exit 2 with the usage on stderr" eval '[ $rc = 2 ] && grep -q "^usage: tracup" "$ERR" && test ! -s "$OUT"'

# ---- versions: refused before anything else, on every command that takes one ----
echo "--- malformed versions"
LONGV=$(printf '1%.0s' {1..300})
for cmd in pull plan upgrade; do
  if [ "$cmd" = pull ]; then where=(--registry "$REG" --images api); else where=(--registry "$REG" --stack "$NOSTACK"); fi
  bad "$cmd --to 0.8.2.1.1" 2 "invalid version '0.8.2.1.1': expected numbers and dots with an optional suffix, e.g. 0.8.2 or 0.8.2-rc1" none \
    "$cmd" --to 0.8.2.1.1 "${where[@]}"
  bad "$cmd --to latest" 2 "'latest' is not a version: it moves, so an upgrade to it cannot be pinned or rolled back" none \
    "$cmd" --to latest "${where[@]}"
  bad "$cmd --to 0.8.2-" 2 "invalid version '0.8.2-'" none "$cmd" --to 0.8.2- "${where[@]}"
  bad "$cmd --to ../x" 2 "invalid version '../x'" none "$cmd" --to ../x "${where[@]}"
  bad "$cmd --to 0.8.2-rc1/../../x" 2 "invalid version '0.8.2-rc1/../../x'" none "$cmd" --to 0.8.2-rc1/../../x "${where[@]}"
  bad "$cmd --to v0.8.2" 2 "invalid version 'v0.8.2': write it without 'v', e.g. 0.8.2" none "$cmd" --to v0.8.2 "${where[@]}"
  bad "$cmd --to 0.8.02" 2 "invalid version '0.8.02'" none "$cmd" --to 0.8.02 "${where[@]}"
  bad "$cmd --to ' 0.8.2'" 2 "invalid version ' 0.8.2'" none "$cmd" --to " 0.8.2" "${where[@]}"
  bad "$cmd --to ''" 2 "empty version" none "$cmd" --to "" "${where[@]}"
  bad "$cmd --to <300 digits>" 2 "version is too long (300 characters)" none "$cmd" --to "$LONGV" "${where[@]}"
done
# Invalid UTF-8, and a valid UTF-8 version long enough to be cut in the message.
bad "pull --to 0.8.<0xff>" 2 "invalid version '0.8." none pull --to $'0.8.\xff' --registry "$REG" --images api
bad "pull --to 0.8.<0xff> --json" 2 "invalid version '0.8." none pull --to $'0.8.\xff' --registry "$REG" --images api --json
tb_check "pull --to 0.8.<0xff> --json: the error object is on stdout" json_error 2 "invalid version '0.8."
LONGU=$(printf 'a%.0s' {1..39})é
bad "pull --to <39 letters and é>" 2 "invalid version 'aaaa" none pull --to "$LONGU" --registry "$REG" --images api
# Two numbers are a version (like 1.0): the registry has no such tag, nothing is pulled.
# (The rest of the message is the registry's: "manifest unknown", or a timeout when it is busy.)
bad "pull --to 0.8 (a version, not published)" 1 "cannot pull '$REG/tracardi/tracardi-api:0.8': " pull \
  pull --to 0.8 --registry "$REG" --images api
tb_check "pull --to 0.8: a pull was asked for, and failed" grep -q "^POST /v1\.[0-9]*/images/create" "$ROW_REQS"
tb_check "pull --to 0.8: no such image on the host" eval '! docker image inspect "$REG/tracardi/tracardi-api:0.8" >/dev/null 2>&1'

# ---- names and prefixes with invalid UTF-8 ----
echo "--- invalid UTF-8 on the command line"
bad "a command of bytes 0xff 0xfe" 2 "unknown command '" none $'\xff\xfe'
bad "a long non-ASCII command" 2 "unknown command 'xxxx" none "$(printf 'x%.0s' {1..59})é"
bad "an option of byte 0xff" 2 "unknown option '--" none status $'--\xff'
bad "--registry with byte 0xff" 2 "invalid registry '$REG/" none status --registry "$REG/"$'\xff'
bad "history --stack ../x" 2 "stack name '../x' cannot name a state directory" none history --stack ../x
bad "history --stack with byte 0xff" 2 "stack name 'a" none history --stack $'a\xff'
bad "plan --stack with byte 0xff" 1 "no Tracardi stack named 'tracardi-" reads \
  plan --to 0.8.2 --stack $'tracardi-\xff' --registry "$REG"
bad "plan --stack with byte 0xff --json" 1 "no Tracardi stack named 'tracardi-" reads \
  plan --to 0.8.2 --stack $'tracardi-\xff' --registry "$REG" --json
tb_check "plan --stack with byte 0xff --json: the error object is on stdout" json_error 1 "no Tracardi stack named 'tracardi-"

# ---- configuration ----
echo "--- configuration"
C=$WORK/conf
mkdir -p "$C/dir.conf"
printf 'registry = %s\nthis line has no equals sign\n' "$REG" >"$C/syntax.conf"
printf 'registy = %s\n' "$REG" >"$C/unknown.conf"
printf 'stall_timeout = 0\n' >"$C/value.conf"
head -c 70000 /dev/zero | tr '\0' '#' >"$C/big.conf"
printf 'registry = a\0b\n' >"$C/nul.conf"
printf 'r\xffegistry = %s\n' "$REG" >"$C/utf8.conf"
printf 'registry = not a registry!\n' >"$C/registry.conf"
TRACUP_CONFIG=$C/dir.conf bad "TRACUP_CONFIG names a directory" 2 "cannot read config '$C/dir.conf'" none version
tb_check "TRACUP_CONFIG names a directory: the message says so" grep -qi "directory" "$ERR"
TRACUP_CONFIG=$C/missing.conf bad "TRACUP_CONFIG names no file" 2 \
  "cannot read config '$C/missing.conf': No such file or directory" none version
TRACUP_CONFIG=$C/syntax.conf bad "config: a line without '='" 2 "$C/syntax.conf:2: expected 'key = value'" none version
TRACUP_CONFIG=$C/unknown.conf bad "config: an unknown key" 2 "$C/unknown.conf:1: unknown key 'registy'" none version
TRACUP_CONFIG=$C/value.conf bad "config: a bad value" 2 "$C/value.conf:1: stall_timeout must be 1 to 86400 seconds" none version
TRACUP_CONFIG=$C/big.conf bad "config: 70 kB" 2 "config '$C/big.conf' is larger than 65536 bytes" none version
TRACUP_CONFIG=/dev/zero bad "config: endless (/dev/zero)" 2 "config '/dev/zero' is larger than 65536 bytes" none version
TRACUP_CONFIG=$C/nul.conf bad "config: a NUL byte" 2 "config '$C/nul.conf' is not a text file" none version
TRACUP_CONFIG=$C/utf8.conf bad "config: a key with byte 0xff" 2 "$C/utf8.conf:1: unknown key 'r" none version
TRACUP_CONFIG=$C/registry.conf bad "config: an invalid registry" 2 "invalid registry 'not a registry!'" none status
# Mode 000: root reads anything, so the row runs tracup as nobody (setpriv, util-linux).
if command -v setpriv >/dev/null 2>&1 &&
   setpriv --reuid=65534 --regid=65534 --clear-groups -- test -x "$TRACUP" 2>/dev/null; then
  P0=$(mktemp -d)
  tb_cleanup_add "rm -rf '$P0'"
  chmod 755 "$P0"
  printf 'registry = %s\n' "$REG" >"$P0/tracup.conf"
  chmod 000 "$P0/tracup.conf"
  TRACUP_CONFIG=$P0/tracup.conf TRACUP_STATE_DIR=$P0/state timeout 10 \
    setpriv --reuid=65534 --regid=65534 --clear-groups -- "$TRACUP" version >"$OUT" 2>"$ERR"; rc=$?
  tb_check "config of mode 000 (as nobody): exit 2 (got $rc)" [ "$rc" = 2 ]
  tb_check "config of mode 000 (as nobody): says permission denied" \
    eval 'one_error_line && grep -qF "cannot read config '"'$P0/tracup.conf'"': Permission denied" "$ERR"'
  tb_check "config of mode 000 (as nobody): no state file" test ! -e "$P0/state"
else
  tb_log "skipping the mode 000 config row: setpriv missing or nobody cannot run $TRACUP"
fi

echo "--- docker's config.json and environment"
D=$WORK/dockercfg
mkdir -p "$D/notjson" "$D/huge" "$D/dir/config.json" "$D/utf8" "$D/array"
echo 'not json {' >"$D/notjson/config.json"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$D/huge/config.json"
printf '{"auths":{"%s":{"auth":"\xff"}}}\n' "$REG" >"$D/utf8/config.json"
echo '[1, 2]' >"$D/array/config.json"
pullapi=(pull --to 0.8.2 --registry "$REG" --images api)
ROW_DOCKER_CONFIG=$D/notjson bad "config.json not JSON" 2 \
  "credentials for '$REG': $D/notjson/config.json: docker config is not valid JSON (line 1:" reads "${pullapi[@]}"
ROW_DOCKER_CONFIG=$D/array bad "config.json a JSON array" 2 \
  "credentials for '$REG': $D/array/config.json: docker config is not a JSON object" reads "${pullapi[@]}"
ROW_DOCKER_CONFIG=$D/utf8 bad "config.json with byte 0xff" 2 \
  "docker config is not valid JSON (line 1: unable to decode byte 0xff" reads "${pullapi[@]}"
ROW_DOCKER_CONFIG=$D/huge bad "config.json of 2 MB" 2 \
  "credentials for '$REG': docker config '$D/huge/config.json' is larger than 1048576 bytes" reads "${pullapi[@]}"
ROW_DOCKER_CONFIG=$D/dir bad "config.json a directory" 2 \
  "credentials for '$REG': cannot read docker config '$D/dir/config.json'" reads "${pullapi[@]}"
tb_check "config.json a directory: the message says so" grep -qi "directory" "$ERR"
DOCKER_API_VERSION=abc bad "DOCKER_API_VERSION=abc" 2 "DOCKER_API_VERSION 'abc' is not an API version like 1.41" none status
DOCKER_API_VERSION=1.12 bad "DOCKER_API_VERSION=1.12" 3 "DOCKER_API_VERSION 1.12 is outside what tracup supports (1.41 to 1.47)" none status

# ---- the daemon's answers, from fake_dockerd ----
echo "--- a daemon that answers badly"
FAKE_LOG=$WORK/fake.log
FAKE_PID=
tb_cleanup_add '[ -z "$FAKE_PID" ] || kill -TERM "$FAKE_PID"'
# daemon SCENARIO DESC WANT_RC MESSAGE TRACUP_ARGS…: `bad` against fake_dockerd SCENARIO;
# then every request it got was a read, but for the one pull it was asked for.
daemon() {
  local sc=$1 desc=$2 want=$3 msg=$4 sock; shift 4
  : >"$WORK/fake.sock"
  : >"$FAKE_LOG"
  TMPDIR=$WORK "$FAKE_DOCKERD" --timeout 60 --log "$FAKE_LOG" "$sc" >"$WORK/fake.sock" 2>"$WORK/fake.err" &
  FAKE_PID=$!
  if ! sock=$(wait_line "$WORK/fake.sock"); then
    tb_fail "$desc: fake_dockerd $sc did not start: $(head -c 300 "$WORK/fake.err")"
    kill -TERM "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID"; FAKE_PID=
    return
  fi
  ROW_DOCKER_HOST=unix://$sock bad "$desc" "$want" "$msg" fake "$@"
  kill -TERM "$FAKE_PID" 2>/dev/null
  wait "$FAKE_PID"   # fake_dockerd ends within its --timeout whatever happens
  FAKE_PID=
  tb_check "$desc: tracup asked the fake daemon" grep -q '^GET /_ping' "$FAKE_LOG"
  tb_check "$desc: nothing but reads (and the pull asked for)" \
    eval '! grep -vE "^(GET|HEAD) |^POST /v1\.41/images/create\?fromImage=127\.0\.0\.1%3A5000%2Ftracardi%2Ftracardi-api&tag=0\.8\.2$" "$FAKE_LOG" | grep -q .'
}
OLD="the docker daemon speaks API 1.40, older than 1.41, the oldest tracup supports"
NOAPI="the docker daemon did not announce a valid API version"
daemon api-old "API 1.40: version" 3 "$OLD" version
daemon api-old "API 1.40: status" 3 "$OLD" status
daemon api-old "API 1.40: pull" 3 "$OLD" "${pullapi[@]}"
daemon api-missing "no API version: status" 3 "$NOAPI" status
daemon api-garbage "an API version of bytes 0xff 0xfe: status" 3 "$NOAPI" status
daemon version-huge "17 MiB /version: version" 3 "the docker daemon's answer to GET /version is larger than 16777216 bytes" version
daemon containers-huge "17 MiB container list: status" 1 \
  "the docker daemon's answer to GET /containers/json?all=1 is larger than 16777216 bytes" status
daemon containers-huge-error "17 MiB error body: status" 1 \
  "the docker daemon's answer to GET /containers/json?all=1 is larger than 16777216 bytes" status
daemon pull-long-line "a 10 MiB JSON line in the pull stream" 1 \
  "cannot pull '$REG/tracardi/tracardi-api:0.8.2': a line of the docker daemon's stream is longer than 1048576 bytes" \
  "${pullapi[@]}"
daemon version-bad-utf8 "/version with byte 0xff: version" 3 \
  "the docker daemon's answer to GET /version is not JSON: unable to decode byte 0xff" version
daemon containers-bad-utf8 "container list with byte 0xff: status" 1 \
  "the docker daemon's answer to GET /containers/json?all=1 is not JSON: unable to decode byte 0xff" status
daemon containers-bad-utf8 "container list with byte 0xff: status --json" 1 \
  "the docker daemon's answer to GET /containers/json?all=1 is not JSON: unable to decode byte 0xff" status --json
tb_check "container list with byte 0xff: status --json: the error object is on stdout" json_error 1 "is not JSON"
daemon containers-error-bad-utf8 "an error body with byte 0xff: status" 1 "daemon broke: " status
daemon containers-error-bad-utf8 "an error body with byte 0xff: status --json" 1 "daemon broke: " status --json
tb_check "an error body with byte 0xff: status --json: the error object is on stdout" json_error 1 "daemon broke: "
daemon pull-bad-utf8 "a pull stream of invalid UTF-8 lines" 1 \
  "cannot pull '$REG/tracardi/tracardi-api:0.8.2': the pull ended but the image has no repository digest" "${pullapi[@]}"

# ---- containers that only look like Tracardi ----
echo "--- containers with Tracardi-like names that are not Tracardi"
A=tracardi-api-fake-$$    # redis, in a compose project, service "api"
B=tracardi-gui-fake-$$    # redis tagged <registry>/<project>/tracardi-api, with tracup's own labels
S=tracardi-fake-$$        # nginx, no labels: grouped as "standalone"
LOOKALIKE=$REG/$FAKE_P/tracardi-api:0.8.1
tb_cleanup_add "docker rmi '$LOOKALIKE'"
tb_cleanup_add "docker rm -f -v '$A' '$B' '$S'"
docker tag "$TB_REDIS_IMAGE" "$LOOKALIKE" || tb_die "cannot tag $TB_REDIS_IMAGE"
if ! { timeout 60 docker run -d --name "$A" --network none --label tracup.testbed=1 \
         --label com.docker.compose.project="$FAKE_P" --label com.docker.compose.service=api "$TB_REDIS_IMAGE" &&
       timeout 60 docker run -d --name "$B" --network none --label tracup.testbed=1 \
         --label tracup.stack="$FAKE_P" --label tracup.role=api --label tracup.upgrade=fake "$LOOKALIKE" &&
       timeout 60 docker run -d --name "$S" --network none --label tracup.testbed=1 "$TB_EDGE_IMAGE"
     } >/dev/null; then
  tb_die "cannot start the look-alike containers"
fi
looks() { docker inspect -f '{{.Name}} {{.Id}} {{.State.Status}} {{.State.StartedAt}} {{.RestartCount}} {{.Config.Image}}' "$A" "$B" "$S"; }
looks >"$WORK/looks.before"
sleep 1   # the look-alikes' own create events fall before T0
T0=$(date +%s)

for reg in "$REG" docker.io; do
  DOCKER_HOST=unix://$PROXY_SOCK timeout 120 "$TRACUP" status --json --registry "$reg" >"$OUT" 2>"$ERR"; rc=$?
  tb_check "status --registry $reg: exit 0 (got $rc)" [ "$rc" = 0 ]
  tb_check "status --registry $reg: no stack holds a look-alike" \
    jqe --arg p "$FAKE_P" --arg a "$A" --arg b "$B" --arg s "$S" \
    '[.stacks[] | select(.name == $p or any(.containers[]; .name == $a or .name == $b or .name == $s))] | length == 0' "$OUT"
done
DOCKER_HOST=unix://$PROXY_SOCK timeout 120 "$TRACUP" status --stack "$FAKE_P" --registry "$REG" >"$OUT" 2>"$ERR"; rc=$?
tb_check "status --stack $FAKE_P: exit 0, no such Tracardi stack" \
  eval '[ $rc = 0 ] && grep -qF "no Tracardi stack named '"'$FAKE_P'"' on this host" "$OUT"'
bad "plan of the look-alike project" 1 "no Tracardi stack named '$FAKE_P' on this host" reads \
  plan --to 0.8.2 --stack "$FAKE_P" --registry "$REG"
bad "plan of the standalone look-alike" 1 "no Tracardi stack named 'standalone' on this host" reads \
  plan --to 0.8.2 --stack standalone --registry "$REG"
bad "plan under the look-alike's registry path" 1 \
  "no Tracardi stack found on this host (images under '$REG/$FAKE_P/tracardi/')" reads \
  plan --to 0.8.2 --registry "$REG/$FAKE_P"
bad "upgrade of the look-alike project" 1 "no Tracardi stack named '$FAKE_P' on this host" reads \
  upgrade --to 0.8.2 --stack "$FAKE_P" --registry "$REG" --yes
bad "pull for the look-alike project" 2 "no Tracardi stack named '$FAKE_P' on this host" reads \
  pull --to 0.8.2 --stack "$FAKE_P" --registry "$REG"
sleep 1   # the events of the last second are complete
looks >"$WORK/looks.after"
tb_check "the look-alikes run as before" cmp -s "$WORK/looks.before" "$WORK/looks.after"
tb_check "no container was created for the look-alike project" test -z "$(
  docker events --since "$T0" --until "$(date +%s)" --filter type=container --filter event=create \
    --format '{{.Actor.Attributes.name}} {{index .Actor.Attributes "tracup.stack"}}' 2>/dev/null |
    grep -F -e "$FAKE_P" -e "$A" -e "$B" -e "$S")"
tb_check "the look-alike's image is the only one under $REG/$FAKE_P" \
  test "$(docker images --format '{{.Repository}}:{{.Tag}}' | grep -c "^$REG/$FAKE_P/")" = 1
tb_check "nothing but reads reached the daemon in the whole test" \
  eval '! grep -vE "^(GET|HEAD) |^POST /v1\.[0-9]+/images/create\?fromImage=127\.0\.0\.1%3A5000%2Ftracardi%2Ftracardi-api&tag=0\.8$" "$PROXY_LOG" | grep -q .'

# ---- history beside the state root's own files ----
echo "--- history with the state root's own files"
H=$WORK/hstate
mkdir -p "$H/stack-a" "$WORK/moved/stack-b"
hline() { printf '{"when":"2026-11-22T10:00:0%s","stack":"%s","operation":"upgrade","from":"0.8.1","to":"0.8.2","result":"done"}\n' "$1" "$2"; }
hline 1 stack-a >"$H/stack-a/history.jsonl"
hline 2 stack-b >"$WORK/moved/stack-b/history.jsonl"
ln -s "$WORK/moved/stack-b" "$H/stack-b"          # a stack's directory moved elsewhere and linked
ln -s "$WORK/nowhere" "$H/stack-c"                # a dangling link
echo '{"bundles":[]}' >"$H/bundles.json"
: >"$H/bundles.json.lock"
printf 'x\n' >"$H/.hidden"
TRACUP_STATE_DIR=$H timeout 60 "$TRACUP" history --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "history with bundles.json and its lock present: exit 0 (got $rc)" [ "$rc" = 0 ]
tb_check "history lists the two stacks' records, nothing else" \
  jqe '[.[].stack] | sort == ["stack-a", "stack-b"]' "$OUT"
tb_check "history: nothing on stderr" test ! -s "$ERR"
TRACUP_STATE_DIR=$H timeout 60 "$TRACUP" history >"$OUT" 2>"$ERR"; rc=$?
tb_check "history (table): exit 0 and both stacks" \
  eval '[ $rc = 0 ] && grep -q " stack-a " "$OUT" && grep -q " stack-b " "$OUT"'

tb_summary
