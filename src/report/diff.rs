//! `artifact diff`: the differences between two artifacts, for a person or as JSON.

use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use crate::model::SettingValue;
use crate::model::compare::{ArrayFacts, Change, Differences, SettingSide};
use crate::report::SCHEMA_VERSION;
use crate::units::{hex, human_bytes};

/// `diff --format json`: one document comparing two files.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffDocument<'a> {
    pub schema_version: u32,
    pub a: &'a str,
    pub b: &'a str,
    /// No differences in settings, estimators, arrays, globals or versions (exit 0).
    pub equivalent: bool,
    pub settings: Vec<SettingChange<'a>>,
    pub estimators: Vec<EstimatorChange<'a>>,
    pub arrays: Vec<ArrayChange<'a>>,
    pub globals: Vec<GlobalChange<'a>>,
    pub versions: Vec<VersionChange<'a>>,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingChange<'a> {
    /// Attribute path of the setting, as `inspect` reports it.
    pub raw_path: &'a str,
    pub name: &'a str,
    pub sklearn_path: Option<&'a str>,
    pub in_a: bool,
    pub in_b: bool,
    /// The value in A; null when absent from A (see `in_a`) or stored as None.
    pub a: Option<&'a SettingValue>,
    pub b: Option<&'a SettingValue>,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EstimatorChange<'a> {
    /// `""` for the root.
    pub raw_path: &'a str,
    /// The class in A, or null when A has no estimator there.
    pub a: Option<&'a str>,
    pub b: Option<&'a str>,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrayChange<'a> {
    pub path: &'a str,
    pub a: Option<ArraySide>,
    pub b: Option<ArraySide>,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArraySide {
    /// `56 B f8 [1, 7]`: size, dtype, shape.
    pub description: String,
    /// Of the data bytes; `""` when the file does not hold them (a reducer builds the array).
    pub sha256: String,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalChange<'a> {
    /// `module.name`.
    pub global: &'a str,
    /// References in A, or null when A has none.
    pub a: Option<u64>,
    pub b: Option<u64>,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionChange<'a> {
    /// A `_sklearn_version` value.
    pub sklearn: &'a str,
    /// Estimators recording it in A, or null when none does.
    pub a: Option<u64>,
    pub b: Option<u64>,
}

fn describe(a: &ArrayFacts) -> String {
    let shape = a
        .shape
        .as_ref()
        .map_or_else(|| "?".to_string(), |s| format!("{s:?}"));
    format!(
        "{} {} {shape}",
        human_bytes(a.nbytes),
        a.dtype.as_deref().unwrap_or("?")
    )
}

impl<'a> DiffDocument<'a> {
    pub fn new(a: &'a str, b: &'a str, diff: &'a Differences) -> Self {
        let side = |x: &Option<ArrayFacts>| {
            x.as_ref().map(|f| ArraySide {
                description: describe(f),
                sha256: f.sha256.map(|h| hex(&h)).unwrap_or_default(),
            })
        };
        DiffDocument {
            schema_version: SCHEMA_VERSION,
            a,
            b,
            equivalent: diff.total() == 0,
            settings: diff
                .settings
                .iter()
                .map(|c| SettingChange {
                    raw_path: &c.key.0,
                    name: &c.key.1,
                    sklearn_path: c
                        .a
                        .as_ref()
                        .or(c.b.as_ref())
                        .map(|s| s.sklearn_path.as_str()),
                    in_a: c.a.is_some(),
                    in_b: c.b.is_some(),
                    a: c.a.as_ref().map(|s| &s.value),
                    b: c.b.as_ref().map(|s| &s.value),
                })
                .collect(),
            estimators: diff
                .estimators
                .iter()
                .map(|c| EstimatorChange {
                    raw_path: &c.key,
                    a: c.a.as_deref(),
                    b: c.b.as_deref(),
                })
                .collect(),
            arrays: diff
                .arrays
                .iter()
                .map(|c| ArrayChange {
                    path: &c.key,
                    a: side(&c.a),
                    b: side(&c.b),
                })
                .collect(),
            globals: diff
                .globals
                .iter()
                .map(|c| GlobalChange {
                    global: &c.key,
                    a: c.a,
                    b: c.b,
                })
                .collect(),
            versions: diff
                .versions
                .iter()
                .map(|c| VersionChange {
                    sklearn: &c.key,
                    a: c.a,
                    b: c.b,
                })
                .collect(),
        }
    }
}

/// `~` changed, `+` only in B, `-` only in A.
fn mark<K, V>(c: &Change<K, V>) -> &'static str {
    match (c.a.is_some(), c.b.is_some()) {
        (true, true) => "~",
        (false, true) => "+",
        _ => "-",
    }
}

/// The human listing: one section per kind of difference, then the count.
pub fn write_human(out: &mut dyn Write, diff: &Differences) -> io::Result<()> {
    if !diff.settings.is_empty() {
        writeln!(out, "settings")?;
        for c in &diff.settings {
            let (raw, name) = &c.key;
            let path =
                c.a.as_ref()
                    .or(c.b.as_ref())
                    .map_or(name.as_str(), |s| s.sklearn_path.as_str());
            let show = |v: &Option<SettingSide>| {
                v.as_ref()
                    .map_or("(absent)".to_string(), |s| s.value.to_string())
            };
            writeln!(
                out,
                "  {} {path} [{raw}]: {} -> {}",
                mark(c),
                show(&c.a),
                show(&c.b)
            )?;
        }
    }
    if !diff.estimators.is_empty() {
        writeln!(out, "estimators")?;
        for c in &diff.estimators {
            let raw = if c.key.is_empty() { "(root)" } else { &c.key };
            writeln!(
                out,
                "  {} {raw}: {} -> {}",
                mark(c),
                c.a.as_deref().unwrap_or("(absent)"),
                c.b.as_deref().unwrap_or("(absent)")
            )?;
        }
    }
    if !diff.arrays.is_empty() {
        writeln!(out, "arrays")?;
        for c in &diff.arrays {
            let (x, y) = (c.a.as_ref().map(describe), c.b.as_ref().map(describe));
            let what = match (&x, &y) {
                (Some(d1), Some(d2)) if d1 == d2 => format!("{d1}, content differs"),
                _ => format!(
                    "{} -> {}",
                    x.as_deref().unwrap_or("(absent)"),
                    y.as_deref().unwrap_or("(absent)")
                ),
            };
            writeln!(out, "  {} {}: {what}", mark(c), c.key)?;
        }
    }
    if !diff.globals.is_empty() {
        writeln!(out, "globals")?;
        for c in &diff.globals {
            writeln!(out, "  {} {}", mark(c), c.key)?;
        }
    }
    if !diff.versions.is_empty() {
        writeln!(out, "scikit-learn versions")?;
        for c in &diff.versions {
            writeln!(
                out,
                "  {} {}: {} -> {} estimators",
                mark(c),
                c.key,
                c.a.unwrap_or(0),
                c.b.unwrap_or(0)
            )?;
        }
    }
    match diff.total() {
        0 => writeln!(
            out,
            "No differences in settings, estimators, arrays or globals."
        ),
        1 => writeln!(out, "1 difference."),
        n => writeln!(out, "{n} differences."),
    }
}
