#!/usr/bin/env bash
# Installs, from Debian's packages, what building and testing tracup needs.
# Installs only what is missing; safe to run again.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config
  libcurl4-openssl-dev libjansson-dev libarchive-dev libcmocka-dev
  valgrind curl jq ca-certificates redis-server strace time zstd xz-utils
  bash-completion zsh man-db groff-base dpkg-dev file
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start services (redis-server): tests start their own.
  policy=/usr/sbin/policy-rc.d added=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; added=1; fi
  rc=0
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ "$added" = 1 ] && rm -f "$policy"
  exit "$rc"
fi
