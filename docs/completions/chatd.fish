function __chatd_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __chatd_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __chatd_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __chatd_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __chatd_parse_tokens -S
    set -l unparsed_tokens (__chatd_tokens -pc)
    switch $unparsed_tokens[1]
    case 'chatd'
        __chatd_parse_subcommand 0 'config=' 'check-config' 'print-default-config' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'migrate'
            __chatd_parse_subcommand 0 'from-sqlite=' 'to-config=' 'version' 'h/help'
        case 'help'
            __chatd_parse_subcommand -r 1 'version'
        end
    end
end

function __chatd_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __chatd_parse_subcommand -S -a positional_count
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

function __chatd_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __chatd_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__chatd_tokens -p)
    if test -z "$(__chatd_tokens -t)"
        set -l index (count (__chatd_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'chatd' -f
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd" config' -l 'config' -d 'Path of the TOML config file.' -rfka ''
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd" check-config' -l 'check-config' -d 'Validate the config file and exit (0 when valid).'
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd" print-default-config' -l 'print-default-config' -d 'Print a config file with every key at its default, and exit.'
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd" version' -l 'version' -d 'Show the version.'
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatd' -n '__chatd_should_offer_completions_for_positional "chatd" -eq 1' -fa 'migrate' -d 'Copy a stopped chatd\'s SQLite database into an empty PostgreSQL database.'
complete -c 'chatd' -n '__chatd_should_offer_completions_for_positional "chatd" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd migrate" from-sqlite' -l 'from-sqlite' -d 'The data directory of the stopped chatd (storage.data_dir, e.g. /var/lib/chatd).' -rfka ''
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd migrate" to-config' -l 'to-config' -d 'The config file of the new nodes, naming the PostgreSQL database to copy into.' -rfka ''
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd migrate" version' -l 'version' -d 'Show the version.'
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd migrate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'chatd' -n '__chatd_should_offer_completions_for_flags_or_options "chatd help" version' -l 'version' -d 'Show the version.'
