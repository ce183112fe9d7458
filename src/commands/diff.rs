//! `artifact diff A B`: differences as settings, estimators, arrays and globals.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::cli::{DiffArgs, Format};
use crate::commands::{EXIT_FINDINGS, EXIT_OK};
use crate::inspection::{self, Inspection};
use crate::model::{ArrayStorage, SettingValue};
use crate::pickle::Quiet;
use crate::units::human_bytes;

/// What one side knows, keyed for comparison.
struct Side {
    settings: BTreeMap<(String, String), (String, SettingValue)>,
    estimators: BTreeMap<String, String>,
    arrays: BTreeMap<String, (String, String)>,
    globals: BTreeMap<String, u64>,
    versions: BTreeMap<String, u64>,
}

fn side(path: &Path) -> anyhow::Result<Side> {
    let artifact = inspection::open(path, &mut |_| {})?;
    let graph = inspection::parse(path, &artifact, &mut Quiet)?;
    let insp: Inspection = inspection::build(path, &artifact, &graph, None);
    let data = artifact.bytes();
    let view = insp.view;
    // An array no path reaches is named by its offset, which an edit before it moves:
    // such arrays are matched by their order instead.
    let mut unreached = 0;
    let arrays = view
        .arrays
        .iter()
        .map(|a| {
            let key = if a.path.starts_with("<unreached") {
                unreached += 1;
                format!("<unreached array #{unreached}>")
            } else {
                a.path.clone()
            };
            let shape = a
                .shape
                .as_ref()
                .map(|s| format!("{s:?}"))
                .unwrap_or_else(|| "?".into());
            let description = format!(
                "{} {} {shape}",
                human_bytes(a.nbytes),
                a.dtype.as_deref().unwrap_or("?")
            );
            let stored = matches!(
                a.storage,
                ArrayStorage::JoblibInline | ArrayStorage::Pickled
            );
            let hash = data
                .get(a.offset as usize..(a.offset + a.nbytes) as usize)
                .filter(|_| stored)
                .map(|bytes| crate::units::hex(&Sha256::digest(bytes)))
                .unwrap_or_default();
            (key, (description, hash))
        })
        .collect();
    Ok(Side {
        settings: view
            .settings
            .iter()
            .map(|s| {
                (
                    (s.raw_path.clone(), s.name.clone()),
                    (s.sklearn_path.clone(), s.value.clone()),
                )
            })
            .collect(),
        estimators: view
            .estimators
            .iter()
            .map(|e| (e.raw_path.clone(), e.class.clone()))
            .collect(),
        arrays,
        globals: view
            .globals
            .iter()
            .map(|g| (format!("{}.{}", g.module, g.name), g.count))
            .collect(),
        versions: view.sklearn_versions.clone(),
    })
}

/// `(key, before, after)` for every key whose value differs or exists on one side only.
fn compare<K: Ord + Clone, V: PartialEq + Clone>(
    a: &BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
) -> Vec<(K, Option<V>, Option<V>)> {
    let mut keys: Vec<&K> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k), b.get(k));
            (x != y).then(|| (k.clone(), x.cloned(), y.cloned()))
        })
        .collect()
}

pub fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let a = side(&args.a)?;
    let b = side(&args.b)?;
    let settings = compare(&a.settings, &b.settings);
    let estimators = compare(&a.estimators, &b.estimators);
    let arrays = compare(&a.arrays, &b.arrays);
    let globals = compare(&a.globals, &b.globals);
    let versions = compare(&a.versions, &b.versions);
    let total = settings.len() + estimators.len() + arrays.len() + globals.len() + versions.len();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let value = |v: &Option<(String, SettingValue)>| {
                v.as_ref().map(|(_, v)| json!(v)).unwrap_or(Json::Null)
            };
            let doc = json!({
                "schema_version": 1,
                "a": args.a.display().to_string(),
                "b": args.b.display().to_string(),
                "equivalent": total == 0,
                "settings": settings.iter().map(|((raw, name), x, y)| json!({
                    "raw_path": raw,
                    "name": name,
                    "sklearn_path": x.as_ref().or(y.as_ref()).map(|(p, _)| p.clone()),
                    "in_a": x.is_some(),
                    "in_b": y.is_some(),
                    "a": value(x),
                    "b": value(y),
                })).collect::<Vec<_>>(),
                "estimators": estimators.iter().map(|(raw, x, y)| json!({"raw_path": raw, "a": x, "b": y})).collect::<Vec<_>>(),
                "arrays": arrays.iter().map(|(path, x, y)| json!({
                    "path": path,
                    "a": x.as_ref().map(|(d, h)| json!({"description": d, "sha256": h})),
                    "b": y.as_ref().map(|(d, h)| json!({"description": d, "sha256": h})),
                })).collect::<Vec<_>>(),
                "globals": globals.iter().map(|(g, x, y)| json!({"global": g, "a": x, "b": y})).collect::<Vec<_>>(),
                "versions": versions.iter().map(|(v, x, y)| json!({"sklearn": v, "a": x, "b": y})).collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Human => {
            let mark = |x: bool, y: bool| match (x, y) {
                (true, true) => "~",
                (false, true) => "+",
                _ => "-",
            };
            if !settings.is_empty() {
                writeln!(out, "settings")?;
                for ((raw, name), x, y) in &settings {
                    let path = x
                        .as_ref()
                        .or(y.as_ref())
                        .map(|(p, _)| p.as_str())
                        .unwrap_or(name);
                    let show = |v: &Option<(String, SettingValue)>| {
                        v.as_ref()
                            .map_or("(absent)".to_string(), |(_, v)| v.to_string())
                    };
                    writeln!(
                        out,
                        "  {} {path} [{raw}]: {} -> {}",
                        mark(x.is_some(), y.is_some()),
                        show(x),
                        show(y)
                    )?;
                }
            }
            if !estimators.is_empty() {
                writeln!(out, "estimators")?;
                for (raw, x, y) in &estimators {
                    let raw = if raw.is_empty() { "(root)" } else { raw };
                    writeln!(
                        out,
                        "  {} {raw}: {} -> {}",
                        mark(x.is_some(), y.is_some()),
                        x.as_deref().unwrap_or("(absent)"),
                        y.as_deref().unwrap_or("(absent)")
                    )?;
                }
            }
            if !arrays.is_empty() {
                writeln!(out, "arrays")?;
                for (path, x, y) in &arrays {
                    let what = match (x, y) {
                        (Some((d1, _)), Some((d2, _))) if d1 == d2 => {
                            format!("{d1}, content differs")
                        }
                        _ => format!(
                            "{} -> {}",
                            x.as_ref().map_or("(absent)", |(d, _)| d.as_str()),
                            y.as_ref().map_or("(absent)", |(d, _)| d.as_str())
                        ),
                    };
                    writeln!(out, "  {} {path}: {what}", mark(x.is_some(), y.is_some()))?;
                }
            }
            if !globals.is_empty() {
                writeln!(out, "globals")?;
                for (g, x, y) in &globals {
                    writeln!(out, "  {} {g}", mark(x.is_some(), y.is_some()))?;
                }
            }
            if !versions.is_empty() {
                writeln!(out, "scikit-learn versions")?;
                for (v, x, y) in &versions {
                    writeln!(
                        out,
                        "  {} {v}: {} -> {} estimators",
                        mark(x.is_some(), y.is_some()),
                        x.unwrap_or(0),
                        y.unwrap_or(0)
                    )?;
                }
            }
            if total == 0 {
                writeln!(
                    out,
                    "No differences in settings, estimators, arrays or globals."
                )?;
            } else {
                writeln!(
                    out,
                    "{total} difference{}.",
                    if total == 1 { "" } else { "s" }
                )?;
            }
        }
    }
    Ok(ExitCode::from(if total == 0 {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    }))
}
