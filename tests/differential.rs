//! The differential corpus (scripts/differential.py), a representative slice: every tenth
//! scikit-learn estimator plus XGBoost and LightGBM, in every protocol and codec, checked
//! against CPython for `dis`, the globals loaded, and `patch`. The whole corpus runs with
//! `scripts/differential.py target/release/artifact`.

mod common;

#[test]
fn a_slice_of_the_differential_corpus_agrees_with_cpython() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::python())
        .arg(common::root().join("scripts/differential.py"))
        .arg(env!("CARGO_BIN_EXE_artifact"))
        .args(["--every", "10", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" 0 failed (100.0%)"), "{stdout}");
}
