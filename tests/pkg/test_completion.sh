#!/usr/bin/env bash
# The bash and zsh completion scripts against the real binary: bash by sourcing
# the script and calling its function with COMP_WORDS/COMP_CWORD/COMP_LINE set as
# bash sets them; zsh by typing into an interactive zsh (zpty) and capturing what
# completion adds. Every command `tracup --help` lists and every option its
# --help prints must be offered; versions after --to; choices; files; dirs.
# Versions from the host's images are checked against fake_dockerd (canned tags,
# and a daemon that never answers), the rest without a daemon so nothing varies.
#   test_completion.sh TRACUP CONTRIB_DIR FAKE_DOCKERD
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
TRACUP=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
CONTRIB=$(cd "$2" && pwd)
FAKE=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
export PATH="$(dirname "$TRACUP"):$PATH"
BC=/usr/share/bash-completion/bash_completion
[ -f "$BC" ] || skip "bash-completion is not installed (tests/deps.sh)"
command -v zsh >/dev/null 2>&1 || skip "zsh is not installed (tests/deps.sh)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/hooks.d" "$work/hooks.e"
: >"$work/hooks.file"
: >"$work/my password.txt"
cd "$work" || exit 1
export DOCKER_HOST=unix://$work/no-daemon.sock ZCAPTURE_DUMP=$work/zcompdump

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
    # zsh's _files hands compadd the name quoted as it will be inserted.
    if [ "$shell" = zsh ]; then spaced='my\ password.txt'; else spaced='my password.txt'; fi
    check "$shell: a file name with a space stays one completion" same "$(comp 'tracup upgrade --admin-password-file my')" "$spaced"
    check "$shell: nothing for a command without arguments" same "$(comp 'tracup status ex')" ""
done
# Without a daemon the versions are the release table's (the chain, oldest first).
check "versions without a daemon: the release table" same "$versions" "$(printf '0.8.0\n0.8.1\n0.8.2\n0.9.0')"

# fake_dockerd SCENARIO: starts it and sets FAKE_SOCK; stopped by its pid at exit.
fake_pids=()
trap 'for p in "${fake_pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
start_fake() {
    local out=$work/fake-$1.out i
    "$FAKE" --timeout 60 "$1" >"$out" 2>&1 &
    fake_pids+=($!)
    for ((i = 0; i < 50; i++)); do
        FAKE_SOCK=$(head -n1 "$out" 2>/dev/null)
        [ -S "$FAKE_SOCK" ] && return 0
        sleep 0.1
    done
    echo "  fake_dockerd $1 did not start"; return 1
}
host_tags=$(printf '0.8.0\n0.8.1\n0.8.2\n0.8.3-rc1\n0.9.0\n1.0.3\n1.1.0')
if start_fake images-tags; then
    got=$(DOCKER_HOST=unix://$FAKE_SOCK "$TRACUP" __complete versions)
    check "versions: the release table and tracardi-api tags on the host under any prefix, no look-alikes" same "$got" "$host_tags"
    check "bash offers a host's tag after --to" same "$(DOCKER_HOST=unix://$FAKE_SOCK bash_comp full 'tracup upgrade --to 1.')" "$(printf '1.0.3\n1.1.0')"
    check "zsh offers a host's tag after --to" same "$(DOCKER_HOST=unix://$FAKE_SOCK zsh_comp - 'tracup upgrade --to 1.')" "$(printf '1.0.3\n1.1.0')"
else
    fail "fake_dockerd images-tags"
fi
if start_fake images-stall; then
    t0=$(date +%s%N)
    got=$(DOCKER_HOST=unix://$FAKE_SOCK "$TRACUP" __complete versions)
    ms=$((($(date +%s%N) - t0) / 1000000))
    check "a daemon that does not answer costs at most ~1 s ($ms ms), versions from the table" \
        eval '[ "$ms" -lt 2500 ] && same "$got" "$versions"'
else
    fail "fake_dockerd images-stall"
fi
check "__complete is hidden from 'tracup --help'" eval '! "$TRACUP" --help | grep -q __complete'
summary
