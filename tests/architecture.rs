//! The layers of ARCHITECTURE.md, enforced: each module of `src/` may name only the
//! modules below it, so the graph has no cycle and no arrow pointing up.

use std::collections::BTreeSet;
use std::path::Path;

/// Each layer and what it may import, bottom first. `commands` and `main` wire everything.
const LAYERS: [(&str, &[&str]); 12] = [
    ("units", &[]),
    ("store", &[]),
    ("pickle", &["store"]),
    ("container", &["pickle", "store"]),
    ("model", &["pickle"]),
    ("inspection", &["container", "model", "pickle", "store"]),
    ("rules", &["inspection", "model", "pickle", "units"]),
    ("config", &["rules"]),
    (
        "patch",
        &[
            "container",
            "inspection",
            "model",
            "pickle",
            "rules",
            "units",
        ],
    ),
    (
        "verify",
        &[
            "container",
            "inspection",
            "model",
            "pickle",
            "rules",
            "units",
        ],
    ),
    (
        "report",
        &[
            "config",
            "container",
            "inspection",
            "model",
            "patch",
            "pickle",
            "rules",
            "units",
            "verify",
        ],
    ),
    ("cli", &["config", "patch", "rules"]),
];

fn sources(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            sources(&entry.unwrap().path(), out);
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The `crate::name` modules a layer's files mention.
fn imports(layer: &str) -> BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src.join(layer), &mut files);
    sources(&src.join(format!("{layer}.rs")), &mut files);
    assert!(!files.is_empty(), "no sources for layer {layer}");
    let mut found = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices("crate::") {
            let name: String = text[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != layer {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn every_layer_imports_only_layers_below_it() {
    let known: BTreeSet<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
    let mut wrong = Vec::new();
    for (layer, allowed) in LAYERS {
        for name in imports(layer) {
            if !allowed.contains(&name.as_str()) && known.contains(name.as_str()) {
                wrong.push(format!("{layer} imports {name}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against ARCHITECTURE.md: {wrong:?}"
    );
}

#[test]
fn the_layer_table_has_no_cycle() {
    // Each layer may import only layers listed before it.
    for (i, (layer, allowed)) in LAYERS.iter().enumerate() {
        for name in *allowed {
            let below = LAYERS[..i].iter().any(|(n, _)| n == name);
            assert!(below, "{layer} may import {name}, which is not below it");
        }
    }
}
