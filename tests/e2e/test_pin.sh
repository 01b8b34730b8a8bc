#!/usr/bin/env bash
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# End to end: `tracup pin` on a compose stack started at 0.8.1 by digest.
#   1. --dry-run writes nothing; pin writes the running digests into the project's env
#      file in place (quotes, comments, mode kept, a 0600 backup), and docker-compose up
#      with that file recreates nothing (same container ids): the file is exact;
#   2. a second pin says already pinned and keeps no backup;
#   3. tracup upgrade --to 0.8.2 rewrites the file to 0.8.2's digests (the backup holds
#      0.8.1's), tracup rollback puts 0.8.1's back;
#   4. a broken env file is refused with its line number and left as it was.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

TRACUP=${TRACUP:-$TB_REPO_DIR/build/src/tracup}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"
WORK=$(mktemp -d)
tb_cleanup_add "rm -rf '$WORK'"
export TRACUP_STATE_DIR=$WORK/state TRACUP_ADMIN_EMAIL=$TB_ADMIN_EMAIL
TRACUP_ADMIN_PASSWORD=green-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
export TRACUP_ADMIN_PASSWORD
OUT=$WORK/out ERR=$WORK/err
jqe() { jq -e "$@" >/dev/null; }
P=${TB_E2E_PREFIX}pin
tb_cleanup_add "tb_compose_down '$P'"

# The registry's own word on a tag's digest.
registry_digest() {  # REPO TAG
  curl -fsS -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$TB_REGISTRY/v2/tracardi/$1/manifests/$2" | tr -d '\r' |
    awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}'
}
declare -A DG
for v in 0.8.1 0.8.2; do
  for r in tracardi-api tracardi-gui update-worker; do DG[$r:$v]=$(registry_digest "$r" "$v"); done
done
if [ -z "${DG[tracardi-api:0.8.1]}" ] || [ -z "${DG[update-worker:0.8.2]}" ]; then
  tb_die "no digests from $TB_REGISTRY"
fi

pin() { "$TRACUP" pin --registry "$TB_REGISTRY" --stack "$P" "$@"; }
val() { sed -n "s/^\(export \)\{0,1\}$1=//p" "$ENVF" | tail -n1 | sed "s/[[:space:]]*#.*//; s/^['\"]//; s/['\"]$//"; }
pinned_to() {  # VERSION: the env file names that release and its three digests, no apm
  [ "$(val TRACARDI_VERSION)" = "$1" ] && [ "$(val TRACARDI_REGISTRY)" = "$TB_REGISTRY" ] &&
  [ "$(val API_DIGEST)" = "@${DG[tracardi-api:$1]}" ] && [ "$(val GUI_DIGEST)" = "@${DG[tracardi-gui:$1]}" ] &&
  [ "$(val WORKER_DIGEST)" = "@${DG[update-worker:$1]}" ]
}
backups() { find "$(dirname "$ENVF")" -maxdepth 1 -name "$(basename "$ENVF").tracup-*.bak" | sort; }
ids() { docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$P" | sort | tr '\n' ' '; }

###########################################################################
echo "--- 1. pin a stack started by digest"
up=0
for _try in 1 2; do
  API_DIGEST=@${DG[tracardi-api:0.8.1]} GUI_DIGEST=@${DG[tracardi-gui:0.8.1]} \
    WORKER_DIGEST=@${DG[update-worker:0.8.1]} tb_compose_up "$P" 0.8.1 >/dev/null 2>"$WORK/up.log" &&
    tb_seed_blue "$P" 0.8.1 2 && { up=1; break; }
  tb_compose_down "$P"
done
[ $up = 1 ] || { cat "$WORK/up.log" >&2; tb_die "the 0.8.1 stack did not come up"; }
DIR=$(tb_compose_dir "$P")
# The file compose was given (tb_compose passes --env-file): the containers' label names it.
ENVF=$DIR/empty.env
# The test bed's settings, but not the pinned ones: those come from tracup, in the
# syntax an operator may have used.
{
  echo "# Operator's notes: kept as they are."
  grep -vE '^(TRACARDI_VERSION|API_DIGEST|GUI_DIGEST|WORKER_DIGEST|APM_DIGEST)=' "$DIR/tb.env"
  echo ""
  echo "export API_DIGEST=''   # filled by tracup pin"
  echo "GUI_DIGEST=\"@sha256:$(printf '0%.0s' {1..64})\""
  echo "WORKER_DIGEST="
} >"$ENVF"
chmod 0640 "$ENVF"
ORIG=$(cat "$ENVF")
sum() { sha256sum <"$ENVF"; }
S0=$(sum)

pin --dry-run >"$OUT" 2>"$ERR"; rc=$?
tb_check "--dry-run exits 0 and shows the changes" \
  bash -c "[ $rc = 0 ] && grep -qx -- '+API_DIGEST=@${DG[tracardi-api:0.8.1]}' '$OUT' && grep -q 'nothing was written' '$OUT'"
tb_check "--dry-run writes nothing: same file, no backup, nothing remembered" \
  bash -c "[ '$(sum)' = '$S0' ] && [ -z '$(backups)' ] && [ ! -e '$TRACUP_STATE_DIR/$P/pin.json' ]"

t0=$SECONDS
pin --json >"$OUT" 2>"$ERR"; rc=$?
tb_log "pin took $((SECONDS - t0)) s"
tb_check "pin exits 0" [ $rc = 0 ]
[ $rc = 0 ] || cat "$ERR" >&2
tb_check "pin found the env file in the compose labels" jqe --arg f "$ENVF" '.env_file == $f and .changed' "$OUT"
tb_check "the env file names 0.8.1 and the digests that run" pinned_to 0.8.1
tb_check "…the JSON says so too" jqe --arg a "@${DG[tracardi-api:0.8.1]}" \
  '.variables.TRACARDI_VERSION == "0.8.1" and .variables.API_DIGEST == $a and .variables.APM_DIGEST == ""' "$OUT"
tb_check "…values replaced in place, quoting and comments kept" \
  bash -c "grep -qx \"export API_DIGEST='@${DG[tracardi-api:0.8.1]}'   # filled by tracup pin\" '$ENVF' &&
           grep -qx 'GUI_DIGEST=\"@${DG[tracardi-gui:0.8.1]}\"' '$ENVF' && head -n1 '$ENVF' | grep -qx \"# Operator's notes: kept as they are.\""
tb_check "…the missing ones appended under a comment" \
  bash -c "tail -n3 '$ENVF' | head -n1 | grep -q '^# Pinned by' && [ \"\$(tail -n2 '$ENVF')\" = \"\$(printf 'TRACARDI_VERSION=0.8.1\nAPM_DIGEST=')\" ]"
tb_check "…every other line unchanged" \
  bash -c "diff <(grep -vE '^(export )?(TRACARDI_[A-Z]+|[A-Z]+_DIGEST)=|^# Pinned by' '$ENVF') <(grep -vE '^(export )?(TRACARDI_[A-Z]+|[A-Z]+_DIGEST)=' <<<\"\$1\")" _ "$ORIG"
tb_check "the file keeps its mode 0640" [ "$(stat -c %a "$ENVF")" = 640 ]
B1=$(backups)
tb_check "one backup, mode 0600, holding the old file, named in the output" \
  bash -c "[ \$(wc -l <<<'$B1') = 1 ] && [ \"\$(stat -c %a '$B1')\" = 600 ] && [ \"\$(sha256sum <'$B1')\" = '$S0' ] && jq -e --arg b '$B1' '.backup == \$b' '$OUT' >/dev/null"
tb_check "the env file is remembered (0600)" \
  bash -c "jq -e --arg f '$ENVF' '.env_file == \$f' '$TRACUP_STATE_DIR/$P/pin.json' >/dev/null && [ \"\$(stat -c %a '$TRACUP_STATE_DIR/$P/pin.json')\" = 600 ]"

# The proof: compose with nothing but that file resolves the same images and keeps
# every container (a different image string or digest would recreate it).
BEFORE=$(ids)
compose_envfile() { (cd "$DIR" && timeout 300 "$TB_COMPOSE_BIN" --ansi never -p "$P" -f "$DIR/docker-compose.yml" \
  --env-file "$ENVF" "$@"); }
compose_envfile config >"$WORK/config.yml" 2>"$ERR"
tb_check "docker-compose config: the api is $TB_REGISTRY/tracardi/tracardi-api:0.8.1@<running digest>" \
  grep -qF "image: $TB_REGISTRY/tracardi/tracardi-api:0.8.1@${DG[tracardi-api:0.8.1]}" "$WORK/config.yml"
compose_envfile up -d >"$WORK/up2.log" 2>&1; rc=$?
tb_check "docker-compose up -d with the pinned file exits 0" [ $rc = 0 ]
tb_check "…and recreates nothing (same container ids)" [ "$(ids)" = "$BEFORE" ]
grep -q -i recreat "$WORK/up2.log" && cat "$WORK/up2.log" >&2

###########################################################################
echo "--- 2. pinned already"
S1=$(sum)
pin >"$OUT" 2>"$ERR"; rc=$?
tb_check "a second pin says already pinned" bash -c "[ $rc = 0 ] && grep -q '^already pinned' '$OUT'"
tb_check "…and changes nothing, no new backup" bash -c "[ '$(sum)' = '$S1' ] && [ '$(backups)' = '$B1' ]"

###########################################################################
echo "--- 3. upgrade and rollback keep the file in step"
sleep 1  # a backup name has a one-second stamp
t0=$SECONDS
# --blue-standby: blue's api and gui still run after done; the pin takes green's.
"$TRACUP" upgrade --registry "$TB_REGISTRY" --stack "$P" --to 0.8.2 --observe 2 --smoke-timeout 60 --blue-standby \
  --yes >"$WORK/up.out" 2>"$WORK/up.err"; rc=$?
tb_log "upgrade took $((SECONDS - t0)) s"
tb_check "upgrade --to 0.8.2 exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 20 "$WORK/up.out" "$WORK/up.err" >&2
tb_check "…its output says the env file now pins 0.8.2" grep -qE "pin +$ENVF now pins Tracardi 0.8.2" "$WORK/up.out"
tb_check "the env file names 0.8.2 and its digests" pinned_to 0.8.2
"$TRACUP" pin --registry "$TB_REGISTRY" --stack "$P" --json >"$WORK/pin-standby.json" 2>"$WORK/pin-standby.err"; rc=$?
tb_check "with blue standing by, tracup pin pins green's release (already pinned)" bash -c \
  "[ $rc = 0 ] && grep -q 0.8.2 '$WORK/pin-standby.json'"
B2=$(comm -13 <(echo "$B1") <(backups))
tb_check "…a new backup holds the 0.8.1 file" bash -c "[ -n '$B2' ] && [ \"\$(sha256sum <'$B2')\" = '$S1' ]"
tb_check "…mode still 0640" [ "$(stat -c %a "$ENVF")" = 640 ]

sleep 1
"$TRACUP" rollback --registry "$TB_REGISTRY" --stack "$P" --yes >"$WORK/rb.out" 2>"$WORK/rb.err"; rc=$?
tb_check "rollback exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 20 "$WORK/rb.out" "$WORK/rb.err" >&2
tb_check "…its output says the env file pins 0.8.1 again" grep -qE "pin +$ENVF now pins Tracardi 0.8.1" "$WORK/rb.out"
tb_check "the env file names 0.8.1 and its digests again" pinned_to 0.8.1
tb_check "…apm is unpinned again (0.8.1 runs none)" [ -z "$(val APM_DIGEST)" ]
tb_check "…mode still 0640" [ "$(stat -c %a "$ENVF")" = 640 ]

###########################################################################
echo "--- 4. a broken env file"
printf 'this line is not an assignment\n' >>"$ENVF"
N=$(wc -l <"$ENVF")
S2=$(sum)
NB=$(backups | wc -l)
pin >"$OUT" 2>"$ERR"; rc=$?
tb_check "pin refuses it (exit 1) naming line $N" bash -c "[ $rc = 1 ] && grep -q \"line $N: expected NAME=VALUE\" '$ERR'"
[ $rc = 1 ] || cat "$ERR" >&2
tb_check "…and leaves the file and backups as they were" \
  bash -c "[ '$(sum)' = '$S2' ] && [ $(backups | wc -l) = $NB ] && [ \"\$(stat -c %a '$ENVF')\" = 640 ]"
"$TRACUP" pin --registry "$TB_REGISTRY" --stack "$P" --env-file "$WORK/none/x.env" >"$OUT" 2>"$ERR"; rc=$?
tb_check "an --env-file in a missing directory is refused" bash -c "[ $rc = 1 ] && grep -q 'does not exist' '$ERR'"

tb_summary
