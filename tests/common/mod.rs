//! Helpers shared by the CLI tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join("artifacts").join(name)
}

/// The Python with the pinned packages: `ARTIFACT_TEST_PYTHON`, else the repo's `.venv`
/// that the README's test command creates. Tests that need it call [`skip_without_python`] first.
pub fn python() -> PathBuf {
    let python = python_path();
    assert!(
        python.exists(),
        "no Python at {}: run the README's test command (scripts/test.sh), which creates the venv",
        python.display()
    );
    python
}

fn python_path() -> PathBuf {
    std::env::var_os("ARTIFACT_TEST_PYTHON").map_or_else(
        || root().join(".venv").join("bin").join("python"),
        PathBuf::from,
    )
}

/// Whether a test that needs the pinned Python stops here. A plain `cargo test` on a
/// machine without the venv skips it, saying so and why on stderr (`-- --nocapture`
/// shows it). Nothing is skipped when a Python was asked for (`ARTIFACT_TEST_PYTHON`, as
/// scripts/test.sh and so CI set it) or under CI (`CI` set): the test fails in [`python`].
pub fn skip_without_python() -> bool {
    let python = python_path();
    if python.exists()
        || std::env::var_os("ARTIFACT_TEST_PYTHON").is_some()
        || std::env::var_os("CI").is_some()
    {
        return false;
    }
    // The test harness names each test's thread after the test.
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    eprintln!(
        "skipped {test}: no Python at {} (scripts/test.sh, the README's test command, creates the venv with the pinned packages)",
        python.display()
    );
    true
}

/// Runs `python -c CODE ARGS...`, which must succeed (the artifacts a test builds at test
/// time); returns its standard output.
pub fn python_code(code: &str, args: &[&Path]) -> String {
    python_ok(
        &[std::ffi::OsStr::new("-c"), std::ffi::OsStr::new(code)],
        args,
    )
}

/// Runs `python SCRIPT ARGS...`, which must succeed; returns its standard output.
pub fn python_script(script: &Path, args: &[&Path]) -> String {
    python_ok(&[script.as_os_str()], args)
}

fn python_ok(head: &[&std::ffi::OsStr], args: &[&Path]) -> String {
    let out = Command::new(python())
        .args(head)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python {head:?} {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The binary, with no terminal width from the environment: output is as when piped.
pub fn artifact() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_artifact"));
    cmd.env_remove("COLUMNS");
    cmd
}

/// Runs `artifact ARGS` in `dir`, without colour.
pub fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    artifact()
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("artifact runs")
}

/// Runs `artifact ARGS` in the repository.
pub fn run(args: &[&str]) -> std::process::Output {
    run_in(&root(), args)
}

/// Every line of fixtures/manifest.jsonl.
pub fn manifest() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(root().join("fixtures").join("manifest.jsonl"))
        .expect("fixtures/manifest.jsonl is readable");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("manifest line is JSON"))
        .collect()
}

pub fn inspect_json(path: &Path) -> serde_json::Value {
    let out = artifact()
        .args(["inspect", "--format", "json"])
        .arg(path)
        .output()
        .expect("artifact runs");
    assert!(
        out.status.success(),
        "inspect {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("inspect prints JSON")
}

/// Standard output parsed as JSON, or a panic that shows both streams.
pub fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Validates a JSON document with tests/oracle/validate.py: `sarif`, or the schema
/// docs/KIND.schema.json.
pub fn validate_json(kind: &str, document: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    std::fs::write(&path, document).unwrap();
    let out = Command::new(python())
        .arg(root().join("tests/oracle/validate.py"))
        .arg(kind)
        .arg(&path)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{kind} output does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a user sees of a run, for snapshots: the exit code, standard output, standard
/// error (ruff's and uv's snapshot layout).
pub fn transcript(out: &std::process::Output) -> String {
    transcript_of(out, &String::from_utf8_lossy(&out.stdout))
}

/// [`transcript`] with standard output replaced (a listing cut to its head).
pub fn transcript_of(out: &std::process::Output, stdout: &str) -> String {
    format!(
        "exit code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        out.status
            .code()
            .map_or_else(|| "killed by a signal".to_string(), |c| c.to_string()),
        stdout.trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}
