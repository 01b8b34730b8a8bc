#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz) and runs each for a bounded time on a
# copy of the seed corpus. Exits non-zero when a target crashes, leaks or trips a
# sanitizer, naming the target and the reproducer.
#
#   tests/fuzz/run.sh [SECONDS]      seconds per target (default $FUZZ_SECONDS, else 60)
#
# Environment: FUZZ_SECONDS, FUZZ_TARGETS (space-separated subset), FUZZ_BUILD_DIR
# (default <repo>/build-fuzz), FUZZ_WORK (where corpora, logs and reproducers go;
# default a new temporary directory, removed when every target passed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
secs=${1:-${FUZZ_SECONDS:-60}}
case $secs in
  ''|*[!0-9]*|0) echo "error: seconds must be a positive number, not '$secs'" >&2; exit 2 ;;
esac
build=${FUZZ_BUILD_DIR:-$repo/build-fuzz}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "error: '$*' needs root" >&2; return 1
  fi
}

# clang brings libFuzzer and the sanitizers; the libraries come from tests/deps.sh.
if ! command -v clang >/dev/null; then
  echo "installing clang"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang >/dev/null
fi
if ! command -v cmake >/dev/null || ! pkg-config --exists libcurl jansson libarchive 2>/dev/null; then
  as_root bash "$repo/tests/deps.sh"
fi

work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/tracup-fuzz.XXXXXX")}
mkdir -p "$work"

echo "building $build"
{ CC=clang cmake -S "$repo" -B "$build" -DTRACUP_FUZZ=ON -DTRACUP_TESTS=OFF -DTRACUP_STANDINS=OFF \
    -DTRACUP_BENCH=OFF && cmake --build "$build" -j"$(nproc)"; } >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log" >&2; echo "error: the fuzz build failed (log: $work/build.log)" >&2; exit 1; }

targets=${FUZZ_TARGETS:-$(cat "$build/tests/fuzz/targets.txt")}

# Stop at the first error, report leaks, and keep the stacks readable.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The journal target writes its files under here, not in the repository.
export TMPDIR=$work

failed=()
printf '%-26s %10s %8s %8s %10s  %s\n' target execs exec/s cov ft result
for t in $targets; do
  bin=$build/tests/fuzz/$t
  [ -x "$bin" ] || { echo "error: no target '$t' in $build/tests/fuzz" >&2; exit 2; }
  dir=$work/$t
  mkdir -p "$dir/corpus" "$dir/artifacts"
  [ -d "$here/corpus/$t" ] && cp -R "$here/corpus/$t/." "$dir/corpus/"
  dict=()
  [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
  rc=0
  # libFuzzer stops itself after max_total_time; timeout is the backstop for a hang.
  timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "${dict[@]}" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)
  repro=$(find "$dir/artifacts" -type f | head -1)
  if [ "$rc" = 0 ] && [ -z "$repro" ]; then
    result=ok
  else
    result="FAILED (exit $rc)"
    failed+=("$t")
  fi
  printf '%-26s %10s %8s %8s %10s  %s\n' "$t" "${execs:--}" "${speed:--}" "${cov:--}" "${ft:--}" "$result"
  if [ "$result" != ok ]; then
    grep -m1 -E 'ERROR: |runtime error|fuzz oracle failed|Timeout|out-of-memory' "$dir/log" | sed 's/^/    /' || true
    echo "    log: $dir/log"
    if [ -n "$repro" ]; then
      echo "    reproducer: $repro"
      echo "    rerun: $bin $repro"
    fi
  fi
done

if ((${#failed[@]})); then
  echo "fuzzing failed: ${failed[*]} (everything is kept in $work)" >&2
  exit 1
fi
[ -n "${FUZZ_WORK:-}" ] || rm -rf "$work"
echo "all ${secs}s fuzz runs passed"
