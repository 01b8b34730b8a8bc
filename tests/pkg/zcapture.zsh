#!/usr/bin/env zsh
# zcapture.zsh FPATH_DIR LINE: types LINE and TAB into an interactive zsh (zpty)
# with compinit and the completion functions in FPATH_DIR, and prints the matches
# completion offers, one a line. compadd is wrapped to print what it would add.
# ZCAPTURE_DUMP names a compinit dump file to reuse between calls (faster).
emulate -L zsh
zmodload zsh/zpty || exit 2
local dir=$1 input=$2 rc=2
zpty z zsh -f -i || exit 2
local setup=$(mktemp)
cat >$setup <<SETUP
PROMPT= RPROMPT= PS2=
fpath=(${(q)dir} \$fpath)
autoload -Uz compinit && compinit -u \${ZCAPTURE_DUMP:+-d} \${ZCAPTURE_DUMP:--D}
bindkey '^M' undefined
bindkey '^J' undefined
bindkey '^I' complete-word
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
capture-mark() { print -rn -- \$'\\n<MARK>\\n' }
compprefuncs=(capture-mark)
comppostfuncs=(capture-mark exit)
compadd() {
    if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then
        builtin compadd "\$@"; return
    fi
    local -a __hits
    builtin compadd -A __hits "\$@"
    local __h
    for __h in \$__hits; do print -r -- "<M>\$IPREFIX\$__h</M>"; done
    builtin compadd "\$@"
}
print ready
SETUP
zpty -w z "source ${(q)setup}"
local line i
for i in {1..50}; do
    zpty -r -t z line 2>/dev/null || { sleep 0.1; continue; }
    [[ $line == ready* ]] && break
done
zpty -w -n z "$input"$'\t'
local out= marks=0 chunk
integer end=$((SECONDS + 10))
while (( SECONDS < end )); do
    if zpty -r -t z chunk 2>/dev/null; then
        out+=$chunk
        [[ $out == *'<MARK>'*'<MARK>'* ]] && { rc=0; break }
    else
        sleep 0.05
    fi
done
zpty -d z
rm -f $setup
print -r -- "$out" | tr -d '\r' | sed -n 's/.*<M>\(.*\)<\/M>.*/\1/p' | sort -u
exit $rc
