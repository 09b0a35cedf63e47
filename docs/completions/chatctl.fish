function __chatctl_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __chatctl_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __chatctl_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __chatctl_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __chatctl_parse_tokens -S
    set -l unparsed_tokens (__chatctl_tokens -pc)
    switch $unparsed_tokens[1]
    case 'chatctl'
        __chatctl_parse_subcommand 0 'h/help'
        switch $unparsed_tokens[1]
        case 'status'
            __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'h/help'
        case 'health'
            __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'h/help'
        case 'reload'
            __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'h/help'
        case 'user'
            __chatctl_parse_subcommand 0 'h/help'
            switch $unparsed_tokens[1]
            case 'add'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'password=' 'insecure-password-arg' 'password-file=' 'display-name=' 'email=' 'role=' 'h/help'
            case 'list'
                __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'prefix=' 'disabled' 'role=' 'after=' 'limit=' 'h/help'
            case 'show'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'h/help'
            case 'disable'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'h/help'
            case 'enable'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'h/help'
            case 'passwd'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'password=' 'insecure-password-arg' 'password-file=' 'keep-sessions' 'h/help'
            case 'set-role'
                __chatctl_parse_subcommand 2 'socket=' 'config=' 'json' 'h/help'
            case 'delete'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'anonymise' 'h/help'
            end
        case 'room'
            __chatctl_parse_subcommand 0 'h/help'
            switch $unparsed_tokens[1]
            case 'list'
                __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'after=' 'limit=' 'h/help'
            case 'show'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'h/help'
            case 'create'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'description=' 'private' 'group' 'owner=' 'h/help'
            case 'delete'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'h/help'
            case 'members'
                __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'after=' 'limit=' 'h/help'
            case 'add-member'
                __chatctl_parse_subcommand 2 'socket=' 'config=' 'json' 'h/help'
            case 'remove-member'
                __chatctl_parse_subcommand 2 'socket=' 'config=' 'json' 'h/help'
            case 'set-role'
                __chatctl_parse_subcommand 3 'socket=' 'config=' 'json' 'h/help'
            case 'ban'
                __chatctl_parse_subcommand 2 'socket=' 'config=' 'json' 'h/help'
            case 'unban'
                __chatctl_parse_subcommand 2 'socket=' 'config=' 'json' 'h/help'
            end
        case 'device'
            __chatctl_parse_subcommand 0 'h/help'
            switch $unparsed_tokens[1]
            case 'list'
                __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'user=' 'include-revoked' 'h/help'
            case 'revoke'
                __chatctl_parse_subcommand 2 'socket=' 'config=' 'json' 'h/help'
            end
        case 'sessions'
            __chatctl_parse_subcommand 0 'h/help'
            switch $unparsed_tokens[1]
            case 'list'
                __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'user=' 'authenticated' 'after=' 'limit=' 'h/help'
            case 'kick'
                __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'connection=' 'user=' 'device=' 'h/help'
            end
        case 'broadcast'
            __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'room=' 'everyone' 'id=' 'h/help'
        case 'audit'
            __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'user=' 'action=' 'since=' 'until=' 'before=' 'limit=' 'h/help'
        case 'backup'
            __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'verify' 'h/help'
        case 'stats'
            __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'h/help'
        case 'config'
            __chatctl_parse_subcommand 0 'h/help'
            switch $unparsed_tokens[1]
            case 'show'
                __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'changed' 'h/help'
            end
        case 'log-level'
            __chatctl_parse_subcommand 1 'socket=' 'config=' 'json' 'h/help'
        case 'file'
            __chatctl_parse_subcommand 0 'h/help'
            switch $unparsed_tokens[1]
            case 'stats'
                __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'top=' 'h/help'
            case 'gc'
                __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'h/help'
            end
        case 'retention'
            __chatctl_parse_subcommand 0 'h/help'
            switch $unparsed_tokens[1]
            case 'set'
                __chatctl_parse_subcommand 2 'socket=' 'config=' 'json' 'h/help'
            case 'purge'
                __chatctl_parse_subcommand 0 'socket=' 'config=' 'json' 'h/help'
            end
        case 'help'
            __chatctl_parse_subcommand -r 1 
        end
    end
end

function __chatctl_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __chatctl_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __chatctl_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __chatctl_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__chatctl_tokens -p)
    if test -z "$(__chatctl_tokens -t)"
        set -l index (count (__chatctl_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'chatctl' -f
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'status' -d 'Version, uptime, connections, users, rooms, database size.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'health' -d 'Exit 0 when chatd answers and can write its database (for scripts and monitors).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'reload' -d 'Re-read chatd\'s config file and apply the reloadable keys (like SIGHUP).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'user' -d 'Manage user accounts.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'room' -d 'Inspect and administer rooms and groups.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'device' -d 'Inspect and revoke devices.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'sessions' -d 'List and kick live client connections.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'broadcast' -d 'Send a system message to one room or group, or a system notice to everyone.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'audit' -d 'Query the audit log (logins, device changes, admin actions), newest first.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'backup' -d 'Back up the database, token key and file store while chatd runs; or check a backup (--verify).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'stats' -d 'Load: connections, messages per second, queue depths, database and file-store size.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'config' -d 'Show chatd\'s configuration.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'log-level' -d 'Show or set chatd\'s log level at once (until the next reload or restart).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'file' -d 'Inspect the file store and collect garbage.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'retention' -d 'Message retention: per-conversation settings and purges.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl status" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl status" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl status" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl health" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl health" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl health" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl health" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl reload" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl reload" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl reload" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl reload" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl user" -eq 1' -fa 'add' -d 'Create a user (password from stdin, a prompt on a terminal, or --password-file).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl user" -eq 1' -fa 'list' -d 'List users.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl user" -eq 1' -fa 'show' -d 'Show a user with devices and rooms.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl user" -eq 1' -fa 'disable' -d 'Disable a user and close their connections.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl user" -eq 1' -fa 'enable' -d 'Enable a disabled user.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl user" -eq 1' -fa 'passwd' -d 'Set a user\'s password; ends their device sessions unless --keep-sessions.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl user" -eq 1' -fa 'set-role' -d 'Set a user\'s server role.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl user" -eq 1' -fa 'delete' -d 'Delete an account: its messages too, or with --anonymise keep them under "Deleted user".'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" password' -l 'password' -d 'The password, on the command line: other users can see it in the process list. Needs --insecure-password-arg.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" insecure-password-arg' -l 'insecure-password-arg' -d 'Allow --password.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" password-file' -l 'password-file' -d 'Read the password from the first line of this file.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" display-name' -l 'display-name' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" email' -l 'email' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" role' -l 'role' -d 'user or admin' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user add" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user list" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user list" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user list" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user list" prefix' -l 'prefix' -d 'Only usernames starting with this.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user list" disabled' -l 'disabled' -d 'Only disabled users.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user list" role' -l 'role' -d 'Only this role (user or admin).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user list" after' -l 'after' -d 'Users after this id.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user list" limit' -l 'limit' -d 'At most this many (max 1000).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user show" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user show" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user show" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user disable" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user disable" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user disable" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user disable" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user enable" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user enable" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user enable" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user enable" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user passwd" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user passwd" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user passwd" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user passwd" password' -l 'password' -d 'The password, on the command line: other users can see it in the process list. Needs --insecure-password-arg.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user passwd" insecure-password-arg' -l 'insecure-password-arg' -d 'Allow --password.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user passwd" password-file' -l 'password-file' -d 'Read the password from the first line of this file.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user passwd" keep-sessions' -l 'keep-sessions'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user passwd" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user set-role" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user set-role" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user set-role" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user set-role" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user delete" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user delete" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user delete" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user delete" anonymise' -l 'anonymise' -d 'Keep the messages, attributed to the deleted account.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl user delete" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'list' -d 'List rooms (public and private).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'show' -d 'Show a room (by id or name) with its members.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'create' -d 'Create a public room (default), a private room (--private) or a group (--group).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'delete' -d 'Delete a room, group or direct chat (by id or room name) with all its messages.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'members' -d 'List a room\'s members.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'add-member' -d 'Add a user to a room or group (MEMBER_ADDED by the server).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'remove-member' -d 'Remove a member (MEMBER_KICKED by the server; an owner hands over).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'set-role' -d 'Set a member\'s role: member, admin, or owner (the previous owner becomes admin).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'ban' -d 'Ban a user from a room or group (removing them if they are a member).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl room" -eq 1' -fa 'unban' -d 'Lift a ban (the user is not re-added).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room list" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room list" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room list" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room list" after' -l 'after' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room list" limit' -l 'limit' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room show" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room show" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room show" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room create" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room create" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room create" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room create" description' -l 'description' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room create" private' -l 'private' -d 'A private room.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room create" group' -l 'group' -d 'A private group (names need not be unique).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room create" owner' -l 'owner' -d 'The owner (a member from the start).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room delete" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room delete" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room delete" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room delete" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room members" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room members" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room members" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room members" after' -l 'after' -d 'Members after this user id.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room members" limit' -l 'limit' -d 'At most this many (max 1000).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room members" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room add-member" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room add-member" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room add-member" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room add-member" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room remove-member" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room remove-member" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room remove-member" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room remove-member" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room set-role" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room set-role" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room set-role" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room set-role" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room ban" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room ban" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room ban" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room ban" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room unban" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room unban" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room unban" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl room unban" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl device" -eq 1' -fa 'list' -d 'List devices, all or one user\'s.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl device" -eq 1' -fa 'revoke' -d 'Revoke a user\'s device: its token ends and its connections close at once.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device list" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device list" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device list" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device list" user' -l 'user' -d 'Only this user\'s devices.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device list" include-revoked' -l 'include-revoked' -d 'Include revoked devices.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device revoke" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device revoke" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device revoke" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl device revoke" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl sessions" -eq 1' -fa 'list' -d 'Open client connections: user, device, address, since.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl sessions" -eq 1' -fa 'kick' -d 'Close connections with Goodbye KICKED: by connection id, or all of a user\'s or a device\'s.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions list" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions list" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions list" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions list" user' -l 'user' -d 'Only this user\'s connections.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions list" authenticated' -l 'authenticated' -d 'Leave out connections that have not logged in.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions list" after' -l 'after' -d 'Connections after this connection id.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions list" limit' -l 'limit' -d 'At most this many (max 10000).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions kick" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions kick" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions kick" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions kick" connection' -l 'connection' -d 'The connection id (see sessions list).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions kick" user' -l 'user' -d 'Every connection of this user.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions kick" device' -l 'device' -d 'With --user: only this device\'s connections.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl sessions kick" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl broadcast" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl broadcast" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl broadcast" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl broadcast" room' -l 'room' -d 'A room or group (id or room name).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl broadcast" everyone' -l 'everyone' -d 'Every account that is not disabled.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl broadcast" id' -l 'id' -d 'Idempotency key for --room: a retry with the same id is not sent twice.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl broadcast" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" user' -l 'user' -d 'Rows about this user.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" action' -l 'action' -d 'Only this action (e.g. login_failed, admin_user_add).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" since' -l 'since' -d 'From this TIME on.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" until' -l 'until' -d 'Before this TIME.' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" before' -l 'before' -d 'Rows older than this id (the next page).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" limit' -l 'limit' -d 'At most this many (max 1000).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl audit" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl backup" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl backup" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl backup" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl backup" verify' -l 'verify' -d 'Check the backup at PATH instead of writing one (locally; chatd need not run).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl backup" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl stats" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl stats" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl stats" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl stats" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl config" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl config" -eq 1' -fa 'show' -d 'The values in force (file, reloads and log-level applied); secrets redacted.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl config show" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl config show" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl config show" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl config show" changed' -l 'changed' -d 'Only keys that differ from their default.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl config show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl log-level" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl log-level" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl log-level" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl log-level" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl file" -eq 1' -fa 'stats' -d 'File counts, bytes and the users using the most.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl file" -eq 1' -fa 'gc' -d 'Remove expired uploads, unreferenced files past their grace time, unused contents and strays now.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file stats" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file stats" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file stats" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file stats" top' -l 'top' -d 'How many users to list (at most 1000).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file stats" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file gc" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file gc" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file gc" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl file gc" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl retention" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl retention" -eq 1' -fa 'set' -d 'Give a conversation its own retention: DAYS, \'forever\', or \'default\' (retention.default_days).'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_positional "chatctl retention" -eq 1' -fa 'purge' -d 'Remove expired messages and events now.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl retention set" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl retention set" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl retention set" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl retention set" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl retention purge" socket' -l 'socket' -d 'Path of chatd\'s control socket (else $CHATD_SOCKET, else --config\'s).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl retention purge" config' -l 'config' -d 'chatd\'s config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).' -rfka ''
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl retention purge" json' -l 'json' -d 'Print JSON: the response message in protobuf\'s JSON mapping, with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and fields at their default (0, false, empty) left out.'
complete -c 'chatctl' -n '__chatctl_should_offer_completions_for_flags_or_options "chatctl retention purge" h help' -s 'h' -l 'help' -d 'Show help information.'
