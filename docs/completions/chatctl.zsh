#compdef chatctl

__chatctl_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__chatctl_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __chatctl_complete "${completions[@]:0:-1}"
    fi
}

__chatctl_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_chatctl() {
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
            'status:Version, uptime, connections, users, rooms, database size.'
            'health:Exit 0 when chatd answers and can write its database (for scripts and monitors).'
            'reload:Re-read chatd'\''s config file and apply the reloadable keys (like SIGHUP).'
            'user:Manage user accounts.'
            'room:Inspect and administer rooms and groups.'
            'device:Inspect and revoke devices.'
            'sessions:List and kick live client connections.'
            'broadcast:Send a system message to one room or group, or a system notice to everyone.'
            'audit:Query the audit log (logins, device changes, admin actions), newest first.'
            'backup:Back up the database, token key and file store while chatd runs; or check a backup (--verify).'
            'stats:Load: connections, messages per second, queue depths, database, search index and file-store size.'
            'config:Show chatd'\''s configuration.'
            'log-level:Show or set chatd'\''s log level at once (until the next reload or restart).'
            'file:Inspect the file store and collect garbage.'
            'retention:Message retention: per-conversation settings and purges.'
            'registration-token:Tokens that let people register while accounts.registration_open is false.'
            'push:Devices'\'' push targets (notifications to offline devices).'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        status|health|reload|user|room|device|sessions|broadcast|audit|backup|stats|config|log-level|file|retention|registration-token|push|help)
            "_chatctl_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_status() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_health() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_reload() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_user() {
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
            'add:Create a user (password from stdin, a prompt on a terminal, or --password-file).'
            'list:List users.'
            'show:Show a user with devices and rooms.'
            'disable:Disable a user and close their connections.'
            'enable:Enable a disabled user.'
            'passwd:Set a user'\''s password; ends their device sessions unless --keep-sessions.'
            'set-role:Set a user'\''s server role.'
            'delete:Delete an account: its messages too, or with --anonymise keep them under "Deleted user".'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        add|list|show|disable|enable|passwd|set-role|delete)
            "_chatctl_user_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_user_add() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':username:'
        '--password[The password, on the command line\: other users can see it in the process list. Needs --insecure-password-arg.]:password:'
        '--insecure-password-arg[Allow --password.]'
        '--password-file[Read the password from the first line of this file.]:file:'
        '--display-name:display-name:'
        '--email:email:'
        '--role[user or admin]:role:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_user_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--prefix[Only usernames starting with this.]:prefix:'
        '--disabled[Only disabled users.]'
        '--role[Only this role (user or admin).]:role:'
        '--after[Users after this id.]:after:'
        '--limit[At most this many (max 1000).]:limit:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_user_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':user:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_user_disable() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':user:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_user_enable() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':user:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_user_passwd() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':user:'
        '--password[The password, on the command line\: other users can see it in the process list. Needs --insecure-password-arg.]:password:'
        '--insecure-password-arg[Allow --password.]'
        '--password-file[Read the password from the first line of this file.]:file:'
        '--keep-sessions'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_user_set-role() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':user:'
        ':role:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_user_delete() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':user:'
        '--anonymise[Keep the messages, attributed to the deleted account.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room() {
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
            'list:List rooms (public and private).'
            'show:Show a room (by id or name) with its members.'
            'create:Create a public room (default), a private room (--private) or a group (--group).'
            'delete:Delete a room, group or direct chat (by id or room name) with all its messages.'
            'members:List a room'\''s members.'
            'add-member:Add a user to a room or group (MEMBER_ADDED by the server).'
            'remove-member:Remove a member (MEMBER_KICKED by the server; an owner hands over).'
            'set-role:Set a member'\''s role: member, admin, or owner (the previous owner becomes admin).'
            'ban:Ban a user from a room or group (removing them if they are a member).'
            'unban:Lift a ban (the user is not re-added).'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|show|create|delete|members|add-member|remove-member|set-role|ban|unban)
            "_chatctl_room_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_room_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--after:after:'
        '--limit:limit:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':room:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room_create() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':name:'
        '--description:description:'
        '--private[A private room.]'
        '--group[A private group (names need not be unique).]'
        '--owner[The owner (a member from the start).]:owner:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room_delete() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':room:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room_members() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':room:'
        '--after[Members after this user id.]:after:'
        '--limit[At most this many (max 1000).]:limit:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room_add-member() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':room:'
        ':user:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room_remove-member() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':room:'
        ':user:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room_set-role() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':room:'
        ':user:'
        ':role:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room_ban() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':room:'
        ':user:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_room_unban() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':room:'
        ':user:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_device() {
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
            'list:List devices, all or one user'\''s.'
            'revoke:Revoke a user'\''s device: its token ends and its connections close at once.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|revoke)
            "_chatctl_device_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_device_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--user[Only this user'\''s devices.]:user:'
        '--include-revoked[Include revoked devices.]'
        '--limit[At most this many devices (0\: 1000; at most 10000).]:limit:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_device_revoke() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':user:'
        ':device-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_sessions() {
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
            'list:Open client connections: user, device, address, since; with several nodes, every node'\''s.'
            'kick:Close connections with Goodbye KICKED: by connection id, or all of a user'\''s or a device'\''s.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|kick)
            "_chatctl_sessions_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_sessions_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--user[Only this user'\''s connections.]:user:'
        '--authenticated[Leave out connections that have not logged in.]'
        '--after[Connections after this connection id.]:after:'
        '--after-node[With --after\: the node of that connection (several nodes).]:after-node:'
        '--limit[At most this many (max 10000).]:limit:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_sessions_kick() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--connection[The connection id (see sessions list).]:connection:'
        '--node[With --connection\: the node it is on (several nodes; see sessions list).]:node:'
        '--user[Every connection of this user.]:user:'
        '--device[With --user\: only this device'\''s connections.]:device:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_broadcast() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--room[A room or group (id or room name).]:room:'
        '--everyone[Every account that is not disabled.]'
        '--id[Idempotency key for --room\: a retry with the same id is not sent twice.]:id:'
        ':text:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_audit() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--user[Rows about this user.]:user:'
        '--action[Only this action (e.g. login_failed, admin_user_add).]:action:'
        '--since[From this TIME on.]:since:'
        '--until[Before this TIME.]:until:'
        '--before[Rows older than this id (the next page).]:before:'
        '--limit[At most this many (max 1000).]:limit:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_backup() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--verify[Check the backup at PATH instead of writing one (locally; chatd need not run).]'
        ':path:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_stats() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_config() {
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
            'show:The values in force (file, reloads and log-level applied); secrets redacted.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        show)
            "_chatctl_config_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_config_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--changed[Only keys that differ from their default.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_log-level() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':level:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_file() {
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
            'stats:File counts, bytes and the users using the most.'
            'gc:Remove expired uploads, unreferenced files past their grace time, unused contents and strays now.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        stats|gc)
            "_chatctl_file_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_file_stats() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--top[How many users to list (at most 1000).]:top:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_file_gc() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_retention() {
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
            'set:Give a conversation its own retention: DAYS, '\''forever'\'', or '\''default'\'' (retention.default_days).'
            'purge:Remove expired messages and events now.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        set|purge)
            "_chatctl_retention_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_retention_set() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':room:'
        ':retention:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_retention_purge() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_registration-token() {
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
            'create:Create a registration token; it is shown once.'
            'list:List registration tokens (never the tokens themselves).'
            'revoke:Revoke a registration token by its id.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        create|list|revoke)
            "_chatctl_registration-token_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_registration-token_create() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--uses[Accounts it may register (1-1000000).]:uses:'
        '--expires[When it stops working (default\: never).]:expires:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_registration-token_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        '--all[Also those revoked, expired or used up.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_registration-token_revoke() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_push() {
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
            'list:List push targets, without the secret part of endpoints and pushkeys, and this node'\''s queue.'
            'remove:Remove a device'\''s push target.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|remove)
            "_chatctl_push_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_chatctl_push_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':user:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_push_remove() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[Path of chatd'\''s control socket (else $CHATD_SOCKET, else --config'\''s).]:socket:'
        '--config[chatd'\''s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).]:config:'
        '--json[Print JSON\: the response message in protobuf'\''s JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included\: 0, "", false, \[\], {}, null for an absent message); keys sorted.]'
        ':user:'
        ':device:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_chatctl_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _chatctl ]]; then
    _chatctl "${@}"
else
    compdef _chatctl chatctl
fi
