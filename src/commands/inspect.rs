use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Format, InspectArgs};
use crate::commands::{EXIT_ERROR, EXIT_OK, read};
use crate::report::FileError;
use crate::report::inspect_human;
use crate::report::inspect_json;

pub fn run(args: &InspectArgs, color: bool) -> anyhow::Result<ExitCode> {
    let mut read_files = Vec::new();
    let mut failed = Vec::new();
    for path in &args.files {
        match read(path) {
            Ok(inspection) => read_files.push(inspection),
            Err(e) => failed.push(e),
        }
    }
    // An archive's members are artifacts of their own, listed after it.
    let mut inspections: Vec<&crate::inspection::Inspection> = Vec::new();
    let mut errors: Vec<&crate::inspection::ReadError> = Vec::new();
    for i in &read_files {
        i.walk(&mut inspections, &mut errors);
    }
    errors.extend(&failed);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => {
            let file_errors: Vec<FileError> = errors.iter().map(|e| FileError::from(*e)).collect();
            // What was read before a parse error is listed too (`complete: false`): the
            // loader has already run it.
            let mut listed: Vec<&crate::inspection::Inspection> = inspections.clone();
            for e in &failed {
                if let crate::inspection::ReadError::Pickle {
                    partial: Some(p), ..
                } = e
                {
                    listed.push(p);
                }
            }
            let doc = inspect_json::InspectDocument::new(&listed, file_errors);
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Human => {
            for (n, inspection) in inspections.iter().enumerate() {
                if n > 0 {
                    writeln!(out)?;
                }
                let findings = crate::rules::check(inspection, &crate::rules::Options::default());
                let options = inspect_human::Options {
                    color,
                    all_arrays: args.all_arrays || args.all,
                    all_settings: args.all_settings || args.all,
                    all_estimators: args.all,
                    width: crate::report::output_width(),
                    findings: &findings,
                };
                write!(out, "{}", inspect_human::render(inspection, &options))?;
            }
        }
    }
    out.flush()?;
    for e in &errors {
        eprintln!("error: {e}");
    }
    Ok(ExitCode::from(if errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    }))
}
