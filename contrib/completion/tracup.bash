# bash completion for tracup.                                  -*- shell-script -*-
# Commands, options and their values come from the binary itself
# (`tracup __complete ...`), so this file never lists them and cannot go stale.

_tracup_query() {  # _tracup_query TRACUP ARGS...: the binary's answer, nothing on error
    "$@" 2>/dev/null </dev/null
}

_tracup() {
    local cur prev words cword split=false
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -s || return
    else
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
        # Without bash-completion, "--to=0.8" arrives as "--to" "=" "0.8".
        if [[ $cur == = ]]; then
            cur='' split=true
        elif [[ $prev == = ]] && ((cword >= 2)); then
            prev=${COMP_WORDS[COMP_CWORD-2]} split=true
        fi
    fi
    local tracup=${words[0]}
    [[ $tracup == */* && -x $tracup ]] || tracup=tracup

    local cmd='' i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -*|=) ;;
            *) cmd=${words[i]}; break ;;
        esac
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W '--help --version' -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$(_tracup_query "$tracup" __complete commands | cut -f1) help" -- "$cur")
        fi
        return
    fi
    if [[ $cmd == help ]]; then
        ((cword == i + 1)) &&
            mapfile -t COMPREPLY < <(compgen -W "$(_tracup_query "$tracup" __complete commands | cut -f1)" -- "$cur")
        return
    fi

    local opts arg=''
    opts=$(_tracup_query "$tracup" __complete options "$cmd") || return
    # The value of an option that takes one: the option is prev (or before '=').
    if [[ $prev == -* ]]; then
        arg=$(awk -F'\t' -v o="$prev" '$1 == o { print $2; exit }' <<<"$opts")
    fi
    if [[ -n $arg ]]; then
        case $arg in
            *VERSION*)
                mapfile -t COMPREPLY < <(compgen -W "$(_tracup_query "$tracup" __complete versions)" -- "$cur") ;;
            DIR)
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            *FILE*|PATH)
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            *'|'*)
                # A choice among lower-case words: edge|ports|external.
                [[ $arg == *[A-Z]* ]] || mapfile -t COMPREPLY < <(compgen -W "${arg//|/ }" -- "$cur") ;;
        esac
        return
    fi
    $split && return
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(cut -f1 <<<"$opts")" -- "$cur")
        return
    fi
    local nargs
    nargs=$(_tracup_query "$tracup" __complete args "$cmd")
    if [[ -n $nargs && $nargs != 0 ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}
complete -F _tracup tracup
