#!/usr/bin/env bash
# The bash and zsh completion scripts against the real binary: bash by sourcing
# the script and calling its function with COMP_WORDS/COMP_CWORD/COMP_LINE set as
# bash sets them; zsh by typing into an interactive zsh (zpty) and capturing what
# completion adds. Every command `tracup --help` lists and every option its
# --help prints must be offered; versions after --to; choices; files; dirs.
#   test_completion.sh TRACUP CONTRIB_DIR
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
TRACUP=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
CONTRIB=$(cd "$2" && pwd)
export PATH="$(dirname "$TRACUP"):$PATH"
BC=/usr/share/bash-completion/bash_completion
[ -f "$BC" ] || skip "bash-completion is not installed (tests/deps.sh)"
command -v zsh >/dev/null 2>&1 || skip "zsh is not installed (tests/deps.sh)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/hooks.d" "$work/hooks.e"
: >"$work/hooks.file"
cd "$work" || exit 1

commands=$(help_commands "$TRACUP")
versions=$("$TRACUP" __complete versions)
[ -n "$commands" ] && [ -n "$versions" ] || { echo "error: the binary lists no commands or versions"; exit 1; }

# bash_comp MODE LINE: the completions bash offers at the end of LINE, sorted.
# MODE full: with bash-completion loaded; bare: the script alone.
bash_comp() {
    local mode=$1 line=$2
    bash --norc --noprofile -c '
        [ "$1" = full ] && . "$2"
        . "$3/completion/tracup.bash"
        line=$4
        # Split as readline does: words on blanks, "=" a word of its own.
        COMP_WORDS=()
        for w in $line; do
            if [[ $w == --*=* ]]; then COMP_WORDS+=("${w%%=*}" "=" "${w#*=}")
            elif [[ $w == --*= ]]; then COMP_WORDS+=("${w%=}" "=")
            else COMP_WORDS+=("$w"); fi
        done
        [[ $line == *" " || $line == *= ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line COMP_POINT=${#line} COMP_TYPE=9 COMP_KEY=9
        COMPREPLY=()
        _tracup tracup "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$mode" "$BC" "$CONTRIB" "$line" | sed '/^$/d' | sort -u
}
zsh_comp() {
    timeout 30 zsh "$HERE/zcapture.zsh" "$CONTRIB/completion" "$2" | sed 's/^--[a-z-]*=//' | sort -u
}

has_all() {  # has_all GOT WANT: every line of WANT is in GOT
    local missing
    missing=$(comm -13 <(sort -u <<<"$1") <(sort -u <<<"$2"))
    [ -z "$missing" ] || { echo "  missing: $(tr '\n' ' ' <<<"$missing")"; return 1; }
}
same() { [ "$(sort -u <<<"$1")" = "$(sort -u <<<"$2")" ] || { echo "  got: $(tr '\n' ' ' <<<"$1") wanted: $(tr '\n' ' ' <<<"$2")"; return 1; }; }

for shell in "bash full" "bash bare" "zsh"; do
    if [ "$shell" = zsh ]; then comp() { zsh_comp - "$1"; }; else comp() { bash_comp "${shell#bash }" "$1"; }; fi
    got=$(comp 'tracup ')
    check "$shell: every command of 'tracup --help'" has_all "$got" "$commands"
    check "$shell: no hidden command offered" eval '! grep -q __complete <<<"$got"'
    check "$shell: a prefix completes a command" same "$(comp 'tracup upg')" upgrade
    check "$shell: 'help' completes commands" has_all "$(comp 'tracup help ')" "$commands"
    for c in $commands; do
        check "$shell: every option of 'tracup $c --help'" \
            has_all "$(comp "tracup $c --")" "$(help_options "$TRACUP" "$c" | grep '^--')"
    done
    check "$shell: versions after --to" same "$(comp 'tracup upgrade --to ')" "$versions"
    check "$shell: versions after --to, by prefix" same "$(comp 'tracup pull --to 0.8.')" "$(grep '^0\.8\.' <<<"$versions")"
    check "$shell: versions after --to=" same "$(comp 'tracup plan --to=0.8.')" "$(grep '^0\.8\.' <<<"$versions")"
    check "$shell: versions after prune-indices -r" same "$(comp 'tracup prune-indices -r ')" "$versions"
    check "$shell: the choices of --switch" same "$(comp 'tracup upgrade --switch ')" "$(printf 'edge\nexternal\nports')"
    check "$shell: directories after --checks-dir" same "$(comp 'tracup upgrade --checks-dir hooks')" "$(printf 'hooks.d\nhooks.e')"
    check "$shell: files after --admin-password-file" has_all "$(comp 'tracup upgrade --admin-password-file hooks')" "hooks.file"
    check "$shell: nothing for a command without arguments" same "$(comp 'tracup status ex')" ""
done
# The release table is in the binary: versions include the chain's newest.
check "versions include the release table (0.9.0)" grep -qx 0.9.0 <<<"$versions"
check "__complete is hidden from 'tracup --help'" eval '! "$TRACUP" --help | grep -q __complete'
summary
