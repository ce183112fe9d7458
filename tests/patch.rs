//! `artifact patch`: CPython loads every patched fixture with identical predictions, the
//! DESIGN.md invariants hold under random edits, and the command never loses data.

mod common;

use common::run_in;

use std::path::{Path, PathBuf};

use artifact::inspection;
use artifact::model::{Location, Setting, SettingValue};
use artifact::patch::{self, Edit, Recorder};
use artifact::pickle::{Arg, Op, Opcode, Visitor};
use proptest::prelude::*;

fn oracle(original: &Path, patched: &Path, keys: &[&str]) {
    let out = std::process::Command::new(common::python())
        .arg(common::root().join("tests/oracle/patched.py"))
        .arg(original)
        .arg(patched)
        .args(keys)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} vs {}:\n{}{}",
        original.display(),
        patched.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fixtures made of real models that predict (not the hostile ones, nor the ones whose
/// settings the library refuses).
/// The benign model fixtures (`.npy` files hold arrays, not models: `patch` refuses them).
fn model_fixtures() -> Vec<String> {
    common::manifest()
        .iter()
        // patch rewrites pickles and joblib files; it refuses .npy files and PyTorch
        // checkpoints, and zips are read member by member (tests/cli.rs).
        .filter(|e| e["container"] == "pickle" || e["container"] == "joblib")
        .map(|e| e["file"].as_str().unwrap().to_string())
        .filter(|f| !f.starts_with("sec_") && !f.starts_with("prt_") && !f.starts_with("cfg_"))
        .collect()
}

#[test]
fn patched_fixtures_load_in_python_with_identical_predictions() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for file in model_fixtures() {
        let doc = common::inspect_json(&common::fixture(&file));
        let has = doc["artifacts"][0]["settings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| {
                s["name"] == "n_jobs" && !s["value"].is_null() && s["location"] == "attribute"
            });
        if !has {
            continue;
        }
        let out_path = dir.path().join(format!("patched-{file}"));
        let out = run_in(
            &common::root(),
            &[
                "patch",
                &common::fixture(&file).display().to_string(),
                "--set",
                "n_jobs=null",
                "-o",
                out_path.to_str().unwrap(),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        oracle(&common::fixture(&file), &out_path, &["n_jobs"]);
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} fixtures patched");
}

#[test]
fn fix_resets_booster_threads_and_kmeans() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // `--fix` alone leaves every n_jobs at None: XGBoost's wrapper and a search's own too.
    for (file, keys) in [
        ("credit_ct_xgb.joblib", vec!["n_jobs", "--booster"]),
        ("credit_ct_xgb.p5.pkl", vec!["n_jobs", "--booster"]),
        ("lgbm.joblib", vec!["n_jobs", "num_threads", "--booster"]),
        ("gridsearch_forest.joblib", vec!["n_jobs"]),
        ("kmeans.p5.pkl", vec![]),
    ] {
        let out_path = dir.path().join(format!("fixed-{file}"));
        let out = run_in(
            &common::root(),
            &[
                "patch",
                &common::fixture(file).display().to_string(),
                "--fix",
                "-o",
                out_path.to_str().unwrap(),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        oracle(&common::fixture(file), &out_path, &keys);
    }
    // And the rules agree: nothing left to fix.
    let out = run_in(
        &common::root(),
        &[
            "check",
            "--isolated",
            "--select",
            "PAR",
            "--fail-on",
            "info",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn catboost_and_imblearn_pipelines_are_repaired() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // CatBoost ignores the stored thread_count at predict (scripts/measure_predict_parallelism.py),
    // so --fix leaves it; an explicit --set rewrites it inside the flat params dict.
    for (file, args, keys) in [
        (
            "catboost_pipeline.joblib",
            vec!["--set", "catboost__thread_count=1"],
            vec!["thread_count=1"],
        ),
        ("imblearn_pipeline.joblib", vec!["--fix"], vec!["n_jobs"]),
        ("imblearn_pipeline.p2.pkl", vec!["--fix"], vec!["n_jobs"]),
    ] {
        let out_path = dir.path().join(format!("fixed-{file}"));
        let input = common::fixture(file).display().to_string();
        let mut argv = vec!["patch", input.as_str()];
        argv.extend(&args);
        argv.extend(["-o", out_path.to_str().unwrap()]);
        let out = run_in(&common::root(), &argv);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        oracle(&common::fixture(file), &out_path, &keys);
    }
    // Nothing the gate would stop is left in the repaired imblearn pipeline.
    let fixed = dir.path().join("fixed-imblearn_pipeline.joblib");
    let out = run_in(
        &common::root(),
        &[
            "check",
            "--isolated",
            "--select",
            "PAR",
            "--fail-on",
            "info",
            fixed.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn every_codec_is_written_back_with_its_own_magic() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for ext in ["z", "gz", "bz2", "xz", "lzma", "lz4"] {
        let name = format!("ct_logreg.joblib.{ext}");
        let input = common::fixture(&name);
        let output = dir.path().join(format!("out.{ext}"));
        let out = run_in(
            &common::root(),
            &[
                "patch",
                input.to_str().unwrap(),
                "--set",
                "n_jobs=null",
                "-o",
                output.to_str().unwrap(),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let before = std::fs::read(&input).unwrap();
        let after = std::fs::read(&output).unwrap();
        let magic = match ext {
            "z" => 1,
            "gz" => 2,
            "bz2" => 3,
            "xz" => 6,
            "lzma" => 3,
            _ => 4,
        };
        assert_eq!(before[..magic], after[..magic], "{name}: magic bytes");
        oracle(&input, &output, &["n_jobs"]);
    }
}

#[test]
fn the_command_never_loses_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("model.joblib");
    std::fs::copy(common::fixture("credit_ct_xgb.joblib"), &model).unwrap();
    let original = std::fs::read(&model).unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };

    // An unknown key: an error that lists the keys, and nothing written.
    let out = run_in(d, &["patch", "model.joblib", "--set", "nope=1"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no setting 'nope'") && stderr.contains("preprocessor__n_jobs"),
        "{stderr}"
    );
    assert_eq!(listing(), vec!["model.joblib"]);

    // A type the place cannot hold.
    let out = run_in(
        d,
        &[
            "patch",
            "model.joblib",
            "--set",
            "xgboost__booster.nthread=null",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stored as its decimal text"));

    // --dry-run writes nothing.
    let out = run_in(d, &["patch", "model.joblib", "--fix", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("dry run"));
    assert_eq!(listing(), vec!["model.joblib"]);

    // Default output name, then refusal to overwrite it.
    assert_eq!(
        run_in(d, &["patch", "model.joblib", "--set", "n_jobs=null"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(listing(), vec!["model.joblib", "model.patched.joblib"]);
    let out = run_in(d, &["patch", "model.joblib", "--set", "n_jobs=null"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        std::fs::read(&model).unwrap(),
        original,
        "the input is never written"
    );

    // In place: a backup with the original bytes.
    let out = run_in(
        d,
        &[
            "patch",
            "model.joblib",
            "--fix",
            "--in-place",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["edits"][0]["sklearn_path"], "preprocessor__n_jobs");
    assert_eq!(report["edits"][0]["old"], 14);
    assert!(report["edits"][0]["new"].is_null());
    assert_eq!(std::fs::read(d.join("model.joblib.bak")).unwrap(), original);
    assert_ne!(std::fs::read(&model).unwrap(), original);
    assert_eq!(
        listing(),
        vec!["model.joblib", "model.joblib.bak", "model.patched.joblib"]
    );

    // Nothing to change: nothing is written (before, a copy with "0 edits" was).
    let out = run_in(d, &["patch", "model.joblib", "--fix", "-o", "again.joblib"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to change"));
    assert!(!d.join("again.joblib").exists());

    // A read-only input is not replaced in place unless --force says so.
    std::fs::copy(common::fixture("credit_ct_xgb.joblib"), d.join("ro.joblib")).unwrap();
    let mut perms = std::fs::metadata(d.join("ro.joblib"))
        .unwrap()
        .permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(d.join("ro.joblib"), perms).unwrap();
    let before = std::fs::read(d.join("ro.joblib")).unwrap();
    let out = run_in(d, &["patch", "ro.joblib", "--fix", "--in-place"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    assert_eq!(std::fs::read(d.join("ro.joblib")).unwrap(), before);
    let out = run_in(d, &["patch", "ro.joblib", "--fix", "--in-place", "--force"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(std::fs::read(d.join("ro.joblib")).unwrap(), before);
}

#[test]
fn diffing_an_input_and_its_patched_output_lists_exactly_the_edits() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("fixed.joblib");
    let input = common::fixture("credit_ct_xgb.joblib");
    let out = run_in(
        &common::root(),
        &[
            "patch",
            input.to_str().unwrap(),
            "--fix",
            "-o",
            out_path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut edited: Vec<String> = report["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["raw_path"].as_str().unwrap().to_string())
        .collect();
    edited.sort();
    let out = run_in(
        &common::root(),
        &[
            "diff",
            input.to_str().unwrap(),
            out_path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    common::validate_json("diff", &out.stdout);
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut changed: Vec<String> = diff["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["raw_path"].as_str().unwrap().to_string())
        .collect();
    changed.sort();
    assert_eq!(changed, edited);
    for kind in ["estimators", "arrays", "globals"] {
        assert!(
            diff[kind].as_array().unwrap().is_empty(),
            "{kind}: {}",
            diff[kind]
        );
    }
    let out = run_in(
        &common::root(),
        &["diff", input.to_str().unwrap(), input.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
}

// ---- invariants, in process ---------------------------------------------------------

/// Records the memo opcodes (kind and explicit index) in order.
#[derive(Default)]
struct MemoOps(Vec<(&'static str, i64)>);

impl Visitor for MemoOps {
    fn op(&mut self, _: usize, _: bool, op: &Op<'_>) {
        if matches!(
            op.code,
            Opcode::Memoize | Opcode::BinPut | Opcode::LongBinPut | Opcode::Put
        ) {
            let index = match op.arg {
                Arg::Int(i) => i,
                Arg::Line(l) => String::from_utf8_lossy(l).parse().unwrap_or(-1),
                _ => -1,
            };
            self.0.push((op.code.name(), index));
        }
    }
}

struct Patched {
    input: Vec<u8>,
    output: PathBuf,
    _dir: tempfile::TempDir,
}

fn apply(file: &str, choose: &dyn Fn(&[Setting]) -> Vec<Edit>) -> Patched {
    let path = common::fixture(file);
    let artifact = inspection::open(&path, &mut |_| {}).unwrap();
    let mut recorder = Recorder::default();
    let graph = inspection::parse(&path, &artifact, &mut recorder).unwrap();
    let layout = recorder.0.from_streams(&graph.streams);
    let insp = inspection::build(&path, &artifact, &graph, None);
    let edits = choose(&insp.view.settings);
    let splices = patch::splices(artifact.bytes(), &layout, &edits).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join(file);
    let tmp = patch::write(&path, &artifact, &splices, &output, &mut |_| {}).unwrap();
    tmp.persist(&output).unwrap();
    Patched {
        input: artifact.bytes().to_vec(),
        output,
        _dir: dir,
    }
}

fn decoded(path: &Path) -> Vec<u8> {
    inspection::open(path, &mut |_| {})
        .unwrap()
        .bytes()
        .to_vec()
}

#[test]
fn zero_edits_write_the_input_back_byte_for_byte() {
    for file in model_fixtures() {
        let p = apply(&file, &|_| Vec::new());
        assert_eq!(
            std::fs::read(&p.output).unwrap(),
            std::fs::read(common::fixture(&file)).unwrap(),
            "{file}"
        );
    }
}

fn patchable(s: &Setting) -> bool {
    match s.location {
        Location::Attribute | Location::ParamsDict => s.name != "_n_threads",
        Location::XgboostConfig | Location::LightgbmModelText => s.blob.is_some(),
        Location::BoosterParams => true,
    }
}

fn any_value(in_blob: bool) -> BoxedStrategy<SettingValue> {
    if in_blob {
        prop_oneof![
            (0i64..100000).prop_map(SettingValue::Int),
            "[a-z0-9]{0,300}".prop_map(SettingValue::Str)
        ]
        .boxed()
    } else {
        prop_oneof![
            Just(SettingValue::None),
            any::<bool>().prop_map(SettingValue::Bool),
            any::<i64>().prop_map(SettingValue::Int),
            (-1i64..300).prop_map(SettingValue::Int),
            (-1e6f64..1e6).prop_map(SettingValue::Float),
            "[a-z]{0,300}".prop_map(SettingValue::Str),
        ]
        .boxed()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random edits keep every frame length right (the strict lexer rejects anything
    /// else), the memo opcodes unchanged, every joblib array aligned, and read back.
    #[test]
    fn random_edits_keep_the_invariants(
        which in 0usize..7,
        picks in proptest::collection::vec((any::<prop::sample::Index>(), any_value(false), any_value(true)), 1..6),
    ) {
        let file = ["credit_ct_xgb.joblib", "credit_ct_xgb.p5.pkl", "ct_logreg.p0.pkl", "ct_logreg.p2.pkl",
                    "lgbm.joblib", "featureunion_forest.joblib", "ct_logreg.joblib.gz"][which];
        let chosen = std::cell::RefCell::new(Vec::new());
        let p = apply(file, &|settings| {
            let candidates: Vec<&Setting> = settings.iter().filter(|s| patchable(s)).collect();
            let mut edits: Vec<Edit> = Vec::new();
            for (index, plain, in_blob) in &picks {
                let s = candidates[index.index(candidates.len())];
                if edits.iter().any(|e| e.setting.offset == s.offset) {
                    continue;
                }
                let new = if s.blob.is_some() { in_blob.clone() } else { plain.clone() };
                edits.push(Edit { setting: s.clone(), new });
            }
            *chosen.borrow_mut() = edits.clone();
            edits
        });
        let output = decoded(&p.output);
        // Frames and structure: the output parses to the end with the strict lexer.
        let mut memo_after = MemoOps::default();
        artifact::pickle::parse(&output, &mut memo_after).unwrap();
        let mut memo_before = MemoOps::default();
        artifact::pickle::parse(&p.input, &mut memo_before).unwrap();
        // Invariant 4, with the POPs our memoized replacements add between them.
        prop_assert_eq!(&memo_before.0, &memo_after.0);
        // Invariant 6: every inline array starts on its alignment.
        let mut recorder = Recorder::default();
        artifact::pickle::parse(&output, &mut recorder).unwrap();
        for array in &recorder.0.arrays {
            if let Some(a) = array.alignment {
                prop_assert_eq!(array.data.offset % a, 0);
            }
        }
        // Each edited value reads back.
        let after = inspection::read(&p.output, &mut |_| {}).unwrap();
        for e in chosen.borrow().iter() {
            let found = after.view.settings.iter().find(|s| s.raw_path == e.setting.raw_path && s.name == e.setting.name);
            let value = found.map(|s| s.value.clone());
            let expected = match (&e.new, &e.setting.location) {
                (SettingValue::Int(n), Location::XgboostConfig) => SettingValue::Str(n.to_string()),
                (SettingValue::Str(s), Location::LightgbmModelText) => s.parse::<i64>().map(SettingValue::Int).unwrap_or(SettingValue::Str(s.clone())),
                (other, _) => other.clone(),
            };
            let same = match (&value, &expected) {
                (Some(SettingValue::Float(a)), SettingValue::Float(b)) => a.to_bits() == b.to_bits(),
                _ => value.as_ref() == Some(&expected),
            };
            prop_assert!(same, "{}: {:?} != {:?}", e.setting.raw_path, value, expected);
        }
    }
}

/// `-` reads the artifact from standard input, `-o -` writes it to standard output, with
/// the same bytes as a file written by `-o` (issue 10).
#[test]
fn standard_input_and_output() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = common::fixture("credit_ct_xgb.joblib");
    let out = run_in(
        d,
        &[
            "patch",
            model.to_str().unwrap(),
            "--fix",
            "-o",
            "file.joblib",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let expected = std::fs::read(d.join("file.joblib")).unwrap();

    let out = run_in(d, &["patch", model.to_str().unwrap(), "--fix", "-o", "-"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout, expected,
        "stdout holds the artifact and nothing else"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("preprocessor__n_jobs"));

    let mut child = common::artifact()
        .args(["patch", "-", "--fix", "-o", "piped.joblib"])
        .current_dir(d)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&model).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(d.join("piped.joblib")).unwrap(), expected);

    let out = run_in(d, &["patch", "-", "--fix"]);
    assert_eq!(out.status.code(), Some(2), "standard input needs -o");
}

#[test]
fn fix_rewrites_boosters_spelled_as_text_in_protocols_0_to_2() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Protocols 0-2 spell XGBoost's handle as `_codecs.encode(text, 'latin1')` and
    // protocol 0 escapes LightGBM's model text: both are decoded, edited, spelled again.
    common::python_code(
        "import joblib, pickle, sys\n\
             for name in ('credit_ct_xgb', 'lgbm'):\n\
             \x20   m = joblib.load(f'{sys.argv[1]}/{name}.joblib')\n\
             \x20   for p in (0, 1, 2):\n\
             \x20       pickle.dump(m, open(f'{sys.argv[2]}/{name}.p{p}.pkl', 'wb'), protocol=p)\n",
        &[&common::root().join("fixtures/artifacts"), dir.path()],
    );
    for name in ["credit_ct_xgb", "lgbm"] {
        for p in 0..=2 {
            let original = dir.path().join(format!("{name}.p{p}.pkl"));
            let fixed = dir.path().join(format!("{name}.p{p}.fixed.pkl"));
            let out = run_in(
                &common::root(),
                &[
                    "patch",
                    original.to_str().unwrap(),
                    "--fix",
                    "--all-or-nothing",
                    "-o",
                    fixed.to_str().unwrap(),
                ],
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} p{p}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let keys: &[&str] = if name == "lgbm" {
                &["n_jobs", "num_threads", "--booster"]
            } else {
                &["n_jobs", "--booster"]
            };
            oracle(&original, &fixed, keys);
        }
    }
}

/// Sends SIGTERM to a patch while it writes, and checks that nothing is left: neither at
/// the destination nor a temporary file, with an anonymous (`O_TMPFILE`) staged file and
/// with the named fallback.
#[test]
fn a_signal_during_the_write_leaves_nothing_behind() {
    if common::skip_without_python() {
        return;
    }
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.joblib.gz");
    // 40 MB of random array bytes, gzip: re-encoding takes long enough to be interrupted.
    common::python_code(
        "import os, sys, joblib, numpy as np\n\
             from sklearn.ensemble import RandomForestClassifier\n\
             m = RandomForestClassifier(n_jobs=14)\n\
             m.payload_ = np.frombuffer(os.urandom(40_000_000), np.uint8)\n\
             joblib.dump(m, sys.argv[1], compress=('gzip', 1))\n",
        &[&input],
    );
    for named in [false, true] {
        let out = dir.path().join("out.joblib.gz");
        let mut cmd = common::artifact();
        cmd.args([
            "patch",
            input.to_str().unwrap(),
            "--set",
            "n_jobs=null",
            "-o",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        if named {
            cmd.env("ARTIFACT_NO_O_TMPFILE", "1");
        }
        let mut child = cmd.spawn().unwrap();
        let fds = format!("/proc/{}/fd", child.id());
        let staged = || {
            std::fs::read_dir(&fds)
                .into_iter()
                .flatten()
                .flatten()
                .any(|fd| {
                    std::fs::read_link(fd.path())
                        .map(|l| {
                            let l = l.to_string_lossy().into_owned();
                            l.starts_with(&*dir.path().to_string_lossy())
                                && (l.contains(".artifact-patch-") || l.contains("/#"))
                        })
                        .unwrap_or(false)
                })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !staged() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "named={named}: the patch ended before its staged file was seen"
            );
            assert!(std::time::Instant::now() < deadline, "no staged file seen");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGTERM),
            "named={named}: {status:?}"
        );
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["big.joblib.gz"], "named={named}");
    }
}

#[test]
fn several_files_and_folders_with_one_summary() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(models.join("sub")).unwrap();
    for (file, to) in [
        ("credit_ct_xgb.joblib", "credit_ct_xgb.joblib"),
        ("ct_logreg.joblib.gz", "ct_logreg.joblib.gz"),
        ("lgbm.joblib", "sub/lgbm.joblib"),
    ] {
        std::fs::copy(common::fixture(file), models.join(to)).unwrap();
    }
    std::fs::write(models.join("README.txt"), "not a model\n").unwrap();
    let single = dir.path().join("kmeans.p5.pkl");
    std::fs::copy(common::fixture("kmeans.p5.pkl"), &single).unwrap();

    let out = run_in(
        dir.path(),
        &[
            "patch",
            "--fix",
            "models",
            "kmeans.p5.pkl",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = common::json(&out);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 4, "{doc}");
    assert_eq!(doc["passed_over"], 1, "README.txt is not an artifact");
    for f in files {
        assert!(f["error"].is_null(), "{f}");
        assert!(f["edits"].as_u64().unwrap() > 0, "{f}");
    }
    // Each written beside its input, and each loads with identical predictions.
    oracle(
        &models.join("sub/lgbm.joblib"),
        &models.join("sub/lgbm.patched.joblib"),
        &["n_jobs", "num_threads", "--booster"],
    );
    oracle(&single, &dir.path().join("kmeans.patched.p5.pkl"), &[]);

    // A second run: the patched copies have nothing to change, the first outputs exist
    // (an error each, nothing overwritten), and a broken artifact fails without stopping
    // the others; the human summary says all of it.
    let truncated = std::fs::read(common::fixture("kmeans.p5.pkl")).unwrap();
    std::fs::write(models.join("broken.pkl"), &truncated[..100]).unwrap();
    let before = std::fs::read(models.join("credit_ct_xgb.patched.joblib")).unwrap();
    let out = run_in(dir.path(), &["patch", "--fix", "models"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nothing to change"), "{text}");
    assert!(text.contains("exists"), "{text}");
    assert!(
        text.contains("broken.pkl") && text.contains("offset"),
        "{text}"
    );
    assert!(text.contains("written, "), "{text}");
    assert_eq!(
        std::fs::read(models.join("credit_ct_xgb.patched.joblib")).unwrap(),
        before
    );
    assert!(!models.join("broken.patched.pkl").exists());

    // -o names one output.
    let out = run_in(dir.path(), &["patch", "--fix", "models", "-o", "x.pkl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-o names one output"));
}

#[test]
fn diffing_a_forest_and_its_patched_copy_lists_the_one_setting() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Each tree pickles its arrays inside `Tree(...)`'s constructor arguments: they must
    // be matched by where they are, not by offsets the edit moved.
    common::python_code(
        "import sys, pickle, joblib, numpy as np\n\
             from sklearn.ensemble import RandomForestClassifier\n\
             X = np.random.RandomState(0).normal(size=(200, 4)); y = (X[:, 0] > 0).astype(int)\n\
             m = RandomForestClassifier(n_estimators=30, max_depth=4, n_jobs=4, random_state=0).fit(X, y)\n\
             pickle.dump(m, open(sys.argv[1] + '/forest.p4.pkl', 'wb'), protocol=4)\n\
             pickle.dump(m, open(sys.argv[1] + '/forest.p2.pkl', 'wb'), protocol=2)\n\
             joblib.dump(m, sys.argv[1] + '/forest.joblib')\n",
        &[dir.path()],
    );
    for file in ["forest.p4.pkl", "forest.p2.pkl", "forest.joblib"] {
        let input = dir.path().join(file);
        let fixed = dir.path().join(format!("fixed-{file}"));
        let out = run_in(
            dir.path(),
            &[
                "patch",
                input.to_str().unwrap(),
                "--set",
                "n_jobs=null",
                "-o",
                fixed.to_str().unwrap(),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = run_in(
            dir.path(),
            &[
                "diff",
                input.to_str().unwrap(),
                fixed.to_str().unwrap(),
                "--format",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(1));
        let doc = common::json(&out);
        let count = |k: &str| doc[k].as_array().unwrap().len();
        assert_eq!(
            (
                count("settings"),
                count("estimators"),
                count("arrays"),
                count("globals")
            ),
            (1, 0, 0, 0),
            "{file}: {doc}"
        );
        assert_eq!(doc["settings"][0]["sklearn_path"], "n_jobs");
        let text = String::from_utf8_lossy(
            &run_in(
                dir.path(),
                &["diff", input.to_str().unwrap(), fixed.to_str().unwrap()],
            )
            .stdout,
        )
        .into_owned();
        assert!(text.ends_with("1 difference.\n"), "{file}: {text}");
    }
}

/// A compressed file comes back with the level (and stream options) its header records:
/// the header bytes that carry them are the same in the input and the patched copy.
#[test]
fn compressed_files_keep_their_level() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, u32, std::ops::Range<usize>); 9] = [
        ("zlib", 1, 1..2),
        ("zlib", 9, 1..2),
        ("gzip", 9, 8..9),
        ("bz2", 1, 3..4),
        ("bz2", 9, 3..4),
        ("xz", 1, 16..17),
        ("xz", 9, 16..17),
        ("lzma", 2, 1..5),
        ("lz4", 9, 4..6),
    ];
    let list: Vec<String> = cases
        .iter()
        .map(|(codec, level, _)| format!("('{codec}', {level})"))
        .collect();
    common::python_code(
        &format!(
            "import sys, joblib, numpy as np\n\
             from sklearn.linear_model import LogisticRegression\n\
             X = np.arange(40.0).reshape(20, 2); y = np.arange(20) % 2\n\
             model = LogisticRegression(n_jobs=2).fit(X, y)\n\
             for codec, level in [{}]:\n\
             \x20   joblib.dump(model, f'{{sys.argv[1]}}/{{codec}}{{level}}.joblib', compress=(codec, level))\n",
            list.join(", ")
        ),
        &[dir.path()],
    );
    for (codec, level, header) in cases {
        let input = dir.path().join(format!("{codec}{level}.joblib"));
        let output = dir.path().join(format!("{codec}{level}.fixed.joblib"));
        let out = run_in(
            dir.path(),
            &[
                "patch",
                input.to_str().unwrap(),
                "--set",
                "n_jobs=null",
                "-o",
                output.to_str().unwrap(),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{codec} {level}: {stderr}");
        assert!(
            stderr.contains(&format!("compressed with {codec}")),
            "{codec} {level}: {stderr}"
        );
        let before = std::fs::read(&input).unwrap();
        let after = std::fs::read(&output).unwrap();
        assert_eq!(
            before[header.clone()],
            after[header],
            "{codec} {level}: the header's level bytes"
        );
        oracle(&input, &output, &["n_jobs"]);
    }
}

/// Both patch documents, from real runs, validate against their generated schemas: one
/// artifact with an edit that applies and one that cannot, and a folder's summary.
#[test]
fn patch_json_matches_its_schemas() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let one = run_in(
        dir.path(),
        &[
            "patch",
            common::fixture("credit_ct_xgb.joblib").to_str().unwrap(),
            "--fix",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        one.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let doc = common::json(&one);
    assert!(!doc["edits"].as_array().unwrap().is_empty());
    common::validate_json("patch", &one.stdout);

    let models = dir.path().join("models");
    std::fs::create_dir(&models).unwrap();
    for name in ["credit_ct_xgb.joblib", "kmeans.p5.pkl"] {
        std::fs::copy(common::fixture(name), models.join(name)).unwrap();
    }
    std::fs::write(models.join("README.txt"), "not a model").unwrap();
    let many = run_in(
        dir.path(),
        &["patch", "--fix", "models", "--format", "json"],
    );
    let doc = common::json(&many);
    assert_eq!(doc["files"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(doc["passed_over"], 1, "{doc}");
    common::validate_json("patch-summary", &many.stdout);
}

#[test]
fn skops_pipelines_are_repaired_and_load_in_skops() {
    // `--fix` on a skops file rewrites schema.json (and the booster's own member), keeps
    // every other member byte-identical with its compression method, and skops.io.load
    // loads the result with every n_jobs at None and identical predictions.
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (file, keys) in [
        ("skops_credit.skops", vec!["n_jobs", "--booster"]),
        ("skops_ct_logreg.skops", vec!["n_jobs"]),
    ] {
        let out_path = dir.path().join(format!("fixed-{file}"));
        let out = run_in(
            &common::root(),
            &[
                "patch",
                &common::fixture(file).display().to_string(),
                "--fix",
                "-o",
                out_path.to_str().unwrap(),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        oracle(&common::fixture(file), &out_path, &keys);
    }
    let out = run_in(
        &common::root(),
        &[
            "check",
            "--isolated",
            "--fail-on",
            "info",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A setting asked for by name reaches the state the name belongs to, not the first
    // state of the same value (skops shares one __id__ between equal small ints).
    let only_xgb = dir.path().join("xgb-only.skops");
    let out = run_in(
        &common::root(),
        &[
            "patch",
            &common::fixture("skops_credit.skops").display().to_string(),
            "--set",
            "xgboost__n_jobs=3",
            "-o",
            only_xgb.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded = common::python_code(
        "import sys, skops.io as s; m = s.load(sys.argv[1], trusted=s.get_untrusted_types(file=sys.argv[1])); \
         print(m.get_params()['preprocessor__n_jobs'], m.get_params()['xgboost__n_jobs'])",
        &[&only_xgb],
    );
    assert_eq!(loaded.trim(), "14 3");
}
