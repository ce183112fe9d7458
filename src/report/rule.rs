//! `artifact rule`: the registry's documentation, listed, in full, or as JSON.

use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use crate::rules::{FixSafety, Rule, Severity};

/// `rule --format json` prints an array of these.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleEntry {
    /// `PAR001`.
    pub code: &'static str,
    pub name: &'static str,
    /// The default severity; `artifact.toml` may change it.
    pub severity: Severity,
    pub summary: &'static str,
    /// The family's name (`parallelism`, `security`, ...).
    pub family: &'static str,
    /// The value `patch --fix` writes, when the rule has a fix.
    pub autofix: Option<&'static str>,
    pub fix_safety: Option<FixSafety>,
    /// The artifact version the rule appeared in.
    pub since: &'static str,
    /// Markdown.
    pub doc: &'static str,
}

impl From<&Rule> for RuleEntry {
    fn from(r: &Rule) -> Self {
        RuleEntry {
            code: r.code,
            name: r.name,
            severity: r.severity,
            summary: r.summary,
            family: r.family().name(),
            autofix: r.autofix,
            fix_safety: r.fix_safety,
            since: r.since,
            doc: r.doc,
        }
    }
}

/// One line per rule: code, severity, whether it has a fix, name, summary.
pub fn write_list(out: &mut dyn Write, rules: &[&Rule]) -> io::Result<()> {
    for r in rules {
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
    Ok(())
}

/// Each rule's whole documentation.
pub fn write_docs(out: &mut dyn Write, rules: &[&Rule]) -> io::Result<()> {
    for r in rules {
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
    Ok(())
}
