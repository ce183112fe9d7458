//! Attacks scanners in this field have fallen for, and interrupt safety of `patch`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::run;

fn codes(out: &std::process::Output) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["findings"].as_array().unwrap().iter())
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn check(path: &Path) -> std::process::Output {
    run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "--select",
        "SEC",
        path.to_str().unwrap(),
    ])
}

/// Memo confusion: the strings next to STACK_GLOBAL say `builtins.len`, but PUT rewrote
/// both memo slots first, so the loader imports `posix.system`.
#[test]
fn memo_confusion_is_resolved_when_the_get_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("confused.pkl");
    let mut data = b"\x80\x04".to_vec();
    data.extend_from_slice(b"\x8c\x08builtins\x94\x8c\x03len\x94"); // memo 0, 1: harmless
    data.extend_from_slice(b"\x8c\x05posixq\x00\x8c\x06systemq\x0100"); // PUT 0, 1 over them
    data.extend_from_slice(b"00"); // drop the harmless names
    data.extend_from_slice(b"h\x00h\x01\x93\x8c\x02id\x85R.");
    std::fs::write(&path, &data).unwrap();
    let out = check(&path);
    assert_eq!(out.status.code(), Some(1));
    let found = codes(&out);
    assert!(found.contains(&"SEC001".to_string()), "{found:?}");
    assert!(
        found.contains(&"SEC005".to_string()),
        "the overwrite itself is reported: {found:?}"
    );
}

/// Payloads past 200 MB of benign array data, raw and lz4-compressed: some scanners stop
/// reading there.
#[test]
fn payloads_after_200_mb_of_arrays_are_found() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import io, os, pickle, sys
import joblib, lz4.frame, numpy as np
class Reduce:
    def __reduce__(self):
        return os.system, ("echo pwned",)
buf = io.BytesIO()
joblib.dump({"weights": np.zeros(26_500_000)}, buf)  # 212 MB
data = buf.getvalue() + pickle.dumps(Reduce(), protocol=2)
open(os.path.join(sys.argv[1], "big.joblib"), "wb").write(data)
open(os.path.join(sys.argv[1], "big.joblib.lz4"), "wb").write(lz4.frame.compress(data))
"#;
    let status = std::process::Command::new(common::python())
        .args(["-c", script])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    for name in ["big.joblib", "big.joblib.lz4"] {
        let out = check(&dir.path().join(name));
        assert_eq!(out.status.code(), Some(1), "{name}");
        let found = codes(&out);
        assert!(
            found.contains(&"SEC001".to_string()) && found.contains(&"SEC004".to_string()),
            "{name}: {found:?}"
        );
    }
}

/// `patch` killed at random points never leaves a partial file at the destination and
/// never changes the input: the output appears whole, by rename, or not at all.
#[test]
fn patch_killed_at_any_point_leaves_no_partial_output() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = r#"
import sys, joblib, numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler
ct = ColumnTransformer([("s", StandardScaler(), [0, 1])], n_jobs=14)
ct.fit(np.random.RandomState(0).normal(size=(20, 2)))
ct.big_ = np.ones(20_000_000)  # 160 MB to copy
joblib.dump(ct, sys.argv[1])
"#;
    let input = d.join("model.joblib");
    let status = std::process::Command::new(common::python())
        .args(["-c", script])
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success());
    let original = std::fs::read(&input).unwrap();
    let reference = d.join("reference.joblib");
    let out = run(&[
        "patch",
        input.to_str().unwrap(),
        "--set",
        "n_jobs=null",
        "-o",
        reference.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let expected = std::fs::read(&reference).unwrap();
    // The array's 160 MB are copied in several kernel copies (64 MiB each, with the
    // disk's writeback started behind each): the tail comes through whole.
    let tail = 150_000_000;
    assert!(expected.len() > tail && original.len() > tail);
    assert!(expected[expected.len() - tail..] == original[original.len() - tail..]);

    let output = d.join("out.joblib");
    for (i, delay) in [0u64, 5, 20, 40, 80, 150, 300].iter().enumerate() {
        let _ = std::fs::remove_file(&output);
        let mut child = common::artifact()
            .args([
                "patch",
                input.to_str().unwrap(),
                "--set",
                "n_jobs=null",
                "-o",
                output.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*delay));
        let _ = child.kill();
        let _ = child.wait();
        if output.exists() {
            assert_eq!(
                std::fs::read(&output).unwrap(),
                expected,
                "run {i}: a partial output"
            );
        }
        assert_eq!(
            std::fs::read(&input).unwrap(),
            original,
            "run {i}: the input changed"
        );
    }
    // In place: the input is the original or the whole patched file, never in between.
    for delay in [0u64, 10, 50, 150] {
        let mut child = common::artifact()
            .args([
                "patch",
                input.to_str().unwrap(),
                "--set",
                "n_jobs=null",
                "--in-place",
                "--no-backup",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(&input).unwrap();
        assert!(
            now == original || now == expected,
            "in place, killed after {delay} ms: a partial file"
        );
        std::fs::write(&input, &original).unwrap();
    }
}
