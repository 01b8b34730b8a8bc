# Helpers for the end-to-end tests; source it from a bash test script:
#
#   . "$(dirname "$0")/lib.sh"
#   tb_require_daemon
#   tb_compose_up tbe2e-x 0.8.1          # sets TB_API_URL, TB_GUI_URL, TB_PUBLIC_*_PORT
#   tb_check "api answers" tb_wait_http "$TB_API_URL/info/version" 10
#   tb_summary                           # "N passed, N failed"; non-zero when any failed
#
# Exit 77 means "skipped" (no Docker daemon, outside CI). Everything the helpers start
# is removed by the EXIT trap, also when the test fails half-way.
# shellcheck shell=bash

TB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB_REPO_DIR=$(cd "$TB_LIB_DIR/../.." && pwd)
TB_STATE_DIR=${TRACUP_TESTBED_DIR:-$TB_REPO_DIR/.testbed}
TB_COMPOSE_BIN=${TB_COMPOSE_BIN:-/usr/bin/docker-compose}
TB_PASSED=0
TB_FAILED=0
TB_CLEANUPS=()

tb_log() { printf '# %s\n' "$*" >&2; }
tb_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

tb_pass() {
    TB_PASSED=$((TB_PASSED + 1))
    printf 'ok %d - %s\n' $((TB_PASSED + TB_FAILED)) "$*"
}

tb_fail() {
    TB_FAILED=$((TB_FAILED + 1))
    printf 'not ok %d - %s\n' $((TB_PASSED + TB_FAILED)) "$*"
}

# tb_check DESCRIPTION COMMAND…: pass when the command succeeds.
tb_check() {
    local desc=$1; shift
    if "$@"; then tb_pass "$desc"; else tb_fail "$desc"; fi
}

# Prints the final line; returns 1 when anything failed (use as the script's last command).
tb_summary() {
    printf '%d passed, %d failed\n' "$TB_PASSED" "$TB_FAILED"
    [ "$TB_FAILED" -eq 0 ]
}

# tb_skip REASON: exit 77 (skipped), or fail under CI where skipping hides breakage.
tb_skip() {
    if [ "${CI:-}" = true ]; then
        printf 'error: %s (CI=true: not skipping)\n' "$*" >&2
        exit 1
    fi
    printf 'skip: %s\n' "$*" >&2
    exit 77
}

# Cleanup actions run in reverse order on exit, interrupt or termination.
tb_cleanup_add() { TB_CLEANUPS+=("$*"); }

tb_run_cleanups() {
    local i
    for ((i = ${#TB_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${TB_CLEANUPS[$i]}" >/dev/null 2>&1 || true
    done
    TB_CLEANUPS=()
}

tb_on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    tb_run_cleanups
    exit "$rc"
}
trap tb_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Loads the test bed's env file (written by testbed.sh up) and checks the daemon answers.
tb_require_daemon() {
    if [ ! -f "$TB_STATE_DIR/env" ]; then
        tb_skip "no test bed at $TB_STATE_DIR (run tests/e2e/testbed.sh up)"
    fi
    # shellcheck source=/dev/null
    . "$TB_STATE_DIR/env"
    # The test bed's own docker config: it holds the login to the credentialed registry.
    export DOCKER_CONFIG=$TB_DOCKER_CONFIG
    command -v docker >/dev/null 2>&1 || tb_skip "docker CLI not installed"
    timeout 10 docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1 \
        || tb_skip "no Docker daemon answers"
    return 0
}

# tb_jqe JQ-ARGS…: jq -e that also fails on empty input (jq 1.6 exits 0 when the
# file or pipe holds no JSON at all, so an empty output would pass a check).
tb_jqe() {
    local out
    out=$(jq -e "$@" 2>/dev/null) || return 1
    [ -n "$out" ]
}

# tb_http_code URL [curl args…]: the status code, 000 when nothing answered.
tb_http_code() {
    local url=$1; shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" "$url" 2>/dev/null || true
}

# tb_wait_http URL TIMEOUT_SECONDS [STATUS]: wait until URL answers STATUS (200).
tb_wait_http() {
    local url=$1 timeout=$2 want=${3:-200} end i code=000
    end=$((SECONDS + timeout))
    for ((i = 0; i < timeout * 4 + 4; i++)); do
        code=$(tb_http_code "$url")
        [ "$code" = "$want" ] && return 0
        [ $SECONDS -ge $end ] && break
        sleep 0.25
    done
    tb_log "$url: last answer $code, wanted $want within ${timeout}s"
    return 1
}

# tb_free_port: a TCP port nothing listens on at 127.0.0.1 (a few tries, bounded).
tb_free_port() {
    local i p
    for ((i = 0; i < 50; i++)); do
        # Below the kernel's ephemeral range (32768+), which client connections use.
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
           ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# tb_free_ports N: N distinct free ports, one a line (separate tb_free_port calls run in
# subshells and cannot see each other's picks).
tb_free_ports() {
    local n=$1 got=() p i j dup
    for ((i = 0; i < n * 20 && ${#got[@]} < n; i++)); do
        p=$(tb_free_port) || return 1
        dup=0
        for j in "${got[@]}"; do [ "$j" = "$p" ] && dup=1; done
        [ $dup = 0 ] && got+=("$p")
    done
    [ ${#got[@]} = "$n" ] || return 1
    printf '%s\n' "${got[@]}"
}

# Versions compare as dotted numbers.
tb_version_ge() {
    [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

# The compose project's working copy: compose/ copied under the state dir, so tracup
# rewriting edge/tracup-edge.conf through the edge's bind mount never touches the repo.
tb_compose_dir() { echo "$TB_STATE_DIR/compose/$1"; }

# tb_compose PROJECT ARGS…: docker-compose with the test bed's images for the project.
# Uses the variables tb_compose_up recorded in the project's env file.
tb_compose() {
    local project=$1; shift
    local dir; dir=$(tb_compose_dir "$project")
    [ -f "$dir/tb.env" ] || { tb_log "no compose project $project"; return 1; }
    (
        set -a
        # shellcheck source=/dev/null
        . "$dir/tb.env"
        set +a
        cd "$dir" && timeout 300 "$TB_COMPOSE_BIN" --ansi never -p "$project" \
            -f "$dir/docker-compose.yml" --env-file "$dir/empty.env" "$@"
    )
}

# tb_compose_up PROJECT VERSION [API_PORT [GUI_PORT]]: start the compose stack at
# VERSION from the test bed's registry, published on 127.0.0.1 (free ports unless
# given), and wait until the api answers /info/version through the edge.
# PROJECT must start with $TB_E2E_PREFIX. API_DIGEST, GUI_DIGEST, WORKER_DIGEST and
# APM_DIGEST ("@sha256:…") pin images; TB_WITH_MYSQL=1 adds MySQL before 0.9.
# Sets TB_API_URL, TB_GUI_URL, TB_PUBLIC_API_PORT, TB_PUBLIC_GUI_PORT, TB_ELASTIC_URL.
tb_compose_up() {
    local project=$1 version=$2 api_port=${3:-} gui_port=${4:-} es_port profiles=""
    case "$project" in
        "$TB_E2E_PREFIX"*) ;;
        *) tb_log "compose project must start with $TB_E2E_PREFIX (testbed.sh down finds it so)"; return 1 ;;
    esac
    local ports
    ports=$(tb_free_ports 3) || return 1
    # Given ports win; the picks fill in (all three differ from each other).
    [ -n "$api_port" ] || api_port=$(sed -n 1p <<<"$ports")
    [ -n "$gui_port" ] || gui_port=$(sed -n 2p <<<"$ports")
    es_port=$(sed -n 3p <<<"$ports")
    tb_version_ge "$version" 0.8.1 && profiles=worker
    tb_version_ge "$version" 0.8.2 && profiles=$profiles,apm
    # 0.9+ waits for MySQL at start; TB_WITH_MYSQL=1 adds it to an older stack too.
    local mysql_env=""
    if tb_version_ge "$version" 0.9.0 || [ "${TB_WITH_MYSQL:-0}" = 1 ]; then
        profiles=$profiles,mysql
        mysql_env="MYSQL_HOST=mysql
MYSQL_PORT=3306"
    fi
    profiles=${profiles#,}

    local dir; dir=$(tb_compose_dir "$project")
    rm -rf "$dir"
    mkdir -p "$dir"
    # TB_NO_EDGE=1: the stack as Tracardi's own compose runs it (api and gui publish ports).
    if [ "${TB_NO_EDGE:-0}" = 1 ]; then
        cp "$TB_REPO_DIR/tests/e2e/noedge-compose.yml" "$dir/docker-compose.yml"
    else
        cp "$TB_REPO_DIR/compose/docker-compose.yml" "$dir/"
    fi
    cp -r "$TB_REPO_DIR/compose/edge" "$dir/edge"
    : >"$dir/empty.env"
    cat >"$dir/tb.env" <<EOF
TRACARDI_VERSION=$version
TRACARDI_REGISTRY=$TB_REGISTRY
ELASTIC_IMAGE=$TB_ELASTIC_IMAGE
REDIS_IMAGE=$TB_REDIS_IMAGE
MYSQL_IMAGE=$TB_MYSQL_IMAGE
EDGE_IMAGE=$TB_EDGE_IMAGE
TRACUP_PUBLIC_BIND=127.0.0.1
API_PUBLIC_PORT=$api_port
GUI_PUBLIC_PORT=$gui_port
ELASTIC_PUBLIC_BIND=127.0.0.1
ELASTIC_PUBLIC_PORT=$es_port
COMPOSE_PROFILES=$profiles
API_DIGEST=${API_DIGEST:-}
GUI_DIGEST=${GUI_DIGEST:-}
WORKER_DIGEST=${WORKER_DIGEST:-}
APM_DIGEST=${APM_DIGEST:-}
$mysql_env
EOF
    tb_cleanup_add tb_compose_down "$project"
    TB_PUBLIC_API_PORT=$api_port
    TB_PUBLIC_GUI_PORT=$gui_port
    TB_API_URL=http://127.0.0.1:$api_port
    TB_GUI_URL=http://127.0.0.1:$gui_port
    TB_ELASTIC_URL=http://127.0.0.1:$es_port
    export TB_PUBLIC_API_PORT TB_PUBLIC_GUI_PORT TB_API_URL TB_GUI_URL TB_ELASTIC_URL

    if ! tb_compose "$project" up -d >"$dir/up.log" 2>&1; then
        cat "$dir/up.log" >&2
        tb_log "docker-compose up failed for $project"
        return 1
    fi
    if ! tb_wait_http "$TB_API_URL/info/version" 60; then
        tb_compose "$project" ps >&2 || true
        tb_compose "$project" logs --tail 20 >&2 || true
        return 1
    fi
    return 0
}

# tb_compose_down PROJECT: remove the stack's containers, networks and volumes, and
# whatever else carries its compose project label (containers tracup added to it).
tb_compose_down() {
    local project=$1 dir ids
    dir=$(tb_compose_dir "$project")
    if [ -f "$dir/tb.env" ]; then
        COMPOSE_PROFILES=worker,apm,mysql tb_compose "$project" down -v --remove-orphans -t 5 \
            >"$dir/down.log" 2>&1 || cat "$dir/down.log" >&2
    fi
    ids=$( {
        docker ps -aq --filter "label=com.docker.compose.project=$project"
        docker ps -aq --filter "label=tracup.stack=$project"
    } | sort -u)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || timeout 60 docker rm -f -v $ids >/dev/null 2>&1 || true
    ids=$(docker network ls -q --filter "label=com.docker.compose.project=$project")
    # shellcheck disable=SC2086
    [ -z "$ids" ] || timeout 60 docker network rm $ids >/dev/null 2>&1 || true
    ids=$(docker volume ls -q --filter "label=com.docker.compose.project=$project")
    # shellcheck disable=SC2086
    [ -z "$ids" ] || timeout 60 docker volume rm -f $ids >/dev/null 2>&1 || true
    rm -rf "$dir"
    return 0
}

# tb_compose_leftovers PROJECT: print what still exists of the project (nothing = clean).
tb_compose_leftovers() {
    local project=$1
    docker ps -a --filter "label=com.docker.compose.project=$project" --format 'container {{.Names}}'
    docker ps -a --filter "label=tracup.stack=$project" --format 'container {{.Names}}'
    docker network ls --filter "label=com.docker.compose.project=$project" --format 'network {{.Name}}'
    docker volume ls --filter "label=com.docker.compose.project=$project" --format 'volume {{.Name}}'
}

# tb_container PROJECT SERVICE: the id of the service's (first) container.
tb_container() {
    docker ps -q --filter "label=com.docker.compose.project=$1" \
        --filter "label=com.docker.compose.service=$2" | head -n1
}

# tb_seed_blue PROJECT VERSION N: install the stack's Tracardi through the edge (admin
# $TB_ADMIN_EMAIL / $TB_BLUE_PASSWORD) and write N documents into each event and
# profile write index of the release, staging and production, so a migration has
# something to copy. Uses TB_API_URL / TB_ELASTIC_URL from tb_compose_up.
TB_ADMIN_EMAIL=${TB_ADMIN_EMAIL:-admin@example.com}
TB_BLUE_PASSWORD=${TB_BLUE_PASSWORD:-blue-secret-1}
tb_seed_blue() {
    local project=$1 version=$2 n=$3 code prefix tenant idx body i
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST "$TB_API_URL/install" \
        -H 'content-type: application/json' \
        -d "{\"username\":\"$TB_ADMIN_EMAIL\",\"password\":\"$TB_BLUE_PASSWORD\",\"token\":\"tracardi\",\"needs_admin\":true,\"update_mapping\":false}")
    [ "$code" = 200 ] || { tb_log "install of $project answered $code"; return 1; }
    case "$version" in
        0.8.0) prefix=080; tenant=fa73a ;;
        0.8.1) prefix=08x; tenant=01506 ;;
        0.8.2) prefix=0820; tenant=ffe49 ;;
        0.9.0|1.0.0) prefix=09x; tenant=8504a ;;
        *) tb_log "tb_seed_blue: unknown version $version"; return 1 ;;
    esac
    body=$(mktemp)
    for idx in $(curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json" | jq -r '.[].index' |
                 grep -E "^(prod-)?$prefix\.$tenant\.tracardi-(event|profile)-"); do
        for ((i = 1; i <= n; i++)); do
            printf '{"index":{"_index":"%s"}}\n{"seq":%d,"type":"seeded"}\n' "$idx" "$i"
        done
    done >"$body"
    [ -s "$body" ] || { rm -f "$body"; tb_log "no event/profile indices of $prefix.$tenant to seed"; return 1; }
    curl -s --max-time 30 -X POST "$TB_ELASTIC_URL/_bulk" -H 'content-type: application/x-ndjson' \
        --data-binary @"$body" | jq -e '.errors == false' >/dev/null || { rm -f "$body"; return 1; }
    rm -f "$body"
}

# tb_release_docs PREFIX TENANT: documents in a release's indices (staging and production).
tb_release_docs() {
    curl -s --max-time 10 "$TB_ELASTIC_URL/_cat/indices?format=json" |
        jq --arg re "^(prod-|static-)?$1\\.$2\\." '[.[] | select(.index | test($re)) | (.["docs.count"] | tonumber)] | add // 0'
}
