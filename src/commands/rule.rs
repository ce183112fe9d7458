use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;

use crate::cli::{Format, RuleArgs};
use crate::report::rule::{RuleEntry, write_docs, write_list};
use crate::rules::{self, Rule};

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
            let doc: Vec<RuleEntry> = rules.iter().map(|r| RuleEntry::from(*r)).collect();
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Human if args.all => write_list(&mut out, &rules)?,
        Format::Human => write_docs(&mut out, &rules)?,
    }
    Ok(ExitCode::SUCCESS)
}
