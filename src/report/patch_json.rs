//! `artifact patch --format json`: one document per artifact ([`PatchDocument`], schema
//! docs/patch.schema.json) and, for several artifacts, one summary ([`PatchSummary`],
//! docs/patch-summary.schema.json). The schemas are generated from these types.

use schemars::JsonSchema;
use serde::Serialize;

use super::SCHEMA_VERSION;
use crate::model::{Location, SettingValue};
use crate::patch::{Edit, Skipped};

/// What one `artifact patch` run did (or, with `--dry-run`, would do) to one artifact.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchDocument {
    pub schema_version: u32,
    pub input: String,
    /// The file written; null for a dry run, a run with nothing to change, or `-o -`.
    pub output: Option<String>,
    pub dry_run: bool,
    pub edits: Vec<EditEntry>,
    /// Edits that could not be applied, and why (exit 1 unless `--all-or-nothing`).
    pub not_applied: Vec<NotApplied>,
}

/// One setting changed in the byte stream.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditEntry {
    /// `preprocessor__n_jobs`, as `get_params()` names it.
    pub sklearn_path: String,
    /// The object path in the pickle (`steps[0][1].n_jobs`).
    pub raw_path: String,
    pub name: String,
    pub class: String,
    pub location: Location,
    /// Byte offset of the old value in the decoded pickle data.
    pub offset: u64,
    pub old: SettingValue,
    pub new: SettingValue,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotApplied {
    pub sklearn_path: String,
    pub raw_path: String,
    pub new: SettingValue,
    pub reason: String,
}

/// `artifact patch` over several artifacts: one line per file.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSummary {
    pub schema_version: u32,
    pub dry_run: bool,
    /// Files in the folders given that are not artifacts (by their first bytes).
    pub passed_over: usize,
    pub files: Vec<SummaryFile>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SummaryFile {
    pub input: String,
    /// Edits applied; absent when the file failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edits: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applied: Option<usize>,
    pub output: Option<String>,
    /// Why the file could not be patched; null when it was.
    pub error: Option<String>,
}

impl PatchDocument {
    pub fn new(
        input: String,
        output: Option<String>,
        dry_run: bool,
        edits: &[Edit],
        skipped: &[Skipped],
    ) -> Self {
        PatchDocument {
            schema_version: SCHEMA_VERSION,
            input,
            output,
            dry_run,
            edits: edits
                .iter()
                .map(|e| EditEntry {
                    sklearn_path: e.setting.sklearn_path.clone(),
                    raw_path: e.setting.raw_path.clone(),
                    name: e.setting.name.clone(),
                    class: e.setting.class.clone(),
                    location: e.setting.location.clone(),
                    offset: e.setting.offset,
                    old: e.setting.value.clone(),
                    new: e.new.clone(),
                })
                .collect(),
            not_applied: skipped
                .iter()
                .map(|s| NotApplied {
                    sklearn_path: s.edit.setting.sklearn_path.clone(),
                    raw_path: s.edit.setting.raw_path.clone(),
                    new: s.edit.new.clone(),
                    reason: s.reason.clone(),
                })
                .collect(),
        }
    }
}

/// What patching one of several files did, as the summary reports it.
#[derive(Debug)]
pub struct FileOutcome {
    pub edits: usize,
    pub not_applied: usize,
    /// None for a dry run, or when there was nothing to change.
    pub written: Option<std::path::PathBuf>,
}

/// One summary row: the input, and its outcome or its error (the whole chain, one line).
pub type SummaryRow = (std::path::PathBuf, Result<FileOutcome, String>);

impl PatchSummary {
    pub fn new(dry_run: bool, passed_over: usize, rows: &[SummaryRow]) -> Self {
        PatchSummary {
            schema_version: SCHEMA_VERSION,
            dry_run,
            passed_over,
            files: rows
                .iter()
                .map(|(file, r)| match r {
                    Ok(o) => SummaryFile {
                        input: file.display().to_string(),
                        edits: Some(o.edits),
                        not_applied: Some(o.not_applied),
                        output: o.written.as_ref().map(|p| p.display().to_string()),
                        error: None,
                    },
                    Err(e) => SummaryFile {
                        input: file.display().to_string(),
                        edits: None,
                        not_applied: None,
                        output: None,
                        error: Some(e.clone()),
                    },
                })
                .collect(),
        }
    }
}
