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
