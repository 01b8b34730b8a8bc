#!/usr/bin/env bash
# End-to-end check of the test bed itself: registries, images, the compose stack behind
# the edge, and nginx reloading on SIGHUP without dropping requests.
# Needs `tests/e2e/testbed.sh up` first. Exit 77: skipped (no daemon, outside CI).
# shellcheck disable=SC2016  # the bash -c snippets expand their own "$1"
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_daemon

PROJECT=${TB_E2E_PREFIX}-testbed-$$

# ---------------------------------------------------------------- registries

tb_check "registry $TB_REGISTRY answers /v2/ with 200" \
    test "$(tb_http_code "http://$TB_REGISTRY/v2/")" = 200
tb_check "registry $TB_REGISTRY_AUTH refuses /v2/ without credentials (401)" \
    test "$(tb_http_code "http://$TB_REGISTRY_AUTH/v2/")" = 401
tb_check "registry $TB_REGISTRY_AUTH accepts the test bed's credentials" \
    test "$(tb_http_code "http://$TB_REGISTRY_AUTH/v2/" -K "$TB_CURL_AUTH")" = 200
tb_check "registry password file is mode 0600" \
    test "$(stat -c %a "$TB_REGISTRY_PASSWORD_FILE")" = 600

# ---------------------------------------------------------------- images

digest() {   # REGISTRY REF [curl args…]
    local reg=$1 ref=$2; shift 2
    curl -sI --max-time 3 "$@" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$reg/v2/${ref%:*}/manifests/${ref##*:}" | tr -d '\r' |
        awk 'tolower($1) == "docker-content-digest:" { print $2 }'
}

missing=""
declare -A DIGEST=()
for ref in $TB_IMAGES; do
    d=$(digest "$TB_REGISTRY" "$ref")
    d2=$(digest "$TB_REGISTRY_AUTH" "$ref" -K "$TB_CURL_AUTH")
    case "$d" in sha256:*) ;; *) missing="$missing $TB_REGISTRY/$ref" ;; esac
    case "$d2" in sha256:*) ;; *) missing="$missing $TB_REGISTRY_AUTH/$ref" ;; esac
    DIGEST[$ref]=$d
done
n_images=$(echo "$TB_IMAGES" | wc -w)
if [ -z "$missing" ] && [ "$n_images" -ge 30 ]; then
    tb_pass "all $n_images images are in both registries with a digest"
else
    tb_fail "images missing from a registry:$missing (listed: $n_images)"
fi

# Every release of a Tracardi part has its own digest, as real releases do.
dups=$(for ref in $TB_IMAGES; do
    case "$ref" in tracardi/*) echo "${DIGEST[$ref]}" ;; esac
done | sort | uniq -d)
tb_check "api/gui/worker/apm releases all have different digests" test -z "$dups"

expected="tracardi/tracardi-api:0.8.0 tracardi/tracardi-gui:1.0.0 tracardi/update-worker:0.8.1
tracardi/apm:0.8.2 library/elasticsearch:7.13.2 library/redis:7.0 library/mysql:8.0 library/nginx:1.22
faulty/unhealthy/tracardi/tracardi-api:0.8.2 faulty/crash/tracardi/tracardi-api:0.8.2
faulty/migration-fail/tracardi/update-worker:0.8.2 faulty/migration-short/tracardi/update-worker:0.8.2"
absent=""
for ref in $expected; do
    case " $TB_IMAGES " in *" $ref "*) ;; *) absent="$absent $ref" ;; esac
done
tb_check "the expected repositories and tags are listed${absent:+ (absent:$absent)}" test -z "$absent"

env_of() {   # IMAGE VAR: the value baked into the image
    docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" | sed -n "s/^$2=//p"
}
tb_check "fault variant carries STANDIN_FAULT=crash:20" \
    test "$(env_of "$TB_REGISTRY/faulty/crash/tracardi/tracardi-api:0.8.2" STANDIN_FAULT)" = crash:20
tb_check "api image bakes STANDIN_VERSION" \
    test "$(env_of "$TB_REGISTRY/tracardi/tracardi-api:0.9.0" STANDIN_VERSION)" = 0.9.0

# A real pull with credentials: drop the local tag, pull it back from the credentialed registry.
pull_ref=$TB_REGISTRY_AUTH/library/mysql:8.0
docker rmi "$pull_ref" >/dev/null 2>&1 || true
quiet() { "$@" >/dev/null 2>&1; }
tb_check "docker pull from $TB_REGISTRY_AUTH with the test bed's login" \
    quiet timeout 60 docker pull "$pull_ref"
tb_check "docker pull from $TB_REGISTRY_AUTH without a login is refused" \
    bash -c '! DOCKER_CONFIG=$1 timeout 60 docker pull "$2" >/dev/null 2>&1' _ \
        "$TB_STATE_DIR/no-login-docker-config" "$TB_REGISTRY_AUTH/library/redis:7.0"

# ---------------------------------------------------------------- compose stack

t0=$SECONDS
if tb_compose_up "$PROJECT" 0.8.1; then
    tb_pass "compose stack 0.8.1 up and answering through the edge in $((SECONDS - t0)) s"
else
    tb_fail "compose stack 0.8.1 did not come up"
fi

body=$(curl -s --max-time 5 "$TB_API_URL/info/version" || true)
tb_check "edge :$TB_PUBLIC_API_PORT /info/version answers 0.8.1 (got: $body)" \
    grep -q '0\.8\.1' <<<"$body"
gui=$(curl -s --max-time 5 "$TB_GUI_URL/" || true)
tb_check "edge :$TB_PUBLIC_GUI_PORT / answers HTML" grep -qi '<html' <<<"$gui"
tb_check "Elasticsearch answers on its loopback port" \
    test "$(tb_http_code "$TB_ELASTIC_URL/")" = 200

api=$(tb_container "$PROJECT" api)
edge=$(tb_container "$PROJECT" edge)
api_env=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$api" 2>/dev/null || true)
tb_check "api has ELASTIC_HOST, REDIS_HOST, INSTALLATION_TOKEN, PRODUCTION" \
    bash -c 'grep -qx "ELASTIC_HOST=http://elasticsearch:9200" <<<"$1" &&
             grep -qx "REDIS_HOST=redis://redis:6379" <<<"$1" &&
             grep -q "^INSTALLATION_TOKEN=" <<<"$1" && grep -q "^PRODUCTION=" <<<"$1"' _ "$api_env"
# compose passes an unset variable as a bare "MYSQL_HOST" entry: present, but no value.
tb_check "api has no MYSQL_HOST value when none is configured" bash -c '! grep -q "^MYSQL_HOST=" <<<"$1"' _ "$api_env"
tb_check "api and gui publish no host ports" \
    test -z "$(docker port "$api" 2>/dev/null)$(docker port "$(tb_container "$PROJECT" gui)" 2>/dev/null)"
tb_check "update-worker runs at 0.8.1" test -n "$(tb_container "$PROJECT" update-worker)"
tb_check "apm is not started at 0.8.1 (no such release)" test -z "$(tb_container "$PROJECT" apm)"

# ---------------------------------------------------------------- edge reload

# 200 requests over about 2 s, with two SIGHUP reloads in the middle: none may fail.
codes=$PROJECT-codes
: >"$TB_STATE_DIR/$codes"
tb_cleanup_add rm -f "$TB_STATE_DIR/$codes"
started=$(docker inspect -f '{{.State.StartedAt}}' "$edge")
for i in $(seq 1 200); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 2 "$TB_API_URL/info/version" \
        >>"$TB_STATE_DIR/$codes" || echo fail >>"$TB_STATE_DIR/$codes"
    if [ "$i" = 60 ] || [ "$i" = 140 ]; then
        docker kill -s HUP "$edge" >/dev/null
    fi
    sleep 0.01
done
ok=$(grep -c '^200$' "$TB_STATE_DIR/$codes" || true)
tb_check "200 requests across two SIGHUP reloads: $ok answered 200" test "$ok" = 200
tb_check "edge container kept running through the reloads" \
    test "$(docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' "$edge")" = "true $started"
tb_check "nginx logged the reloads" \
    bash -c 'docker logs "$1" 2>&1 | grep -c "reconfiguring" | grep -qv "^0$"' _ "$edge"

# A rendered template takes effect on reload: point the api port at the gui, then back.
conf=$(tb_compose_dir "$PROJECT")/edge/tracup-edge.conf
render() {
    sed -e "s/{{API_UPSTREAM}}/$1/g; s/{{GUI_UPSTREAM}}/gui:80/g; s/{{API_PORT}}/8686/g; s/{{GUI_PORT}}/8787/g; s/{{API_BACKUP}}//g; s/{{GUI_BACKUP}}//g" \
        "$TB_REPO_DIR/templates/edge.conf.in" >"$conf.new" && mv "$conf.new" "$conf"
}
render gui:80 && docker kill -s HUP "$edge" >/dev/null
switched=0
for _ in $(seq 1 20); do
    curl -s --max-time 2 "$TB_API_URL/" | grep -qi '<html' && { switched=1; break; }
    sleep 0.25
done
tb_check "reload with a re-rendered template moves the api port to another upstream" test $switched = 1
render api:80 && docker kill -s HUP "$edge" >/dev/null
back=0
for _ in $(seq 1 20); do
    curl -s --max-time 2 "$TB_API_URL/info/version" | grep -q '0\.8\.1' && { back=1; break; }
    sleep 0.25
done
tb_check "and back to the api" test $back = 1

# ---------------------------------------------------------------- teardown

tb_compose_down "$PROJECT"
left=$(tb_compose_leftovers "$PROJECT")
tb_check "compose stack torn down, nothing left${left:+ (left: $(echo "$left" | tr '\n' ' '))}" test -z "$left"

tb_summary
