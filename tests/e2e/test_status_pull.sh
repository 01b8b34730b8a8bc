#!/usr/bin/env bash
# End to end: `tracup status` finds a compose-started stand-in stack, and `tracup pull`
# pulls from the open and the authenticated registries of the test bed, with clear
# errors that leave the host's images as they were.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

TRACUP=${TRACUP:-$TB_REPO_DIR/build/src/tracup}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"
P=${TB_E2E_PREFIX}sp
WORK=$(mktemp -d)
tb_cleanup_add "rm -rf '$WORK'"
tb_cleanup_add "tb_compose_down '$P'"
PASSWORD=$(cat "$TB_REGISTRY_PASSWORD_FILE")
OUT=$WORK/out ERR=$WORK/err

# The registry's own word on a tag's digest, asked over its HTTP API.
registry_digest() {  # REGISTRY REPO TAG [curl auth args]
  local reg=$1 repo=$2 tag=$3; shift 3
  curl -fsS "$@" -o /dev/null -D - \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$reg/v2/$repo/manifests/$tag" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}'
}
# Image ids of everything from a registry, to prove a failed pull changed nothing.
images_of() { docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' | grep "^$1/" | sort; }
jqe() { tb_jqe "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
untag() { local r; for r in "$@"; do docker rmi "$r" >/dev/null 2>&1 || true; done; }
no_secret() {  # FILE...: the registry password appears nowhere
  if grep -qF -- "$PASSWORD" "$@"; then tb_fail "the registry password appears in tracup's output"; else tb_pass "no secret in output"; fi
}

echo "--- version"
"$TRACUP" version >"$OUT" 2>"$ERR"; rc=$?
tb_check "version exits 0" [ $rc = 0 ]
tb_check "version names the daemon and the negotiated API" grep -qE '^docker daemon .* API 1\.[0-9]+, using 1\.[0-9]+' "$OUT"
"$TRACUP" version --json >"$OUT"; tb_check "version --json has the negotiated API" \
  jqe '.docker.negotiated_api_version | test("^1\\.[0-9]+$")' "$OUT"

echo "--- status with the daemon unreachable"
DOCKER_HOST=unix://$WORK/none.sock "$TRACUP" status >"$OUT" 2>"$ERR"; rc=$?
tb_check "unreachable daemon: exit 3" [ $rc = 3 ]
tb_check "unreachable daemon: says the socket does not exist" grep -q "does not exist" "$ERR"
DOCKER_HOST=tcp://127.0.0.1:2375 "$TRACUP" status >"$OUT" 2>"$ERR"; rc=$?
tb_check "tcp DOCKER_HOST: refused with a message" bash -c "[ $rc = 3 ] && grep -q 'not supported' '$ERR'"

echo "--- status of a compose-started 0.8.1 stack"
tb_compose_up "$P" 0.8.1 || tb_die "the 0.8.1 stack did not come up"
"$TRACUP" status --registry "$TB_REGISTRY" --stack "$P" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "status exits 0" [ $rc = 0 ]
S=$WORK/stack.json
jq --arg p "$P" '.stacks[] | select(.name==$p)' "$OUT" >"$S"
tb_check "status finds the compose project" jqe '.kind == "compose"' "$S"
for role in api gui worker redis elasticsearch edge; do
  tb_check "status names the $role" jqe --arg r "$role" '[.containers[] | select(.role==$r and .state=="running")] | length >= 1' "$S"
done
tb_check "the api answers 0.8.1, db_version 08x, tenant 01506" \
  jqe '.api.reachable and .api.details.version=="0.8.1" and .api.details.db_version=="08x" and .api.details.name=="01506"' "$S"
tb_check "the Elasticsearch endpoint comes from the api's environment" \
  jqe '.endpoints.elasticsearch.hosts == ["http://elasticsearch:9200"]' "$S"
tb_check "the Redis endpoint comes from the api's environment" jqe '.endpoints.redis.host == "redis://redis:6379"' "$S"
want=$(registry_digest "$TB_REGISTRY" tracardi/tracardi-api 0.8.1)
got=$(jq -r '.containers[] | select(.role=="api") | .digest' "$S")
tb_check "the api's digest is the registry's ($want)" test -n "$want" -a "$got" = "$want"
tb_check "the edge publishes the api port" jqe '[.containers[] | select(.role=="edge") | .ports[] | select(.container_port==8686 and .host_port>0)] | length == 1' "$S"
"$TRACUP" status --registry "$TB_REGISTRY" --stack "$P" >"$OUT" 2>"$ERR"
tb_check "human status shows version and roles" grep -qE 'Tracardi +0\.8\.1 +db_version 08x' "$OUT"
tb_check "human status shows the digest" grep -qF "$want" "$OUT"
"$TRACUP" status --stack "$P" >"$OUT" 2>"$ERR"; rc=$?
tb_check "under another registry prefix no stack is found, with a hint" \
  bash -c "[ $rc = 0 ] && grep -q 'no Tracardi stack' '$OUT' && grep -q -- '--registry' '$OUT'"

echo "--- pull 0.8.2 from the open registry"
refs=()
for r in tracardi/tracardi-api tracardi/tracardi-gui tracardi/update-worker; do refs+=("$TB_REGISTRY/$r:0.8.2"); done
untag "${refs[@]}"
"$TRACUP" pull --to 0.8.2 --registry "$TB_REGISTRY" --stack "$P" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "pull exits 0" [ $rc = 0 ]
R=$WORK/result.json; jq -c 'select(.event=="result")' "$OUT" >"$R"
tb_check "pull took api, gui and the update worker" \
  jqe '[.images[].image] | sort == ["api","gui","update-worker"]' "$R"
for r in tracardi/tracardi-api tracardi/tracardi-gui tracardi/update-worker; do
  want=$(registry_digest "$TB_REGISTRY" "$r" 0.8.2)
  got=$(jq -r --arg r "$TB_REGISTRY/$r" '.images[] | select(.pinned | startswith($r + "@")) | .digest' "$R")
  tb_check "pull pins $r to the registry's digest" test -n "$want" -a "$got" = "$want"
  tb_check "$r:0.8.2 is on the host" quiet docker image inspect "$TB_REGISTRY/$r:0.8.2"
done
"$TRACUP" pull --to 0.8.2 --registry "$TB_REGISTRY" --images api,gui >"$OUT" 2>"$ERR"; rc=$?
tb_check "plain pull prints each digest" bash -c "[ $rc = 0 ] && grep -qE '^api +.*@sha256:[0-9a-f]{64}$' '$OUT' && grep -qE '^gui +' '$OUT'"
"$TRACUP" pull --to 0.8.2 --registry "$TB_REGISTRY" --images api --quiet >"$OUT" 2>"$ERR"; rc=$?
tb_check "quiet pull prints only the result" bash -c "[ $rc = 0 ] && [ \$(wc -l <'$OUT') = 1 ]"

echo "--- pull from the registry that needs credentials"
AREF=$TB_REGISTRY_AUTH/tracardi/tracardi-api:0.8.2
before=$(images_of "$TB_REGISTRY_AUTH")
mkdir -p "$WORK/anon"; echo '{}' >"$WORK/anon/config.json"
DOCKER_CONFIG=$WORK/anon "$TRACUP" pull --to 0.8.2 --registry "$TB_REGISTRY_AUTH" --images api >"$OUT" 2>"$ERR"; rc=$?
tb_check "anonymous pull from the auth registry fails (exit 1)" [ $rc = 1 ]
tb_check "…saying the registry wants credentials" grep -qiE 'no basic auth|unauthorized|authentication required' "$ERR"
tb_check "…and the hint names the credentials" grep -q 'credentials' "$ERR"

mkdir -p "$WORK/bad"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$TB_REGISTRY_AUTH" "$(printf '%s:%s' "$TB_REGISTRY_USER" wrong-password | base64 -w0)" >"$WORK/bad/config.json"
DOCKER_CONFIG=$WORK/bad "$TRACUP" pull --to 0.8.2 --registry "$TB_REGISTRY_AUTH" --images api,gui >"$OUT" 2>"$ERR"; rc=$?
tb_check "a wrong password fails (exit 1) with a clear error" bash -c "[ $rc = 1 ] && grep -qiE 'unauthorized|authentication required' '$ERR'"
tb_check "…and leaves the host's images as they were" [ "$(images_of "$TB_REGISTRY_AUTH")" = "$before" ]

DOCKER_CONFIG=$WORK/anon "$TRACUP" pull --to 9.9.9 --registry "$TB_REGISTRY" --images api >"$OUT" 2>"$ERR"; rc=$?
tb_check "an unknown tag fails (exit 1) saying the manifest is unknown" bash -c "[ $rc = 1 ] && grep -q 'manifest unknown' '$ERR' && grep -q 'published' '$ERR'"
tb_check "…and pulls nothing" bash -c "! docker image inspect '$TB_REGISTRY/tracardi/tracardi-api:9.9.9' >/dev/null 2>&1"

before_open=$(images_of 127.0.0.1:5097)
DOCKER_CONFIG=$WORK/anon "$TRACUP" pull --to 0.8.2 --registry 127.0.0.1:5097 --images api >"$OUT" 2>"$ERR"; rc=$?
tb_check "a registry that is down fails (exit 1) saying so" bash -c "[ $rc = 1 ] && grep -q 'connection refused' '$ERR' && grep -q 'reachable' '$ERR'"
tb_check "…and leaves the host's images as they were" [ "$(images_of 127.0.0.1:5097)" = "$before_open" ]

untag "$AREF"
mkdir -p "$WORK/auths"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$TB_REGISTRY_AUTH" "$(printf '%s:%s' "$TB_REGISTRY_USER" "$PASSWORD" | base64 -w0)" >"$WORK/auths/config.json"
DOCKER_CONFIG=$WORK/auths "$TRACUP" pull --to 0.8.2 --registry "$TB_REGISTRY_AUTH" --images api --json >"$OUT" 2>"$ERR"; rc=$?
want=$(registry_digest "$TB_REGISTRY_AUTH" tracardi/tracardi-api 0.8.2 -u "$TB_REGISTRY_USER:$PASSWORD")
got=$(jq -r 'select(.event=="result") | .images[0].digest' "$OUT")
tb_check "auths in DOCKER_CONFIG: the pull succeeds with the registry's digest" bash -c "[ $rc = 0 ] && [ -n '$want' ] && [ '$got' = '$want' ]"
no_secret "$OUT" "$ERR"

untag "$AREF"
mkdir -p "$WORK/helper/bin"
cat >"$WORK/helper/bin/docker-credential-tbtest" <<HELPER
#!/bin/sh
# A credential helper of the test's own: records its argv and stdin, answers the secret.
echo "\$*" >"$WORK/helper/argv"
server=\$(cat)
echo "\$server" >"$WORK/helper/stdin"
[ "\$1" = get ] || exit 2
[ "\$server" = "$TB_REGISTRY_AUTH" ] || { echo "credentials not found in native keychain"; exit 1; }
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$TB_REGISTRY_USER" "\$(cat '$TB_REGISTRY_PASSWORD_FILE')"
HELPER
chmod 755 "$WORK/helper/bin/docker-credential-tbtest"
printf '{"credHelpers":{"%s":"tbtest"}}' "$TB_REGISTRY_AUTH" >"$WORK/helper/config.json"
PATH=$WORK/helper/bin:$PATH DOCKER_CONFIG=$WORK/helper "$TRACUP" pull --to 0.8.2 --registry "$TB_REGISTRY_AUTH" --images api >"$OUT" 2>"$ERR"; rc=$?
tb_check "a credential helper: the pull succeeds" bash -c "[ $rc = 0 ] && grep -qF '$want' '$OUT'"
tb_check "…the helper got the registry on stdin" grep -qx "$TB_REGISTRY_AUTH" "$WORK/helper/stdin"
tb_check "…and only 'get' on its command line" grep -qx get "$WORK/helper/argv"
no_secret "$OUT" "$ERR"

printf '#!/bin/sh\nexit 7\n' >"$WORK/helper/bin/docker-credential-tbfail"; chmod 755 "$WORK/helper/bin/docker-credential-tbfail"
printf '{"credsStore":"tbfail"}' >"$WORK/helper/config.json"
untag "$AREF"
PATH=$WORK/helper/bin:$PATH DOCKER_CONFIG=$WORK/helper "$TRACUP" pull --to 0.8.2 --registry "$TB_REGISTRY_AUTH" --images api >"$OUT" 2>"$ERR"; rc=$?
tb_check "a failing credential helper stops the pull before it starts" \
  bash -c "[ $rc = 1 ] && grep -q 'docker-credential-tbfail' '$ERR' && grep -q 'exit status 7' '$ERR'"
tb_check "…and nothing was pulled" bash -c "! docker image inspect '$AREF' >/dev/null 2>&1"

echo "--- a stack whose image tag moved on"
# The daemon lists a container by its image's id once the tag it was created from points
# at another image (a newer pull of the same tag); the stack must still be found.
MREG=$TB_REGISTRY/${TB_E2E_PREFIX}moved
MP=${TB_E2E_PREFIX}moved
docker tag "$TB_REGISTRY/tracardi/tracardi-api:0.8.1" "$MREG/tracardi/tracardi-api:0.8.1" &&
  docker tag "$TB_REGISTRY/tracardi/tracardi-gui:0.8.1" "$MREG/tracardi/tracardi-gui:0.8.1" ||
  tb_fail "tagging the moved-tag images"
tb_cleanup_add "docker rmi '$MREG/tracardi/tracardi-api:0.8.1' '$MREG/tracardi/tracardi-gui:0.8.1'"
tb_cleanup_add "docker rm -f '${MP}_api_1' '${MP}_gui_1'"
quiet docker create --name "${MP}_api_1" --label com.docker.compose.project="$MP" \
  --label com.docker.compose.service=api "$MREG/tracardi/tracardi-api:0.8.1"
quiet docker create --name "${MP}_gui_1" --label com.docker.compose.project="$MP" \
  --label com.docker.compose.service=gui "$MREG/tracardi/tracardi-gui:0.8.1"
# Both tags move to other images: nothing in the list names a Tracardi image any more.
quiet docker tag "$TB_REGISTRY/tracardi/tracardi-api:0.8.2" "$MREG/tracardi/tracardi-api:0.8.1"
quiet docker tag "$TB_REGISTRY/tracardi/tracardi-gui:0.8.2" "$MREG/tracardi/tracardi-gui:0.8.1"
tb_check "the daemon now lists both containers by image id" \
  bash -c "[ \$(docker ps -a --filter name='${MP}_' --format '{{.Image}}' | grep -cE '^(sha256:)?[0-9a-f]{12,64}\$') = 2 ]"
"$TRACUP" status --registry "$MREG" --stack "$MP" --json >"$OUT" 2>"$ERR"; rc=$?
tb_check "status still finds the stack, the api by what it was created from" bash -c \
  "[ $rc = 0 ] && jq -e '[.stacks[] | select(.name == \"$MP\") | .containers[] | select(.role == \"api\") | .tag] == [\"0.8.1\"]' '$OUT' >/dev/null"

echo "--- bad input"
"$TRACUP" pull --to latest --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR"; rc=$?
tb_check "--to latest is refused (exit 2)" bash -c "[ $rc = 2 ] && grep -q \"'latest' is not a version\" '$ERR'"
"$TRACUP" pull --to 0.9.0-dev --registry "$TB_REGISTRY" >"$OUT" 2>"$ERR"; rc=$?
tb_check "a -dev target needs --allow-dev" bash -c "[ $rc = 2 ] && grep -q -- '--allow-dev' '$ERR'"
"$TRACUP" pull --to 0.8.2 --registry "http://$TB_REGISTRY" >"$OUT" 2>"$ERR"; rc=$?
tb_check "a registry with a scheme is refused" [ $rc = 2 ]
"$TRACUP" pull --to 0.8.0 --registry "$TB_REGISTRY" --images update-worker >"$OUT" 2>"$ERR"; rc=$?
tb_check "an image the release does not ship is refused" bash -c "[ $rc = 2 ] && grep -q 'has no update-worker' '$ERR'"

tb_summary
