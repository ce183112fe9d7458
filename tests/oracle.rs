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
