#!/usr/bin/env bash
# Packaging end to end: `cmake --install` into a temporary prefix; `cpack -G DEB`
# and the package's control data and files; the .deb installed with dpkg on a
# fresh Debian system (a container from the base contrib/mkbase.sh makes locally,
# without network, so the base alone must satisfy its dependencies) running
# `tracup --version`, `status` and `version` against the host's daemon through the
# mounted socket; `man -l` on the installed page; contrib/Dockerfile built from the
# same base (no network) and `status --json` in it.
#
#   TRACUP_BUILD_DIR  the configured build directory (default: build/ of this repo)
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
tb_require_daemon
BUILD=${TRACUP_BUILD_DIR:-$REPO/build}
[ -f "$BUILD/CPackConfig.cmake" ] || tb_die "no configured build at $BUILD (cmake -S . -B build first)"
VERSION=$(sed -n 's/^project(tracup VERSION \([0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt")
[ -n "$VERSION" ] || tb_die "cannot read the project version from CMakeLists.txt"
SOCK=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) SOCK=${DOCKER_HOST#unix://} ;; esac
NAME=${TB_E2E_PREFIX}pkg-$$
IMAGE=tracup-test/tracup:pkg-$$

work=$(mktemp -d)
tb_cleanup_add rm -rf "$work"
t0=$SECONDS

# ---- cmake --install ------------------------------------------------------------
prefix=$work/prefix
tb_check "cmake --install into a prefix" eval 'cmake --build "$BUILD" --target tracup tracup_man >"$work/build.log" 2>&1 && cmake --install "$BUILD" --prefix "$prefix" >"$work/install.log" 2>&1'
expected="bin/tracup
share/bash-completion/completions/tracup
share/doc/tracup/README.md
share/doc/tracup/examples/compose/.env.example
share/doc/tracup/examples/compose/docker-compose.yml
share/doc/tracup/examples/compose/edge/tracup-edge.conf
share/man/man1/tracup.1.gz
share/tracup/templates/edge.conf.in
share/zsh/vendor-completions/_tracup"
installed=$(cd "$prefix" 2>/dev/null && find . -type f | sed 's|^\./||' | sort)
same_files() { [ "$installed" = "$expected" ] || { diff <(echo "$expected") <(echo "$installed") | sed 's/^/  /'; return 1; }; }
tb_check "exactly the program, page, completions, template and examples are installed (no tests, no stand-ins)" same_files
tb_check "the installed binary runs: tracup $VERSION" eval '[ "$("$prefix/bin/tracup" --version)" = "tracup $VERSION" ]'
tb_check "the installed template is the one the binary embeds" cmp -s "$prefix/share/tracup/templates/edge.conf.in" "$REPO/templates/edge.conf.in"
tb_check "the installed page is the gzip of contrib/tracup.1" eval 'gzip -dc "$prefix/share/man/man1/tracup.1.gz" | cmp -s - "$REPO/contrib/tracup.1"'
tb_check "man -l renders the installed page" eval 'MANWIDTH=80 man -l "$prefix/share/man/man1/tracup.1.gz" 2>/dev/null | grep -q "tracup - blue-green upgrades"'
tb_check "the installed page names every command" eval '
    text=$(MANWIDTH=200 man -l "$prefix/share/man/man1/tracup.1.gz" 2>/dev/null)
    for c in $("$prefix/bin/tracup" --help | awk "/^Commands:/{f=1;next} /^\$/{f=0} f{print \$1}"); do
        grep -q "tracup $c" <<<"$text" || { echo "  no $c"; exit 1; }
    done'

# ---- cpack -G DEB ---------------------------------------------------------------
tb_check "cpack -G DEB builds the package" eval '(cd "$BUILD" && cpack -G DEB -B "$work/deb" >"$work/cpack.log" 2>&1) || { tail -n 20 "$work/cpack.log"; false; }'
deb=$(ls "$work"/deb/tracup_"$VERSION"_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || deb=$work/deb/missing.deb
field() { dpkg-deb -f "$deb" "$1" 2>/dev/null; }
tb_check "package tracup, version $VERSION, section admin, a maintainer" eval '
    [ "$(field Package)" = tracup ] && [ "$(field Version)" = "$VERSION" ] &&
    [ "$(field Section)" = admin ] && [ -n "$(field Maintainer)" ] && [ -n "$(field Description)" ]'
tb_check "depends on libcurl4, libjansson4, libarchive13, libc6 (dpkg-shlibdeps)" eval '
    d=$(field Depends); for p in libcurl4 libjansson4 libarchive13 libc6; do grep -qE "(^|, )$p( |,|$)" <<<"$d" || { echo "  Depends: $d"; exit 1; }; done'
tb_check "recommends docker.io | docker-ce" eval '[ "$(field Recommends)" = "docker.io | docker-ce" ]'
deb_files=$(dpkg-deb -c "$deb" 2>/dev/null | awk '$1 !~ /^d/ { print $NF }' | sed 's|^\./usr/||' | sort)
tb_check "the package holds exactly the installed files under /usr" eval '[ "$deb_files" = "$expected" ] || { diff <(echo "$expected") <(echo "$deb_files") | sed "s/^/  /"; false; }'
tb_check "the packaged binary is stripped" eval 'dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/tracup >"$work/tracup.bin" && file "$work/tracup.bin" | grep -q ", stripped"'

# ---- the .deb on a fresh Debian system --------------------------------------------
base=$(bash "$REPO/contrib/mkbase.sh" 2>"$work/mkbase.log")
tb_check "a Debian base image made locally (contrib/mkbase.sh)" eval '[ -n "$base" ] || { tail -n 20 "$work/mkbase.log"; false; }'
tb_log "base image $base ($((SECONDS - t0)) s so far)"
tb_check "the base has no tracup before the package" eval '
    o=$(timeout 60 docker run --rm --network none --name "$NAME-probe" "$base" sh -c "command -v tracup; echo rc=\$?" 2>&1)
    [ "$o" = "rc=1" ] || [ "$o" = "rc=127" ] || { echo "  $o"; false; }'
tb_cleanup_add docker rm -f "$NAME-deb"
out=$(timeout 120 docker run --rm --name "$NAME-deb" --network none \
        -v "$deb:/tmp/tracup.deb:ro" -v "$SOCK:/var/run/docker.sock" "$base" sh -ec '
    dpkg -i /tmp/tracup.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; echo "DPKG FAILED"; exit 1; }
    echo "status=$(dpkg-query -W -f="\${Status}" tracup)"
    echo "version=$(tracup --version)"
    tracup status >/tmp/status.txt 2>&1; echo "status_rc=$?"
    tracup status --json >/tmp/status.json; echo "status_json_rc=$?"
    echo "status_json=$(cat /tmp/status.json)"
    echo "daemon=$(tracup version --json)"
    test -f /usr/share/bash-completion/completions/tracup && echo "bash_completion=yes"
    test -f /usr/share/man/man1/tracup.1.gz && echo "man=yes"' 2>&1)
get() { sed -n "s/^$1=//p" <<<"$out" | head -n1; }
tb_check "dpkg -i succeeds with no network: the base satisfies the dependencies" eval '[ "$(get status)" = "install ok installed" ] || { echo "$out" | tail -n 20 | sed "s/^/  /"; false; }'
tb_check "tracup --version in the fresh system" eval '[ "$(get version)" = "tracup $VERSION" ]'
tb_check "tracup status through the mounted socket (exit 0)" eval '[ "$(get status_rc)" = 0 ] && [ "$(get status_json_rc)" = 0 ]'
tb_check "status --json is JSON with the stacks" eval 'get status_json | jq -e ".stacks | type == \"array\"" >/dev/null'
tb_check "tracup version reaches the host daemon" eval 'get daemon | jq -e ".docker.negotiated_api_version | test(\"^1\\\\.[0-9]+$\")" >/dev/null'
tb_check "the package put the completion and the page in place" eval '[ "$(get bash_completion)" = yes ] && [ "$(get man)" = yes ]'

# ---- contrib/Dockerfile -------------------------------------------------------------
mkdir -p "$work/ctx" && cp "$deb" "$work/ctx/"
tb_cleanup_add docker rmi -f "$IMAGE"
tb_check "contrib/Dockerfile builds from the local base with no network" eval '
    DOCKER_BUILDKIT=0 timeout 300 docker build --force-rm --network none --build-arg BASE="$base" -f "$REPO/contrib/Dockerfile" \
        -t "$IMAGE" "$work/ctx" >"$work/build-image.log" 2>&1 || { tail -n 20 "$work/build-image.log"; false; }'
tb_check "the build installed the .deb with dpkg alone" grep -q "installed with the base image" "$work/build-image.log"
tb_cleanup_add docker rm -f "$NAME-img"
json=$(timeout 60 docker run --rm --name "$NAME-img" --network none -v "$SOCK:/var/run/docker.sock" "$IMAGE" status --json 2>"$work/img.err"); rc=$?
tb_check "docker run IMAGE status --json: exit 0 through the socket" eval '[ $rc = 0 ] || { cat "$work/img.err"; false; }'
tb_check "its output is the status JSON" eval 'jq -e ".registry and (.stacks | type == \"array\")" >/dev/null <<<"$json"'
tb_check "the image's entrypoint is tracup ($VERSION)" eval '[ "$(timeout 60 docker run --rm --name "$NAME-ver" --network none "$IMAGE" --version)" = "tracup $VERSION" ]'
tb_check "without the socket it exits 3 with a clear error" eval '
    timeout 60 docker run --rm --name "$NAME-nosock" --network none "$IMAGE" status >/dev/null 2>"$work/nosock.err"; r=$?
    [ $r = 3 ] && grep -q "^error: .*docker" "$work/nosock.err"'

tb_log "run time $((SECONDS - t0)) s"
tb_summary
