//! GitHub Actions workflow commands: `::error file=...,title=...::message`.

use std::fmt::Write;

use super::check::CheckReport;
use crate::rules::Severity;

/// Escapes a message (`%`, CR, LF) as the workflow-command parser expects.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: the message escapes plus `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    for a in &report.artifacts {
        for f in &a.findings {
            let command = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let at = f
                .offset
                .map(|o| format!(" (offset {o})"))
                .unwrap_or_default();
            // Annotations attach to files: a member's name goes into the message.
            let within = a
                .member
                .as_ref()
                .map(|m| format!("in {m}: "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "::{command} file={},title={}::{within}{}{at}",
                property(a.file()),
                property(f.code),
                data(&f.message)
            );
        }
    }
    for e in &report.errors {
        let _ = writeln!(
            out,
            "::error file={},title=unreadable::{}",
            property(&e.path),
            data(&e.message)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(property("a,b:c%"), "a%2Cb%3Ac%25");
        assert_eq!(data("x\ny"), "x%0Ay");
    }
}
