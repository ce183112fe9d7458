//! The gate cannot be walked through (issue 9): every trick that passed it fails with a SEC
//! error, no folder arrangement passes a malicious file, benign models get no SEC error,
//! and CPython's own unpickler agrees with us on what each file imports.

mod common;

use std::path::Path;

use common::{fixture, json, python, root, run, run_in};
use serde_json::Value;

fn sec_errors(doc: &Value) -> Vec<String> {
    doc["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["findings"].as_array().into_iter().flatten())
        .filter(|f| f["code"].as_str().unwrap_or("").starts_with("SEC") && f["severity"] == "error")
        .map(|f| format!("{} {}", f["code"], f["message"]))
        .collect()
}

fn attacks() -> Vec<(String, String)> {
    let dir = root().join("fixtures/attacks");
    std::fs::read_to_string(dir.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["file"].as_str().unwrap().to_string(),
                v["trick"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_trick_fails_the_gate_with_a_sec_error() {
    let attacks = attacks();
    assert!(attacks.len() >= 35, "the attack list is complete");
    for (file, trick) in attacks {
        let path = root().join("fixtures/attacks").join(&file);
        let out = run(&[
            "check",
            "--isolated",
            "--format",
            "json",
            path.to_str().unwrap(),
        ]);
        let doc = json(&out);
        assert_ne!(
            out.status.code(),
            Some(0),
            "{file} ({trick}) passed the gate"
        );
        assert!(
            !sec_errors(&doc).is_empty(),
            "{file} ({trick}): no SEC error: {doc}"
        );
        // --fail-on error does not let it through either.
        let out = run(&[
            "check",
            "--isolated",
            "--fail-on",
            "error",
            path.to_str().unwrap(),
        ]);
        assert_ne!(
            out.status.code(),
            Some(0),
            "{file} passes with --fail-on error"
        );
    }
}

#[test]
fn the_attack_fixtures_are_what_the_generator_writes() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(python())
        .arg(root().join("tests/oracle/attacks.py"))
        .arg("--write")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    for (file, _) in attacks() {
        assert_eq!(
            std::fs::read(dir.path().join(&file)).unwrap(),
            std::fs::read(root().join("fixtures/attacks").join(&file)).unwrap(),
            "fixtures/attacks/{file} is stale: rerun tests/oracle/attacks.py --write fixtures/attacks"
        );
    }
}

#[test]
fn benign_fixtures_get_no_sec_error() {
    for entry in common::manifest() {
        let file = entry["file"].as_str().unwrap();
        if file.starts_with("sec_") {
            continue;
        }
        let out = run(&[
            "check",
            "--isolated",
            "--format",
            "json",
            "--select",
            "SEC",
            fixture(file).to_str().unwrap(),
        ]);
        let doc = json(&out);
        let errors = sec_errors(&doc);
        // The torch reference fixture imports torch, a library global no model here pickles.
        if file == "prt_torch_reference.p2.pkl" {
            continue;
        }
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}

/// Writes a malicious protocol-0 pickle under `name` in `dir`.
fn plant(dir: &Path, name: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"cos\nsystem\n(S'echo pwned'\ntR.").unwrap();
}

#[test]
fn no_folder_arrangement_passes_a_malicious_file() {
    for hidden in [
        ".hidden/model.bin",
        "__pycache__/model.cpython-311.pyc",
        "node_modules/pkg/index.dat",
        "notes.txt",
        "deep/er/still/x",
    ] {
        let dir = tempfile::tempdir().unwrap();
        plant(dir.path(), hidden);
        let out = run_in(
            dir.path(),
            &["check", "--isolated", "--format", "json", "."],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{hidden} passed: {}",
            json(&out)
        );
        assert!(!sec_errors(&json(&out)).is_empty(), "{hidden}");
    }
    // Every trick, as a file with no pickle extension found in a folder.
    for (file, trick) in attacks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            root().join("fixtures/attacks").join(&file),
            dir.path().join("blob"),
        )
        .unwrap();
        let out = run_in(
            dir.path(),
            &["check", "--isolated", "--format", "json", "."],
        );
        let doc = json(&out);
        assert_ne!(
            out.status.code(),
            Some(0),
            "{file} ({trick}) passed in a folder"
        );
        assert!(!sec_errors(&doc).is_empty(), "{file} in a folder: {doc}");
    }
    // Symbolic links are followed (to files and to folders); a loop is walked once.
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    plant(outside.path(), "payload.dat");
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("models/linked")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("models/loop")).unwrap();
    let out = run_in(
        dir.path(),
        &["check", "--isolated", "--format", "json", "models"],
    );
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(1), "{doc}");
    assert!(!sec_errors(&doc).is_empty());
    // A zip cannot be read yet, nor a .npy whose header runs past the end: the gate fails,
    // it does not skip them.
    for (name, bytes) in [
        ("archive.zip", &b"PK\x03\x04rest"[..]),
        ("weights.npy", &b"\x93NUMPY\x01\x00v\x00{}"[..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let out = run_in(dir.path(), &["check", "--isolated", "."]);
        assert_eq!(out.status.code(), Some(2), "{name}");
    }
    // A trailing zlib member is reported; a gzipped CSV is not an artifact.
    let dir = tempfile::tempdir().unwrap();
    let mut z = std::fs::read(fixture("ct_logreg.joblib.z")).unwrap();
    z.extend_from_slice(&std::fs::read(fixture("ct_logreg.joblib.z")).unwrap());
    std::fs::write(dir.path().join("two_members.joblib"), z).unwrap();
    let out = run_in(
        dir.path(),
        &["check", "--isolated", "--format", "json", "."],
    );
    let doc = json(&out);
    assert!(
        sec_errors(&doc)
            .iter()
            .any(|e| e.contains("after the end of the compressed stream")),
        "{doc}"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"a,b,c\n1,2,3\n").unwrap();
    std::fs::write(dir.path().join("sample.csv.gz"), gz.finish().unwrap()).unwrap();
    let out = run_in(
        dir.path(),
        &["check", "--isolated", "--format", "json", "."],
    );
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(0), "{doc}");
    assert_eq!(doc["summary"]["skipped"], 1);
}

#[test]
fn containers_are_detected_as_joblib_detects_them() {
    if common::skip_without_python() {
        return;
    }
    // joblib takes any `5d 00` prefix for lzma-alone, whatever the dictionary size says;
    // and `pickle.load` reads a "bz2 file" as it lies (`BZ` is BINBYTES to it).
    let dir = tempfile::tempdir().unwrap();
    let script = "import lzma, sys\n\
        data = lzma.compress(b\"cos\\nsystem\\n(S'echo pwned'\\ntR.\", format=lzma.FORMAT_ALONE,\n\
        filters=[{'id': lzma.FILTER_LZMA1, 'dict_size': 4096}])\n\
        assert data[:3] == b'\\x5d\\x00\\x10', data[:3]\n\
        open(sys.argv[1], 'wb').write(data)\n";
    let path = dir.path().join("model.bin");
    let status = std::process::Command::new(python())
        .args(["-c", script])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let out = run_in(
        dir.path(),
        &["check", "--isolated", "--format", "json", "."],
    );
    let doc = json(&out);
    assert!(!sec_errors(&doc).is_empty(), "{doc}");

    let dir = tempfile::tempdir().unwrap();
    let mut data = b"BZ\x00\x00\x00".to_vec();
    data.extend_from_slice(&[b'x'; 90]);
    data.extend_from_slice(b"0cos\nsystem\n(S'echo pwned'\ntR.");
    std::fs::write(dir.path().join("weights.dat"), data).unwrap();
    let out = run_in(dir.path(), &["check", "--isolated", "."]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "a pickle that joblib takes for bz2"
    );
}

#[test]
fn exclusions_are_the_users_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    plant(dir.path(), "data/payload.bin");
    std::fs::write(dir.path().join("artifact.toml"), "exclude = [\"data\"]\n").unwrap();
    let out = run_in(dir.path(), &["check", "--format", "json", "."]);
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(0), "{doc}");
    assert_eq!(doc["summary"]["excluded"], 1);
    let out = run_in(
        dir.path(),
        &["check", "--isolated", "--exclude", "*.bin", "."],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 path left out"));
    let out = run_in(dir.path(), &["check", "--isolated", "."]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn allowed_globals_cannot_trust_a_whole_library() {
    let dir = tempfile::tempdir().unwrap();
    plant(dir.path(), "m.pkl");
    std::fs::write(
        dir.path().join("artifact.toml"),
        "allowed-globals = [\"os.*\"]\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["check", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name the globals one by one"));
    // Even named exactly, code execution stays a finding.
    std::fs::write(
        dir.path().join("artifact.toml"),
        "allowed-globals = [\"os.system\"]\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["check", "."]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn what_ran_before_a_parse_error_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.pkl");
    std::fs::write(&path, b"cos\nsystem\n(S'id'\ntR0\xff").unwrap();
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        path.to_str().unwrap(),
    ]);
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(2), "read errors exit 2");
    assert!(
        sec_errors(&doc).iter().any(|e| e.contains("os.system")),
        "{doc}"
    );
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("offset")
    );
}

#[test]
fn cpython_agrees_on_what_every_attack_and_fixture_imports() {
    if common::skip_without_python() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_artifact");
    let oracle = root().join("tests/oracle/globals_oracle.py");
    // The attacks and 300 mutations of them (the full run: scripts/oracle.sh).
    let out = std::process::Command::new(python())
        .arg(&oracle)
        .arg(bin)
        .args(["--attacks", "300"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text
        .lines()
        .rfind(|l| l.contains(" passed, "))
        .unwrap_or_default();
    let failed: usize = last
        .split(", ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    assert_eq!(failed, 0, "{text}");
    // Every uncompressed fixture agrees exactly: pickles, joblib files, .npy and the
    // pickles inside PyTorch checkpoints (zip and legacy) and .npz files.
    let mut files: Vec<String> = common::manifest()
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_string())
        .filter(|f| {
            [".pkl", ".joblib", ".npy", ".npz", ".pt", ".ckpt", ".zip"]
                .iter()
                .any(|ext| f.ends_with(ext))
        })
        .map(|f| fixture(&f).to_string_lossy().into_owned())
        .collect();
    files.sort();
    let out = std::process::Command::new(python())
        .arg(&oracle)
        .arg(bin)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// At the edges of compressed streams (a pickle split across concatenated streams or lz4
/// frames, a stream cut short, bytes after it), joblib's own decompressing readers and the
/// C unpickler are the oracle: where they read to STOP we report exactly their globals or
/// refuse the file; where they fail we refuse too or report more (tests/oracle/codec_oracle.py).
#[test]
fn cpython_agrees_at_the_edges_of_compressed_streams() {
    if common::skip_without_python() {
        return;
    }
    let out = std::process::Command::new(python())
        .arg(root().join("tests/oracle/codec_oracle.py"))
        .arg(env!("CARGO_BIN_EXE_artifact"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("35 passed, 0 failed"), "{text}");
}

#[test]
fn generated_name_tables_are_fresh() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(python())
        .arg(root().join("scripts/python_names.py"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    for file in [
        "src/pickle/data/compat_pickle.tsv",
        "src/pickle/data/numpy_dtypes.tsv",
        "src/rules/data/stdlib_modules.txt",
    ] {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(file)).unwrap(),
            std::fs::read_to_string(root().join(file)).unwrap(),
            "{file} is stale: run scripts/python_names.py"
        );
    }
}
