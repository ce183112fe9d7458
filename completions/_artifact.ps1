
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'artifact' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'artifact'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'artifact' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show what is inside an artifact: container, estimators, settings, arrays, globals.')
            [CompletionResult]::new('dis', 'dis', [CompletionResultType]::ParameterValue, 'List the opcodes of an artifact, like Python''s pickletools.dis, including joblib arrays and nested streams.')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'The CI gate: check artifacts and folders against the rules.')
            [CompletionResult]::new('patch', 'patch', [CompletionResultType]::ParameterValue, 'Rewrite settings in the byte stream, without executing the artifact.')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove a repair: load both artifacts in isolated Python children, compare outputs on a sample, and measure what each costs at runtime.')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'What differs between two artifacts, as settings and objects, not bytes.')
            [CompletionResult]::new('rule', 'rule', [CompletionResultType]::ParameterValue, 'Show a rule''s documentation, or list every rule.')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented starter artifact.toml in the current folder')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, powershell, elvish) to standard output')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (artifact.1, and artifact-COMMAND.1 for each command) into a folder')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'artifact;inspect' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--all-arrays', '--all-arrays', [CompletionResultType]::ParameterName, 'Also list every array (human output shows only the largest)')
            [CompletionResult]::new('--all-settings', '--all-settings', [CompletionResultType]::ParameterName, 'Also list settings whose value is None (human output hides them; JSON always has them)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'List everything: every estimator (a forest''s trees are otherwise one line, `30 x DecisionTreeClassifier`), every setting and every array')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;dis' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: human listing, or JSON Lines (one object per opcode)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;check' {
            [CompletionResult]::new('--select', '--select', [CompletionResultType]::ParameterName, 'Rules to run: codes or prefixes, comma-separated (PAR001, PAR, ALL)')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Rules to skip: codes or prefixes, comma-separated')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'The lowest severity that fails the gate [default: warning]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files and folders matching a glob (`**/data/*.csv`, `*.parquet`); matched against the path as given and found. Repeatable; counted in the summary')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'A library version the serving environment runs, for VER001 (sklearn==1.9)')
            [CompletionResult]::new('--memory-budget', '--memory-budget', [CompletionResultType]::ParameterName, 'MEM001''s budget for all arrays together ("4 GiB")')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Use this configuration file instead of searching for one')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--exit-zero', '--exit-zero', [CompletionResultType]::ParameterName, 'Exit 0 even with findings (errors reading files still exit 2)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Globals not on the allowlist are errors even from your own modules (SEC003)')
            [CompletionResult]::new('--isolated', '--isolated', [CompletionResultType]::ParameterName, 'Ignore configuration files')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;patch' {
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'A setting and its new value: a bare attribute (n_jobs: everywhere it is set), a sklearn path (preprocessor__n_jobs, xgboost__booster.nthread) or a raw path. VALUE is null, true, false, a number or a quoted string. Repeatable')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'With --fix: an explicit thread count instead of the library default (--jobs 1)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write (`-`: standard output, the edit table then goes to standard error) [default: NAME.patched.EXT beside the input]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write (`-`: standard output, the edit table then goes to standard error) [default: NAME.patched.EXT beside the input]')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'After writing, verify the output against the input on this sample (see `artifact verify`; its --python, --rows, --tolerance and --trust apply)')
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'Sample data: CSV (with a header), Parquet, or .npy')
            [CompletionResult]::new('--python', '--python', [CompletionResultType]::ParameterName, 'The Python to run [default: ARTIFACT_PYTHON, $VIRTUAL_ENV/bin/python, python3]')
            [CompletionResult]::new('--rows', '--rows', [CompletionResultType]::ParameterName, 'Use only the first N rows of the sample (0: all)')
            [CompletionResult]::new('--tolerance', '--tolerance', [CompletionResultType]::ParameterName, 'Accept float differences up to T (absolute or relative); labels must still match')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Kill a child (with its whole process tree) after this many seconds')
            [CompletionResult]::new('--memory-limit', '--memory-limit', [CompletionResultType]::ParameterName, 'Address-space limit for each child ("8 GiB")')
            [CompletionResult]::new('--repeat', '--repeat', [CompletionResultType]::ParameterName, 'Runs of the unpinned runtime profile per artifact: memory, processes, threads and seconds are reported as the median, with the spread (min-max) beside it')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format of the report')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'Apply every autofix the rules offer (n_jobs to None, XGBoost''s booster threads to "0", KMeans'' _n_threads to 1, GPU settings to their CPU values)')
            [CompletionResult]::new('--in-place', '--in-place', [CompletionResultType]::ParameterName, 'Replace the input (a NAME.EXT.bak hard link keeps the original unless --no-backup)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'With --in-place: keep no backup')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing output (or backup) file')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the edits without writing anything')
            [CompletionResult]::new('--all-or-nothing', '--all-or-nothing', [CompletionResultType]::ParameterName, 'Write nothing unless every edit can be made. Without it, an edit that cannot be made (a booster spelled in a form the patcher cannot rewrite) is reported, the others are written, and the exit code is 1')
            [CompletionResult]::new('--trust', '--trust', [CompletionResultType]::ParameterName, 'Run artifacts even when the static scan has security findings')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;verify' {
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'Sample data: CSV (with a header), Parquet, or .npy')
            [CompletionResult]::new('--python', '--python', [CompletionResultType]::ParameterName, 'The Python to run [default: ARTIFACT_PYTHON, $VIRTUAL_ENV/bin/python, python3]')
            [CompletionResult]::new('--rows', '--rows', [CompletionResultType]::ParameterName, 'Use only the first N rows of the sample (0: all)')
            [CompletionResult]::new('--tolerance', '--tolerance', [CompletionResultType]::ParameterName, 'Accept float differences up to T (absolute or relative); labels must still match')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Kill a child (with its whole process tree) after this many seconds')
            [CompletionResult]::new('--memory-limit', '--memory-limit', [CompletionResultType]::ParameterName, 'Address-space limit for each child ("8 GiB")')
            [CompletionResult]::new('--repeat', '--repeat', [CompletionResultType]::ParameterName, 'Runs of the unpinned runtime profile per artifact: memory, processes, threads and seconds are reported as the median, with the spread (min-max) beside it')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--trust', '--trust', [CompletionResultType]::ParameterName, 'Run artifacts even when the static scan has security findings')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;diff' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;rule' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'List every rule')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;init' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing artifact.toml')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;completions' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The folder to write the pages into (created if missing)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour in human output')
            [CompletionResult]::new('--max-decompressed', '--max-decompressed', [CompletionResultType]::ParameterName, 'The most a compressed artifact may decompress to ("64 GiB"); more is an error, so that a decompression bomb cannot fill the disk')
            [CompletionResult]::new('--remote-timeout', '--remote-timeout', [CompletionResultType]::ParameterName, 'For remote inputs (https://, s3://, gs://, az://): the longest one request may wait for an answer, retries included, in seconds')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print what reading cost on standard error when done: bytes fetched, requests made and time taken (for remote inputs; a local file costs no requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'artifact;help' {
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show what is inside an artifact: container, estimators, settings, arrays, globals.')
            [CompletionResult]::new('dis', 'dis', [CompletionResultType]::ParameterValue, 'List the opcodes of an artifact, like Python''s pickletools.dis, including joblib arrays and nested streams.')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'The CI gate: check artifacts and folders against the rules.')
            [CompletionResult]::new('patch', 'patch', [CompletionResultType]::ParameterValue, 'Rewrite settings in the byte stream, without executing the artifact.')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove a repair: load both artifacts in isolated Python children, compare outputs on a sample, and measure what each costs at runtime.')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'What differs between two artifacts, as settings and objects, not bytes.')
            [CompletionResult]::new('rule', 'rule', [CompletionResultType]::ParameterValue, 'Show a rule''s documentation, or list every rule.')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented starter artifact.toml in the current folder')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, powershell, elvish) to standard output')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (artifact.1, and artifact-COMMAND.1 for each command) into a folder')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'artifact;help;inspect' {
            break
        }
        'artifact;help;dis' {
            break
        }
        'artifact;help;check' {
            break
        }
        'artifact;help;patch' {
            break
        }
        'artifact;help;verify' {
            break
        }
        'artifact;help;diff' {
            break
        }
        'artifact;help;rule' {
            break
        }
        'artifact;help;init' {
            break
        }
        'artifact;help;completions' {
            break
        }
        'artifact;help;man' {
            break
        }
        'artifact;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
