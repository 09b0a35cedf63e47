#compdef chatc

__chatc_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__chatc_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __chatc_complete "${completions[@]:0:-1}"
    fi
}

__chatc_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_chatc() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'ui:The interactive client (what `chatc` with no command runs).'
            'register:Create an account and log in.'
            'login:Log in and keep the session.'
            'logout:End this device'\''s session.'
            'whoami:Show the logged-in user.'
            'conversations:Your conversations, newest activity first, with unread counts.'
            'rooms:Public rooms.'
            'create-room:Create a room.'
            'join:Join a public room (id or #name).'
            'dm:Open the direct chat with a user.'
            'send:Send a message.'
            'send-file:Upload a file and send it (as an image when it is one). Run again to resume an interrupted upload.'
            'download:Download a file by its id (checks its BLAKE2b-256).'
            'search:Search messages: words, "phrases", pre*, a OR b, -word.'
            'history:Show recent events of a conversation.'
            'friends:Friends with presence, and pending requests.'
            'friend:add | accept | decline | cancel | remove | block | unblock USER'
            'tail:Print live events as they arrive (Ctrl-C to stop); reconnects when the server goes away.'
            'edit:Change the text of one of your messages.'
            'delete:Delete one of your messages (or any, as a moderator).'
            'react:Add (or with --remove take back) a reaction to a message.'
            'leave:Leave a room or group.'
            'members:The members of a conversation, with their roles.'
            'invite:Add a user to a room or group (as its owner or an admin).'
            'invite-link:Links that let whoever holds their token join a room or group.'
            'push:Push notifications for this device while none of yours is connected.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        ui|register|login|logout|whoami|conversations|rooms|create-room|join|dm|send|send-file|download|search|history|friends|friend|tail|edit|delete|react|leave|members|invite|invite-link|push|help)
            "_chatc_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatc_ui() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_register() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':username:'
        '--password:password:'
        '--display-name:display-name:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_login() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':username:'
        '--password:password:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_logout() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_whoami() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_conversations() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_rooms() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_create-room() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':name:'
        '--description:description:'
        '--private'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_join() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':room:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_dm() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':username:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_send() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        '*:words:'
        '--reply-to[Reply to this seq.]:reply-to:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_send-file() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        ':path:'
        '--type[MIME type (default\: from the content, else the extension).]:type:'
        '--caption[A caption.]:caption:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_download() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':file-id:'
        ':path:'
        '--force[Overwrite the file when it exists.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_search() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '*:words:'
        '--in[Only this conversation (id, #room or @user).]:in:'
        '--rank[Best matches first instead of newest first.]'
        '--limit:limit:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_history() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        '--limit:limit:'
        '--before[Events before this seq.]:before:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_friends() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_friend() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':action:'
        ':username:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_tail() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '--count[Exit after this many events.]:count:'
        '--seconds[Exit after this many seconds.]:seconds:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_edit() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        ':seq:'
        '*:words:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_delete() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        ':seq:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_react() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        ':seq:'
        ':emoji:'
        '--remove[Remove the reaction instead.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_leave() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_members() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_invite() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        ':username:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_invite-link() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'create:Create an invite link (as the owner or an admin); its token is shown only now.'
            'list:The invite links of a room or group that can still be used, newest first (never their tokens).'
            'revoke:Revoke an invite link: its token stops working at once.'
            'redeem:Join the room or group of an invite link'\''s token.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        create|list|revoke|redeem)
            "_chatc_invite-link_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatc_invite-link_create() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        '--expires[How long it works\: 90s, 30m, 12h, 7d (at most 366d; default\: until revoked).]:duration:'
        '--uses[How many joins it allows (1-1000000; default\: unlimited).]:uses:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_invite-link_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_invite-link_revoke() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':conversation:'
        ':invite-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_invite-link_redeem() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        ':token:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_push() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'set:Set this device'\''s push target: a UnifiedPush endpoint, or APNs/FCM through the server'\''s push gateway.'
            'remove:This device gets no more push notifications.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        set|remove)
            "_chatc_push_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatc_push_set() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '--unified[The UnifiedPush endpoint (the https URL the distributor gave).]:url:'
        '--gateway[The platform'\''s push token (APNs device token, FCM registration token), through the push gateway.]:pushkey:'
        '--app-id[The app'\''s id at the push gateway (with --gateway).]:id:'
        '--platform[apns or fcm (with --gateway).]:apns|fcm:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_push_remove() {
    local -i ret=1
    local -ar arg_specs=(
        '--profile[Use this account'\''s session (a name of letters, digits, '\''.'\'', '\''_'\'' and '\''-'\''; default\: $CHATC_PROFILE, else the default one).]:profile:'
        '--server[chatd address host\:port (default\: the saved session'\''s, else $CHAT_SERVER, else 127.0.0.1\:7600).]:server:'
        '--tls[Speak TLS (to chatd'\''s tls.listen port), trusting the system'\''s CAs unless --ca is given.]'
        '--ca[PEM file of the CA that signed the server'\''s certificate (implies --tls).]:ca:'
        '--cert[PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).]:cert:'
        '--key[PEM file of the client certificate'\''s private key.]:key:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatc_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _chatc ]]; then
    _chatc "${@}"
else
    compdef _chatc chatc
fi
