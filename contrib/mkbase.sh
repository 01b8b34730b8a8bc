#!/usr/bin/env bash
# Makes a Debian base image locally, without pulling anything from a container
# registry: debootstrap --variant=minbase from the Debian mirror this host's apt
# uses, with tracup's runtime libraries, imported with `docker import`.
#
#   bash contrib/mkbase.sh            prints the image's name (builds it when missing)
#
# The image is named tracup-test/debian-base:HASH, HASH covering every input (this
# script, suite, mirror, architecture, packages), so a second run with the same
# inputs only checks the image exists. Environment:
#   TRACUP_BASE_SUITE     Debian suite (default bookworm)
#   TRACUP_BASE_MIRROR    mirror URL (default: the host's apt source for the suite)
#   TRACUP_BASE_PACKAGES  extra packages (default: tracup's runtime libraries)
#   TRACUP_BASE_REPO      image repository (default tracup-test/debian-base)
# Needs root (debootstrap) and a docker daemon; installs debootstrap when missing.
set -euo pipefail

suite=${TRACUP_BASE_SUITE:-bookworm}
packages=${TRACUP_BASE_PACKAGES:-libcurl4,libjansson4,libarchive13,ca-certificates}
repo=${TRACUP_BASE_REPO:-tracup-test/debian-base}

log() { printf 'mkbase: %s\n' "$*" >&2; }
die() { printf 'mkbase: error: %s\n' "$*" >&2; exit 1; }

# The first apt source of the host that carries the suite: deb822 stanzas
# (URIs:/Suites:) or one-line "deb URI SUITE COMPONENTS".
host_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '
            function flush() { if (uri != "" && ok) { print uri; found = 1; exit } uri = ""; ok = 0 }
            /^[ \t]*$/ { flush(); next }
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
            END { if (!found) flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '$1 == "deb" {
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i + 1) == suite) { print $i; exit } }' "$f"
    done
}

mirror=${TRACUP_BASE_MIRROR:-$(host_mirror | head -n1)}
[ -n "$mirror" ] || die "no apt source for '$suite' on this host; set TRACUP_BASE_MIRROR"
arch=$(dpkg --print-architecture)
hash=$( { cat "${BASH_SOURCE[0]}"; printf '%s\n' "$suite" "$mirror" "$arch" "$packages"; } |
        sha256sum | cut -c1-16)
image=$repo:$hash

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root"
if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } ||
        die "cannot install debootstrap"
fi

work=$(mktemp -d /tmp/tracup-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
log "debootstrap $suite from $mirror ($arch) with $packages"
if ! timeout 900 debootstrap --variant=minbase --arch="$arch" --include="$packages" \
        "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed"
fi
# What a container does not need: downloaded packages and package lists.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* "$work/root/tmp/"*
tar -C "$work/root" --numeric-owner -c . |
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' \
        --message "debootstrap --variant=minbase $suite $mirror" - "$image" >/dev/null ||
    die "docker import failed"
log "made $image"
echo "$image"
