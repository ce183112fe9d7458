//! `artifact verify`: run the comparison and render it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;

use crate::cli::{Format, VerifyArgs, VerifyOptions};
use crate::commands::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::config::parse_size;
use crate::report::verify_human::render;
use crate::report::verify_json::VerifyDocument;
use crate::verify::{self, Verdict};

pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    verify_and_report(&args.original, &args.candidate, &args.options, args.format)
        .map(ExitCode::from)
}

/// Shared with `patch --verify`.
pub fn verify_and_report(
    original: &Path,
    candidate: &Path,
    o: &VerifyOptions,
    format: Format,
) -> anyhow::Result<u8> {
    // Python loads files: remote ones are copied to temporary files first.
    let (original, candidate) = (
        crate::commands::local_input(original)?,
        crate::commands::local_input(candidate)?,
    );
    let (original, candidate) = (original.path.as_path(), candidate.path.as_path());
    crate::commands::refuse_container(original, "verify")?;
    crate::commands::refuse_container(candidate, "verify")?;
    let data = o
        .data
        .clone()
        .ok_or_else(|| anyhow!("give a sample with --data (CSV, Parquet or .npy)"))?;
    let options = verify::Options {
        python: o.python.clone(),
        data,
        rows: o.rows,
        tolerance: o.tolerance,
        limits: verify::Limits {
            timeout: Duration::from_secs(o.timeout),
            memory: o
                .memory_limit
                .as_deref()
                .map(parse_size)
                .transpose()
                .map_err(|e| anyhow!("--memory-limit: {e}"))?,
        },
        trust: o.trust,
        repeat: o.repeat as usize,
    };
    let report = match verify::verify(original, candidate, &options) {
        Ok(r) => r,
        Err(e) if e.downcast_ref::<verify::Refusal>().is_some() => {
            eprintln!("error: {e}");
            return Ok(EXIT_ERROR);
        }
        Err(e) => return Err(e),
    };
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &VerifyDocument::new(&report))?;
            writeln!(out)?;
        }
        Format::Human => write!(out, "{}", render(&report))?,
    }
    Ok(match report.verdict {
        Verdict::Identical | Verdict::WithinTolerance => EXIT_OK,
        Verdict::Different | Verdict::Failed | Verdict::NotProven => EXIT_FINDINGS,
    })
}
