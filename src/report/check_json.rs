//! `artifact check --format json` ([`CheckDocument`], schema docs/check.schema.json,
//! generated from these types).

use schemars::JsonSchema;
use serde::Serialize;

use super::check::CheckReport;
use super::{FileError, SCHEMA_VERSION, Tool};
use crate::rules::{self, Finding, Fix, Severity};

/// One document per run. New optional fields may appear without a `schema_version` change.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckDocument<'a> {
    pub schema_version: u32,
    pub tool: Tool,
    pub summary: Summary,
    pub artifacts: Vec<ArtifactFindings<'a>>,
    /// Files that could not be read to the end: the gate fails closed on them (exit 2).
    pub errors: &'a [FileError],
    pub skipped: Vec<SkippedFile<'a>>,
    /// Suppressions in artifact.toml that matched no finding.
    pub unused_suppressions: Vec<UnusedSuppression<'a>>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Artifacts read to the end.
    pub artifacts: usize,
    pub findings: usize,
    /// Findings of severity error.
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// Findings removed by suppressions.
    pub suppressed: usize,
    /// Files that could not be read to the end (exit 2).
    pub unreadable: usize,
    pub skipped: usize,
    pub excluded: usize,
    pub fail_on: Severity,
    /// The gate fails: a finding at or above `fail_on`, or an unreadable file.
    pub failed: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactFindings<'a> {
    /// The file, or `file!member` for an artifact inside an archive.
    pub path: &'a str,
    /// The file on disk.
    pub file: &'a str,
    /// The archive member (nested zips joined by `!`), or null: offsets are its own.
    pub member: Option<&'a str>,
    pub findings: Vec<FindingEntry<'a>>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingEntry<'a> {
    /// `PAR001`: three letters naming the family, three digits.
    #[schemars(regex(pattern = r"^[A-Z]{3}[0-9]{3}$"))]
    pub code: &'static str,
    pub name: Option<&'static str>,
    pub severity: Severity,
    pub message: &'a str,
    /// The setting's `set_params` path (`preprocessor__n_jobs`).
    pub sklearn_path: Option<&'a str>,
    /// The attribute path from the root object (`steps[0][1].n_jobs`).
    pub raw_path: Option<&'a str>,
    pub class: Option<&'a str>,
    /// Byte offset in the pickle data (decompressed for compressed joblib).
    pub offset: Option<u64>,
    /// What `artifact patch --fix` writes.
    pub fix: Option<&'a Fix>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkippedFile<'a> {
    pub path: &'a str,
    pub reason: &'a str,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnusedSuppression<'a> {
    pub rule: &'a str,
    pub file: Option<&'a str>,
    pub sha256: Option<&'a str>,
    pub reason: &'a str,
}

/// One line of `check --format json-lines`, told apart by `type`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum CheckLine<'a> {
    /// One artifact (a file, or a member of an archive) and its findings.
    Artifact(ArtifactFindings<'a>),
    /// A file that could not be read to the end.
    Error(&'a FileError),
    Skipped(SkippedFile<'a>),
    /// Last: the run's totals and verdict.
    Summary(Summary),
}

impl<'a> CheckLine<'a> {
    /// The line of one artifact, written as soon as its file is checked.
    pub fn artifact(a: &'a super::check::ArtifactResult) -> Self {
        CheckLine::Artifact(artifact(a))
    }

    pub fn skipped(path: &'a str, reason: &'a str) -> Self {
        CheckLine::Skipped(SkippedFile { path, reason })
    }

    /// The last line: the run's totals and verdict.
    pub fn summary(report: &'a CheckReport) -> Self {
        CheckLine::Summary(CheckDocument::new(report).summary)
    }
}

fn artifact(a: &super::check::ArtifactResult) -> ArtifactFindings<'_> {
    ArtifactFindings {
        path: &a.path,
        file: a.file(),
        member: a.member.as_deref(),
        findings: a.findings.iter().map(finding).collect(),
    }
}

impl<'a> CheckDocument<'a> {
    pub fn new(report: &'a CheckReport) -> Self {
        CheckDocument {
            schema_version: SCHEMA_VERSION,
            tool: Tool::THIS,
            summary: Summary {
                artifacts: report.artifacts.len(),
                findings: report.total(),
                errors: report.count(Severity::Error),
                warnings: report.count(Severity::Warning),
                infos: report.count(Severity::Info),
                suppressed: report.suppressed,
                unreadable: report.errors.len(),
                skipped: report.skipped.len(),
                excluded: report.excluded,
                fail_on: report.fail_on,
                failed: report.failed || !report.errors.is_empty(),
            },
            artifacts: report.artifacts.iter().map(artifact).collect(),
            errors: &report.errors,
            skipped: report
                .skipped
                .iter()
                .map(|(path, reason)| SkippedFile { path, reason })
                .collect(),
            unused_suppressions: report
                .unused_suppressions
                .iter()
                .map(|s| UnusedSuppression {
                    rule: &s.rule,
                    file: s.file.as_deref(),
                    sha256: s.sha256.as_deref(),
                    reason: &s.reason,
                })
                .collect(),
        }
    }
}

fn finding(f: &Finding) -> FindingEntry<'_> {
    FindingEntry {
        code: f.code,
        name: rules::find(f.code).map(|r| r.name),
        severity: f.severity,
        message: &f.message,
        sklearn_path: f.sklearn_path.as_deref(),
        raw_path: f.raw_path.as_deref(),
        class: f.class.as_deref(),
        offset: f.offset,
        fix: f.fix.as_ref(),
    }
}
