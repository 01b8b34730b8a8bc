#!/usr/bin/env bash
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# End to end: no secret leaks. Four known secret values: the password registry's
# password (through a credential helper), the new admin's password, Elasticsearch's
# password and the installation token. None may appear in tracup's stdout or stderr
# (normal and --json; tracup has no verbose mode), the journal, the history, the
# upgrade directory (snapshot.tar included), or the argv of any process tracup
# started (traced with strace; the helper records its own argv too).
#   1. 0.8.1 -> 0.8.2 from the password registry, plan/status/history, rollback:
#      the secret values live only in secrets/<id>.json (0600 in 0700), deleted by
#      the rollback; journal and history 0600, every directory 0700;
#   2. the same with --json, blue's api removed by hand: without the secrets file the
#      rollback refuses to recreate it; with the file back it recreates blue's api
#      with its real INSTALLATION_TOKEN and Elasticsearch password.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

TRACUP=${TRACUP:-$TB_REPO_DIR/build/src/tracup}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"
command -v strace >/dev/null 2>&1 || bash "$TB_REPO_DIR/tests/deps.sh" >&2
command -v strace >/dev/null 2>&1 || tb_die "strace is not installed (tests/deps.sh installs it)"

WORK=$(mktemp -d)
chmod 700 "$WORK"
tb_cleanup_add "rm -rf '$WORK'"
mkdir -p "$WORK/out" "$WORK/trace" "$WORK/helper/bin" "$WORK/dcfg"
export TRACUP_STATE_DIR=$WORK/state
mkdir -p "$TRACUP_STATE_DIR"
P1=${TB_E2E_PREFIX}sec
P2=${TB_E2E_PREFIX}sec2
tb_cleanup_add "tb_compose_down '$P1'"
tb_cleanup_add "tb_compose_down '$P2'"

rand() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
REG_PW=$(cat "$TB_REGISTRY_PASSWORD_FILE")
ADMIN_PW="sec-Adm1n-$(rand)"
ES_PW="sec-Elast1c-$(rand)"
TOKEN="sec-Inst4ll-$(rand)"
[ -n "$REG_PW" ] || tb_die "the test bed has no registry password"
export TRACUP_ADMIN_EMAIL=admin@example.com TRACUP_ADMIN_PASSWORD=$ADMIN_PW

# The test's own requests to Elasticsearch: credentials from a file, not an argv.
ES_CURL=$WORK/es-curl.conf
(umask 077; printf 'user = "elastic:%s"\n' "$ES_PW" >"$ES_CURL")

# A credential helper of the test's own: appends its argv to a file, answers the secret.
cat >"$WORK/helper/bin/docker-credential-tbsec" <<HELPER
#!/bin/sh
printf '%s\n' "\$0 \$*" >>"$WORK/helper/argv"
server=\$(cat)
[ "\$1" = get ] || exit 2
[ "\$server" = "$TB_REGISTRY_AUTH" ] || { echo "credentials not found in native keychain"; exit 1; }
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$TB_REGISTRY_USER" "\$(cat '$TB_REGISTRY_PASSWORD_FILE')"
HELPER
chmod 755 "$WORK/helper/bin/docker-credential-tbsec"
printf '{"credHelpers":{"%s":"tbsec"}}\n' "$TB_REGISTRY_AUTH" >"$WORK/dcfg/config.json"

jqe() { tb_jqe "$@"; }
version_at() { curl -s --max-time 3 "$1/info/version" | jq -r . 2>/dev/null; }
mode_of() { stat -c %a "$1" 2>/dev/null; }
es() { local path=$1; shift; curl -s --max-time 30 -K "$ES_CURL" "$@" "$TB_ELASTIC_URL$path"; }

# tu NAME ARGS...: tracup with the test's credential helper, stdout and stderr in
# out/NAME.out and out/NAME.err, every execve of it and its children in trace/NAME.
# Returns tracup's exit status (strace passes it on). tracup bounds its own waits
# (--smoke-timeout, --migrate-timeout, 180 s for blue); timeout bounds the rest.
# LeakSanitizer cannot run under ptrace: a sanitizer build keeps its other checks.
tu() {
  local name=$1; shift
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 PATH=$WORK/helper/bin:$PATH DOCKER_CONFIG=$WORK/dcfg \
    timeout -k 10 900 strace -f -qq --seccomp-bpf -e trace=execve -s 4096 -o "$WORK/trace/$name" \
    "$TRACUP" "$@" --stack "$STACK" >"$WORK/out/$name.out" 2>"$WORK/out/$name.err" </dev/null
}
upgrade() {  # NAME ARGS...
  local name=$1; shift
  tu "$name" upgrade --registry "$TB_REGISTRY_AUTH" --to 0.8.2 --observe 3 --smoke-timeout 60 \
    --migrate-timeout 300 --yes "$@"
}
show() { tail -n 30 "$WORK/out/$1.out" "$WORK/out/$1.err" >&2; }

# leaks WHAT FILE|DIR...: none of the four secret values appears in them (binary files too).
leaks() {
  local what=$1; shift
  if grep -rlaF -e "$REG_PW" -e "$ADMIN_PW" -e "$ES_PW" -e "$TOKEN" -- "$@" 2>/dev/null >"$WORK/leaked"; then
    tb_fail "$what: a secret appears in $(tr '\n' ' ' <"$WORK/leaked")"
  else
    tb_pass "$what: no secret"
  fi
}

# The stack as an operator with security on runs it: images from the password registry,
# an installation token, Elasticsearch with a password the api and workers use.
stack_up() {  # PROJECT
  local try
  for try in 1 2; do
    TB_REGISTRY=$TB_REGISTRY_AUTH INSTALLATION_TOKEN=$TOKEN ELASTIC_PASSWORD=$ES_PW \
      ELASTIC_HTTP_AUTH_USERNAME=elastic ELASTIC_HTTP_AUTH_PASSWORD=$ES_PW \
      tb_compose_up "$1" 0.8.1 2>"$WORK/up-$1.log" && return 0
    # A free port can be taken before the edge binds it: once more on other ports.
    tb_log "$1 did not come up (try $try)"
    tb_compose_down "$1"
  done
  cat "$WORK/up-$1.log" >&2
  return 1
}

# Installs blue with the secret token and writes N documents into its event and
# profile indices, through Elasticsearch's password.
seed_blue() {  # N
  local code idx i body=$WORK/seed.ndjson
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST "$TB_API_URL/install" \
    -H 'content-type: application/json' --data-binary @- <<EOF
{"username":"$TB_ADMIN_EMAIL","password":"$TB_BLUE_PASSWORD","token":"$TOKEN","needs_admin":true,"update_mapping":false}
EOF
  )
  [ "$code" = 200 ] || { tb_log "install answered $code"; return 1; }
  for idx in $(es '/_cat/indices?format=json' | jq -r '.[].index' |
               grep -E '^(prod-)?08x\.01506\.tracardi-(event|profile)-'); do
    for ((i = 1; i <= $1; i++)); do
      printf '{"index":{"_index":"%s"}}\n{"seq":%d,"type":"seeded"}\n' "$idx" "$i"
    done
  done >"$body"
  [ -s "$body" ] || { tb_log "no 08x event/profile indices to seed"; return 1; }
  es /_bulk -X POST -H 'content-type: application/x-ndjson' --data-binary @"$body" | jqe '.errors == false'
}
release_docs() {  # PREFIX TENANT
  es '/_cat/indices?format=json' |
    jq --arg re "^(prod-|static-)?$1\\.$2\\." '[.[] | select(.index | test($re)) | (.["docs.count"] | tonumber)] | add // 0'
}
svc_ids() {  # PROJECT SERVICE: every container of the service, running or not
  docker ps -aq --filter "label=com.docker.compose.project=$1" --filter "label=com.docker.compose.service=$2"
}
env_of() { docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$1" 2>/dev/null; }

# Every file under DIR is 0600 and every directory 0700.
private_tree() {
  local bad
  bad=$(find "$1" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \) -printf '%m %p\n')
  [ -z "$bad" ] || { tb_log "not private: $bad"; return 1; }
}

# The secrets file of an upgrade: 0600 in a 0700 directory, holding the real values.
secrets_held() {  # FILE
  [ "$(mode_of "$1")" = 600 ] && [ "$(mode_of "$(dirname "$1")")" = 700 ] &&
    grep -qF -- "$TOKEN" "$1" && grep -qF -- "$ES_PW" "$1"
}

# The snapshot holds blue's api with its secrets masked and marked as withheld.
snapshot_masked() {  # TAR
  local x=$WORK/snap.x
  rm -rf "$x"; mkdir -p "$x"
  tar -xf "$1" -C "$x" || return 1
  local api
  api=$(grep -l '"INSTALLATION_TOKEN=' "$x"/containers/*.json | head -n1)
  [ -n "$api" ] &&
    jqe '(.Config.Env | index("INSTALLATION_TOKEN=***") != null and index("ELASTIC_HTTP_AUTH_PASSWORD=***") != null)
         and (.TracupWithheldEnv | index("INSTALLATION_TOKEN") != null)' "$api" &&
    ! grep -rqaF -e "$TOKEN" -e "$ES_PW" -e "$REG_PW" -e "$ADMIN_PW" "$x"
}

# Every execve strace recorded ran with none of the secrets on its command line, and
# the helper was among them (else the trace proves nothing).
argv_clean() {
  local t=$WORK/trace
  grep -qh 'execve(".*docker-credential-tbsec"' "$t"/* || { tb_log "no helper execve in the traces"; return 1; }
  ! grep -qhaF -e "$REG_PW" -e "$ADMIN_PW" -e "$ES_PW" -e "$TOKEN" "$t"/*
}
helper_argv_clean() {
  [ -s "$WORK/helper/argv" ] && ! grep -v ' get$' "$WORK/helper/argv" | grep -q . &&
    ! grep -qaF -e "$REG_PW" -e "$ADMIN_PW" -e "$ES_PW" -e "$TOKEN" "$WORK/helper/argv"
}
json_lines() { jq -c . "$1" >/dev/null 2>&1; }

###########################################################################
echo "--- 1. 0.8.1 -> 0.8.2 from the password registry, then rollback"
STACK=$P1
stack_up "$P1" || tb_die "the 0.8.1 stack did not come up"
tb_check "Elasticsearch refuses a request without its password" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$TB_ELASTIC_URL/_cat/indices")" = 401 ]
tb_check "blue is installed with the secret token and seeded" seed_blue 2
API1=$TB_API_URL

tu plan1 plan --registry "$TB_REGISTRY_AUTH" --to 0.8.2; rc=$?
tb_check "plan exits 0" [ $rc = 0 ]
[ $rc = 0 ] || show plan1
tu plan1j plan --registry "$TB_REGISTRY_AUTH" --to 0.8.2 --json; rc=$?
tb_check "plan --json exits 0, the api's secrets masked" \
  bash -c "[ $rc = 0 ] && jq -e '.hops[0].containers[] | select(.role == \"api\") | .env
    | (index(\"INSTALLATION_TOKEN=***\") != null and index(\"ELASTIC_HTTP_AUTH_PASSWORD=***\") != null)' \
    '$WORK/out/plan1j.out' >/dev/null"

upgrade up1; rc=$?
tb_check "upgrade exits 0" [ $rc = 0 ]
[ $rc = 0 ] || show up1
tb_check "the public endpoint answers 0.8.2" [ "$(version_at "$API1")" = 0.8.2 ]
tb_check "green migrated blue's documents through Elasticsearch's password" [ "$(release_docs 0820 ffe49)" -gt 0 ]
J1=$TRACUP_STATE_DIR/$P1/journal.json
ID1=$(jq -r .id "$J1")
UPDIR1=$(jq -r .upgrade_dir "$J1")
SEC1=$TRACUP_STATE_DIR/$P1/secrets/$ID1.json
tb_check "the secrets file holds the token and Elasticsearch's password, 0600 in a 0700 dir" secrets_held "$SEC1"
tb_check "the secrets file is outside the upgrade directory" bash -c "case '$SEC1' in '$UPDIR1'/*) exit 1;; esac"
tb_check "the snapshot holds blue's api with its secrets masked" snapshot_masked "$UPDIR1/snapshot.tar"
leaks "the upgrade directory (snapshot.tar bytes too)" "$UPDIR1"

for m in "" --json; do
  tu "status$m" status --registry "$TB_REGISTRY_AUTH" $m; rc=$?
  tb_check "status${m:+ $m} exits 0" [ $rc = 0 ]
  tu "history$m" history $m; rc=$?
  tb_check "history${m:+ $m} exits 0" [ $rc = 0 ]
  # Refused now (0.8.2 runs): what matters is what it prints.
  tu "plan2$m" plan --registry "$TB_REGISTRY_AUTH" --to 0.8.2 $m
done
tb_check "status --json shows the upgrade done" \
  jqe --arg p "$P1" '.stacks[] | select(.name == $p) | .upgrade.state == "done"' "$WORK/out/status--json.out"
tb_check "the journal and the history are 0600" \
  bash -c "[ '$(mode_of "$J1")' = 600 ] && [ '$(mode_of "$TRACUP_STATE_DIR/$P1/history.jsonl")' = 600 ]"
tb_check "the stack's state: every file 0600, every directory 0700" private_tree "$TRACUP_STATE_DIR/$P1"
leaks "journal, history" "$J1" "$TRACUP_STATE_DIR/$P1/history.jsonl"

tu rb1 rollback --yes; rc=$?
tb_check "rollback exits 0" [ $rc = 0 ]
[ $rc = 0 ] || show rb1
tb_check "the public endpoint answers 0.8.1" [ "$(version_at "$API1")" = 0.8.1 ]
tb_check "the rollback deleted the secrets file" [ ! -e "$SEC1" ]
tb_check "the journal says rolled_back" jqe '.state == "rolled_back"' "$J1"
tb_check "the stack's state after the rollback: every file 0600, every directory 0700" \
  private_tree "$TRACUP_STATE_DIR/$P1"
leaks "the state directory after the rollback (journal, history, upgrade dir, green's logs)" "$TRACUP_STATE_DIR/$P1"
tb_compose_down "$P1"

###########################################################################
echo "--- 2. --json, blue's api removed by hand: recreated with its secrets"
STACK=$P2
stack_up "$P2" || tb_die "the second 0.8.1 stack did not come up"
tb_check "blue is installed with the secret token and seeded" seed_blue 2
API2=$TB_API_URL
BLUE_API=$(svc_ids "$P2" api)
upgrade up2j --json; rc=$?
tb_check "upgrade --json exits 0, every line JSON" bash -c "[ $rc = 0 ] && jq -c . '$WORK/out/up2j.out' >/dev/null"
[ $rc = 0 ] || show up2j
tb_check "the public endpoint answers 0.8.2" [ "$(version_at "$API2")" = 0.8.2 ]
J2=$TRACUP_STATE_DIR/$P2/journal.json
ID2=$(jq -r .id "$J2")
UPDIR2=$(jq -r .upgrade_dir "$J2")
SEC2=$TRACUP_STATE_DIR/$P2/secrets/$ID2.json
tb_check "the secrets file holds the token and Elasticsearch's password, 0600 in a 0700 dir" secrets_held "$SEC2"
tb_check "the snapshot holds blue's api with its secrets masked" snapshot_masked "$UPDIR2/snapshot.tar"
tb_check "blue's api is removed by hand" bash -c "docker rm -f '$BLUE_API' >/dev/null"

mv "$SEC2" "$WORK/secrets-aside.json"
tu rb2j rollback --yes --json; rc=$?
tb_check "without the secrets file the rollback fails (exit 1)" [ $rc = 1 ]
tb_check "…saying it will not recreate blue's api without its secret environment, naming the file" \
  bash -c "grep -q 'without its secret environment' '$WORK/out/rb2j.err' && grep -qF '$SEC2' '$WORK/out/rb2j.err'"
tb_check "…and no api container was created without them" [ -z "$(svc_ids "$P2" api)" ]
tb_check "…green still serves 0.8.2" [ "$(version_at "$API2")" = 0.8.2 ]
mv "$WORK/secrets-aside.json" "$SEC2"

tu rb3j rollback --yes --json; rc=$?
tb_check "with the file back the rollback exits 0" [ $rc = 0 ]
[ $rc = 0 ] || show rb3j
tb_check "…recreating blue's api from the snapshot" \
  jqe -s 'any(.[]; (.message // "") | test("recreated .*api.* from the snapshot"))' "$WORK/out/rb3j.out"
NEW_API=$(svc_ids "$P2" api)
env_of "$NEW_API" >"$WORK/recreated.env"
tb_check "the recreated api has its real INSTALLATION_TOKEN" grep -qxF "INSTALLATION_TOKEN=$TOKEN" "$WORK/recreated.env"
tb_check "…and its real Elasticsearch password" grep -qxF "ELASTIC_HTTP_AUTH_PASSWORD=$ES_PW" "$WORK/recreated.env"
tb_check "…and no masked value" bash -c "! grep -qF '=***' '$WORK/recreated.env'"
tb_check "the public endpoint answers 0.8.1" [ "$(version_at "$API2")" = 0.8.1 ]
tb_check "the rollback deleted the secrets file" [ ! -e "$SEC2" ]
tu history2j history --json
tb_check "history --json has the rollback, done" \
  jqe '[.[] | select(.operation == "rollback" and .result == "done")] | length == 1' "$WORK/out/history2j.out"
tb_check "the stack's state: every file 0600, every directory 0700" private_tree "$TRACUP_STATE_DIR/$P2"
tb_compose_down "$P2"

###########################################################################
echo "--- 3. nowhere"
tb_check "every --json output is JSON lines" \
  bash -c "for f in '$WORK'/out/*--json.out '$WORK'/out/*j.out; do jq -c . \"\$f\" >/dev/null || exit 1; done"
leaks "tracup's stdout and stderr ($(find "$WORK/out" -type f | wc -l) files)" "$WORK/out"
leaks "the whole state directory" "$TRACUP_STATE_DIR"
tb_check "the argv of every process tracup started ($(cat "$WORK"/trace/* | grep -c 'execve(') execve)" argv_clean
tb_check "the credential helper's own record of its argv: only 'get'" helper_argv_clean
tb_summary
