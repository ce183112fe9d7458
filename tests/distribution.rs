//! How users get the tool: the wheel (maturin), the pre-commit hook, the GitHub Action's
//! scripts. Each installs what a user would install and runs it with no Rust toolchain
//! on PATH, as on a machine that only has Python.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// Held by whatever builds into [`wheel_target`]: the wheel's build and the hook's source
/// build are the same package from two folders, and each replaces the other's binary.
static BUILDING: Mutex<()> = Mutex::new(());

/// Where the packaging builds go: apart from `cargo test`'s own target folder (whose lock
/// the running tests hold), shared by the wheel and the hook's source build.
fn wheel_target() -> PathBuf {
    common::root().join("target").join("wheel")
}

/// A PATH with the venv's bin first and only the system's folders after it: no cargo.
fn without_rust(bin: &Path) -> String {
    format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display())
}

fn venv_bin(python: &Path) -> PathBuf {
    python.parent().unwrap().to_path_buf()
}

/// Builds the wheel once for the whole test binary.
fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let _building = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
        let out = wheel_target().join("dist");
        let _ = std::fs::remove_dir_all(&out);
        let status = Command::new(venv_bin(&common::python()).join("maturin"))
            .current_dir(common::root())
            .args(["build", "--release", "--quiet", "-o"])
            .arg(&out)
            .env("CARGO_TARGET_DIR", wheel_target())
            .status()
            .expect("maturin runs");
        assert!(status.success(), "maturin build failed");
        let wheel = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
            .expect("maturin wrote a wheel");
        assert!(
            wheel
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("artifact_gate-"),
            "{}",
            wheel.display()
        );
        wheel
    })
}

/// A fresh venv made by the pinned environment's own base interpreter.
fn fresh_venv(dir: &Path) -> PathBuf {
    let base = common::python_code("import sys; print(sys._base_executable)", &[]);
    let status = Command::new(base.trim())
        .args(["-m", "venv"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir.join("bin")
}

fn run(bin: &Path, program: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(bin.join(program))
        .args(args)
        .current_dir(cwd)
        .env("PATH", without_rust(bin))
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn the_wheel_installs_and_runs_without_rust() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = fresh_venv(&dir.path().join("venv"));
    let hidden = Command::new("sh")
        .args(["-c", "command -v cargo || command -v rustc"])
        .env("PATH", without_rust(&bin))
        .output()
        .unwrap();
    assert!(!hidden.status.success(), "cargo is still on the PATH");
    let install = run(
        &bin,
        "pip",
        &[
            "install",
            "--quiet",
            "--no-index",
            wheel().to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(install.status.success(), "{}", text(&install));

    let version = run(&bin, "artifact", &["--version"], dir.path());
    assert!(version.status.success(), "{}", text(&version));
    assert!(
        text(&version).contains(env!("CARGO_PKG_VERSION")),
        "{}",
        text(&version)
    );

    let root = common::root();
    let credit = common::fixture("credit_ct_xgb.joblib");
    let check = run(
        &bin,
        "artifact",
        &["check", "--isolated", credit.to_str().unwrap()],
        &root,
    );
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("PAR001"), "{}", text(&check));

    // The verify harness ships inside the binary: patch, then prove the repair with the
    // pinned environment's Python (the one that has the model's libraries).
    let fixed = dir.path().join("fixed.joblib");
    let patch = run(
        &bin,
        "artifact",
        &[
            "patch",
            credit.to_str().unwrap(),
            "--fix",
            "-o",
            fixed.to_str().unwrap(),
        ],
        &root,
    );
    assert!(patch.status.success(), "{}", text(&patch));
    let verify = run(
        &bin,
        "artifact",
        &[
            "verify",
            credit.to_str().unwrap(),
            fixed.to_str().unwrap(),
            "--data",
            "fixtures/data/credit_sample.csv",
            "--python",
            common::python().to_str().unwrap(),
            "--repeat",
            "1",
        ],
        &root,
    );
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
}

/// A model with no findings: the ColumnTransformer pipeline, repaired.
fn clean_model(dir: &Path) -> PathBuf {
    let clean = dir.join("clean.pkl");
    let out = common::artifact()
        .args(["patch", "--fix", "-o"])
        .arg(&clean)
        .arg(common::fixture("ct_logreg.p5.pkl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    clean
}

/// A git repository holding the given files, staged.
fn repo_with(dir: &Path, files: &[(&Path, &str)]) {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
    };
    git(&["init", "--quiet"]);
    for (source, name) in files {
        let target = dir.join(name);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(source, target).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "not a model\n").unwrap();
    git(&["add", "."]);
}

#[test]
fn the_pre_commit_hook_passes_good_models_and_fails_bad_ones() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let clean = clean_model(dir.path());
    repo_with(
        &work,
        &[
            (&clean, "models/good.pkl"),
            (
                &common::fixture("sec_reduce_os_system.p2.pkl"),
                "models/bad.pkl",
            ),
        ],
    );
    let pre_commit = venv_bin(&common::python()).join("pre-commit");
    let _building = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let try_repo = |file: &str| {
        Command::new(&pre_commit)
            .arg("try-repo")
            .arg(common::root())
            .args(["artifact-check", "--files", file, "--color", "never"])
            .current_dir(&work)
            .env("PRE_COMMIT_HOME", dir.path().join("cache"))
            // pre-commit builds the hook's environment with `pip install` of the repo
            // (maturin, from source): the same build folder as the wheel's.
            .env("CARGO_TARGET_DIR", wheel_target())
            .output()
            .unwrap()
    };
    let good = try_repo("models/good.pkl");
    assert_eq!(good.status.code(), Some(0), "{}", text(&good));
    let bad = try_repo("models/bad.pkl");
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("SEC001"), "{}", text(&bad));
    // A staged file that is no model is not passed to the hook at all.
    let notes = try_repo("notes.txt");
    assert_eq!(notes.status.code(), Some(0), "{}", text(&notes));
    assert!(
        text(&notes).contains("no files to check"),
        "{}",
        text(&notes)
    );
}

#[test]
fn the_github_action_scripts_run_with_its_inputs() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = fresh_venv(&dir.path().join("venv"));
    let clean = clean_model(dir.path());
    let output = dir.path().join("github-output");
    let sarif = dir.path().join("results.sarif");
    let step = |script: &str, env: &[(&str, &str)]| {
        let mut cmd = Command::new("bash");
        cmd.arg(common::root().join("action").join(script))
            .current_dir(common::root())
            .env("PATH", without_rust(&bin))
            .env("GITHUB_OUTPUT", &output)
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    // `version` may name a wheel file: the same step installs it, without the index.
    let install = step(
        "install.sh",
        &[("INPUT_VERSION", wheel().to_str().unwrap())],
    );
    assert!(install.status.success(), "{}", text(&install));
    assert!(bin.join("artifact").exists());

    let check = step(
        "check.sh",
        &[
            (
                "INPUT_PATHS",
                &format!(
                    "fixtures/artifacts/credit_ct_xgb.joblib {}",
                    clean.display()
                ),
            ),
            ("INPUT_FAIL_ON", "error"),
            ("INPUT_CONFIG", ""),
            ("INPUT_ARGS", "--isolated"),
            ("INPUT_SARIF", sarif.to_str().unwrap()),
        ],
    );
    assert_eq!(
        check.status.code(),
        Some(0),
        "the step records the exit code and succeeds: {}",
        text(&check)
    );
    let annotations = String::from_utf8_lossy(&check.stdout);
    assert!(
        annotations.contains("::error file=fixtures/artifacts/credit_ct_xgb.joblib"),
        "{annotations}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert!(!doc["runs"][0]["results"].as_array().unwrap().is_empty());
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("exit-code=1"), "{outputs}");
    assert!(
        outputs.contains(&format!("sarif={}", sarif.display())),
        "{outputs}"
    );
}
