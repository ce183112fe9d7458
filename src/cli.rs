//! Command-line definitions. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to use colour in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
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

    /// Show a rule's documentation, or list every rule.
    ///
    /// Examples:
    ///   artifact rule PAR001
    ///   artifact rule --all
    #[command(verbatim_doc_comment)]
    Rule(RuleArgs),

    /// Write a commented starter artifact.toml in the current folder.
    Init(InitArgs),

    /// Print shell completions (bash, zsh, fish, powershell, elvish) to standard output.
    ///
    /// Example: artifact completions bash > /etc/bash_completion.d/artifact
    Completions(CompletionsArgs),
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
    /// Artifact files to inspect (recognised by content, not by name).
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
}

#[derive(Debug, Args)]
pub struct DisArgs {
    /// The artifact to disassemble.
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Artifact files and folders to check.
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
    pub fail_on: Option<Level>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human, alias = "output-format")]
    pub format: CheckFormat,

    /// Exit 0 even with findings (errors reading files still exit 2).
    #[arg(long)]
    pub exit_zero: bool,

    /// Globals outside the known-safe ML set are errors (SEC003).
    #[arg(long)]
    pub strict: bool,

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
pub struct CompletionsArgs {
    /// The shell to print completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
