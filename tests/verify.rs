//! `artifact verify`: repairs proven on samples, differences named, hostile artifacts
//! refused or contained, and nothing left running.

mod common;

use common::run;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn python() -> String {
    common::python().display().to_string()
}

fn verify(a: &Path, b: &Path, data: &str, extra: &[&str]) -> (Output, Option<Value>) {
    let py = python();
    let mut args = vec![
        "verify",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--data",
        data,
        "--python",
        &py,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    // One runtime run unless a test is about the repeats: CI time.
    if !extra.contains(&"--repeat") {
        args.extend_from_slice(&["--repeat", "1"]);
    }
    let out = run(&args);
    let doc: Option<Value> = serde_json::from_slice(&out.stdout).ok();
    // Every document a test sees, whatever the verdict, matches the generated schema.
    if doc.is_some() {
        common::validate_json("verify", &out.stdout);
    }
    (out, doc)
}

fn patched(dir: &Path, fixture: &str, args: &[&str]) -> std::path::PathBuf {
    let out_path = dir.join(format!("patched-{fixture}"));
    let mut all = vec!["patch", "-o", out_path.to_str().unwrap()];
    let input = common::fixture(fixture).display().to_string();
    all.push(&input);
    all.extend_from_slice(args);
    let out = run(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out_path
}

/// Processes whose command line mentions `needle` (our children use the temp folder).
fn running_with(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid = e.ok()?.file_name().to_str()?.parse::<u32>().ok()?;
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(needle).then_some(cmd)
        })
        .collect()
}

#[test]
fn the_credit_model_repair_verifies_and_its_worker_processes_are_gone() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fixed = patched(
        dir.path(),
        "credit_ct_xgb.joblib",
        &["--fix", "--set", "n_jobs=null"],
    );
    let (out, doc) = verify(
        &common::fixture("credit_ct_xgb.joblib"),
        &fixed,
        "fixtures/data/credit_sample.csv",
        &["--repeat", "2"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = doc.unwrap();
    assert_eq!(doc["verdict"], "identical");
    let (before, after) = (&doc["artifacts"][0], &doc["artifacts"][1]);
    // --repeat runs the runtime profile that many times; the fields are medians.
    for side in [before, after] {
        assert_eq!(side["runtime_runs"].as_array().unwrap().len(), 2, "{side}");
        let spread = &side["methods"]["predict"]["seconds_spread"];
        assert!(spread["min"].as_f64().unwrap() <= spread["median"].as_f64().unwrap());
        assert!(spread["median"].as_f64().unwrap() <= spread["max"].as_f64().unwrap());
    }
    // Counted by the kernel (ptrace is allowed here): every loky worker of
    // ColumnTransformer(n_jobs=14) however briefly it lives, and none after the repair.
    for run in before["runtime_runs"].as_array().unwrap() {
        assert!(run["processes_started"].as_u64().unwrap() >= 2, "{run}");
        assert_eq!(run["processes_counted_by"], "ptrace", "{run}");
    }
    assert_eq!(after["processes_started"], 0, "{after}");
    for field in [
        "path",
        "load_seconds",
        "peak_rss_bytes",
        "max_child_processes",
        "max_threads",
    ] {
        assert!(
            !before[field].is_null() && !after[field].is_null(),
            "{field}: {doc}"
        );
    }
    assert!(
        before["max_child_processes"].as_u64().unwrap() >= 2,
        "the original starts worker processes: {before}"
    );
    assert_eq!(
        after["max_child_processes"], 0,
        "the repaired one starts none: {after}"
    );
    for method in ["predict", "predict_proba"] {
        assert_eq!(
            before["methods"][method]["sha256"],
            after["methods"][method]["sha256"]
        );
        assert!(before["methods"][method]["seconds"].is_f64());
    }
}

#[test]
fn a_forest_that_varies_with_threads_verifies_because_outputs_are_pinned() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fixed = patched(
        dir.path(),
        "forest_njobs14.joblib",
        &["--set", "n_jobs=null"],
    );
    let (out, doc) = verify(
        &common::fixture("forest_njobs14.joblib"),
        &fixed,
        "fixtures/data/numeric_sample.npy",
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(doc.unwrap()["verdict"], "identical");
}

#[test]
fn a_different_model_fails_with_the_differences_named() {
    if common::skip_without_python() {
        return;
    }
    let py = python();
    let out = run(&[
        "verify",
        &common::fixture("credit_ct_xgb.joblib")
            .display()
            .to_string(),
        &common::fixture("ct_logreg.joblib").display().to_string(),
        "--data",
        "fixtures/data/credit_sample.csv",
        "--python",
        &py,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NOT verified"), "{text}");
    assert!(
        text.contains("predict_proba") && text.contains("DIFFERENT"),
        "{text}"
    );
    let (out, doc) = verify(
        &common::fixture("credit_ct_xgb.joblib"),
        &common::fixture("ct_logreg.joblib"),
        "fixtures/data/credit_sample.csv",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let doc = doc.unwrap();
    assert_eq!(doc["verdict"], "different");
    let labels = &doc["differences"]["predict"];
    assert!(labels["rows_differing"].as_u64().unwrap() > 0, "{doc}");
    let proba = &doc["differences"]["predict_proba"];
    assert!(
        proba["rows_differing"].as_u64().unwrap() > 0 && proba["max_abs"].as_f64().unwrap() > 0.0,
        "{doc}"
    );
}

/// A pickle that would run a shell command, written without ever loading it.
fn system_call(command: &str) -> Vec<u8> {
    let mut data = b"\x80\x02cposix\nsystem\nX".to_vec();
    data.extend_from_slice(&(command.len() as u32).to_le_bytes());
    data.extend_from_slice(command.as_bytes());
    data.extend_from_slice(b"\x85R.");
    data
}

#[test]
fn a_malicious_artifact_is_refused_and_never_runs() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let evil = dir.path().join("evil.pkl");
    std::fs::write(&evil, system_call(&format!("touch {}", marker.display()))).unwrap();
    let (out, _) = verify(
        &common::fixture("kmeans.p5.pkl"),
        &evil,
        "fixtures/data/numeric_sample.npy",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refuses") && stderr.contains("SEC001"),
        "{stderr}"
    );
    assert!(!marker.exists(), "the payload ran");
}

#[test]
fn artifacts_that_abort_hang_or_allocate_are_contained() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [(&str, &[u8], &str); 3] = [
        ("abort.pkl", b"cos\nabort\n(tR.", "SIGABRT"),
        ("hang.pkl", b"ctime\nsleep\n(I600\ntR.", "timed out"),
        (
            "alloc.pkl",
            b"c__builtin__\nbytearray\n(I50000000000\ntR.",
            "MemoryError",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = d.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (out, doc) = verify(
            &common::fixture("kmeans.p5.pkl"),
            &path,
            "fixtures/data/numeric_sample.npy",
            &["--trust", "--timeout", "5", "--memory-limit", "2 GiB"],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc = doc.unwrap();
        assert_eq!(doc["verdict"], "failed", "{name}");
        let failure = format!(
            "{} {}",
            doc["artifacts"][1]["failure"], doc["artifacts"][1]["stderr_tail"]
        );
        assert!(failure.contains(expected), "{name}: {failure}");
        assert!(
            running_with(path.to_str().unwrap()).is_empty(),
            "{name}: processes left running"
        );
    }
}

#[test]
fn a_missing_python_is_a_clear_error() {
    let out = run(&[
        "verify",
        &common::fixture("kmeans.p5.pkl").display().to_string(),
        &common::fixture("kmeans.p5.pkl").display().to_string(),
        "--data",
        "fixtures/data/numeric_sample.npy",
        "--python",
        "/nonexistent/python",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot run Python at '/nonexistent/python'")
    );
}

#[test]
fn a_python_without_the_models_library_says_what_to_install() {
    if common::skip_without_python() {
        return;
    }
    // A venv with the harness's own needs but not scikit-learn.
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let made = std::process::Command::new(common::python())
        .args(["-m", "venv", "--system-site-packages"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success());
    // The system Python may lack numpy altogether: then verify names numpy instead.
    let out = run(&[
        "verify",
        &common::fixture("kmeans.p5.pkl").display().to_string(),
        &common::fixture("kmeans.p5.pkl").display().to_string(),
        "--data",
        "fixtures/data/numeric_sample.npy",
        "--python",
        venv.join("bin/python").to_str().unwrap(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("install scikit-learn there") || text.contains("lacks numpy"),
        "{text}"
    );
}

/// A sample that cannot prove anything is a data error (exit 2) that says why; a sample on
/// which every method raises is not a verification (exit 1). Before, both printed "raised in
/// both, alike ... Verified" and exited 0.
#[test]
fn verify_never_passes_what_it_did_not_prove() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let credit = common::fixture("credit_ct_xgb.joblib");
    let sample = std::fs::read_to_string(common::fixture("../data/credit_sample.csv")).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let renamed = write("renamed.csv", &sample.replacen("f0,", "feature0,", 1));
    let semicolons = write("semicolons.csv", &sample.replace(',', ";"));
    let header_only = write("header.csv", sample.lines().next().unwrap());
    let missing = dir.path().join("absent.csv").to_str().unwrap().to_string();
    for (data, says) in [
        (renamed, "lacks the columns the model was fitted on: ['f0']"),
        (semicolons, "';'-separated"),
        (header_only, "has no rows"),
        (missing, "cannot be opened"),
    ] {
        let (out, _) = verify(&credit, &credit, &data, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{data}: {stderr}");
        assert!(stderr.contains(says), "{data}: {stderr}");
    }
    // The forest was fitted on a 4-column array: a 2-column sample makes every method raise.
    let forest = common::fixture("forest_njobs14.joblib");
    let narrow = write("narrow.csv", "a,b\n1,2\n3,4\n");
    let (out, doc) = verify(&forest, &forest, &narrow, &[]);
    assert_eq!(out.status.code(), Some(1), "{doc:?}");
    assert_eq!(doc.unwrap()["verdict"], "not-proven");
    let py = python();
    let human = run(&[
        "verify",
        forest.to_str().unwrap(),
        forest.to_str().unwrap(),
        "--data",
        &narrow,
        "--python",
        &py,
    ]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("NOT COMPUTED: raised in both (ValueError"),
        "{text}"
    );
    assert!(
        text.contains("NOT verified: no method produced an output"),
        "{text}"
    );
}
