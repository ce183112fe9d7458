//! `artifact check --format json` (schema: docs/check.schema.json).

use serde_json::{Value as Json, json};

use super::check::CheckReport;
use super::{FileError, SCHEMA_VERSION};
use crate::rules::{self, Finding, Severity};

pub fn document(report: &CheckReport) -> Json {
    json!({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "artifact", "version": env!("CARGO_PKG_VERSION")},
        "summary": {
            "artifacts": report.artifacts.len(),
            "findings": report.total(),
            "errors": report.count(Severity::Error),
            "warnings": report.count(Severity::Warning),
            "infos": report.count(Severity::Info),
            "suppressed": report.suppressed,
            "unreadable": report.errors.len(),
            "skipped": report.skipped.len(),
            "excluded": report.excluded,
            "fail_on": report.fail_on,
            "failed": report.failed || !report.errors.is_empty(),
        },
        "artifacts": report.artifacts.iter().map(|a| json!({
            "path": a.path,
            "findings": a.findings.iter().map(finding).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "errors": report.errors.iter().map(FileError::json).collect::<Vec<_>>(),
        "skipped": report.skipped.iter().map(|(path, reason)| json!({"path": path, "reason": reason})).collect::<Vec<_>>(),
        "unused_suppressions": report.unused_suppressions.iter().map(|s| json!({
            "rule": s.rule,
            "file": s.file,
            "sha256": s.sha256,
            "reason": s.reason,
        })).collect::<Vec<_>>(),
    })
}

fn finding(f: &Finding) -> Json {
    json!({
        "code": f.code,
        "name": rules::find(f.code).map(|r| r.name),
        "severity": f.severity,
        "message": f.message,
        "sklearn_path": f.sklearn_path,
        "raw_path": f.raw_path,
        "class": f.class,
        "offset": f.offset,
        "fix": f.fix,
    })
}
