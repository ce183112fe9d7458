//! Command-line definitions. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::rules::Severity;

/// Look inside pickled ML model artifacts without executing them.
///
/// artifact reads plain pickles (protocols 0-5), joblib files (raw or compressed with
/// zlib, gzip, bz2, xz, lzma or lz4) and cloudpickle files as data: nothing in the file
/// is imported or run. It shows the estimators inside, the settings that start worker
/// processes or threads at predict time, the arrays and the globals a loader needs.
///
/// Exit codes: 0 success, 1 findings, 2 usage, I/O, parse or internal error.
#[derive(Debug, Parser)]
#[command(
    name = "artifact",
    version = concat!(env!("CARGO_PKG_VERSION"), " (rule set ", crate::ruleset_version!(), ")"),
    propagate_version = true,
    max_term_width = 100,
    after_help = "Examples:\n  artifact inspect model.joblib\n  artifact check models/ --format sarif > artifact.sarif\n  artifact patch model.joblib --fix -o fixed.joblib\n  artifact verify model.joblib fixed.joblib --data sample.csv"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to use colour in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// The most a compressed artifact may decompress to ("64 GiB"); more is an error, so
    /// that a decompression bomb cannot fill the disk.
    #[arg(long, value_name = "SIZE", global = true)]
    pub max_decompressed: Option<String>,

    /// For remote inputs (https://, s3://, gs://, az://): the longest one request may
    /// wait for an answer, retries included, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, global = true)]
    pub remote_timeout: u64,

    /// Print what reading cost on standard error when done: bytes fetched, requests
    /// made and time taken (for remote inputs; a local file costs no requests).
    #[arg(long, global = true)]
    pub stats: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what is inside an artifact: container, estimators, settings, arrays, globals.
    ///
    /// Examples:
    ///   artifact inspect model.joblib
    ///   artifact inspect --format json models/*.pkl | jq '.artifacts[].settings'
    #[command(verbatim_doc_comment)]
    Inspect(InspectArgs),

    /// List the opcodes of an artifact, like Python's pickletools.dis, including joblib
    /// arrays and nested streams.
    ///
    /// Examples:
    ///   artifact dis model.pkl | less
    ///   artifact dis --format json model.joblib.gz   (one JSON object per line)
    #[command(verbatim_doc_comment)]
    Dis(DisArgs),

    /// The CI gate: check artifacts and folders against the rules.
    ///
    /// Files are recognised by content, not by name; folders are searched recursively.
    /// Exit codes: 0 clean, 1 findings at or above --fail-on, 2 a file could not be read
    /// to the end (never reported as clean), or a usage or configuration error.
    ///
    /// Examples:
    ///   artifact check models/
    ///   artifact check --select PAR,SEC --fail-on error model.joblib
    ///   artifact check --format sarif models/ > artifact.sarif
    #[command(verbatim_doc_comment)]
    Check(CheckArgs),

    /// Rewrite settings in the byte stream, without executing the artifact.
    ///
    /// Everything but the edited values is copied byte for byte (frame lengths, joblib
    /// array padding and blob lengths are fixed up); the output is written to a temporary
    /// file, checked, and renamed into place. The input is never touched unless --in-place.
    ///
    /// Examples:
    ///   artifact patch model.pkl --set n_jobs=null                 (every n_jobs)
    ///   artifact patch model.joblib --set preprocessor__n_jobs=null -o fixed.joblib
    ///   artifact patch model.joblib --fix --dry-run                (what the rules would fix)
    ///   artifact patch model.joblib --fix --jobs 1 --in-place
    #[command(verbatim_doc_comment)]
    Patch(PatchArgs),

    /// Prove a repair: load both artifacts in isolated Python children, compare outputs on a
    /// sample, and measure what each costs at runtime.
    ///
    /// Both files are scanned first; any security finding refuses the run unless --trust.
    /// Each is loaded with an unpickler restricted to the globals the scan listed. Outputs
    /// of predict, predict_proba, decision_function, transform and score_samples are
    /// computed with parallelism pinned to one worker and compared by SHA-256; then each
    /// runs unpinned, as production would, for load time, latency, peak memory, child
    /// processes and threads. Exit 0 identical (or within --tolerance), 1 different or an
    /// artifact failed (crash, exception, timeout), 2 refused or unusable Python.
    ///
    /// Examples:
    ///   artifact verify model.joblib model.patched.joblib --data sample.csv
    ///   artifact verify a.pkl b.pkl --data X.npy --rows 1000 --tolerance 1e-12
    #[command(verbatim_doc_comment)]
    Verify(VerifyArgs),

    /// What differs between two artifacts, as settings and objects, not bytes.
    ///
    /// Compares settings (by raw path), estimators (class at each path), arrays (shape,
    /// dtype, size and a SHA-256 of their bytes) and globals. Exit 0 when equivalent,
    /// 1 when they differ.
    ///
    /// Example: artifact diff model.joblib model.patched.joblib
    #[command(verbatim_doc_comment)]
    Diff(DiffArgs),

    /// Show a rule's documentation, or list every rule.
    ///
    /// Examples:
    ///   artifact rule PAR001
    ///   artifact rule --all
    #[command(verbatim_doc_comment)]
    Rule(RuleArgs),

    /// Write a commented starter artifact.toml in the current folder.
    ///
    /// Example: artifact init && artifact check models/
    Init(InitArgs),

    /// Print shell completions (bash, zsh, fish, powershell, elvish) to standard output.
    ///
    /// Example: artifact completions bash > /etc/bash_completion.d/artifact
    Completions(CompletionsArgs),

    /// Write the man pages (artifact.1, and artifact-COMMAND.1 for each command) into a folder.
    ///
    /// Example: artifact man --dir /usr/local/share/man/man1
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables and trees for people.
    Human,
    /// Machine-readable JSON (see docs/json.md for the schema).
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Artifact files to inspect (recognised by content, not by name), or URLs of remote
    /// objects: https://host/model.pkl, s3://bucket/key, gs://..., az://... (only the
    /// bytes the reader needs are fetched: a skipped array is never downloaded).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, alias = "output-format")]
    pub format: Format,

    /// Also list every array (human output shows only the largest).
    #[arg(long)]
    pub all_arrays: bool,

    /// Also list settings whose value is None (human output hides them; JSON always has them).
    #[arg(long)]
    pub all_settings: bool,

    /// List everything: every estimator (a forest's trees are otherwise one line,
    /// `30 x DecisionTreeClassifier`), every setting and every array.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct DisArgs {
    /// The artifact to disassemble (a file or a URL, as for inspect).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Output format: human listing, or JSON Lines (one object per opcode).
    #[arg(long, value_enum, default_value_t = Format::Human, alias = "output-format")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// One line per finding, and a summary.
    Human,
    /// One JSON document (schema: docs/check.schema.json).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other viewers.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the run).
    Github,
    /// JUnit XML (GitLab, Jenkins, Azure Pipelines): a test suite per artifact, a failing
    /// test case per finding at or above --fail-on.
    Junit,
    /// GitLab Code Quality (the Code Climate issue list a job's `reports:codequality` takes).
    Gitlab,
    /// One JSON object per line: each artifact's findings, each unreadable or skipped file,
    /// then the summary (schema: docs/check-lines.schema.json).
    JsonLines,
}

// `--fail-on` takes the rules' own severities: one enum, named once.
impl ValueEnum for Severity {
    fn value_variants<'a>() -> &'a [Self] {
        &[Severity::Error, Severity::Warning, Severity::Info]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Artifact files and folders to check, or remote URLs: s3://bucket/key for one
    /// object, s3://bucket/prefix/ (ending in /) for every object under the prefix.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Rules to run: codes or prefixes, comma-separated (PAR001, PAR, ALL).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub select: Vec<String>,

    /// Rules to skip: codes or prefixes, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub ignore: Vec<String>,

    /// The lowest severity that fails the gate [default: warning].
    #[arg(long, value_enum)]
    pub fail_on: Option<Severity>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human, alias = "output-format")]
    pub format: CheckFormat,

    /// Exit 0 even with findings (errors reading files still exit 2).
    #[arg(long)]
    pub exit_zero: bool,

    /// Globals not on the allowlist are errors even from your own modules (SEC003).
    #[arg(long)]
    pub strict: bool,

    /// Leave out files and folders matching a glob (`**/data/*.csv`, `*.parquet`); matched
    /// against the path as given and found. Repeatable; counted in the summary.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// A library version the serving environment runs, for VER001 (sklearn==1.9).
    #[arg(long, value_name = "LIB==VERSION")]
    pub target: Vec<String>,

    /// MEM001's budget for all arrays together ("4 GiB").
    #[arg(long, value_name = "SIZE")]
    pub memory_budget: Option<String>,

    /// Use this configuration file instead of searching for one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Ignore configuration files.
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
}

#[derive(Debug, Args)]
pub struct PatchArgs {
    /// The artifacts to patch: files, or folders to walk (every artifact inside; a file
    /// that is not a pickle and has no model extension is passed over). `-` reads one
    /// artifact from standard input, a URL one remote object (then give -o: the input is
    /// never written). With several, each output goes beside
    /// its input (or replaces it with --in-place), and one summary table ends the run.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// A setting and its new value: a bare attribute (n_jobs: everywhere it is set), a
    /// sklearn path (preprocessor__n_jobs, xgboost__booster.nthread) or a raw path.
    /// VALUE is null, true, false, a number or a quoted string. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<crate::patch::Request>,

    /// Apply every autofix the rules offer (n_jobs to None, XGBoost's booster threads to
    /// "0", KMeans' _n_threads to 1, GPU settings to their CPU values).
    #[arg(long)]
    pub fix: bool,

    /// With --fix: an explicit thread count instead of the library default (--jobs 1).
    #[arg(long, value_name = "N", requires = "fix")]
    pub jobs: Option<u32>,

    /// Where to write (`-`: standard output, the edit table then goes to standard error)
    /// [default: NAME.patched.EXT beside the input].
    #[arg(short, long, value_name = "OUT", conflicts_with = "in_place")]
    pub output: Option<PathBuf>,

    /// Replace the input (a NAME.EXT.bak hard link keeps the original unless --no-backup).
    #[arg(long)]
    pub in_place: bool,

    /// With --in-place: keep no backup.
    #[arg(long, requires = "in_place")]
    pub no_backup: bool,

    /// Overwrite an existing output (or backup) file.
    #[arg(long)]
    pub force: bool,

    /// Print the edits without writing anything.
    #[arg(long)]
    pub dry_run: bool,

    /// Write nothing unless every edit can be made. Without it, an edit that cannot be
    /// made (a booster spelled in a form the patcher cannot rewrite) is reported, the
    /// others are written, and the exit code is 1.
    #[arg(long)]
    pub all_or_nothing: bool,

    /// After writing, verify the output against the input on this sample (see
    /// `artifact verify`; its --python, --rows, --tolerance and --trust apply).
    #[arg(long, value_name = "SAMPLE", conflicts_with = "dry_run")]
    pub verify: Option<PathBuf>,

    #[command(flatten)]
    pub verify_options: VerifyOptions,

    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = Format::Human, alias = "output-format")]
    pub format: Format,
}

#[derive(Debug, Args, Clone)]
pub struct VerifyOptions {
    /// Sample data: CSV (with a header), Parquet, or .npy.
    #[arg(long, value_name = "SAMPLE")]
    pub data: Option<PathBuf>,

    /// The Python to run [default: ARTIFACT_PYTHON, $VIRTUAL_ENV/bin/python, python3].
    #[arg(long, value_name = "PY")]
    pub python: Option<PathBuf>,

    /// Use only the first N rows of the sample (0: all).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rows: usize,

    /// Accept float differences up to T (absolute or relative); labels must still match.
    #[arg(long, value_name = "T")]
    pub tolerance: Option<f64>,

    /// Kill a child (with its whole process tree) after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub timeout: u64,

    /// Address-space limit for each child ("8 GiB").
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,

    /// Run artifacts even when the static scan has security findings.
    #[arg(long)]
    pub trust: bool,

    /// Runs of the unpinned runtime profile per artifact: memory, processes, threads and
    /// seconds are reported as the median, with the spread (min-max) beside it.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub repeat: u32,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The original artifact (a file, or a URL: copied to a temporary file first).
    #[arg(value_name = "ORIGINAL")]
    pub original: PathBuf,

    /// The artifact to compare with it (the repaired one).
    #[arg(value_name = "CANDIDATE")]
    pub candidate: PathBuf,

    #[command(flatten)]
    pub options: VerifyOptions,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, alias = "output-format")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first artifact (a file or a URL).
    #[arg(value_name = "A")]
    pub a: PathBuf,

    /// The second artifact (a file or a URL).
    #[arg(value_name = "B")]
    pub b: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, alias = "output-format")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// The rule's code (PAR001).
    #[arg(value_name = "CODE", required_unless_present = "all")]
    pub code: Option<String>,

    /// List every rule.
    #[arg(long, conflicts_with = "code")]
    pub all: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, alias = "output-format")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing artifact.toml.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder to write the pages into (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
