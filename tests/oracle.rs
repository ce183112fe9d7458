//! CPython's pickletools as the oracle for `artifact dis`: every fixture (pure pickles,
//! joblib with arrays between the opcodes, every codec) lists the same offsets and
//! opcode names as `pickletools.genops`.

mod common;

#[test]
fn dis_matches_pickletools_genops_on_every_fixture() {
    if common::skip_without_python() {
        return;
    }
    let files: Vec<String> = common::manifest()
        .iter()
        .map(|e| {
            common::fixture(e["file"].as_str().unwrap())
                .display()
                .to_string()
        })
        .collect();
    let out = std::process::Command::new(common::python())
        .arg(common::root().join("tests/oracle/dis_oracle.py"))
        .arg(env!("CARGO_BIN_EXE_artifact"))
        .args(&files)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "oracle disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("{} files checked, 0 problems", files.len())));
}

/// numpy's own header reader agrees with ours on every file numpy writes (dtypes, shapes,
/// orders, format versions 1-3) and on every mutated header it reads; none that numpy
/// reads as an object array is ever a plain array to us (tests/oracle/npy_headers.py).
#[test]
fn npy_headers_are_read_as_numpy_reads_them() {
    if common::skip_without_python() {
        return;
    }
    let out = std::process::Command::new(common::python())
        .arg(common::root().join("tests/oracle/npy_headers.py"))
        .arg(env!("CARGO_BIN_EXE_artifact"))
        .arg("1500")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "numpy disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1500 mutated files"), "{stdout}");
}

#[test]
fn skops_files_are_read_as_skops_reads_them() {
    // skops is the oracle: the untrusted types `get_untrusted_types` lists, and (for the
    // benign fixtures, which it may load) every type `skops.io.load` imports.
    if common::skip_without_python() {
        return;
    }
    let files: Vec<String> = common::manifest()
        .iter()
        .filter(|e| e["container"] == "skops")
        .map(|e| {
            common::fixture(e["file"].as_str().unwrap())
                .display()
                .to_string()
        })
        .collect();
    assert!(files.len() >= 3, "the skops fixtures: {files:?}");
    let script = common::root().join("tests/oracle/skops_oracle.py");
    let paths: Vec<&std::path::Path> = files.iter().map(std::path::Path::new).collect();
    let expected: serde_json::Value = serde_json::from_str(&common::python_script(&script, &paths))
        .expect("the oracle prints JSON");
    for file in &files {
        let doc = common::inspect_json(std::path::Path::new(file));
        let schema = doc["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["path"].as_str().unwrap().ends_with("!schema.json"))
            .unwrap_or_else(|| panic!("{file}: no schema.json artifact"));
        let untrusted = &schema["container"]["skops"]["untrusted_types"];
        assert_eq!(
            untrusted, &expected[file]["untrusted"],
            "{file}: untrusted types"
        );
        if let Some(imports) = expected[file]["imports"].as_array() {
            let mut ours: Vec<String> = schema["globals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| {
                    format!(
                        "{}.{}",
                        g["module"].as_str().unwrap(),
                        g["name"].as_str().unwrap()
                    )
                })
                .collect();
            ours.sort();
            let theirs: Vec<String> = imports
                .iter()
                .map(|i| i.as_str().unwrap().to_string())
                .collect();
            assert_eq!(ours, theirs, "{file}: the types skops.io.load imports");
        }
    }
}
