//! Settings have types: `patch` converts or refuses a value before anything is written,
//! and `check` flags stored values the library refuses (CFG001), with CPython deciding
//! which values those are.

mod common;

use common::run_in;

fn fixture_arg(name: &str) -> String {
    common::fixture(name).display().to_string()
}

#[test]
fn refused_values_write_nothing_and_say_what_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.joblib");
    let cases = [
        (
            "xgboost__booster.nthread=\"abc\"",
            "stored as its decimal text",
        ),
        (
            "preprocessor__n_jobs=\"eight\"",
            "None or a non-zero integer",
        ),
        ("preprocessor__n_jobs=0", "joblib refuses 0"),
        ("preprocessor__n_jobs=2147483647", "below 2**31 - 1"),
        (
            "n_jobs=99999999999999999999",
            "does not fit a 64-bit integer",
        ),
        ("xgboost__booster.device=\"gpu9\"", "'cuda:<n>'"),
        ("xgboost__booster.tree_method=\"gpu_hist\"", "'hist'"),
        ("xgboost__n_jobs=\"4\"", "fits a C int"),
    ];
    for (set, accepted) in cases {
        let o = run_in(
            &common::root(),
            &[
                "patch",
                &fixture_arg("credit_ct_xgb.joblib"),
                "--set",
                set,
                "-o",
                out.to_str().unwrap(),
            ],
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{set}: {stderr}");
        assert!(stderr.contains(accepted), "{set}: {stderr}");
        assert!(
            o.stdout.is_empty(),
            "{set}: no edit table for a refused edit"
        );
        assert!(!out.exists(), "{set}: wrote a file");
    }
}

#[test]
fn a_booster_count_given_as_a_number_is_written_as_its_text() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.joblib");
    let o = run_in(
        &common::root(),
        &[
            "patch",
            &fixture_arg("credit_ct_xgb.joblib"),
            "--set",
            "xgboost__booster.nthread=4",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc = common::inspect_json(&out);
    let nthread = doc["artifacts"][0]["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sklearn_path"] == "xgboost__booster.nthread")
        .unwrap()
        .clone();
    assert_eq!(nthread["value"], "4");
    // XGBoost itself reads it back.
    let load = std::process::Command::new(common::python())
        .args([
            "-c",
            "import json, sys, joblib; b = joblib.load(sys.argv[1]).steps[1][1].get_booster(); \
             print(json.loads(b.save_config())['learner']['generic_param']['nthread'])",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&load.stdout).trim(),
        "4",
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
}

#[test]
fn check_flags_exactly_the_values_cpython_refuses() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let made = common::python_script(
        &common::root().join("tests/oracle/invalid_values.py"),
        &[dir.path()],
    );
    let mut broken = 0;
    for line in made.lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let file = dir.path().join(case["file"].as_str().unwrap());
        let o = run_in(
            &common::root(),
            &["check", file.to_str().unwrap(), "--format", "json"],
        );
        let doc = common::json(&o);
        let cfg: Vec<&serde_json::Value> = doc["artifacts"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "CFG001")
            .collect();
        if case["failure"].is_null() {
            assert!(
                cfg.is_empty(),
                "{case}: predicts in CPython, flagged {cfg:?}"
            );
        } else {
            broken += 1;
            assert_eq!(cfg.len(), 1, "{case}: CPython fails, CFG001 missing");
            assert_eq!(cfg[0]["sklearn_path"], case["setting"], "{case}");
            assert_eq!(cfg[0]["severity"], "error");
            assert_eq!(o.status.code(), Some(1));
        }
    }
    assert!(broken >= 4, "the oracle made too few broken artifacts");
}

#[test]
fn only_the_cfg_fixture_holds_an_invalid_value() {
    for entry in common::manifest() {
        let file = entry["file"].as_str().unwrap();
        let o = run_in(
            &common::root(),
            &["check", &fixture_arg(file), "--format", "json"],
        );
        let doc = common::json(&o);
        let codes: Vec<&str> = doc["artifacts"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|a| a["findings"].as_array().into_iter().flatten())
            .filter_map(|f| f["code"].as_str())
            .collect();
        let expected = entry["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "CFG001");
        assert_eq!(codes.contains(&"CFG001"), expected, "{file}: {codes:?}");
    }
}
