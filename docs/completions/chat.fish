function __chat_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __chat_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __chat_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __chat_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __chat_parse_tokens -S
    set -l unparsed_tokens (__chat_tokens -pc)
    switch $unparsed_tokens[1]
    case 'chat'
        __chat_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'register'
            __chat_parse_subcommand 1 'server=' 'tls' 'ca=' 'cert=' 'key=' 'password=' 'display-name=' 'version' 'h/help'
        case 'login'
            __chat_parse_subcommand 1 'server=' 'tls' 'ca=' 'cert=' 'key=' 'password=' 'version' 'h/help'
        case 'logout'
            __chat_parse_subcommand 0 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'whoami'
            __chat_parse_subcommand 0 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'conversations'
            __chat_parse_subcommand 0 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'rooms'
            __chat_parse_subcommand 0 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'create-room'
            __chat_parse_subcommand 1 'server=' 'tls' 'ca=' 'cert=' 'key=' 'description=' 'private' 'version' 'h/help'
        case 'join'
            __chat_parse_subcommand 1 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'dm'
            __chat_parse_subcommand 1 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'send'
            __chat_parse_subcommand -r 2 'server=' 'tls' 'ca=' 'cert=' 'key=' 'reply-to=' 'version' 'h/help'
        case 'send-file'
            __chat_parse_subcommand 2 'server=' 'tls' 'ca=' 'cert=' 'key=' 'type=' 'caption=' 'version' 'h/help'
        case 'download'
            __chat_parse_subcommand 2 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'search'
            __chat_parse_subcommand -r 1 'server=' 'tls' 'ca=' 'cert=' 'key=' 'in=' 'rank' 'limit=' 'version' 'h/help'
        case 'history'
            __chat_parse_subcommand 1 'server=' 'tls' 'ca=' 'cert=' 'key=' 'limit=' 'before=' 'version' 'h/help'
        case 'friends'
            __chat_parse_subcommand 0 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'friend'
            __chat_parse_subcommand 2 'server=' 'tls' 'ca=' 'cert=' 'key=' 'version' 'h/help'
        case 'tail'
            __chat_parse_subcommand 0 'server=' 'tls' 'ca=' 'cert=' 'key=' 'count=' 'seconds=' 'version' 'h/help'
        case 'help'
            __chat_parse_subcommand -r 1 'version'
        end
    end
end

function __chat_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __chat_parse_subcommand -S -a positional_count
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

function __chat_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __chat_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__chat_tokens -p)
    if test -z "$(__chat_tokens -t)"
        set -l index (count (__chat_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'chat' -f
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'register' -d 'Create an account and log in.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'login' -d 'Log in and keep the session.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'logout' -d 'End this device\'s session.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'whoami' -d 'Show the logged-in user.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'conversations' -d 'Your conversations, newest activity first, with unread counts.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'rooms' -d 'Public rooms.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'create-room' -d 'Create a room.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'join' -d 'Join a public room (id or #name).'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'dm' -d 'Open the direct chat with a user.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'send' -d 'Send a message.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'send-file' -d 'Upload a file and send it (as an image when it is one). Run again to resume an interrupted upload.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'download' -d 'Download a file by its id (checks its BLAKE2b-256).'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'search' -d 'Search messages: words, "phrases", pre*, a OR b, -word.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'history' -d 'Show recent events of a conversation.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'friends' -d 'Friends with presence, and pending requests.'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'friend' -d 'add | accept | decline | cancel | remove | block | unblock USER'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'tail' -d 'Print live events as they arrive (Ctrl-C to stop).'
complete -c 'chat' -n '__chat_should_offer_completions_for_positional "chat" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat register" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat register" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat register" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat register" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat register" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat register" password' -l 'password' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat register" display-name' -l 'display-name' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat register" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat register" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat login" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat login" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat login" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat login" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat login" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat login" password' -l 'password' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat login" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat login" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat logout" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat logout" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat logout" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat logout" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat logout" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat logout" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat logout" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat whoami" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat whoami" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat whoami" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat whoami" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat whoami" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat whoami" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat whoami" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat conversations" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat conversations" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat conversations" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat conversations" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat conversations" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat conversations" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat conversations" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat rooms" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat rooms" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat rooms" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat rooms" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat rooms" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat rooms" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat rooms" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat create-room" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat create-room" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat create-room" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat create-room" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat create-room" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat create-room" description' -l 'description' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat create-room" private' -l 'private'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat create-room" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat create-room" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat join" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat join" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat join" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat join" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat join" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat join" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat join" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat dm" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat dm" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat dm" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat dm" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat dm" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat dm" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat dm" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send" reply-to' -l 'reply-to' -d 'Reply to this seq.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send-file" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send-file" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send-file" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send-file" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send-file" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send-file" type' -l 'type' -d 'MIME type (default: from the content, else the extension).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send-file" caption' -l 'caption' -d 'A caption.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send-file" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat send-file" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat download" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat download" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat download" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat download" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat download" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat download" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat download" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" in' -l 'in' -d 'Only this conversation (id, #room or @user).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" rank' -l 'rank' -d 'Best matches first instead of newest first.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" limit' -l 'limit' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat search" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat history" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat history" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat history" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat history" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat history" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat history" limit' -l 'limit' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat history" before' -l 'before' -d 'Events before this seq.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat history" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat history" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friends" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friends" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friends" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friends" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friends" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friends" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friends" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friend" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friend" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friend" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friend" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friend" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friend" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat friend" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat tail" server' -l 'server' -d 'chatd address host:port (default: the saved session\'s, else $CHAT_SERVER, else 127.0.0.1:7600).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat tail" tls' -l 'tls' -d 'Speak TLS (to chatd\'s tls.listen port), trusting the system\'s CAs unless --ca is given.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat tail" ca' -l 'ca' -d 'PEM file of the CA that signed the server\'s certificate (implies --tls).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat tail" cert' -l 'cert' -d 'PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat tail" key' -l 'key' -d 'PEM file of the client certificate\'s private key.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat tail" count' -l 'count' -d 'Exit after this many events.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat tail" seconds' -l 'seconds' -d 'Exit after this many seconds.' -rfka ''
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat tail" version' -l 'version' -d 'Show the version.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat tail" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chat' -n '__chat_should_offer_completions_for_flags_or_options "chat help" version' -l 'version' -d 'Show the version.'
