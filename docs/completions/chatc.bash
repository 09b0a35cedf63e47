#!/bin/bash

__chatc_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__chatc_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__chatc_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__chatc_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_chatc() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __chatc_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    ui|register|login|logout|whoami|conversations|rooms|create-room|join|dm|send|send-file|download|search|history|friends|friend|tail|edit|delete|react|leave|members|invite|invite-link|push|help)
        # Offer subcommand argument completions
        "_chatc_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'ui register login logout whoami conversations rooms create-room join dm send send-file download search history friends friend tail edit delete react leave members invite invite-link push help' -- "${cur}"))
        ;;
    esac
}

_chatc_ui() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_register() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --password --display-name)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--password')
        return
        ;;
    '--display-name')
        return
        ;;
    esac
}

_chatc_login() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --password)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--password')
        return
        ;;
    esac
}

_chatc_logout() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_whoami() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_conversations() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_rooms() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_create-room() {
    repeating_flags=()
    non_repeating_flags=(--tls --private --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --description)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--description')
        return
        ;;
    esac
}

_chatc_join() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_dm() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_send() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --reply-to)
    __chatc_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--reply-to')
        return
        ;;
    esac
}

_chatc_send-file() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --type --caption)
    __chatc_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--type')
        return
        ;;
    '--caption')
        return
        ;;
    esac
}

_chatc_download() {
    repeating_flags=()
    non_repeating_flags=(--tls --force --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_search() {
    repeating_flags=()
    non_repeating_flags=(--tls --rank --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --in --limit)
    __chatc_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--in')
        return
        ;;
    '--limit')
        return
        ;;
    esac
}

_chatc_history() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --limit --before)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--limit')
        return
        ;;
    '--before')
        return
        ;;
    esac
}

_chatc_friends() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_friend() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_tail() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --count --seconds)
    __chatc_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--count')
        return
        ;;
    '--seconds')
        return
        ;;
    esac
}

_chatc_edit() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_delete() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_react() {
    repeating_flags=()
    non_repeating_flags=(--tls --remove --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 3

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_leave() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_members() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_invite() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_invite-link() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __chatc_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|list|revoke|redeem)
        # Offer subcommand argument completions
        "_chatc_invite-link_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create list revoke redeem' -- "${cur}"))
        ;;
    esac
}

_chatc_invite-link_create() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --expires --uses)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--expires')
        return
        ;;
    '--uses')
        return
        ;;
    esac
}

_chatc_invite-link_list() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_invite-link_revoke() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_invite-link_redeem() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_push() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __chatc_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    set|remove)
        # Offer subcommand argument completions
        "_chatc_push_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'set remove' -- "${cur}"))
        ;;
    esac
}

_chatc_push_set() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key --unified --gateway --app-id --platform)
    __chatc_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--unified')
        return
        ;;
    '--gateway')
        return
        ;;
    '--app-id')
        return
        ;;
    '--platform')
        return
        ;;
    esac
}

_chatc_push_remove() {
    repeating_flags=()
    non_repeating_flags=(--tls --version -h --help)
    repeating_options=()
    non_repeating_options=(--profile --server --ca --cert --key)
    __chatc_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--profile')
        return
        ;;
    '--server')
        return
        ;;
    '--ca')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    esac
}

_chatc_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __chatc_offer_flags_options -1
}

complete -o filenames -F _chatc chatc
