#!/usr/bin/env bash
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# End to end: offline bundles.
#   1. a registry of this test's own (docker-registry on a free port) holds 0.8.2;
#      `bundle create` from it writes one archive that sha256sum agrees with, and
#      refuses an existing file without --force;
#   2. `bundle create` from the credentialed registry (:5001) puts no password in the
#      bundle, its manifest or the output;
#   3. the registry stops and the local tags go: a copy with one byte of an image
#      member flipped, a truncated copy and a copy with an extra member are refused,
#      naming the member, and load nothing;
#   4. `plan` with the registry down and no bundle record keeps today's error;
#   5. the good bundle loads, image ids match the manifest, the record is 0600;
#   6. `plan` and `upgrade` 0.8.1 -> 0.8.2 from that registry, still down, use the
#      loaded images: done, and green runs exactly the loaded image ids.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

TRACUP=${TRACUP:-$TB_REPO_DIR/build/src/tracup}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"
command -v docker-registry >/dev/null || tb_die "docker-registry is not installed"
command -v zstd >/dev/null || command -v xz >/dev/null || tb_die "neither zstd nor xz is installed (tests/deps.sh)"

WORK=$(mktemp -d)
tb_cleanup_add "rm -rf '$WORK'"
export TRACUP_STATE_DIR=$WORK/state
mkdir -p "$TRACUP_STATE_DIR"
export TRACUP_ADMIN_EMAIL=admin@example.com
export TRACUP_ADMIN_PASSWORD="green-Adm1n-$RANDOM$RANDOM-pw"
P=${TB_E2E_PREFIX}bundle
jqe() { jq -e "$@" >/dev/null; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T0=$(now)

# ---------------------------------------------------------------- our registry
REG_PORT=$(tb_free_port) || tb_die "no free port"
REG=127.0.0.1:$REG_PORT
REG_PID=""
mkdir -p "$WORK/registry"
cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
  delete:
    enabled: true
http:
  addr: $REG
  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
EOF
registry_stop() {
  [ -n "$REG_PID" ] || return 0
  kill "$REG_PID" 2>/dev/null
  local i
  for ((i = 0; i < 50; i++)); do kill -0 "$REG_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$REG_PID" 2>/dev/null
  REG_PID=""
}
setsid docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 </dev/null &
REG_PID=$!
tb_cleanup_add registry_stop
tb_wait_http "http://$REG/v2/" 10 || tb_die "our registry did not come up (log: $(tail -n 5 "$WORK/registry.log"))"

ROLES="api gui update-worker apm"
path_of() { case $1 in api) echo tracardi/tracardi-api ;; gui) echo tracardi/tracardi-gui ;; *) echo "tracardi/$1" ;; esac; }
untag_ours() { local r; for r in $ROLES; do docker rmi "$REG/$(path_of "$r"):0.8.2" >/dev/null 2>&1; done; return 0; }
tb_cleanup_add untag_ours
for r in $ROLES; do
  src=$TB_REGISTRY/$(path_of "$r"):0.8.2 dst=$REG/$(path_of "$r"):0.8.2
  # an earlier test's finalize may have removed the local tag: the test bed's registry has it
  docker image inspect "$src" >/dev/null 2>&1 || timeout 120 docker pull -q "$src" >/dev/null 2>>"$WORK/push.err"
  docker tag "$src" "$dst" && timeout 120 docker push -q "$dst" >/dev/null 2>>"$WORK/push.err" ||
    tb_die "cannot push $dst: $(tail -n 3 "$WORK/push.err")"
done

###########################################################################
echo "--- 1. bundle create from our registry"
B=$WORK/tracardi-0.8.2.bundle
"$TRACUP" bundle create --to 0.8.2 --registry "$REG" -o "$B" --json >"$WORK/create.json" 2>"$WORK/create.err"; rc=$?
tb_check "bundle create exits 0" [ $rc = 0 ]
[ $rc = 0 ] || cat "$WORK/create.err" >&2
tb_check "create --json: the file, its size, and the four images with digests, ids and sha256" \
  jqe --arg f "$B" --argjson s "$(stat -c %s "$B" 2>/dev/null || echo 0)" '.ok and .file == $f and .size == $s and .release == "0.8.2"
    and ([.images[].role] | sort) == ["api","apm","gui","update-worker"]
    and all(.images[]; (.digest | test("^sha256:[0-9a-f]{64}$")) and (.image_id | test("^sha256:[0-9a-f]{64}$")) and (.sha256 | test("^[0-9a-f]{64}$")))' "$WORK/create.json"
tb_check "create: the image ids are the pushed images'" bash -c '
  for r in '"$ROLES"'; do
    want=$(docker image inspect -f "{{.Id}}" "'"$TB_REGISTRY"'/$(case $r in api) echo tracardi/tracardi-api;; gui) echo tracardi/tracardi-gui;; *) echo tracardi/$r;; esac):0.8.2")
    jq -e --arg r "$r" --arg id "$want" "[.images[] | select(.role == \$r and .image_id == \$id)] | length == 1" "'"$WORK/create.json"'" >/dev/null || exit 1
  done'
tb_check "create: progress with bytes per image on stderr" grep -q 'saved   api .*[KMG]B' "$WORK/create.err"
tb_check "create: no temporary file is left" bash -c "! ls -a '$WORK' | grep -q -e '\.tmp\.' -e '^\.tracup-bundle'"
COMP=$(jq -r .compression "$WORK/create.json")
case $COMP in zstd) TARZ=--zstd ;; xz) TARZ=--xz ;; *) TARZ=""; tb_fail "unknown compression '$COMP'" ;; esac
mkdir -p "$WORK/x"
tb_check "the bundle is a $COMP tar: manifest.json, images/<role>.tar, SHA256SUMS" \
  bash -c "tar $TARZ -tf '$B' | tr '\n' ' ' | grep -qx 'manifest.json images/api.tar images/gui.tar images/update-worker.tar images/apm.tar SHA256SUMS '"
tar $TARZ -xf "$B" -C "$WORK/x" 2>/dev/null
tb_check "sha256sum agrees with SHA256SUMS, which covers the manifest and every image" \
  bash -c "cd '$WORK/x' && sha256sum --quiet -c SHA256SUMS && [ \$(wc -l <SHA256SUMS) = 5 ]"
tb_check "the manifest records format, release, registry, tracup version, creation time and member sha256s" \
  jqe --arg reg "$REG" '.format == 1 and .release == "0.8.2" and .registry == $reg and (.tracup_version | length > 0)
    and (.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")) and (.images | length) == 4
    and all(.images[]; .member == "images/\(.role).tar" and .name == "\($reg)/tracardi/\(if .role == "api" then "tracardi-api" elif .role == "gui" then "tracardi-gui" else .role end):0.8.2")' "$WORK/x/manifest.json"
tb_check "the manifest's member sha256s are the files'" bash -c "cd '$WORK/x' && jq -r '.images[] | \"\(.sha256)  \(.member)\"' manifest.json | sha256sum --quiet -c"
SUM_BEFORE=$(sha256sum "$B" | cut -c1-64)
"$TRACUP" bundle create --to 0.8.2 --registry "$REG" -o "$B" -q >/dev/null 2>"$WORK/again.err"; rc=$?
tb_check "create refuses an existing file without --force (exit 2, unchanged)" \
  bash -c "[ $rc = 2 ] && grep -q \"'$B' exists\" '$WORK/again.err' && [ \"\$(sha256sum '$B' | cut -c1-64)\" = $SUM_BEFORE ]"
# A write that fails half-way (a file size limit, with SIGXFSZ ignored so write()
# returns EFBIG): a clean error, and no bundle or temporary file left behind. The
# limit lets every saved image through and stops the archive part-way.
LIMIT_K=$(( $(jq '[.images[].size] | max' "$WORK/create.json") / 1024 + 1024 ))
[ $(( LIMIT_K * 1024 )) -lt "$(stat -c %s "$B")" ] || tb_log "the bundle is smaller than the size limit: the next check tests the image files only"
( trap '' XFSZ; ulimit -f "$LIMIT_K"; exec "$TRACUP" bundle create --to 0.8.2 \
  --registry "$REG" -o "$WORK/full.bundle" -q ) >/dev/null 2>"$WORK/full.err"; rc=$?
tb_check "a write failing half-way: exit 1 with one error line, about the archive" \
  bash -c "[ $rc = 1 ] && [ \$(grep -c '^error:' '$WORK/full.err') = 1 ] && grep -q 'member' '$WORK/full.err'"
tb_log "the half-way failure said: $(head -n1 "$WORK/full.err")"
tb_check "…and no bundle or temporary file is left" \
  bash -c "[ ! -e '$WORK/full.bundle' ] && ! ls -a '$WORK' | grep -q -e '\.tmp\.' -e '^\.tracup-bundle'"
"$TRACUP" bundle create --to 0.8.2 --registry "$REG" --images api,bogus -o "$WORK/no.bundle" >/dev/null 2>"$WORK/bad.err"; rc=$?
tb_check "create refuses an unknown --images name (exit 2, no file)" \
  bash -c "[ $rc = 2 ] && grep -q \"unknown image 'bogus'\" '$WORK/bad.err' && [ ! -e '$WORK/no.bundle' ]"

###########################################################################
echo "--- 2. no registry password in a bundle made from the credentialed registry"
PW=$(cat "$TB_REGISTRY_PASSWORD_FILE")
PW_B64=$(printf '%s:%s' "$TB_REGISTRY_USER" "$PW" | base64 -w0)
BA=$WORK/auth.bundle
"$TRACUP" bundle create --to 0.8.2 --registry "$TB_REGISTRY_AUTH" --images gui -o "$BA" --json \
  >"$WORK/auth.json" 2>"$WORK/auth.err"; rc=$?
tb_check "create from $TB_REGISTRY_AUTH with the test bed's login exits 0" [ $rc = 0 ]
[ $rc = 0 ] || cat "$WORK/auth.err" >&2
mkdir -p "$WORK/xa"
tar "$(case $(jq -r .compression "$WORK/auth.json") in xz) echo --xz ;; *) echo --zstd ;; esac)" -xf "$BA" -C "$WORK/xa" 2>/dev/null
tb_check "the credentialed bundle holds one image" jqe '(.images | length) == 1' "$WORK/xa/manifest.json"
tb_check "no password (plain or base64) in the bundle, its members or the output" \
  bash -c "[ -n '$PW' ] && ! grep -rqaF -e '$PW' -e '$PW_B64' '$BA' '$WORK/xa' '$WORK/auth.json' '$WORK/auth.err'"
rm -rf "$WORK/xa" "$BA"

###########################################################################
echo "--- 3. the registry goes away; damaged bundles are refused and load nothing"
registry_stop
tb_check "our registry is down" [ "$(tb_http_code "http://$REG/v2/")" = 000 ]
untag_ours
tb_check "none of our tags is on the host" bash -c "! docker images --format '{{.Repository}}' | grep -q '^$REG/'"

nothing_loaded() { ! docker images --format '{{.Repository}}' | grep -q "^$REG/" && [ ! -e "$TRACUP_STATE_DIR/bundles.json" ]; }
# A copy with one byte of images/gui.tar flipped, packed again in the same order.
cp -r "$WORK/x" "$WORK/flip"
off=$(( $(stat -c %s "$WORK/flip/images/gui.tar") / 2 ))
orig=$(od -An -tu1 -j "$off" -N1 "$WORK/flip/images/gui.tar" | tr -d ' ')
printf "\\$(printf '%03o' $(( (orig + 1) % 256 )))" | dd of="$WORK/flip/images/gui.tar" bs=1 seek="$off" conv=notrunc 2>/dev/null
(cd "$WORK/flip" && tar $TARZ -cf "$WORK/flipped.bundle" manifest.json images/api.tar images/gui.tar images/update-worker.tar images/apm.tar SHA256SUMS)
"$TRACUP" bundle load "$WORK/flipped.bundle" >"$WORK/flip.out" 2>"$WORK/flip.err"; rc=$?
tb_check "a flipped byte in images/gui.tar: refused (exit 1)" [ $rc = 1 ]
tb_check "the error is one line naming images/gui.tar" \
  bash -c "[ \$(grep -c '^error:' '$WORK/flip.err') = 1 ] && grep '^error:' '$WORK/flip.err' | grep -q \"member 'images/gui.tar' does not match its SHA-256\""
tb_check "nothing was loaded (not even images/api.tar, before it) and nothing recorded" nothing_loaded

head -c $(( $(stat -c %s "$B") * 2 / 3 )) "$B" >"$WORK/truncated.bundle"
"$TRACUP" bundle load "$WORK/truncated.bundle" >"$WORK/trunc.out" 2>"$WORK/trunc.err"; rc=$?
tb_check "a truncated bundle: refused (exit 1) naming a member" \
  bash -c "[ $rc = 1 ] && grep -q \"^error: bundle '.*' is damaged.*member 'images/[a-z-]*.tar'\" '$WORK/trunc.err'"
tb_check "nothing was loaded from the truncated bundle" nothing_loaded

echo extra >"$WORK/flip/notes.txt"
(cd "$WORK/x" && tar $TARZ -cf "$WORK/extra.bundle" manifest.json -C "$WORK/flip" notes.txt -C "$WORK/x" images/api.tar SHA256SUMS)
"$TRACUP" bundle load "$WORK/extra.bundle" >/dev/null 2>"$WORK/extra.err"; rc=$?
tb_check "an unexpected member: refused, named" bash -c "[ $rc = 1 ] && grep -q \"unexpected member 'notes.txt'\" '$WORK/extra.err'"
(cd "$WORK/x" && tar $TARZ -cf "$WORK/missing.bundle" manifest.json images/api.tar images/gui.tar images/update-worker.tar SHA256SUMS)
"$TRACUP" bundle load "$WORK/missing.bundle" >/dev/null 2>"$WORK/missing.err"; rc=$?
tb_check "a missing member: refused, named" bash -c "[ $rc = 1 ] && grep -q \"member 'images/apm.tar' is missing\" '$WORK/missing.err'"
tb_check "nothing was loaded from those either" nothing_loaded

# Checksums that agree with a member the daemon cannot load: it answers 200 and then
# reports the error in its stream, which must fail the load.
mkdir -p "$WORK/junk/images" "$WORK/junk/in"
# A saved image in form (one tag, the manifest's image id) whose config file is not
# there: tracup's own look inside passes it, the daemon refuses it in its stream.
gui_name=$(jq -r '.images[] | select(.role == "gui") | .name' "$WORK/x/manifest.json")
gui_id=$(jq -r '.images[] | select(.role == "gui") | .image_id' "$WORK/x/manifest.json")
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[]}]' "${gui_id#sha256:}" "$gui_name" >"$WORK/junk/in/manifest.json"
tar -cf "$WORK/junk/images/gui.tar" -C "$WORK/junk/in" manifest.json
jq --arg s "$(sha256sum "$WORK/junk/images/gui.tar" | cut -c1-64)" --argjson n "$(stat -c %s "$WORK/junk/images/gui.tar")" \
  '.images |= [.[] | select(.role == "gui") | .sha256 = $s | .size = $n]' "$WORK/x/manifest.json" >"$WORK/junk/manifest.json"
(cd "$WORK/junk" && sha256sum manifest.json images/gui.tar >SHA256SUMS &&
  tar $TARZ -cf "$WORK/junk.bundle" manifest.json images/gui.tar SHA256SUMS)
"$TRACUP" bundle load "$WORK/junk.bundle" >/dev/null 2>"$WORK/junk.err"; rc=$?
tb_check "a member the daemon refuses in its stream (HTTP 200): load fails, naming it" \
  bash -c "[ $rc = 1 ] && grep -q \"^error: loading member 'images/gui.tar': the docker daemon said: .\" '$WORK/junk.err'"
tb_check "nothing was recorded for it" nothing_loaded

###########################################################################
echo "--- 4. plan with the registry down and no bundle record"
tb_compose_up "$P" 0.8.1 2>"$WORK/up.log" || { tb_compose_down "$P"; tb_compose_up "$P" 0.8.1; } ||
  { cat "$WORK/up.log" >&2; tb_die "the 0.8.1 stack did not come up"; }
tb_cleanup_add "tb_compose_down '$P'"
tu() { local cmd=$1; shift; "$TRACUP" "$cmd" --registry "$REG" --from-registry "$TB_REGISTRY" --stack "$P" "$@"; }
tu plan --to 0.8.2 >"$WORK/plan0.out" 2>"$WORK/plan0.err"; rc=$?
tb_check "plan without a record: refused (exit 1)" [ $rc = 1 ]
tb_check "plan without a record: says the registry has no digest, connection refused" \
  grep -q "the registry has no digest for '$REG/tracardi/tracardi-api:0.8.2'.*connection refused" "$WORK/plan0.out"
tb_check "plan without a record: no offline line" bash -c "! grep -q '^offline:' '$WORK/plan0.out'"

###########################################################################
echo "--- 5. the good bundle loads"
TIMEV=()
[ -x /usr/bin/time ] && TIMEV=(/usr/bin/time -f '%M' -o "$WORK/load.rss")
"${TIMEV[@]}" "$TRACUP" bundle load "$B" --json >"$WORK/load.json" 2>"$WORK/load.err"; rc=$?
tb_check "bundle load exits 0" [ $rc = 0 ]
[ $rc = 0 ] || cat "$WORK/load.err" >&2
[ -s "$WORK/load.rss" ] && tb_log "bundle load peak RSS $(tail -n1 "$WORK/load.rss") KiB"
tb_check "every loaded tag has the manifest's image id" bash -c '
  jq -r ".images[] | \"\(.name) \(.image_id)\"" "'"$WORK/x/manifest.json"'" | while read -r name id; do
    [ "$(docker image inspect -f "{{.Id}}" "$name" 2>/dev/null)" = "$id" ] || exit 1
  done'
REC=$TRACUP_STATE_DIR/bundles.json
tb_check "the record is mode 0600" [ "$(stat -c %a "$REC" 2>/dev/null)" = 600 ]
tb_check "the record: release, registry, name, digest and image id of each image" \
  jqe --arg reg "$REG" --slurpfile m "$WORK/x/manifest.json" '.loads | length == 1 and .[0].release == "0.8.2" and .[0].registry == $reg
    and ([.[0].images[] | {role, name, digest, image_id}] == [$m[0].images[] | {role, name, digest, image_id}])' "$REC"
tb_check "load --json names the record and the images" jqe --arg r "$REC" '.ok and .record == $r and (.images | length) == 4' "$WORK/load.json"

###########################################################################
echo "--- 6. plan and upgrade from the registry that is down, with the loaded images"
# The record alone is not enough: the tag must still name the loaded image id.
GUI_REF=$REG/tracardi/tracardi-gui:0.8.2
GUI_ID=$(jq -r '.images[] | select(.role == "gui") | .image_id' "$WORK/x/manifest.json")
docker tag "$TB_REGISTRY/tracardi/tracardi-api:0.8.2" "$GUI_REF"
tu plan --to 0.8.2 >"$WORK/plan-moved.out" 2>&1; rc=$?
tb_check "plan with a loaded tag moved to another image: refused for that image" \
  bash -c "[ $rc = 1 ] && grep -q \"the registry has no digest for '$GUI_REF'\" '$WORK/plan-moved.out'"
docker tag "$GUI_ID" "$GUI_REF"
tu plan --to 0.8.2 >"$WORK/plan1.out" 2>"$WORK/plan1.err"; rc=$?
tb_check "plan with the record: exit 0" [ $rc = 0 ]
[ $rc = 0 ] || cat "$WORK/plan1.out" "$WORK/plan1.err" >&2
tb_check "plan says: offline, images from the bundle loaded at …" grep -q '^offline: images from the bundle loaded at 20' "$WORK/plan1.out"
tu plan --to 0.8.2 --json >"$WORK/plan1.json" 2>/dev/null
tb_check "plan --json: images carry the loaded image ids, containers use the tags" \
  jqe --slurpfile m "$WORK/x/manifest.json" '.offline.loaded_at and all(.hops[0].images[]; . as $i | any($m[0].images[]; .role == $i.image and .image_id == $i.image_id and .digest == $i.digest))' "$WORK/plan1.json"

t0=$(now)
tu upgrade --to 0.8.2 --observe 2 --smoke-timeout 60 --yes >"$WORK/up.out" 2>"$WORK/up.err"; rc=$?
tb_log "offline upgrade took $(since "$t0")s (exit $rc)"
tb_check "upgrade with the registry down exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 30 "$WORK/up.out" "$WORK/up.err" >&2
tb_check "upgrade says done" grep -q 'Tracardi 0.8.2 serves stack' "$WORK/up.out"
tb_check "upgrade says offline in its pull phase" grep -q 'pull .*offline: .* from the bundle loaded at 20' "$WORK/up.out"
tb_check "the public endpoint answers 0.8.2" [ "$(curl -s --max-time 3 "$TB_API_URL/info/version" | jq -r .)" = 0.8.2 ]
green_ok() {
  local role key id want n=0
  for key in api gui update-worker; do
    case $key in api) role=api ;; gui) role=gui ;; *) role=worker ;; esac
    id=$(docker ps -q --filter "label=tracup.stack=$P" --filter label=tracup.color=green \
         --filter "label=tracup.role=$role" | head -n1)
    [ -n "$id" ] || { tb_log "no green $role"; return 1; }
    want=$(jq -r --arg k "$key" '.images[] | select(.role == $k) | .image_id' "$WORK/x/manifest.json")
    [ "$(docker inspect -f '{{.Image}}' "$id")" = "$want" ] || { tb_log "green $role runs another image"; return 1; }
    n=$((n + 1))
  done
  [ $n = 3 ]
}
tb_check "green's api, gui and update-worker run exactly the loaded image ids" green_ok
tb_check "the journal pins the images by the loaded ids" \
  jqe --slurpfile m "$WORK/x/manifest.json" '.state == "done" and all(.hops[0].images | to_entries[]; . as $e | any($m[0].images[]; .role == $e.key and .image_id == $e.value.image_id))' \
  "$TRACUP_STATE_DIR/$P/journal.json"
tb_check "no admin password in the outputs" bash -c "! grep -rqF -e '$TRACUP_ADMIN_PASSWORD' '$WORK/up.out' '$WORK/up.err' '$WORK/plan1.json' '$REC'"

# Loaded images have no registry digest: pin writes the release and pins them by tag
# (a repo@digest reference would send compose to the registry the host cannot reach).
"$TRACUP" pin --registry "$REG" --stack "$P" --env-file "$WORK/pinned.env" >"$WORK/pin.out" 2>"$WORK/pin.err"; rc=$?
tb_check "pin after the offline upgrade: exit 0, 0.8.2, empty digests, a note on why" bash -c "
  [ $rc = 0 ] && grep -qx 'TRACARDI_VERSION=0.8.2' '$WORK/pinned.env' && grep -qx 'API_DIGEST=' '$WORK/pinned.env' &&
  grep -qx 'GUI_DIGEST=' '$WORK/pinned.env' && grep -q 'pinned by their tag' '$WORK/pin.err'"

tb_log "test_bundle ran $(since "$T0")s"
tb_summary
