# bash completion for supermachine. Commands and options come from the
# binary's own --help, so they never drift from it; VM and image names
# from `ps` and `images`.
_supermachine_names() {
    case $1 in
        vm) "$2" ps -a --format '{{.Names}}' 2>/dev/null | grep . ;;
        image) "$2" images -q 2>/dev/null ;;
    esac
}

_supermachine() {
    local sm=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} != -* ]] && { cmd=${COMP_WORDS[i]}; break; }
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$("$sm" --help 2>/dev/null |
            awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}') help" -- "$cur"))
        return
    fi
    # An option's own argument that names a directory (run --rootfs DIR).
    if [[ ${COMP_WORDS[COMP_CWORD-1]} == --rootfs ]]; then
        COMPREPLY=($(compgen -d -- "$cur"))
        return
    fi
    # --network user|none|ns:PATH; bash splits the word at ':'.
    local w=("${COMP_WORDS[@]:0:COMP_CWORD}")
    if [[ ${w[-1]} == --network ]]; then
        COMPREPLY=($(compgen -W "user none ns:" -- "$cur"))
        [[ ${COMPREPLY[*]} == ns: ]] && compopt -o nospace
        return
    fi
    if (( ${#w[@]} > 2 )) && [[ ${w[-1]} == : && ${w[-2]} == ns && ${w[-3]} == --network ]]; then
        COMPREPLY=($(compgen -f -- "${cur:-/var/run/netns/}"))
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$("$sm" "$cmd" --help 2>/dev/null |
            grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' | tr -d ' ,' | sort -u)" -- "$cur"))
        return
    fi
    case $cmd in
        run|create|pull|rmi|bake|tag|history|save|push|inspect)
            COMPREPLY=($(compgen -W "$(_supermachine_names image "$sm")" -- "$cur")) ;;
        exec|logs|stop|start|restart|rm|kill|wait|port|rename|cp|snapshot)
            COMPREPLY=($(compgen -W "$(_supermachine_names vm "$sm")" -- "$cur")) ;;
        help)
            COMPREPLY=($(compgen -W "$("$sm" --help 2>/dev/null |
                awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}')" -- "$cur")) ;;
        load|import) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
}
complete -o default -F _supermachine supermachine
