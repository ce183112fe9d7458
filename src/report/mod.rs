//! Renderers: they turn what the other layers found into text or JSON, and parse nothing.

pub mod check;
pub mod check_json;
pub mod diff;
pub mod dis;
pub mod github;
pub mod gitlab;
pub mod inspect_human;
pub mod inspect_json;
pub mod junit;
pub mod patch_human;
pub mod patch_json;
pub mod rule;
pub mod sarif;
pub mod style;
pub mod verify_human;
pub mod verify_json;

/// The width human output must fit: `COLUMNS` when set, else the terminal's, else none
/// (piped output keeps one row per line, whatever its length, so that grep sees rows).
pub fn output_width() -> Option<usize> {
    if let Some(cols) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(cols);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into `size`.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

fn widest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Renders a table within `width`: as built when it fits (or no width is known), then
/// without its optional column (the raw path: the sklearn path says the same for a
/// person), then wrapped by comfy-table's dynamic arrangement.
pub fn fit_table(build: &dyn Fn(bool) -> comfy_table::Table, width: Option<usize>) -> String {
    let full = build(true).to_string();
    let Some(width) = width else {
        return full;
    };
    if widest_line(&full) <= width {
        return full;
    }
    let narrow = build(false).to_string();
    if widest_line(&narrow) <= width {
        return narrow;
    }
    let mut table = build(false);
    table
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(u16::try_from(width).unwrap_or(u16::MAX));
    table.to_string()
}

/// Version of the JSON documents (`schema_version`); bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// A file that could not be read to the end, as the reports list it.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileError {
    pub path: String,
    /// `bad.pkl: at offset 3: ...`: the whole error, as the human output prints it.
    pub message: String,
    /// Byte offset in the pickle data; null when it does not apply (a missing file).
    pub offset: Option<u64>,
    /// The opcode read at `offset`, when there is one.
    pub opcode: Option<&'static str>,
}

/// Which program wrote a document.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Always `artifact`.
    pub name: &'static str,
    pub version: &'static str,
    /// The rule set's version (`artifact --version` prints it too): store it with a
    /// verdict to know which gate passed the model.
    pub rule_set: &'static str,
}

impl Tool {
    pub const THIS: Tool = Tool {
        name: "artifact",
        version: env!("CARGO_PKG_VERSION"),
        rule_set: crate::rules::RULESET_VERSION,
    };
}

impl From<&crate::inspection::ReadError> for FileError {
    fn from(e: &crate::inspection::ReadError) -> Self {
        FileError {
            path: e.path().to_string(),
            message: e.to_string(),
            offset: e.offset(),
            opcode: e.opcode(),
        }
    }
}

/// The JSON Schemas committed under docs/, generated from the document types.
pub fn schemas() -> [(&'static str, schemars::Schema); 9] {
    [
        (
            "rule.schema.json",
            schemars::schema_for!(Vec<rule::RuleEntry>),
        ),
        (
            "diff.schema.json",
            schemars::schema_for!(diff::DiffDocument<'static>),
        ),
        (
            "dis.schema.json",
            schemars::schema_for!(dis::DisRecord<'static>),
        ),
        (
            "inspect.schema.json",
            schemars::schema_for!(inspect_json::InspectDocument),
        ),
        (
            "check.schema.json",
            schemars::schema_for!(check_json::CheckDocument<'static>),
        ),
        (
            "check-lines.schema.json",
            schemars::schema_for!(check_json::CheckLine<'static>),
        ),
        (
            "patch.schema.json",
            schemars::schema_for!(patch_json::PatchDocument),
        ),
        (
            "patch-summary.schema.json",
            schemars::schema_for!(patch_json::PatchSummary),
        ),
        (
            "verify.schema.json",
            schemars::schema_for!(verify_json::VerifyDocument),
        ),
    ]
}

#[cfg(test)]
mod tests {
    /// The committed schemas are the ones the types generate; `ARTIFACT_UPDATE_SCHEMAS=1`
    /// (scripts/update-generated.sh) rewrites them.
    #[test]
    fn committed_schemas_are_current() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        for (name, schema) in super::schemas() {
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            let path = docs.join(name);
            if std::env::var_os("ARTIFACT_UPDATE_SCHEMAS").is_some() {
                std::fs::write(&path, &text).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "docs/{name} is stale: run scripts/update-generated.sh"
            );
        }
    }
}
