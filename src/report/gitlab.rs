//! GitLab Code Quality reports (the Code Climate issue format GitLab reads from a job's
//! `artifacts:reports:codequality`): a JSON array of issues, each with a description, a
//! check name, a severity, a fingerprint that stays the same while the finding does, and
//! a location. Model files have no lines: every issue points at line 1 of its file, and
//! the description names the member and the byte offset.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::check::CheckReport;
use crate::rules::Severity;

#[derive(Debug, Serialize)]
pub struct Issue {
    pub description: String,
    pub check_name: String,
    pub fingerprint: String,
    /// `info`, `minor`, `major`, `critical` or `blocker`.
    pub severity: &'static str,
    pub location: Location,
}

#[derive(Debug, Serialize)]
pub struct Location {
    pub path: String,
    pub lines: Lines,
}

#[derive(Debug, Serialize)]
pub struct Lines {
    pub begin: u64,
}

fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn issues(report: &CheckReport) -> Vec<Issue> {
    let mut out = Vec::new();
    for a in &report.artifacts {
        for f in &a.findings {
            let within = a
                .member
                .as_ref()
                .map(|m| format!("in {m}"))
                .unwrap_or_default();
            let at = match (f.offset, within.is_empty()) {
                (Some(o), true) => format!("at offset {o}: "),
                (Some(o), false) => format!("{within} at offset {o}: "),
                (None, false) => format!("{within}: "),
                (None, true) => String::new(),
            };
            let offset = f.offset.map(|o| o.to_string()).unwrap_or_default();
            out.push(Issue {
                description: format!("{} {at}{}", f.code, f.message),
                check_name: f.code.to_string(),
                fingerprint: fingerprint(&[&a.path, f.code, &offset, &f.message]),
                severity: match f.severity {
                    Severity::Error => "critical",
                    Severity::Warning => "major",
                    Severity::Info => "info",
                },
                location: Location {
                    path: a.file().to_string(),
                    lines: Lines { begin: 1 },
                },
            });
        }
    }
    for e in &report.errors {
        out.push(Issue {
            description: format!(
                "cannot be read to the end, so it fails the gate: {}",
                e.message
            ),
            check_name: "unreadable".into(),
            fingerprint: fingerprint(&[&e.path, "unreadable", &e.message]),
            severity: "blocker",
            location: Location {
                path: e.path.clone(),
                lines: Lines { begin: 1 },
            },
        });
    }
    out
}
