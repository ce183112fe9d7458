//! What `artifact check` found, and its human rendering (one line per finding, ruff-like).

use std::fmt::Write;

use super::FileError;
use super::style::{BOLD, ERROR, INFO, Paint, WARNING};
use crate::config::Suppression;
use crate::rules::{Finding, Severity};

#[derive(Debug, Default)]
pub struct CheckReport {
    pub artifacts: Vec<ArtifactResult>,
    /// Files that could not be read to the end: the gate fails closed on them.
    pub errors: Vec<FileError>,
    /// Files passed over, with why (not artifacts: both loaders refuse them before
    /// importing anything; symbolic-link loops).
    pub skipped: Vec<(String, String)>,
    /// Files and folders left out by `--exclude` / `exclude`.
    pub excluded: usize,
    pub suppressed: usize,
    pub unused_suppressions: Vec<Suppression>,
    pub fail_on: Severity,
    /// Whether any finding is at or above `fail_on`.
    pub failed: bool,
}

#[derive(Debug)]
pub struct ArtifactResult {
    /// The file, or `file!member` for an artifact inside an archive.
    pub path: String,
    /// The member inside the file (nested zips joined by `!`), when there is one: its
    /// findings' offsets are the member's own.
    pub member: Option<String>,
    pub findings: Vec<Finding>,
}

impl ArtifactResult {
    /// The file on disk that holds the artifact.
    pub fn file(&self) -> &str {
        match &self.member {
            Some(m) => self
                .path
                .strip_suffix(m.as_str())
                .and_then(|p| p.strip_suffix('!'))
                .unwrap_or(&self.path),
            None => &self.path,
        }
    }
}

impl CheckReport {
    pub fn count(&self, severity: Severity) -> usize {
        self.artifacts
            .iter()
            .flat_map(|a| &a.findings)
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn total(&self) -> usize {
        self.artifacts.iter().map(|a| a.findings.len()).sum()
    }
}

pub fn render(report: &CheckReport, color: bool) -> String {
    let paint = |style, s: &str| Paint { color }.paint(style, s);
    let mut out = String::new();
    for a in &report.artifacts {
        for f in &a.findings {
            let severity = match f.severity {
                Severity::Error => paint(ERROR, "error"),
                Severity::Warning => paint(WARNING, "warning"),
                Severity::Info => paint(INFO, "info"),
            };
            let at = f.offset.map(|o| format!(":{o}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "{}{at}: {} {severity} {}",
                paint(BOLD, &a.path),
                paint(BOLD, f.code),
                f.message
            );
            let mut details = Vec::new();
            if let Some(raw) = &f.raw_path
                && !raw.is_empty()
            {
                details.push(format!("at {raw}"));
            }
            if let Some(fix) = &f.fix {
                details.push(format!(
                    "fix: set {}={} (artifact patch --fix)",
                    fix.path, fix.value
                ));
            }
            if !details.is_empty() {
                let _ = writeln!(out, "    {}", details.join("; "));
            }
        }
    }
    for e in &report.errors {
        let _ = writeln!(
            out,
            "{}: {} {}",
            paint(BOLD, &e.path),
            paint(ERROR, "unreadable"),
            e.message
        );
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let counts = [Severity::Error, Severity::Warning, Severity::Info]
        .iter()
        .map(|s| (report.count(*s), s.name()))
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n} {name}{}", if n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>();
    let with = report
        .artifacts
        .iter()
        .filter(|a| !a.findings.is_empty())
        .count();
    let checked = report.artifacts.len();
    let summary = if report.total() == 0 {
        format!(
            "No findings in {checked} artifact{}.",
            if checked == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "Found {} finding{} ({}) in {with} of {checked} artifact{}.",
            report.total(),
            if report.total() == 1 { "" } else { "s" },
            counts.join(", "),
            if checked == 1 { "" } else { "s" }
        )
    };
    let _ = writeln!(out, "{summary}");
    if report.suppressed > 0 {
        let _ = writeln!(
            out,
            "{} suppressed by the configuration.",
            report.suppressed
        );
    }
    for (path, why) in &report.skipped {
        let _ = writeln!(out, "skipped {path}: {why}");
    }
    if report.excluded > 0 {
        let _ = writeln!(
            out,
            "{} path{} left out by --exclude or the configuration's exclude.",
            report.excluded,
            if report.excluded == 1 { "" } else { "s" }
        );
    }
    if !report.errors.is_empty() {
        let _ = writeln!(
            out,
            "{} file{} could not be read to the end: the gate fails (exit 2).",
            report.errors.len(),
            if report.errors.len() == 1 { "" } else { "s" }
        );
    } else if report.failed {
        let _ = writeln!(
            out,
            "The gate fails on {} and above (--fail-on).",
            report.fail_on
        );
    }
    out
}
