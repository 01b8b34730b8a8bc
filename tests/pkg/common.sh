# Shared by the packaging tests: TAP-like lines and a closing "N passed, N failed".
# shellcheck shell=bash
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); printf 'ok %d - %s\n' $((PASSED + FAILED)) "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'not ok %d - %s\n' $((PASSED + FAILED)) "$*"; }
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
summary() { printf '%d passed, %d failed\n' "$PASSED" "$FAILED"; [ "$FAILED" -eq 0 ]; }
# skip REASON: exit 77, or fail under CI where a skip would hide breakage.
skip() {
    if [ "${CI:-}" = true ]; then printf 'error: %s (CI=true: not skipping)\n' "$*" >&2; exit 1; fi
    printf 'skip: %s\n' "$*" >&2; exit 77
}
# The commands `tracup --help` lists, one a line.
help_commands() { "$1" --help | awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }'; }
# The options `tracup CMD --help` prints: long ones as --name, short ones as -x.
help_options() {
    "$1" "$2" --help | awk '/^Options:/ { f = 1; next } f && /^ +-/ {
        if ($1 ~ /^-[a-zA-Z],$/) { print substr($1, 1, 2); print $2 } else print $1 }'
}
