# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_artifact_global_optspecs
    string join \n color= max-decompressed= remote-timeout= stats h/help V/version
end

function __fish_artifact_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_artifact_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_artifact_using_subcommand
    set -l cmd (__fish_artifact_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c artifact -n "__fish_artifact_needs_command" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_needs_command" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_needs_command" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_needs_command" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_needs_command" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "inspect" -d 'Show what is inside an artifact: container, estimators, settings, arrays, globals.'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "dis" -d 'List the opcodes of an artifact, like Python\'s pickletools.dis, including joblib arrays and nested streams.'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "check" -d 'The CI gate: check artifacts and folders against the rules.'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "patch" -d 'Rewrite settings in the byte stream, without executing the artifact.'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "verify" -d 'Prove a repair: load both artifacts in isolated Python children, compare outputs on a sample, and measure what each costs at runtime.'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "diff" -d 'What differs between two artifacts, as settings and objects, not bytes.'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "rule" -d 'Show a rule\'s documentation, or list every rule.'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "init" -d 'Write a commented starter artifact.toml in the current folder'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, powershell, elvish) to standard output'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "man" -d 'Write the man pages (artifact.1, and artifact-COMMAND.1 for each command) into a folder'
complete -c artifact -n "__fish_artifact_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -l format -d 'Output format' -r -f -a "human\t'Tables and trees for people'
json\t'Machine-readable JSON (see docs/json.md for the schema)'"
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -l all-arrays -d 'Also list every array (human output shows only the largest)'
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -l all-settings -d 'Also list settings whose value is None (human output hides them; JSON always has them)'
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -l all -d 'List everything: every estimator (a forest\'s trees are otherwise one line, `30 x DecisionTreeClassifier`), every setting and every array'
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand dis" -l format -d 'Output format: human listing, or JSON Lines (one object per opcode)' -r -f -a "human\t'Tables and trees for people'
json\t'Machine-readable JSON (see docs/json.md for the schema)'"
complete -c artifact -n "__fish_artifact_using_subcommand dis" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand dis" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand dis" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand dis" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand dis" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand dis" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand check" -l select -d 'Rules to run: codes or prefixes, comma-separated (PAR001, PAR, ALL)' -r
complete -c artifact -n "__fish_artifact_using_subcommand check" -l ignore -d 'Rules to skip: codes or prefixes, comma-separated' -r
complete -c artifact -n "__fish_artifact_using_subcommand check" -l fail-on -d 'The lowest severity that fails the gate [default: warning]' -r -f -a "error\t''
warning\t''
info\t''"
complete -c artifact -n "__fish_artifact_using_subcommand check" -l format -d 'Output format' -r -f -a "human\t'One line per finding, and a summary'
json\t'One JSON document (schema: docs/check.schema.json)'
sarif\t'SARIF 2.1.0, for GitHub code scanning and other viewers'
github\t'GitHub Actions workflow commands (annotations on the run)'
junit\t'JUnit XML (GitLab, Jenkins, Azure Pipelines): a test suite per artifact, a failing test case per finding at or above --fail-on'
gitlab\t'GitLab Code Quality (the Code Climate issue list a job\'s `reports:codequality` takes)'
json-lines\t'One JSON object per line: each artifact\'s findings, each unreadable or skipped file, then the summary (schema: docs/check-lines.schema.json)'"
complete -c artifact -n "__fish_artifact_using_subcommand check" -l exclude -d 'Leave out files and folders matching a glob (`**/data/*.csv`, `*.parquet`); matched against the path as given and found. Repeatable; counted in the summary' -r
complete -c artifact -n "__fish_artifact_using_subcommand check" -l target -d 'A library version the serving environment runs, for VER001 (sklearn==1.9)' -r
complete -c artifact -n "__fish_artifact_using_subcommand check" -l memory-budget -d 'MEM001\'s budget for all arrays together ("4 GiB")' -r
complete -c artifact -n "__fish_artifact_using_subcommand check" -l config -d 'Use this configuration file instead of searching for one' -r -F
complete -c artifact -n "__fish_artifact_using_subcommand check" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand check" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand check" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand check" -l exit-zero -d 'Exit 0 even with findings (errors reading files still exit 2)'
complete -c artifact -n "__fish_artifact_using_subcommand check" -l strict -d 'Globals not on the allowlist are errors even from your own modules (SEC003)'
complete -c artifact -n "__fish_artifact_using_subcommand check" -l isolated -d 'Ignore configuration files'
complete -c artifact -n "__fish_artifact_using_subcommand check" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand check" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l set -d 'A setting and its new value: a bare attribute (n_jobs: everywhere it is set), a sklearn path (preprocessor__n_jobs, xgboost__booster.nthread) or a raw path. VALUE is null, true, false, a number or a quoted string. Repeatable' -r
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l jobs -d 'With --fix: an explicit thread count instead of the library default (--jobs 1)' -r
complete -c artifact -n "__fish_artifact_using_subcommand patch" -s o -l output -d 'Where to write (`-`: standard output, the edit table then goes to standard error) [default: NAME.patched.EXT beside the input]' -r -F
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l verify -d 'After writing, verify the output against the input on this sample (see `artifact verify`; its --python, --rows, --tolerance and --trust apply)' -r -F
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l data -d 'Sample data: CSV (with a header), Parquet, or .npy' -r -F
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l python -d 'The Python to run [default: ARTIFACT_PYTHON, $VIRTUAL_ENV/bin/python, python3]' -r -F
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l rows -d 'Use only the first N rows of the sample (0: all)' -r
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l tolerance -d 'Accept float differences up to T (absolute or relative); labels must still match' -r
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l timeout -d 'Kill a child (with its whole process tree) after this many seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l memory-limit -d 'Address-space limit for each child ("8 GiB")' -r
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l repeat -d 'Runs of the unpinned runtime profile per artifact: memory, processes, threads and seconds are reported as the median, with the spread (min-max) beside it' -r
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l format -d 'Output format of the report' -r -f -a "human\t'Tables and trees for people'
json\t'Machine-readable JSON (see docs/json.md for the schema)'"
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l fix -d 'Apply every autofix the rules offer (n_jobs to None, XGBoost\'s booster threads to "0", KMeans\' _n_threads to 1, GPU settings to their CPU values)'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l in-place -d 'Replace the input (a NAME.EXT.bak hard link keeps the original unless --no-backup)'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l no-backup -d 'With --in-place: keep no backup'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l force -d 'Overwrite an existing output (or backup) file'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l dry-run -d 'Print the edits without writing anything'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l all-or-nothing -d 'Write nothing unless every edit can be made. Without it, an edit that cannot be made (a booster spelled in a form the patcher cannot rewrite) is reported, the others are written, and the exit code is 1'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l trust -d 'Run artifacts even when the static scan has security findings'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand patch" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l data -d 'Sample data: CSV (with a header), Parquet, or .npy' -r -F
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l python -d 'The Python to run [default: ARTIFACT_PYTHON, $VIRTUAL_ENV/bin/python, python3]' -r -F
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l rows -d 'Use only the first N rows of the sample (0: all)' -r
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l tolerance -d 'Accept float differences up to T (absolute or relative); labels must still match' -r
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l timeout -d 'Kill a child (with its whole process tree) after this many seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l memory-limit -d 'Address-space limit for each child ("8 GiB")' -r
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l repeat -d 'Runs of the unpinned runtime profile per artifact: memory, processes, threads and seconds are reported as the median, with the spread (min-max) beside it' -r
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l format -d 'Output format' -r -f -a "human\t'Tables and trees for people'
json\t'Machine-readable JSON (see docs/json.md for the schema)'"
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l trust -d 'Run artifacts even when the static scan has security findings'
complete -c artifact -n "__fish_artifact_using_subcommand verify" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand verify" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand diff" -l format -d 'Output format' -r -f -a "human\t'Tables and trees for people'
json\t'Machine-readable JSON (see docs/json.md for the schema)'"
complete -c artifact -n "__fish_artifact_using_subcommand diff" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand diff" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand diff" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand diff" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand diff" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand rule" -l format -d 'Output format' -r -f -a "human\t'Tables and trees for people'
json\t'Machine-readable JSON (see docs/json.md for the schema)'"
complete -c artifact -n "__fish_artifact_using_subcommand rule" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand rule" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand rule" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand rule" -l all -d 'List every rule'
complete -c artifact -n "__fish_artifact_using_subcommand rule" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand rule" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand rule" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand init" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand init" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand init" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand init" -l force -d 'Overwrite an existing artifact.toml'
complete -c artifact -n "__fish_artifact_using_subcommand init" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand init" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand completions" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand completions" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand completions" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand completions" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand completions" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand man" -l dir -d 'The folder to write the pages into (created if missing)' -r -F
complete -c artifact -n "__fish_artifact_using_subcommand man" -l color -d 'When to use colour in human output' -r -f -a "auto\t'Colour when standard output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c artifact -n "__fish_artifact_using_subcommand man" -l max-decompressed -d 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk' -r
complete -c artifact -n "__fish_artifact_using_subcommand man" -l remote-timeout -d 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds' -r
complete -c artifact -n "__fish_artifact_using_subcommand man" -l stats -d 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)'
complete -c artifact -n "__fish_artifact_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c artifact -n "__fish_artifact_using_subcommand man" -s V -l version -d 'Print version'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "inspect" -d 'Show what is inside an artifact: container, estimators, settings, arrays, globals.'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "dis" -d 'List the opcodes of an artifact, like Python\'s pickletools.dis, including joblib arrays and nested streams.'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "check" -d 'The CI gate: check artifacts and folders against the rules.'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "patch" -d 'Rewrite settings in the byte stream, without executing the artifact.'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "verify" -d 'Prove a repair: load both artifacts in isolated Python children, compare outputs on a sample, and measure what each costs at runtime.'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "diff" -d 'What differs between two artifacts, as settings and objects, not bytes.'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "rule" -d 'Show a rule\'s documentation, or list every rule.'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "init" -d 'Write a commented starter artifact.toml in the current folder'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, powershell, elvish) to standard output'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "man" -d 'Write the man pages (artifact.1, and artifact-COMMAND.1 for each command) into a folder'
complete -c artifact -n "__fish_artifact_using_subcommand help; and not __fish_seen_subcommand_from inspect dis check patch verify diff rule init completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
