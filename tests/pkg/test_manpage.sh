#!/usr/bin/env bash
# contrib/tracup.1 against the binary and the sources: it renders without
# warnings; every command `tracup --help` lists has a section, and every option
# its --help prints appears in it; every exit code of src/cmd/cmd.h, every
# environment variable src/ reads (getenv) and the state files are described.
# Then the same checks must FAIL on damaged copies of the page.
#   test_manpage.sh TRACUP MANPAGE SRC_DIR
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
TRACUP=$1 PAGE=$2 SRC=$3
command -v groff >/dev/null 2>&1 || skip "groff is not installed"
command -v man >/dev/null 2>&1 || skip "man-db is not installed"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The page's text with roff escapes undone: "\-" -> "-", font changes dropped.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' -e 's/\\&//g' "$1"; }
# section PAGE CMD: the text of every ".SS "tracup CMD ..."" (subcommands too).
section() {
    plain "$1" | awk -v c="$2" '
        /^\.S[SH] / { f = 0 }
        /^\.SS / { t = $0; sub(/^\.SS "?tracup /, "", t); split(t, w, /[ "]/); if (w[1] == c) f = 1 }
        f'
}
# sh_section PAGE NAME: the text of ".SH NAME".
sh_section() { plain "$1" | awk -v n="$2" '/^\.SH / { f = ($0 == ".SH " n || $0 == ".SH \"" n "\"") ; next } f'; }

# What the binary offers, asked once: "COMMAND OPTION" lines.
binary_opts=$(for c in $(help_commands "$TRACUP"); do
    echo "$c -"
    help_options "$TRACUP" "$c" | sed "s/^/$c /"
done)
[ -n "$binary_opts" ] || { echo "error: '$TRACUP --help' lists no commands"; exit 1; }

# problems PAGE: prints one line per problem; none when the page is complete.
problems() {
    local page=$1 c o sec code var
    for c in $(awk '$2 == "-" { print $1 }' <<<"$binary_opts"); do
        sec=$(section "$page" "$c")
        if [ -z "$sec" ]; then echo "no section for command '$c'"; continue; fi
        for o in $(awk -v c="$c" '$1 == c && $2 != "-" { print $2 }' <<<"$binary_opts"); do
            case $o in --help|-h) continue ;; esac
            grep -qE -- "(^|[^a-zA-Z0-9-])$o([^a-zA-Z0-9-]|$)" <<<"$sec" || echo "'$c': option '$o' missing"
        done
    done
    sec=$(sh_section "$page" "EXIT STATUS")
    for code in $(grep -oE 'TU_EXIT_[A-Z_]+ = [0-9]+' "$SRC/cmd/cmd.h" | awk '{ print $3 }'); do
        grep -qx "\.B $code" <<<"$sec" || echo "exit code $code missing"
    done
    sec=$(sh_section "$page" "ENVIRONMENT")
    for var in $(grep -rhoE 'getenv\("[A-Z_]+"\)' "$SRC" | sed -E 's/getenv\("(.*)"\)/\1/' | sort -u); do
        grep -qE "^\.BR? (.*[ \"])?$var([ \"]|$)" <<<"$sec" || echo "environment variable $var missing"
    done
    sec=$(sh_section "$page" "FILES")
    for f in /etc/tracup/tracup.conf /var/lib/tracup/ journal.json history.jsonl lock .docker/config.json; do
        grep -qF -- "$f" <<<"$sec" || echo "file '$f' missing"
    done
}

out=$(groff -man -ww -z "$PAGE" 2>&1)
check "groff -man -ww renders without warnings" [ -z "$out" ] && [ $? = 0 ]
[ -n "$out" ] && echo "$out" | head -5
out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$PAGE" 2>&1 >/dev/null)
check "man --warnings -l renders without warnings" [ -z "$out" ]
[ -n "$out" ] && echo "$out" | head -5
check "man -l renders the NAME line" eval 'MANWIDTH=80 man -l "$PAGE" 2>/dev/null | grep -q "tracup - blue-green upgrades"'

p=$(problems "$PAGE")
check "every command, option, exit code, variable and file of the binary is in the page" [ -z "$p" ]
[ -n "$p" ] && sed 's/^/  /' <<<"$p"

# The checks must catch a page that lost an option, a command, an exit code, a variable.
damage() {  # damage NAME SED_SCRIPT WANT_REGEX
    sed -e "$2" "$PAGE" >"$work/$1.1"
    cmp -s "$PAGE" "$work/$1.1" && { echo "  the damage '$1' changed nothing"; return 1; }
    problems "$work/$1.1" | grep -qE "$3"
}
check "a page without --smoke-interval fails" damage opt '/^\.BI \\-\\-smoke\\-interval/d' "'upgrade': option '--smoke-interval' missing"
check "a page without -n of indices fails" damage short 's/^\.BR \\-n ", " \\-\\-names/.B \\-\\-names/' "'indices': option '-n' missing"
check "a page without the history section fails" damage cmd 's/^\.SS "tracup history/.SS "tracup histories/' "no section for command 'history'"
check "a page without exit code 6 fails" damage exit '/^\.B 6$/d' "exit code 6 missing"
check "a page without TRACUP_STATE_DIR fails" damage env '/^\.B TRACUP_STATE_DIR$/d' "TRACUP_STATE_DIR missing"
summary
