function __chatc_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __chatc_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __chatc_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __chatc_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __chatc_parse_tokens -S
    set -l unparsed_tokens (__chatc_tokens -pc)
    switch $unparsed_tokens[1]
    case 'chatc'
        __chatc_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'ui'
            __chatc_parse_subcommand 0 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'register'
            __chatc_parse_subcommand 1 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'password=' 'display-name=' 'version' 'h/help'
        case 'login'
            __chatc_parse_subcommand 1 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'password=' 'version' 'h/help'
        case 'logout'
            __chatc_parse_subcommand 0 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'whoami'
            __chatc_parse_subcommand 0 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'conversations'
            __chatc_parse_subcommand 0 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'rooms'
            __chatc_parse_subcommand 0 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'create-room'
            __chatc_parse_subcommand 1 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'description=' 'private' 'version' 'h/help'
        case 'join'
            __chatc_parse_subcommand 1 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'dm'
            __chatc_parse_subcommand 1 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'send'
            __chatc_parse_subcommand -r 2 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'reply-to=' 'version' 'h/help'
        case 'send-file'
            __chatc_parse_subcommand 2 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'type=' 'caption=' 'version' 'h/help'
        case 'download'
            __chatc_parse_subcommand 2 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'force' 'version' 'h/help'
        case 'search'
            __chatc_parse_subcommand -r 1 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'in=' 'rank' 'limit=' 'version' 'h/help'
        case 'history'
            __chatc_parse_subcommand 1 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'limit=' 'before=' 'version' 'h/help'
        case 'friends'
            __chatc_parse_subcommand 0 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'friend'
            __chatc_parse_subcommand 2 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'tail'
            __chatc_parse_subcommand 0 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'count=' 'seconds=' 'version' 'h/help'
        case 'edit'
            __chatc_parse_subcommand -r 3 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'delete'
            __chatc_parse_subcommand 2 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'react'
            __chatc_parse_subcommand 3 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'remove' 'version' 'h/help'
        case 'leave'
            __chatc_parse_subcommand 1 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'members'
            __chatc_parse_subcommand 1 'profile=' 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'help'
            __chatc_parse_subcommand -r 1 'version'
        end
    end
end

function __chatc_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __chatc_parse_subcommand -S -a positional_count
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

function __chatc_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __chatc_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__chatc_tokens -p)
    if test -z "$(__chatc_tokens -t)"
        set -l index (count (__chatc_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'chatc' -f
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'ui' -d 'The interactive client (what `chatc` with no command runs).'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'register' -d 'Create an account and log in.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'login' -d 'Log in and keep the session.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'logout' -d 'End this device\'s session.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'whoami' -d 'Show the logged-in user.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'conversations' -d 'Your conversations, newest activity first, with unread counts.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'rooms' -d 'Public rooms.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'create-room' -d 'Create a room.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'join' -d 'Join a public room (id or #name).'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'dm' -d 'Open the direct chat with a user.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'send' -d 'Send a message.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'send-file' -d 'Upload a file and send it (as an image when it is one). Run again to resume an interrupted upload.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'download' -d 'Download a file by its id (checks its BLAKE2b-256).'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'search' -d 'Search messages: words, "phrases", pre*, a OR b, -word.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'history' -d 'Show recent events of a conversation.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'friends' -d 'Friends with presence, and pending requests.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'friend' -d 'add | accept | decline | cancel | remove | block | unblock USER'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'tail' -d 'Print live events as they arrive (Ctrl-C to stop); reconnects when the server goes away.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'edit' -d 'Change the text of one of your messages.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'delete' -d 'Delete one of your messages (or any, as a moderator).'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'react' -d 'Add (or with --remove take back) a reaction to a message.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'leave' -d 'Leave a room or group.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'members' -d 'The members of a conversation, with their roles.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_positional "chatc" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc ui" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc ui" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc ui" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc ui" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc ui" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc ui" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc ui" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc ui" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" password' -l 'password' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" display-name' -l 'display-name' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc register" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc login" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc login" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc login" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc login" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc login" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc login" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc login" password' -l 'password' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc login" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc login" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc logout" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc logout" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc logout" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc logout" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc logout" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc logout" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc logout" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc logout" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc whoami" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc whoami" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc whoami" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc whoami" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc whoami" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc whoami" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc whoami" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc whoami" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc conversations" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc conversations" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc conversations" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc conversations" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc conversations" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc conversations" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc conversations" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc conversations" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc rooms" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc rooms" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc rooms" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc rooms" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc rooms" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc rooms" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc rooms" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc rooms" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" description' -l 'description' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" private' -l 'private'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc create-room" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc join" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc join" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc join" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc join" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc join" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc join" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc join" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc join" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc dm" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc dm" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc dm" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc dm" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc dm" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc dm" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc dm" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc dm" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send" reply-to' -l 'reply-to' -d 'Reply to this seq.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" type' -l 'type' -d 'MIME type (default: from the content, else the extension).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" caption' -l 'caption' -d 'A caption.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc send-file" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc download" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc download" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc download" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc download" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc download" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc download" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc download" force' -l 'force' -d 'Overwrite the file when it exists.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc download" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc download" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" in' -l 'in' -d 'Only this conversation (id, #room or @user).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" rank' -l 'rank' -d 'Best matches first instead of newest first.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" limit' -l 'limit' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc search" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" limit' -l 'limit' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" before' -l 'before' -d 'Events before this seq.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc history" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friends" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friends" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friends" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friends" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friends" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friends" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friends" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friends" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friend" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friend" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friend" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friend" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friend" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friend" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friend" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc friend" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" count' -l 'count' -d 'Exit after this many events.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" seconds' -l 'seconds' -d 'Exit after this many seconds.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc tail" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc edit" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc edit" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc edit" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc edit" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc edit" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc edit" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc edit" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc edit" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc delete" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc delete" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc delete" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc delete" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc delete" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc delete" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc delete" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc delete" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc react" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc react" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc react" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc react" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc react" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc react" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc react" remove' -l 'remove' -d 'Remove the reaction instead.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc react" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc react" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc leave" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc leave" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc leave" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc leave" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc leave" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc leave" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc leave" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc leave" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc members" profile' -l 'profile' -d 'Use this account\'s session (a name of letters, digits, \'.\', \'_\' and \'-\'; default: $CHATC_PROFILE, else the default one).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc members" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc members" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc members" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc members" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc members" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc members" version' -l 'version' -d 'Show the version.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc members" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatc' -n '__chatc_should_offer_completions_for_flags_or_options "chatc help" version' -l 'version' -d 'Show the version.'
