//! JUnit XML, the test-report format GitLab, Jenkins and Azure Pipelines show: one test
//! suite per artifact, one test case per finding (a failure when the finding fails the
//! gate), a passing case for an artifact with none, an error for a file that could not
//! be read.

use std::fmt::Write;

use super::check::CheckReport;

/// Escapes text for an XML attribute or element; drops the characters XML 1.0 forbids.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &CheckReport) -> String {
    let failing = |f: &crate::rules::Finding| f.severity >= report.fail_on;
    let failures: usize = report
        .artifacts
        .iter()
        .flat_map(|a| &a.findings)
        .filter(|f| failing(f))
        .count();
    let tests: usize = report
        .artifacts
        .iter()
        .map(|a| a.findings.len().max(1))
        .sum::<usize>()
        + report.errors.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"artifact check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{}\">",
        report.errors.len()
    );
    for a in &report.artifacts {
        let path = xml(&a.path);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{path}\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
            a.findings.len().max(1),
            a.findings.iter().filter(|f| failing(f)).count()
        );
        if a.findings.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{path}\" name=\"no findings\"/>"
            );
        }
        for f in &a.findings {
            let at = f
                .offset
                .map(|o| format!(" at offset {o}"))
                .unwrap_or_default();
            let name = xml(&format!("{}{at}", f.code));
            let message = xml(&f.message);
            let _ = writeln!(out, "    <testcase classname=\"{path}\" name=\"{name}\">");
            let detail = xml(&format!(
                "{}:{}: {} {} {}",
                a.path,
                f.offset.map_or("-".to_string(), |o| o.to_string()),
                f.code,
                f.severity.name(),
                f.message
            ));
            if failing(f) {
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{message}\">{detail}</failure>",
                    f.code
                );
            } else {
                // Below --fail-on: reported, not failing.
                let _ = writeln!(out, "      <system-out>{detail}</system-out>");
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    for e in &report.errors {
        let path = xml(&e.path);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{path}\" tests=\"1\" failures=\"0\" errors=\"1\">\n    <testcase classname=\"{path}\" name=\"read\">\n      <error type=\"unreadable\" message=\"{}\"/>\n    </testcase>\n  </testsuite>",
            xml(&e.message)
        );
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_forbidden_characters_dropped() {
        assert_eq!(xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
