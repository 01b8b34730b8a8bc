#!/usr/bin/env bash
# End to end: `tracup check` lists the releases a real registry (the test bed's, open
# and htpasswd) has beyond a compose-started 0.8.1 stack, over the registry HTTP API,
# with clear errors for wrong credentials, a registry that is down and a wrong prefix.
# Everything it pushes goes under the checktest/ namespace and is deleted at the end.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

# The test bed's env names the repository it was made from: this checkout's build is wanted.
TRACUP=${TRACUP:-$(cd "$HERE/../.." && pwd)/build/src/tracup}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"
P=${TB_E2E_PREFIX}check
NS=checktest
OPEN=$TB_REGISTRY/$NS
AUTH=$TB_REGISTRY_AUTH/$NS
WORK=$(mktemp -d)
tb_cleanup_add "rm -rf '$WORK'"
PASSWORD=$(cat "$TB_REGISTRY_PASSWORD_FILE")
OUT=$WORK/out ERR=$WORK/err
# jq -e passes on an empty file: the last argument must hold a JSON document.
jqe() { [ -s "${!#}" ] && jq -e "$@" >/dev/null; }
no_secret() {  # FILE...: neither the registry password nor a wrong one appears
  if grep -qF -e "$PASSWORD" -e wrong-Passw0rd "$@"; then tb_fail "a password appears in tracup's output"; else tb_pass "no password in output"; fi
}

# ---- push: one small test-bed image under many tags (one digest per repository)
SRC=$TB_REGISTRY/tracardi/update-worker:0.8.1
docker image inspect "$SRC" >/dev/null 2>&1 || timeout 120 docker pull -q "$SRC" >/dev/null ||
  tb_die "no source image $SRC"
PUSHED=()  # registry/ns/repo (for the manifest deletes) and local refs
push() {  # REGISTRY_PREFIX REPO TAG...
  local pre=$1 repo=$2 tag; shift 2
  for tag in "$@"; do
    docker tag "$SRC" "$pre/$repo:$tag" || return 1
    timeout 120 docker push -q "$pre/$repo:$tag" >/dev/null || { tb_log "push $pre/$repo:$tag failed"; return 1; }
    PUSHED+=("$pre/$repo:$tag")
  done
}
# Deletes the repository's manifest (all its tags: they share one digest) and the local tags.
unpush() {
  local ref reg path repo digest auth=()
  for ref in "${PUSHED[@]}"; do docker rmi "$ref" >/dev/null 2>&1 || true; done
  for repo in tracardi/tracardi-api tracardi/tracardi-gui tracardi/update-worker tracardi/apm; do
    for reg in "$TB_REGISTRY" "$TB_REGISTRY_AUTH"; do
      auth=(); [ "$reg" = "$TB_REGISTRY_AUTH" ] && auth=(-K "$TB_CURL_AUTH")
      path=$NS/$repo
      digest=$(curl -fsS "${auth[@]}" -o /dev/null -D - --max-time 5 \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$reg/v2/$path/manifests/0.8.2" 2>/dev/null | tr -d '\r' |
        awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
      [ -n "$digest" ] || continue
      curl -fsS "${auth[@]}" -X DELETE --max-time 5 -o /dev/null "http://$reg/v2/$path/manifests/$digest" ||
        tb_log "could not delete $reg/$path@$digest"
    done
  done
}
tb_cleanup_add unpush

t0=$SECONDS
# Open registry: releases, an rc, a -dev, tags that are no version; the gui lacks 1.0.0,
# the update worker the -dev build, apm has only 0.8.2 and 0.9.0.
API_TAGS=(0.8.0 0.8.1 0.8.2 1.0.1-rc1 0.9.0-dev 0.9.0 1.0.0 latest stable)
push "$OPEN" tracardi/tracardi-api "${API_TAGS[@]}" &&
push "$OPEN" tracardi/tracardi-gui 0.8.1 0.8.2 1.0.1-rc1 0.9.0 &&
push "$OPEN" tracardi/update-worker 0.8.2 1.0.1-rc1 0.9.0 1.0.0 &&
push "$OPEN" tracardi/apm 0.8.2 0.9.0 &&
push "$AUTH" tracardi/tracardi-api 0.8.2 1.0.0 latest &&
push "$AUTH" tracardi/tracardi-gui 0.8.2 || tb_die "pushing the test tags failed"
tb_log "pushed ${#PUSHED[@]} tags in $((SECONDS - t0)) s"

echo "--- against a running 0.8.1 stack"
tb_compose_up "$P" 0.8.1 || tb_die "the 0.8.1 stack did not come up"
"$TRACUP" check --registry "$OPEN" --from-registry "$TB_REGISTRY" --stack "$P" >"$OUT" 2>"$ERR"; rc=$?
tb_check "check exits 0" [ $rc = 0 ]
tb_check "the running release comes from the stack's api" grep -qF "Running: Tracardi 0.8.1 (stack '$P', read from its api)" "$OUT"
tb_check "…9 tags listed, 2 not versions ignored, 2 older or the same" \
  grep -qE "^Registry $OPEN: 9 tags of '$NS/tracardi/tracardi-api' in 1 page; 2 not versions ignored \(latest, stable\); 2 older or the same$" "$OUT"
tb_check "newer releases in version order, pre-releases hidden" \
  bash -c "[ \"\$(awk '/^  [0-9]/{print \$1}' '$OUT' | tr '\n' ' ')\" = '0.8.2 0.9.0 1.0.0 ' ]"
tb_check "0.8.2: complete, one hop" grep -qE '^  0\.8\.2 +release +complete +0\.8\.1 -> 0\.8\.2$' "$OUT"
tb_check "0.9.0: no apm? it has one; complete, through 0.8.2" grep -qE '^  0\.9\.0 +release +complete +0\.8\.1 -> 0\.8\.2 -> 0\.9\.0$' "$OUT"
tb_check "1.0.0: the gui and apm images are missing" grep -qE '^  1\.0\.0 +release +no gui, apm +0\.8\.1 -> 0\.8\.2 -> 1\.0\.0$' "$OUT"
tb_check "the newest release and its hops" grep -qF 'Newest release: 1.0.0, 2 hops: 0.8.1 -> 0.8.2 -> 1.0.0' "$OUT"
tb_check "the hidden pre-releases are counted" grep -qF '2 pre-releases (rc, -dev) not shown: --all lists them' "$OUT"

"$TRACUP" check --registry "$OPEN" --from-registry "$TB_REGISTRY" --stack "$P" --all >"$OUT" 2>"$ERR"; rc=$?
tb_check "--all: rc and -dev listed and marked" bash -c "[ $rc = 0 ] &&
  grep -qE '^  1\.0\.1-rc1 +rc +no apm +0\.8\.1 -> 0\.8\.2 -> 1\.0\.1-rc1$' '$OUT' &&
  grep -qE '^  0\.9\.0-dev +dev +no gui, update-worker, apm ' '$OUT'"
tb_check "--all: a -dev build carries a warning" grep -qF 'note: 0.9.0-dev is a development build' "$OUT"
tb_check "--all: in version order" \
  bash -c "[ \"\$(awk '/^  [0-9]/{print \$1}' '$OUT' | tr '\n' ' ')\" = '0.8.2 0.9.0-dev 0.9.0 1.0.0 1.0.1-rc1 ' ]"

"$TRACUP" check --registry "$OPEN" --from-registry "$TB_REGISTRY" --stack "$P" --json --page-size 2 >"$OUT" 2>"$ERR"; rc=$?
J=$OUT
tb_check "--json: exit 0, one object" bash -c "[ $rc = 0 ] && [ \$(wc -l <'$J') = 1 ]"
tb_check "--json: running, stack and where the version was read" \
  jqe --arg p "$P" '.ok and .running=="0.8.1" and .stack==$p and .running_from=="api" and .registry=="'"$OPEN"'"' "$J"
tb_check "--json: the releases, their kinds and images" \
  jqe '[.releases[] | .version] == ["0.8.2","0.9.0","1.0.0"] and ([.releases[] | .kind] | unique) == ["release"]
       and (.releases[2].images == {"api":true,"gui":false,"update-worker":true,"apm":false})
       and .releases[0].complete and (.releases[2].complete | not)' "$J"
tb_check "--json: hops and the newest release" \
  jqe '.releases[2].hops == ["0.8.2","1.0.0"] and .newest_release.version=="1.0.0" and .newest_release.hops==["0.8.2","1.0.0"] and (.up_to_date|not)' "$J"
tb_check "--json: counts of tags ignored and hidden" \
  jqe '.tags.listed==9 and .tags.not_versions==2 and .tags.not_version_examples==["latest","stable"] and .tags.older==2 and .hidden==2' "$J"
# distribution 2.8 ignores n= on tag lists (it pages only the catalog): every tag must
# still arrive, over however many pages the registry chose. The unit tests page by Link.
tb_check "--page-size 2: every tag still listed ($(jq -r .pages "$J") page(s))" jqe '.pages >= 1 and .tags.listed == 9' "$J"

"$TRACUP" check --registry "$OPEN" --current 0.8.0 --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "--current 0.8.0 without asking the host: 0.8.2 goes through 0.8.1" \
  bash -c "[ $rc = 0 ] && [ -s '$OUT' ] && jq -e '.running_from==\"--current\" and .stack==null and (.releases[] | select(.version==\"0.8.2\") | .hops) == [\"0.8.1\",\"0.8.2\"]' '$OUT' >/dev/null"
"$TRACUP" check --registry "$OPEN" --current 1.0.0 >"$OUT" 2>"$ERR"; rc=$?
tb_check "up to date at 1.0.0" bash -c "[ $rc = 0 ] && grep -qF 'Up to date: the registry has no release newer than 1.0.0' '$OUT'"
"$TRACUP" check --registry "$OPEN" --current 0.9.0 >"$OUT" 2>"$ERR"; rc=$?
tb_check "0.9.0 -> 1.0.0: one hop on the same data, said so" \
  bash -c "[ $rc = 0 ] && grep -qF 'Newest release: 1.0.0, 1 hop: 0.9.0 -> 1.0.0 (the same db_version: it would run on the running release' '$OUT' && grep -qF 'plan wants --share-data' '$OUT'"

TRACUP_REGISTRY=$OPEN "$TRACUP" check --current 0.8.1 --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "the registry from TRACUP_REGISTRY" jqe '.registry=="'"$OPEN"'" and .newest_release.version=="1.0.0"' "$OUT"
printf 'registry = %s\n' "$OPEN" >"$WORK/tracup.conf"
TRACUP_CONFIG=$WORK/tracup.conf "$TRACUP" check --current 0.8.1 --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "the registry from the configuration" jqe '.registry=="'"$OPEN"'" and .newest_release.version=="1.0.0"' "$OUT"

echo "--- several stacks, a version read from the image tag"
# Two compose projects whose api containers run images under checktest/ (created, never
# started: their api cannot answer, so the version comes from the image tag).
for x in a b; do
  docker create --name "${P}-$x-api" --label "com.docker.compose.project=${P}-$x" \
    --label com.docker.compose.service=tracardi-api "$OPEN/tracardi/tracardi-api:0.8.2" >/dev/null ||
    tb_die "cannot create ${P}-$x-api"
  tb_cleanup_add "docker rm -f '${P}-$x-api'"
done
"$TRACUP" check --registry "$OPEN" >"$OUT" 2>"$ERR"; rc=$?
tb_check "several stacks without --stack: exit 2, asking for --stack" bash -c "[ $rc = 2 ] && grep -q 'say which with --stack' '$ERR'"
"$TRACUP" check --registry "$OPEN" --stack "${P}-b" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "--stack picks one; its version from the image tag" \
  jqe '.stack=="'"${P}-b"'" and .running=="0.8.2" and .running_from=="image tag" and ([.releases[] | .version] == ["0.9.0","1.0.0"])' "$OUT"
docker rm -f "${P}-a-api" "${P}-b-api" >/dev/null 2>&1

echo "--- no stack, no daemon"
"$TRACUP" check --registry "$OPEN" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "no stack under the prefix: every release listed (exit 0)" \
  jqe '.running == null and ([.releases[] | .version] == ["0.8.0","0.8.1","0.8.2","0.9.0","1.0.0"])' "$OUT"
"$TRACUP" check --registry "$OPEN" >"$OUT" 2>"$ERR"; rc=$?
tb_check "…and says there is no stack" bash -c "[ $rc = 0 ] && grep -q 'no Tracardi stack on this host' '$ERR' '$OUT'"
DOCKER_HOST=unix://$WORK/none.sock "$TRACUP" check --registry "$OPEN" >"$OUT" 2>"$ERR"; rc=$?
tb_check "daemon unreachable: exit 3 with a hint to --current" bash -c "[ $rc = 3 ] && grep -q -- '--current VERSION' '$ERR'"
DOCKER_HOST=unix://$WORK/none.sock "$TRACUP" check --registry "$OPEN" --current 0.8.1 >"$OUT" 2>"$ERR"; rc=$?
tb_check "…while --current needs no daemon" bash -c "[ $rc = 0 ] && grep -q 'Newest release: 1.0.0' '$OUT'"

echo "--- the registry that needs credentials"
"$TRACUP" check --registry "$AUTH" --current 0.8.1 --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "the test bed's login: 0.8.2 and 1.0.0, 1.0.0 without its gui" \
  bash -c "[ $rc = 0 ] && [ -s '$OUT' ] && jq -e '[.releases[] | .version] == [\"0.8.2\",\"1.0.0\"] and .releases[1].images.gui == false and .tags.not_versions == 1' '$OUT' >/dev/null"
no_secret "$OUT" "$ERR"
mkdir -p "$WORK/bad" "$WORK/anon"
echo '{}' >"$WORK/anon/config.json"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$TB_REGISTRY_AUTH" "$(printf '%s:%s' "$TB_REGISTRY_USER" wrong-Passw0rd | base64 -w0)" >"$WORK/bad/config.json"
DOCKER_CONFIG=$WORK/bad "$TRACUP" check --registry "$AUTH" --current 0.8.1 >"$OUT" 2>"$ERR"; rc=$?
tb_check "a wrong password: exit 1, naming the registry" \
  bash -c "[ $rc = 1 ] && grep -qF \"error: registry '$TB_REGISTRY_AUTH' refused the credentials\" '$ERR' && grep -q 'hint: check the login' '$ERR'"
no_secret "$OUT" "$ERR"
DOCKER_CONFIG=$WORK/bad "$TRACUP" check --registry "$AUTH" --current 0.8.1 --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "…and with --json an error object" bash -c "[ $rc = 1 ] && [ -s '$OUT' ] && jq -e '.error.kind==\"permission\" and .error.exit_code==1' '$OUT' >/dev/null"
no_secret "$OUT" "$ERR"
DOCKER_CONFIG=$WORK/anon "$TRACUP" check --registry "$AUTH" --current 0.8.1 >"$OUT" 2>"$ERR"; rc=$?
tb_check "no login: exit 1, saying credentials are wanted" \
  bash -c "[ $rc = 1 ] && grep -q 'wants credentials' '$ERR' && grep -qF 'docker login $TB_REGISTRY_AUTH' '$ERR'"

mkdir -p "$WORK/helper/bin"
cat >"$WORK/helper/bin/docker-credential-tbcheck" <<HELPER
#!/bin/sh
server=\$(cat)
echo "\$*" >"$WORK/helper/argv"
[ "\$1" = get ] && [ "\$server" = "$TB_REGISTRY_AUTH" ] || exit 1
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$TB_REGISTRY_USER" "\$(cat '$TB_REGISTRY_PASSWORD_FILE')"
HELPER
chmod 755 "$WORK/helper/bin/docker-credential-tbcheck"
printf '{"credHelpers":{"%s":"tbcheck"}}' "$TB_REGISTRY_AUTH" >"$WORK/helper/config.json"
PATH=$WORK/helper/bin:$PATH DOCKER_CONFIG=$WORK/helper "$TRACUP" check --registry "$AUTH" --current 0.8.1 >"$OUT" 2>"$ERR"; rc=$?
tb_check "a credential helper: check succeeds, the helper got only 'get'" \
  bash -c "[ $rc = 0 ] && grep -q 'Newest release: 1.0.0' '$OUT' && grep -qx get '$WORK/helper/argv'"
no_secret "$OUT" "$ERR"

echo "--- registry down, wrong prefix, bad arguments"
port=$(tb_free_port) || tb_die "no free port"
t1=$SECONDS
"$TRACUP" check --registry "127.0.0.1:$port" --current 0.8.1 >"$OUT" 2>"$ERR"; rc=$?
tb_check "a registry that is down: exit 1, named, with a hint" \
  bash -c "[ $rc = 1 ] && grep -qF \"registry '127.0.0.1:$port'\" '$ERR' && grep -q 'hint: is the registry up' '$ERR'"
tb_check "…and quickly ($((SECONDS - t1)) s)" [ $((SECONDS - t1)) -lt 10 ]
"$TRACUP" check --registry "$TB_REGISTRY/checktest-none" --current 0.8.1 >"$OUT" 2>"$ERR"; rc=$?
tb_check "an unknown repository: exit 1, not found, hint at the prefix" \
  bash -c "[ $rc = 1 ] && grep -q \"repository 'checktest-none/tracardi/tracardi-api' not found\" '$ERR' && grep -q 'is the prefix right' '$ERR'"
"$TRACUP" check --registry "$OPEN" --current latest >"$OUT" 2>"$ERR"; rc=$?
tb_check "--current latest: exit 2" bash -c "[ $rc = 2 ] && grep -q 'not a version' '$ERR'"
"$TRACUP" check --registry "$OPEN" --current 0.8.1 --stack x >"$OUT" 2>"$ERR"; rc=$?
tb_check "--current with --stack: exit 2" [ $rc = 2 ]
"$TRACUP" check --registry "$OPEN" --page-size 0 >"$OUT" 2>"$ERR"; rc=$?
tb_check "--page-size 0: exit 2" [ $rc = 2 ]
"$TRACUP" check --registry "http://$OPEN" >"$OUT" 2>"$ERR"; rc=$?
tb_check "a registry with a scheme: exit 2" [ $rc = 2 ]
"$TRACUP" check --registry "$OPEN" --from-registry "$TB_REGISTRY" --stack nosuchstack >"$OUT" 2>"$ERR"; rc=$?
tb_check "an unknown --stack: exit 2" bash -c "[ $rc = 2 ] && grep -q \"no Tracardi stack named 'nosuchstack'\" '$ERR'"

echo "--- clean up what was pushed"
unpush
left=$(curl -s --max-time 5 "http://$TB_REGISTRY/v2/$NS/tracardi/tracardi-api/tags/list" | jq -r '(.tags // []) | length')
tb_check "the pushed tags are gone from the open registry" [ "${left:-x}" = 0 ]
left=$(curl -s -K "$TB_CURL_AUTH" --max-time 5 "http://$TB_REGISTRY_AUTH/v2/$NS/tracardi/tracardi-api/tags/list" | jq -r '(.tags // []) | length')
tb_check "…and from the one with credentials" [ "${left:-x}" = 0 ]
tb_check "…and the local tags" bash -c "! docker images --format '{{.Repository}}' | grep -q '/$NS/'"
PUSHED=()

tb_summary
