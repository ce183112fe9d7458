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

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
