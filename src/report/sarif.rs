//! SARIF 2.1.0 for GitHub code scanning: written by hand (the format is small), checked
//! against the OASIS schema in tests/check.rs.

use serde_json::{Value as Json, json};

use super::check::CheckReport;
use crate::rules::{self, Severity};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `process-parallel-n-jobs` as SARIF's PascalCase rule name.
fn pascal(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A relative path as a URI reference: forward slashes, spaces and `%` escaped.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    path.chars()
        .map(|c| match c {
            '%' => "%25".to_string(),
            ' ' => "%20".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect()
}

pub fn document(report: &CheckReport) -> Json {
    let all = rules::all();
    let rule_objects: Vec<Json> = all
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": pascal(r.name),
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.doc, "markdown": r.doc},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"tags": [r.family().prefix(), r.family().name()]},
            })
        })
        .collect();
    let mut results = Vec::new();
    for a in &report.artifacts {
        for f in &a.findings {
            let mut text = f.message.clone();
            if let Some(raw) = f.raw_path.as_ref().filter(|r| !r.is_empty()) {
                text.push_str(&format!(" (at {raw})"));
            }
            // Inside an archive the offset is the member's, not the file's: the location is
            // the file, and the member (with the offset in it) a logical location.
            let mut region = json!({"startLine": 1});
            if let (Some(offset), None) = (f.offset, &a.member) {
                region["byteOffset"] = json!(offset);
                region["byteLength"] = json!(1);
            }
            if let Some(member) = &a.member {
                let at = f
                    .offset
                    .map(|o| format!(" at offset {o}"))
                    .unwrap_or_default();
                text = format!("in {member}{at}: {text}");
            }
            let mut logical: Vec<Json> = Vec::new();
            if let Some(member) = &a.member {
                logical.push(json!({
                    "name": member.rsplit('!').next().unwrap_or(member),
                    "fullyQualifiedName": match f.offset {
                        Some(o) => format!("{member}:{o}"),
                        None => member.clone(),
                    },
                    "kind": "resource",
                }));
            }
            if let Some(p) = &f.sklearn_path {
                logical.push(json!({"fullyQualifiedName": p, "kind": "member"}));
            }
            let mut result = json!({
                "ruleId": f.code,
                "ruleIndex": all.iter().position(|r| r.code == f.code),
                "level": level(f.severity),
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(a.file())},
                        "region": region,
                    },
                    "logicalLocations": logical,
                }],
                "partialFingerprints": {
                    "artifactFinding/v1": format!("{}:{}:{}", f.code, a.path, f.sklearn_path.as_deref().unwrap_or(&f.message)),
                },
            });
            if result["locations"][0]["logicalLocations"]
                .as_array()
                .is_some_and(Vec::is_empty)
            {
                result["locations"][0]
                    .as_object_mut()
                    .map(|o| o.remove("logicalLocations"));
            }
            results.push(result);
        }
    }
    let notifications: Vec<Json> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": e.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(&e.path)}}}],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "artifact",
                    "version": env!("CARGO_PKG_VERSION"),
                    "properties": { "ruleSet": crate::rules::RULESET_VERSION },
                    "informationUri": "https://github.com/artifact-gate/artifact",
                    "rules": rule_objects,
                },
            },
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(pascal("process-parallel-n-jobs"), "ProcessParallelNJobs");
        assert_eq!(uri("./models/my model.pkl"), "models/my%20model.pkl");
    }
}
