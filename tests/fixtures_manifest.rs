//! Every fixture is inspected and shows what its manifest line says it must: container,
//! codec, protocol, and every expected setting at its sklearn path with its value.
//! The manifest was written by fixtures/generate.py and cross-checked there against
//! scikit-learn's own get_params(), so it is an oracle independent of our reader.

mod common;

use serde_json::Value;

#[test]
fn every_fixture_shows_its_expected_settings() {
    let manifest = common::manifest();
    assert!(manifest.len() >= 20, "the manifest lists the fixtures");
    let mut failures = Vec::new();
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let doc = common::inspect_json(&common::fixture(file));
        let artifact = &doc["artifacts"][0];
        let container = &artifact["container"];
        if container["format"] != entry["container"] {
            failures.push(format!(
                "{file}: format {} != {}",
                container["format"], entry["container"]
            ));
        }
        if container["codec"] != entry["codec"] {
            failures.push(format!(
                "{file}: codec {} != {}",
                container["codec"], entry["codec"]
            ));
        }
        if artifact["protocol"] != entry["protocol"] {
            failures.push(format!(
                "{file}: protocol {} != {}",
                artifact["protocol"], entry["protocol"]
            ));
        }
        // An archive's settings are its members' (a skops file's are in schema.json).
        let settings: Vec<Value> = doc["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["settings"].as_array().unwrap().clone())
            .collect();
        for expected in entry["settings"].as_array().unwrap() {
            let found = settings.iter().any(|s| {
                s["sklearn_path"] == expected["path"]
                    && json_eq(&s["value"], &expected["value"])
                    && expected.get("raw").is_none_or(|raw| &s["raw_path"] == raw)
                    && expected
                        .get("class")
                        .is_none_or(|class| &s["class"] == class)
            });
            if !found {
                failures.push(format!(
                    "{file}: no setting {expected}; found {}",
                    settings
                        .iter()
                        .map(|s| format!(
                            "{}={} ({})",
                            s["sklearn_path"], s["value"], s["raw_path"]
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pytorch_checkpoints_list_the_tensors_torch_saved() {
    // The manifest's tensors come from torch itself (fixtures/generate_torch.py): each
    // name, dtype and shape, in the zip format and the legacy one.
    let mut checked = 0;
    for entry in common::manifest() {
        let Some(expected) = entry.get("tensors").and_then(Value::as_array) else {
            continue;
        };
        if expected.is_empty() {
            continue;
        }
        let file = entry["file"].as_str().unwrap();
        let doc = common::inspect_json(&common::fixture(file));
        let tensors: Vec<(String, String, Value)> = doc["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["arrays"]["items"].as_array().unwrap().clone())
            .filter(|a| a["storage"] == "torch-storage")
            .map(|a| {
                (
                    a["path"].as_str().unwrap().to_string(),
                    a["dtype"].as_str().unwrap_or("?").to_string(),
                    a["shape"].clone(),
                )
            })
            .collect();
        assert_eq!(tensors.len(), expected.len(), "{file}: {tensors:?}");
        for t in expected {
            let name = format!("['{}']", t["name"].as_str().unwrap());
            assert!(
                tensors.iter().any(|(p, d, s)| *p == name
                    && d == t["dtype"].as_str().unwrap()
                    && *s == t["shape"]),
                "{file}: no tensor {t} in {tensors:?}"
            );
        }
        // Every storage is sized from the archive (never read) and none is missing.
        let storages: Vec<&Value> = doc["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["storages"].as_array().unwrap())
            .collect();
        assert!(!storages.is_empty(), "{file}");
        assert!(
            storages.iter().all(|s| s["bytes"].is_u64()),
            "{file}: {storages:?}"
        );
        checked += 1;
    }
    assert!(checked >= 2, "the zip and the legacy state dict");
}

/// Values compare as Python would: 14 == 14, "14" == "14", but never 14 == "14".
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[test]
fn the_credit_model_booster_keeps_its_thread_count() {
    // The field report: the XGBoost booster blob carries nthread "14" with its byte offset.
    let path = common::fixture("credit_ct_xgb.p5.pkl");
    let doc = common::inspect_json(&path);
    let settings = doc["artifacts"][0]["settings"].as_array().unwrap().clone();
    let nthread = settings
        .iter()
        .find(|s| s["sklearn_path"] == "xgboost__booster.nthread")
        .expect("booster nthread is listed");
    assert_eq!(nthread["location"], "xgboost-config");
    let bytes = std::fs::read(&path).unwrap();
    let offset = nthread["offset"].as_u64().unwrap() as usize;
    assert_eq!(
        &bytes[offset..offset + 2],
        b"14",
        "the offset points at the value"
    );
    // And the ColumnTransformer's value offset points at BININT1 14.
    let ct = settings
        .iter()
        .find(|s| s["sklearn_path"] == "preprocessor__n_jobs")
        .unwrap();
    let offset = ct["offset"].as_u64().unwrap() as usize;
    assert_eq!(&bytes[offset..offset + 2], b"K\x0e");
}

#[test]
fn all_protocols_and_codecs_agree() {
    // The same pipeline in every protocol and codec has the same estimators, settings and
    // array bytes: only the container differs.
    let names: Vec<String> = (0..6)
        .map(|p| format!("ct_logreg.p{p}.pkl"))
        .chain(["ct_logreg.joblib".to_string()])
        .chain(
            ["z", "gz", "bz2", "xz", "lzma", "lz4"]
                .iter()
                .map(|e| format!("ct_logreg.joblib.{e}")),
        )
        .collect();
    let summaries: Vec<(String, Value)> = names
        .iter()
        .map(|n| {
            let doc = common::inspect_json(&common::fixture(n));
            let a = &doc["artifacts"][0];
            let estimators: Vec<_> = a["estimators"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["class"].clone(),
                        e["sklearn_path"].clone(),
                        e["raw_path"].clone(),
                    )
                })
                .collect();
            let settings: Vec<_> = a["settings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| (s["sklearn_path"].clone(), s["value"].clone()))
                .collect();
            (
                n.clone(),
                serde_json::json!({
                    "estimators": estimators,
                    "settings": settings,
                    "array_bytes": a["arrays"]["total_bytes"],
                    "versions": a["versions"],
                }),
            )
        })
        .collect();
    let (first_name, first) = &summaries[0];
    for (name, summary) in &summaries[1..] {
        assert_eq!(summary, first, "{name} differs from {first_name}");
    }
}

/// The manifest and the folder agree both ways, and each line pins the bytes it describes.
#[test]
fn the_manifest_lists_every_fixture_once_with_its_digest() {
    use sha2::Digest;
    let manifest = common::manifest();
    let listed: std::collections::BTreeSet<String> = manifest
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), manifest.len(), "a file listed twice");
    let on_disk: std::collections::BTreeSet<String> =
        std::fs::read_dir(common::root().join("fixtures/artifacts"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    assert_eq!(
        listed, on_disk,
        "fixtures/artifacts and the manifest differ"
    );
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(common::fixture(file)).unwrap();
        assert_eq!(
            entry["sha256"].as_str(),
            Some(artifact::units::hex(&sha2::Sha256::digest(&bytes)).as_str()),
            "{file}: the bytes are not the ones the manifest describes (rerun fixtures/generate.py)"
        );
    }
}
