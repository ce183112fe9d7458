use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;
use serde_json::json;

use crate::cli::{Format, RuleArgs};
use crate::rules::{self, FixSafety, Rule};

pub fn run(args: &RuleArgs) -> anyhow::Result<ExitCode> {
    let rules: Vec<&Rule> = match &args.code {
        Some(code) => match rules::find(code) {
            Some(rule) => vec![rule],
            None => bail!(
                "no rule '{code}': `artifact rule --all` lists them ({})",
                rules::all()
                    .iter()
                    .map(|r| r.code)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        None => rules::all(),
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let doc: Vec<_> = rules
                .iter()
                .map(|r| {
                    json!({
                        "code": r.code,
                        "name": r.name,
                        "severity": r.severity,
                        "summary": r.summary,
                        "family": r.family().name(),
                        "autofix": r.autofix,
                        "fix_safety": r.fix_safety.map(|s| s.name()),
                        "since": r.since,
                        "doc": r.doc,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Human if args.all => {
            for r in &rules {
                let fix = if r.autofix.is_some() { "fix" } else { "   " };
                writeln!(
                    out,
                    "{}  {:<7}  {fix}  {:<28} {}",
                    r.code,
                    r.severity.name(),
                    r.name,
                    r.summary
                )?;
            }
        }
        Format::Human => {
            for r in &rules {
                writeln!(out, "# {} {}\n", r.code, r.name)?;
                writeln!(out, "Default severity: {}.", r.severity)?;
                match (r.autofix, r.fix_safety) {
                    (Some(fix), Some(FixSafety::Unsafe)) => writeln!(
                        out,
                        "Autofix (artifact patch --fix): {fix}; outputs may move within floating-point noise.\n"
                    )?,
                    (Some(fix), _) => writeln!(
                        out,
                        "Autofix (artifact patch --fix): {fix}; outputs stay identical.\n"
                    )?,
                    (None, _) => writeln!(out, "No autofix.\n")?,
                }
                writeln!(out, "{}", r.doc)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
