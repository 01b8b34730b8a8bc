#!/usr/bin/env bash
# Local Docker test bed for the end-to-end tests: a Docker daemon, two registries on
# loopback (open :5000, htpasswd :5001) and the stand-in Tracardi images pushed to both.
#
#   testbed.sh up       install what is missing, start what is not running, build and
#                       push the images whose inputs changed
#   testbed.sh down     stop what `up` started, remove the e2e tests' containers,
#                       networks and volumes (`down --purge` also deletes the state dir)
#   testbed.sh status   what runs, what answers
#   testbed.sh images   every test-bed image with its registry digest
#
# State: ${TRACUP_TESTBED_DIR:-<repo>/.testbed}; tests source its `env` file.
# Nothing here talks to anything but 127.0.0.1 and the local daemon.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${TRACUP_TESTBED_DIR:-$REPO_DIR/.testbed}
STANDIN_BIN_DEFAULT=$REPO_DIR/build/tests/standins/tracup-standin
STANDIN_BIN=${TRACUP_STANDIN_BIN:-$STANDIN_BIN_DEFAULT}

REG_OPEN=127.0.0.1:5000
REG_AUTH=127.0.0.1:5001
REG_USER=tracup
# Bump when an image recipe below changes in a way the hashed inputs do not show.
RECIPE_REV=3

VERSIONS="0.8.0 0.8.1 0.8.2 0.9.0 1.0.0"
WORKER_VERSIONS="0.8.1 0.8.2 0.9.0 1.0.0"
APM_VERSIONS="0.8.2 0.9.0 1.0.0"
# TAG=RELEASE: published patch tags and the release whose code they run.
PATCH_TAGS="0.8.0.11=0.8.0 0.8.2.1=0.8.2"
FAULTS="unhealthy crash migration-fail migration-short"
FAULT_VERSIONS=${TRACUP_TESTBED_FAULT_VERSIONS:-0.8.2}
# e2e tests name their compose projects, containers, networks and volumes with this.
E2E_PREFIX=tbe2e

PACKAGES="docker.io docker-registry docker-compose busybox-static nginx-light redis-server apache2-utils curl tar procps util-linux"

log() { printf 'testbed: %s\n' "$*" >&2; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }

# Docker commands run with a config dir of the test bed's own (it holds the login to
# the authenticated registry); the user's ~/.docker is never read or written.
export DOCKER_CONFIG=$STATE/docker-config

# ---------------------------------------------------------------- packages

pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

install_packages() {
    local missing="" p
    for p in $PACKAGES; do
        pkg_installed "$p" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    log "installing:$missing"
    [ "$(id -u)" = 0 ] || die "packages missing ($missing) and not root"
    # Debian starts services from postinst; the test bed starts its own daemons by
    # hand, so keep redis/nginx/dockerd from being started on the host.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
    fi
    local rc=0
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    timeout 600 apt-get update -q >&2 || rc=$?
    # shellcheck disable=SC2086
    [ $rc = 0 ] && { timeout 900 apt-get install -y -q --no-install-recommends $missing >&2 || rc=$?; }
    [ $added_policy = 1 ] && rm -f "$policy"
    [ $rc = 0 ] || die "apt-get failed ($rc)"
}

# ---------------------------------------------------------------- daemon

# The socket of the daemon the docker CLI would use; empty for a non-unix DOCKER_HOST.
docker_socket() {
    case "${DOCKER_HOST:-}" in
        "") echo /var/run/docker.sock ;;
        unix://*) echo "${DOCKER_HOST#unix://}" ;;
        *) echo "" ;;
    esac
}

daemon_answers() {
    command -v docker >/dev/null 2>&1 || return 1
    timeout 10 docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

# pid_is PIDFILE PATTERN: the recorded process is alive and its command line still
# matches (a recycled pid belongs to someone else and is never signalled).
pid_is() {
    local pidfile=$1 pattern=$2 pid
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

no_daemon() {
    if [ "${CI:-}" = true ]; then
        die "$1 (CI=true: a Docker daemon is required)"
    fi
    log "skip: $1"
    exit 77
}

ensure_daemon() {
    if daemon_answers; then
        if pid_is "$STATE/dockerd.pid" dockerd; then
            log "docker daemon: ours (pid $(cat "$STATE/dockerd.pid"))"
        else
            log "docker daemon: already running, using it"
        fi
        return 0
    fi
    local sock; sock=$(docker_socket)
    [ -n "$sock" ] || no_daemon "DOCKER_HOST=$DOCKER_HOST does not answer and is not a unix socket"
    [ "$(id -u)" = 0 ] || no_daemon "no Docker daemon answers on $sock and not root to start one"
    # A second daemon would fight the first over /var/lib/docker and the bridge.
    if pgrep -x dockerd >/dev/null 2>&1; then
        no_daemon "a dockerd is running but does not answer on $sock"
    fi
    command -v dockerd >/dev/null 2>&1 || no_daemon "dockerd not installed"
    log "starting dockerd on $sock"
    rm -f "$STATE/dockerd.pid"
    # setsid: the daemon outlives this script and the terminal it ran in.
    setsid dockerd --pidfile "$STATE/dockerd.pid" -H "unix://$sock" \
        >"$STATE/dockerd.log" 2>&1 </dev/null 9>&- &
    local i
    for i in $(seq 1 120); do   # 120 x 0.5 s
        if curl -sf --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
            log "dockerd up after $((i / 2)) s"
            return 0
        fi
        sleep 0.5
    done
    tail -n 20 "$STATE/dockerd.log" >&2 || true
    no_daemon "dockerd did not answer /_ping within 60 s (log: $STATE/dockerd.log)"
}

# ---------------------------------------------------------------- registries

ensure_credentials() {
    local old_umask; old_umask=$(umask); umask 077
    if [ ! -s "$STATE/registry-password" ]; then
        head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$STATE/registry-password"
    fi
    chmod 600 "$STATE/registry-password"
    if [ ! -s "$STATE/htpasswd" ] || [ "$STATE/registry-password" -nt "$STATE/htpasswd" ]; then
        # -i: password from stdin, never on argv; -B: bcrypt, the only hash distribution takes.
        htpasswd -B -i -c "$STATE/htpasswd" "$REG_USER" <"$STATE/registry-password" 2>/dev/null
    fi
    # A curl config file, so scripts can authenticate without the password on argv.
    { printf 'user = "%s:' "$REG_USER"; cat "$STATE/registry-password"; printf '"\n'; } >"$STATE/curl-auth.conf"
    mkdir -p "$DOCKER_CONFIG"
    chmod 700 "$DOCKER_CONFIG"
    umask "$old_umask"
}

write_registry_config() {
    local name=$1 addr=$2 auth=$3 secret
    mkdir -p "$STATE/registry-$name"
    secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    {
        echo "version: 0.1"
        echo "log:"
        echo "  level: warn"
        echo "  accesslog:"
        echo "    disabled: true"
        echo "storage:"
        echo "  filesystem:"
        echo "    rootdirectory: $STATE/registry-$name"
        echo "  delete:"
        echo "    enabled: true"
        echo "http:"
        echo "  addr: $addr"
        echo "  secret: $secret"
        echo "  headers:"
        echo "    X-Content-Type-Options: [nosniff]"
        if [ "$auth" = 1 ]; then
            echo "auth:"
            echo "  htpasswd:"
            echo "    realm: tracup-testbed"
            echo "    path: $STATE/htpasswd"
        fi
    } >"$STATE/registry-$name.yml.new"
    chmod 600 "$STATE/registry-$name.yml.new"
    mv "$STATE/registry-$name.yml.new" "$STATE/registry-$name.yml"
}

# http_code URL [curl args…]
http_code() {
    local url=$1; shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" "$url" 2>/dev/null || true
}

ensure_registry() {
    local name=$1 addr=$2 auth=$3 want=200
    [ "$auth" = 1 ] && want=401
    local pidfile=$STATE/registry-$name.pid
    if pid_is "$pidfile" "registry-$name.yml"; then
        if [ "$(http_code "http://$addr/v2/")" = "$want" ]; then
            log "registry $addr: running (pid $(cat "$pidfile"))"
            return 0
        fi
        die "registry $addr (pid $(cat "$pidfile")) runs but does not answer /v2/ with $want"
    fi
    local code; code=$(http_code "http://$addr/v2/")
    if [ "$code" != 000 ]; then
        die "$addr is already taken by a process this test bed did not start (answers $code); stop it first"
    fi
    write_registry_config "$name" "$addr" "$auth"
    log "starting registry $addr"
    setsid docker-registry serve "$STATE/registry-$name.yml" \
        >"$STATE/registry-$name.log" 2>&1 </dev/null 9>&- &
    local pid=$! i
    echo "$pid" >"$pidfile"
    # Liveness by kill -0 while it starts: until the child has exec'd, its command line
    # is still this script's, and pid_is would take a starting registry for a dead one.
    for i in $(seq 1 300); do   # 300 x 0.1 s, plus the probes' own time
        [ "$(http_code "http://$addr/v2/")" = "$want" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "registry $addr (pid $pid) runs but /v2/ answers $(http_code "http://$addr/v2/"), not $want"
    else
        log "registry $addr (pid $pid) exited"
    fi
    tail -n 20 "$STATE/registry-$name.log" >&2 || true
    die "registry $addr did not come up (log: $STATE/registry-$name.log)"
}

docker_login() {
    local out
    if ! out=$(timeout 30 docker login --username "$REG_USER" --password-stdin "$REG_AUTH" \
        <"$STATE/registry-password" 2>&1); then
        printf '%s\n' "$out" >&2
        die "docker login $REG_AUTH failed"
    fi
    chmod 600 "$DOCKER_CONFIG/config.json"
}

# ---------------------------------------------------------------- root filesystems

# add_file ROOT SRC [DEST]: copy a file (following symlinks) to the same path in ROOT.
add_file() {
    local root=$1 src=$2 dest=${3:-$2}
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$src" "$root$dest"
}

# add_binary ROOT BIN [DEST]: the binary and every library ldd names, at the same paths.
add_binary() {
    local root=$1 bin=$2 dest=${3:-$2} lib
    add_file "$root" "$bin" "$dest"
    # Lines look like "libx.so.1 => /lib/…/libx.so.1 (0x…)" or "/lib64/ld-linux….so.2 (0x…)".
    while read -r lib; do
        [ -n "$lib" ] && add_file "$root" "$lib"
    done < <(ldd "$bin" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

# base_root ROOT: directories and files every image needs, plus busybox for `docker exec sh`.
base_root() {
    local root=$1 t
    rm -rf "$root"
    mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,run,var/tmp,usr/bin,usr/local/bin,root}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for t in sh ls cat ps wget nc sleep env echo grep kill mkdir rm vi; do
        ln -s busybox "$root/bin/$t"
    done
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
www-data:x:33:
nogroup:x:65534:
EOF
    echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
}

# make_tar ROOT TAR: a reproducible tar, so its hash changes only with its content.
make_tar() {
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
        -C "$1" -cf "$2.new" .
    mv "$2.new" "$2"
}

ensure_standin_binary() {
    if [ -x "$STANDIN_BIN" ] && [ "$STANDIN_BIN" != "$STANDIN_BIN_DEFAULT" ]; then
        return 0
    fi
    if [ "$STANDIN_BIN" = "$STANDIN_BIN_DEFAULT" ] && command -v cmake >/dev/null 2>&1; then
        # Incremental: a second or two when nothing changed.
        if [ ! -f "$REPO_DIR/build/CMakeCache.txt" ]; then
            cmake -S "$REPO_DIR" -B "$REPO_DIR/build" >"$STATE/cmake.log" 2>&1 \
                || { tail -n 30 "$STATE/cmake.log" >&2; die "cmake configure failed (log: $STATE/cmake.log)"; }
        fi
        cmake --build "$REPO_DIR/build" --target tracup-standin >>"$STATE/cmake.log" 2>&1 \
            || { tail -n 30 "$STATE/cmake.log" >&2; die "building tracup-standin failed (log: $STATE/cmake.log)"; }
    fi
    [ -x "$STANDIN_BIN" ] || die "stand-in binary not found: $STANDIN_BIN (build it with cmake --build build --target tracup-standin, or set TRACUP_STANDIN_BIN)"
}

build_roots() {
    local b=$STATE/build r
    mkdir -p "$b"

    r=$b/root-standin
    base_root "$r"
    add_binary "$r" "$STANDIN_BIN" /usr/local/bin/tracup-standin
    mkdir -p "$r/usr/share/elasticsearch/data"
    ln -s usr/share/elasticsearch/data "$r/data"
    make_tar "$r" "$b/standin.tar"

    r=$b/root-redis
    base_root "$r"
    # redis-server is a symlink to redis-check-rdb and picks its role from argv[0]:
    # copy the file under the server's name.
    add_binary "$r" /usr/bin/redis-server /usr/bin/redis-server
    [ -x /usr/bin/redis-cli ] && add_binary "$r" /usr/bin/redis-cli
    mkdir -p "$r/data"
    make_tar "$r" "$b/redis.tar"

    r=$b/root-nginx
    base_root "$r"
    add_binary "$r" /usr/sbin/nginx
    add_file "$r" /etc/nginx/mime.types
    mkdir -p "$r"/etc/nginx/conf.d "$r"/var/log/nginx "$r"/var/lib/nginx "$r"/var/cache/nginx \
        "$r"/usr/share/nginx/html
    cat >"$r/etc/nginx/nginx.conf" <<'EOF'
# Foreground nginx for a container: logs to stdout/stderr, sites in conf.d.
user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log stderr notice;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" "$http_user_agent"';
    access_log /dev/stdout main;
    sendfile on;
    keepalive_timeout 65;
    server_tokens off;

    include /etc/nginx/conf.d/*.conf;
}
EOF
    # Like the real image: a default site on :80 until something replaces conf.d.
    cat >"$r/etc/nginx/conf.d/default.conf" <<'EOF'
server {
    listen 80;
    server_name localhost;
    location / {
        root /usr/share/nginx/html;
        index index.html;
    }
}
EOF
    echo '<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>' \
        >"$r/usr/share/nginx/html/index.html"
    make_tar "$r" "$b/nginx.tar"
}

# ---------------------------------------------------------------- images

PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

declare -A TAR_HASH=()
declare -A KEY_IMAGE=()     # input key -> image id built in this run
IMAGE_REFS=()               # repository:tag without registry, in build order
PUSH_LIST=()                # full refs to push

stamp_file() { echo "$STATE/stamps/$(echo "$1" | tr '/:' '__')"; }

manifest_code() {   # REGISTRY REPO TAG
    local extra=()
    [ "$1" = "$REG_AUTH" ] && extra=(-K "$STATE/curl-auth.conf")
    http_code "http://$1/v2/$2/manifests/$3" -I "${extra[@]}" \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'
}

# image REPO TAG TARNAME CHANGE…: import the image unless the same inputs were already
# built and both registries hold it.
image() {
    local repo=$1 tag=$2 tarname=$3; shift 3
    local ref=$repo:$tag key
    IMAGE_REFS+=("$ref")
    key=$( { echo "rev=$RECIPE_REV tar=${TAR_HASH[$tarname]}"; printf '%s\n' "$@"; } | sha256sum | cut -c1-64)
    local stamp; stamp=$(stamp_file "$ref")
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] &&
       [ "$(manifest_code "$REG_OPEN" "$repo" "$tag")" = 200 ] &&
       [ "$(manifest_code "$REG_AUTH" "$repo" "$tag")" = 200 ]; then
        return 0
    fi
    local id=${KEY_IMAGE[$key]:-}
    if [ -z "$id" ]; then
        local args=() rest=() c
        for c in "$@"; do
            case "$c" in
                STOPSIGNAL*|HEALTHCHECK*) rest+=("$c") ;;   # docker import refuses these
                *) args+=(--change "$c") ;;
            esac
        done
        id=$(docker import "${args[@]}" --message "tracup test bed $ref" \
            "$STATE/build/$tarname.tar") || die "docker import $ref failed"
        if [ ${#rest[@]} -gt 0 ]; then
            # The classic builder needs no context and no pull for FROM a local image.
            id=$( { echo "FROM $id"; printf '%s\n' "${rest[@]}"; } |
                DOCKER_BUILDKIT=0 docker build -q - 2>/dev/null) || die "docker build $ref failed"
        fi
        KEY_IMAGE[$key]=$id
    fi
    docker tag "$id" "$REG_OPEN/$ref"
    docker tag "$id" "$REG_AUTH/$ref"
    PUSH_LIST+=("$REG_OPEN/$ref" "$REG_AUTH/$ref")
    echo "$key" >"$stamp.pending"
}

standin_image() {   # REPO TAG MODE PORT VERSION [FAULT]
    local repo=$1 tag=$2 mode=$3 port=$4 version=$5 fault=${6:-}
    local changes=("$PATH_ENV" "ENV STANDIN_VERSION=$version" "ENV STANDIN_BOOT_DELAY=3"
        "LABEL tracup.testbed=1" "WORKDIR /" "EXPOSE $port" "CMD [\"tracup-standin\",\"$mode\"]")
    [ -n "$fault" ] && changes+=("ENV STANDIN_FAULT=$fault")
    # Where pip installs tracardi in the real api image (tracardi-api docker.Dockerfile: python3.10)
    [ "$mode" = api ] && changes+=("ENV STANDIN_SCHEMA_DIR=/usr/local/lib/python3.10/site-packages/tracardi/process_engine/migration/schemas")
    # A patch tag is an image of its own (its own digest), running its release's library.
    [ "$tag" != "$version" ] && changes+=("LABEL tracup.testbed.tag=$tag")
    image "$repo" "$tag" standin "${changes[@]}"
}

build_images() {
    mkdir -p "$STATE/stamps"
    rm -f "$STATE"/stamps/*.pending
    local t v f fault
    for t in standin redis nginx; do
        TAR_HASH[$t]=$(sha256sum "$STATE/build/$t.tar" | cut -c1-64)
    done

    for v in $VERSIONS; do
        standin_image tracardi/tracardi-api "$v" api 80 "$v"
        standin_image tracardi/tracardi-gui "$v" gui 80 "$v"
    done
    for v in $WORKER_VERSIONS; do standin_image tracardi/update-worker "$v" worker 80 "$v"; done
    for v in $APM_VERSIONS; do standin_image tracardi/apm "$v" apm 80 "$v"; done
    # Tracardi publishes patch tags (0.8.0.11, 0.8.2.1); the library inside says the
    # release's three numbers (tests/standins/README.md, facts 26).
    local pt base
    for pt in $PATCH_TAGS; do
        base=${pt#*=} pt=${pt%%=*}
        standin_image tracardi/tracardi-api "$pt" api 80 "$base"
        standin_image tracardi/tracardi-gui "$pt" gui 80 "$base"
        case " $WORKER_VERSIONS " in *" $base "*) standin_image tracardi/update-worker "$pt" worker 80 "$base" ;; esac
        case " $APM_VERSIONS " in *" $base "*) standin_image tracardi/apm "$pt" apm 80 "$base" ;; esac
    done

    # A whole release per fault, so tracup can be pointed at the prefix
    # 127.0.0.1:5000/faulty/<fault>; only the part the fault is about misbehaves.
    for f in $FAULTS; do
        fault=$f; [ "$f" = crash ] && fault=crash:20
        for v in $FAULT_VERSIONS; do
            local api_fault="" worker_fault=""
            case "$f" in
                migration-*) worker_fault=$fault ;;
                *) api_fault=$fault ;;
            esac
            standin_image "faulty/$f/tracardi/tracardi-api" "$v" api 80 "$v" "$api_fault"
            standin_image "faulty/$f/tracardi/tracardi-gui" "$v" gui 80 "$v"
            case " $WORKER_VERSIONS " in *" $v "*)
                standin_image "faulty/$f/tracardi/update-worker" "$v" worker 80 "$v" "$worker_fault" ;;
            esac
            case " $APM_VERSIONS " in *" $v "*)
                standin_image "faulty/$f/tracardi/apm" "$v" apm 80 "$v" ;;
            esac
        done
    done

    # 0.9's copy that loses a record and still ends finished (tests/standins/README.md,
    # facts 8), for test_stacks.sh.
    standin_image faulty/migration-bad-record/tracardi/tracardi-api 0.9.0 api 80 0.9.0
    standin_image faulty/migration-bad-record/tracardi/tracardi-gui 0.9.0 gui 80 0.9.0
    standin_image faulty/migration-bad-record/tracardi/apm 0.9.0 apm 80 0.9.0
    standin_image faulty/migration-bad-record/tracardi/update-worker 0.9.0 worker 80 0.9.0 migration-bad-record

    # 0.9.0 whose profile copy (asynchronous) fails: huey runs the plan again (facts 35).
    standin_image faulty/migration-fail/tracardi/tracardi-api 0.9.0 api 80 0.9.0
    standin_image faulty/migration-fail/tracardi/tracardi-gui 0.9.0 gui 80 0.9.0
    standin_image faulty/migration-fail/tracardi/apm 0.9.0 apm 80 0.9.0
    standin_image faulty/migration-fail/tracardi/update-worker 0.9.0 worker 80 0.9.0 migration-fail

    # 0.8.2 whose api image holds no migration schema file: tracup cannot copy the partitions
    # 0.8.2's plan leaves out (facts 34) and must stop before copying anything.
    standin_image faulty/no-schemas/tracardi/tracardi-api 0.8.2 api 80 0.8.2 no-schemas
    standin_image faulty/no-schemas/tracardi/tracardi-gui 0.8.2 gui 80 0.8.2
    standin_image faulty/no-schemas/tracardi/update-worker 0.8.2 worker 80 0.8.2
    case " $APM_VERSIONS " in *" 0.8.2 "*) standin_image faulty/no-schemas/tracardi/apm 0.8.2 apm 80 0.8.2 ;; esac

    image library/elasticsearch 7.13.2 standin "$PATH_ENV" \
        "ENV STANDIN_DATA=/usr/share/elasticsearch/data" "ENV STANDIN_BOOT_DELAY=3" \
        "ENV STANDIN_VERSION=7.13.2" "LABEL tracup.testbed=1" "WORKDIR /" \
        "VOLUME /usr/share/elasticsearch/data" "EXPOSE 9200" 'CMD ["tracup-standin","es"]'
    image library/mysql 8.0 standin "$PATH_ENV" "ENV STANDIN_BOOT_DELAY=3" \
        "LABEL tracup.testbed=1" "WORKDIR /" "EXPOSE 3306" 'CMD ["tracup-standin","tcp-sink"]'
    image library/redis 7.0 redis "$PATH_ENV" "LABEL tracup.testbed=1" "WORKDIR /data" \
        "VOLUME /data" "EXPOSE 6379" \
        'CMD ["redis-server","--protected-mode","no","--save","","--appendonly","no"]'
    image library/nginx 1.22 nginx "$PATH_ENV" "LABEL tracup.testbed=1" "WORKDIR /" \
        "EXPOSE 80" "STOPSIGNAL SIGQUIT" 'CMD ["nginx","-g","daemon off;"]'

    if [ ${#PUSH_LIST[@]} -gt 0 ]; then
        log "pushing ${#PUSH_LIST[@]} tags"
        : >"$STATE/push.log"
        # Pushes of tags sharing layers mostly HEAD blobs; run several at a time.
        # shellcheck disable=SC2016
        if ! printf '%s\n' "${PUSH_LIST[@]}" |
            xargs -P 6 -I{} sh -c 'timeout 120 docker push "$1" >>"$2" 2>&1 || { echo "push failed: $1" >>"$2"; exit 1; }' _ {} "$STATE/push.log"; then
            grep 'push failed' "$STATE/push.log" >&2 || true
            die "docker push failed (log: $STATE/push.log)"
        fi
        local p
        for p in "$STATE"/stamps/*.pending; do mv "$p" "${p%.pending}"; done
        # Earlier builds of retagged images are left dangling; drop only the test bed's.
        docker image prune -f --filter label=tracup.testbed=1 >/dev/null 2>&1 || true
    fi
    log "images: ${#IMAGE_REFS[@]} (built $(( ${#PUSH_LIST[@]} / 2 )))"
    printf '%s\n' "${IMAGE_REFS[@]}" >"$STATE/images.txt"
}

# ---------------------------------------------------------------- env file

write_env() {
    local images; images=$(tr '\n' ' ' <"$STATE/images.txt" | sed 's/ $//')
    cat >"$STATE/env.new" <<EOF
# Written by tests/e2e/testbed.sh up; sourced by the e2e tests.
TB_REPO_DIR='$REPO_DIR'
TB_STATE_DIR='$STATE'
TB_REGISTRY=$REG_OPEN
TB_REGISTRY_AUTH=$REG_AUTH
TB_REGISTRY_USER=$REG_USER
TB_REGISTRY_PASSWORD_FILE='$STATE/registry-password'
TB_CURL_AUTH='$STATE/curl-auth.conf'
TB_DOCKER_CONFIG='$STATE/docker-config'
TB_VERSIONS='$VERSIONS'
TB_WORKER_VERSIONS='$WORKER_VERSIONS'
TB_APM_VERSIONS='$APM_VERSIONS'
TB_FAULTS='$FAULTS'
TB_FAULT_VERSIONS='$FAULT_VERSIONS'
TB_IMAGES='$images'
TB_ELASTIC_IMAGE=$REG_OPEN/library/elasticsearch:7.13.2
TB_REDIS_IMAGE=$REG_OPEN/library/redis:7.0
TB_MYSQL_IMAGE=$REG_OPEN/library/mysql:8.0
TB_EDGE_IMAGE=$REG_OPEN/library/nginx:1.22
TB_E2E_PREFIX=$E2E_PREFIX
TB_COMPOSE_FILE='$REPO_DIR/compose/docker-compose.yml'
EOF
    mv "$STATE/env.new" "$STATE/env"
}

# ---------------------------------------------------------------- commands

cmd_up() {
    local t0=$SECONDS
    mkdir -p "$STATE"
    exec 9>"$STATE/lock"
    flock -w 300 9 || die "another testbed.sh holds $STATE/lock"
    install_packages
    ensure_daemon
    ensure_credentials
    ensure_registry open "$REG_OPEN" 0
    ensure_registry auth "$REG_AUTH" 1
    docker_login
    ensure_standin_binary
    build_roots
    build_images
    write_env
    log "up in $((SECONDS - t0)) s; env: $STATE/env"
}

stop_pid() {   # NAME PIDFILE PATTERN WAIT_SECONDS
    local name=$1 pidfile=$2 pattern=$3 wait=$4 pid i
    if ! pid_is "$pidfile" "$pattern"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(cat "$pidfile")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $((wait * 10))); do
        pid_is "$pidfile" "$pattern" || break
        sleep 0.1
    done
    if pid_is "$pidfile" "$pattern"; then
        log "$name did not stop in $wait s, killing"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
}

# The e2e tests' leftovers: compose projects and tracup stacks named $E2E_PREFIX…,
# anything named so, and containers made from the test-bed images.
remove_e2e_objects() {
    daemon_answers || return 0
    local ids
    ids=$( {
        docker ps -aq --filter "name=^/$E2E_PREFIX"
        docker ps -aq --filter label=tracup.testbed=1
        docker ps -a --filter label=com.docker.compose.project \
            --format '{{.ID}} {{.Label "com.docker.compose.project"}}' | awk -v p="$E2E_PREFIX" 'index($2, p) == 1 { print $1 }'
        docker ps -a --filter label=tracup.stack \
            --format '{{.ID}} {{.Label "tracup.stack"}}' | awk -v p="$E2E_PREFIX" 'index($2, p) == 1 { print $1 }'
    } | sort -u)
    if [ -n "$ids" ]; then
        log "removing $(echo "$ids" | wc -l) test containers"
        # shellcheck disable=SC2086
        timeout 120 docker rm -f -v $ids >/dev/null || true
    fi
    ids=$(docker network ls -q --filter "name=^$E2E_PREFIX" | sort -u)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && { timeout 60 docker network rm $ids >/dev/null || true; }
    ids=$(docker volume ls -q --filter "name=^$E2E_PREFIX" | sort -u)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && { timeout 60 docker volume rm -f $ids >/dev/null || true; }
    return 0
}

cmd_down() {
    local purge=0
    [ "${1:-}" = --purge ] && purge=1
    [ -d "$STATE" ] || { log "nothing to do ($STATE does not exist)"; return 0; }
    exec 9>"$STATE/lock"
    flock -w 300 9 || die "another testbed.sh holds $STATE/lock"
    remove_e2e_objects
    rm -rf "$STATE/compose"
    stop_pid "registry :5000" "$STATE/registry-open.pid" registry-open.yml 10
    stop_pid "registry :5001" "$STATE/registry-auth.pid" registry-auth.yml 10
    # Only a daemon this script started; its pid file is ours, not /var/run/docker.pid.
    stop_pid dockerd "$STATE/dockerd.pid" "$STATE/dockerd.pid" 60
    if [ $purge = 1 ]; then
        log "removing $STATE"
        rm -rf "$STATE"
    fi
    return 0
}

# restart-daemon: stop the daemon this script started and start it again, as a host
# reboot or a package upgrade would (containers with a restart policy come back).
# Refused for a daemon the test bed did not start.
cmd_restart_daemon() {
    [ -d "$STATE" ] || die "no test bed at $STATE"
    pid_is "$STATE/dockerd.pid" dockerd || die "the docker daemon was not started by the test bed: not restarting it"
    exec 9>"$STATE/lock"
    flock -w 300 9 || die "another testbed.sh holds $STATE/lock"
    local pid i
    pid=$(cat "$STATE/dockerd.pid")
    stop_pid dockerd "$STATE/dockerd.pid" "$STATE/dockerd.pid" 60
    # dockerd drops its pid file before it has finished stopping: wait for the process.
    for i in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not exit within 60 s"
    exec 9>&-
    ensure_daemon
}

cmd_status() {
    local rc=0
    if daemon_answers; then
        if pid_is "$STATE/dockerd.pid" dockerd; then
            echo "daemon: up, started by the test bed (pid $(cat "$STATE/dockerd.pid"))"
        else
            echo "daemon: up, not started by the test bed"
        fi
    else
        echo "daemon: down"; rc=1
    fi
    local n
    for n in open:$REG_OPEN:200 auth:$REG_AUTH:401; do
        local name=${n%%:*} hostport=${n#*:} want=${n##*:} addr
        addr=${hostport%:*}
        local code; code=$(http_code "http://$addr/v2/")
        local who=foreign
        pid_is "$STATE/registry-$name.pid" "registry-$name.yml" && who="pid $(cat "$STATE/registry-$name.pid")"
        if [ "$code" = "$want" ]; then
            echo "registry $addr: up ($who, /v2/ -> $code)"
        else
            echo "registry $addr: down (/v2/ -> $code)"; rc=1
        fi
    done
    if [ -f "$STATE/env" ]; then
        echo "env: $STATE/env ($(wc -l <"$STATE/images.txt") images)"
    else
        echo "env: none (run: $0 up)"; rc=1
    fi
    return $rc
}

cmd_images() {
    [ -f "$STATE/images.txt" ] || die "no images yet (run: $0 up)"
    local ref repo tag d rc=0
    while read -r ref; do
        repo=${ref%:*}; tag=${ref##*:}
        d=$(curl -sI --max-time 3 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
            "http://$REG_OPEN/v2/$repo/manifests/$tag" | tr -d '\r' |
            awk 'tolower($1) == "docker-content-digest:" { print $2 }')
        [ -n "$d" ] || { d=missing; rc=1; }
        printf '%s/%s %s\n' "$REG_OPEN" "$ref" "$d"
    done <"$STATE/images.txt"
    return $rc
}

case "${1:-}" in
    up) cmd_up ;;
    down) shift; cmd_down "$@" ;;
    status) cmd_status ;;
    images) cmd_images ;;
    restart-daemon) cmd_restart_daemon ;;
    *) echo "usage: $0 up|down [--purge]|status|images|restart-daemon" >&2; exit 2 ;;
esac
