#!/usr/bin/env bash
# The whole test suite: build (-Werror), unit tests, the sanitizer build, then the
# end-to-end tests against the local test bed. .ci/run calls this very script.
#
#   bash tests/run.sh            everything
#   bash tests/run.sh --unit     build and unit tests only (no Docker)
#   bash tests/run.sh --e2e      end-to-end tests only (builds first)
#
# Ends with one line "N passed, N failed" counting the suites it ran.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
mode=all
case "${1:-}" in
  "") ;;
  --unit) mode=unit ;;
  --e2e) mode=e2e ;;
  -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
  *) echo "error: unknown option '$1'" >&2; exit 2 ;;
esac

passed=0 failed=0 failures=()
suite() {  # suite NAME COMMAND...
  local name=$1; shift
  local t0=$SECONDS
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

bash tests/deps.sh || { echo "error: cannot install the build dependencies" >&2; exit 1; }

JOBS=$(nproc 2>/dev/null || echo 2)
build() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRACUP_WERROR=ON >/dev/null &&
  cmake --build build -j "$JOBS"
}
if ! build; then
  echo "error: the build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

if [ "$mode" != e2e ]; then
  suite "unit tests" ctest --test-dir build --output-on-failure -j "$JOBS"
  suite "unit tests under ASan+UBSan" bash -c '
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTRACUP_WERROR=ON -DTRACUP_SANITIZE=ON \
          -DTRACUP_STANDINS=OFF >/dev/null &&
    cmake --build build-asan -j '"$JOBS"' &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan --output-on-failure -j '"$JOBS"
  # Leaks and invalid accesses the sanitizer build may not see. No suppressions; only
  # definite and indirect leaks fail (libcurl and OpenSSL keep process-wide caches reachable).
  valgrind_units() {
    local t rc=0
    for t in build/tests/unit/test_*; do
      [ -x "$t" ] || continue
      timeout 600 valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
        "$t" >"$t.valgrind.log" 2>&1 || { echo "valgrind: $t failed"; tail -n 30 "$t.valgrind.log"; rc=1; }
    done
    return $rc
  }
  suite "unit tests under valgrind" valgrind_units
  # Every parser of outside input under libFuzzer with ASan+UBSan, a bounded time
  # per target (FUZZ_SECONDS; tests/fuzz/run.sh 600 runs them longer).
  suite "fuzzing (${FUZZ_SECONDS:-5} s per target)" bash tests/fuzz/run.sh "${FUZZ_SECONDS:-5}"
fi

if [ "$mode" != unit ]; then
  # The test bed starts a daemon and registries only when none answer; `down`
  # stops only what `up` started.
  cleanup() { bash tests/e2e/testbed.sh down >/dev/null 2>&1 || true; }
  trap cleanup EXIT
  if bash tests/e2e/testbed.sh up; then
    export TRACUP="$REPO/build/src/tracup"
    for t in tests/e2e/test_*.sh; do
      suite "e2e $(basename "$t" .sh)" bash "$t"
    done
    # The paths with the most state (upgrade, rollback, crash and resume) once more
    # with the sanitizer build of tracup: any ASan or UBSan report fails the suite.
    sanitized() {
      cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTRACUP_WERROR=ON -DTRACUP_SANITIZE=ON \
            -DTRACUP_STANDINS=OFF >/dev/null && cmake --build build-asan -j "$JOBS" >/dev/null || return 1
      local logs; logs=$(mktemp -d)
      local rc=0 t
      for t in test_upgrade test_crash; do
        ASAN_OPTIONS=detect_leaks=1:log_path=$logs/asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$logs/ubsan \
          TB_CRASH_MORE=0 TRACUP=$REPO/build-asan/src/tracup bash "tests/e2e/$t.sh" || rc=1
      done
      if ls "$logs"/* >/dev/null 2>&1; then
        echo "sanitizer reports:"; cat "$logs"/*; rc=1
      fi
      rm -rf "$logs"
      return $rc
    }
    suite "e2e under ASan+UBSan (upgrade, crash)" sanitized
  else
    failed=$((failed + 1)); failures+=("test bed")
    echo "error: the test bed did not come up" >&2
  fi
fi

if ((failed)); then
  printf 'failed suites:\n'; printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
