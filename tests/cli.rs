//! What users see: human output snapshots, exit codes, help, completions.

mod common;

use common::run;

use std::process::Output;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn inspect_credit_model_human() {
    let out = run(&["inspect", "fixtures/artifacts/credit_ct_xgb.joblib"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(common::transcript(&out));
}

#[test]
fn inspect_compressed_lists_every_array_on_request() {
    let out = run(&[
        "inspect",
        "--all-arrays",
        "fixtures/artifacts/ct_logreg.joblib.lz4",
    ]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(common::transcript(&out));
}

#[test]
fn dis_human_head() {
    let out = run(&["dis", "fixtures/artifacts/kmeans.p5.pkl"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let head: Vec<&str> = text.lines().take(25).collect();
    insta::assert_snapshot!(common::transcript_of(&out, &head.join("\n")));
}

/// An error as a user meets it: the file, the offset and the opcode on stderr, exit 2,
/// nothing on stdout.
#[test]
fn a_truncated_file_is_an_error_that_names_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pkl");
    std::fs::write(&bad, b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x0e").unwrap();
    let out = common::run_in(dir.path(), &["inspect", "bad.pkl"]);
    insta::assert_snapshot!(common::transcript(&out));
}

/// A plain .npy array runs nothing; an object array's pickle is scanned at its file
/// offsets; a header numpy could read but we cannot, or a truncated one, fails closed.
#[test]
fn npy_files_are_read_plain_or_as_the_pickle_numpy_load_runs() {
    let out = run(&["inspect", "fixtures/artifacts/npy_plain.npy"]);
    insta::assert_snapshot!(common::transcript(&out));
    let out = run(&[
        "inspect",
        "--format",
        "json",
        "fixtures/artifacts/npy_plain.npy",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &doc["artifacts"][0];
    assert_eq!(a["container"]["npy"]["object"], false);
    assert_eq!(a["readings"].as_array().unwrap().len(), 0);
    assert_eq!(a["arrays"]["items"][0]["storage"], "npy-file");
    assert_eq!(a["arrays"]["items"][0]["nbytes"], 96);

    let out = run(&["check", "fixtures/artifacts/sec_npy_object_os_system.npy"]);
    assert_eq!(out.status.code(), Some(1));
    // The pickle starts after the 128-byte header: the call is at its offset in the file.
    assert!(
        stdout(&out).contains("sec_npy_object_os_system.npy:133: SEC001 error"),
        "{}",
        stdout(&out)
    );

    let dir = tempfile::tempdir().unwrap();
    let mut header = b"\x93NUMPY\x01\x00\x46\x00".to_vec();
    header.extend_from_slice(
        b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), } # numpy: fine\n",
    );
    header.truncate(10 + 0x46);
    std::fs::write(dir.path().join("comment.npy"), &header).unwrap();
    std::fs::write(
        dir.path().join("short.npy"),
        b"\x93NUMPY\x01\x00\xff\x00{'descr'",
    )
    .unwrap();
    std::fs::write(dir.path().join("v9.npy"), b"\x93NUMPY\x09\x00\x00\x00").unwrap();
    for (name, says) in [
        (
            "comment.npy",
            "at offset 67: the .npy header is not a literal this reader follows exactly: text after the dict",
        ),
        (
            "short.npy",
            "at offset 10: the file ends inside the .npy header",
        ),
        ("v9.npy", "at offset 6: .npy version 9.0"),
    ] {
        let out = common::run_in(dir.path(), &["inspect", name]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name) && err.contains(says), "{name}: {err}");
    }
    // Commands that work on models say so instead of misreading the file.
    for args in [
        vec![
            "patch",
            "fixtures/artifacts/npy_object.npy",
            "--fix",
            "--dry-run",
        ],
        vec![
            "diff",
            "fixtures/artifacts/npy_object.npy",
            "fixtures/artifacts/npy_plain.npy",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("a NumPy .npy file"));
    }
}

/// A skops file: its schema read as skops reads it, a hostile key type failing the gate.
#[test]
fn skops_files_show_their_tree_and_untrusted_types() {
    let out = run(&["inspect", "fixtures/artifacts/skops_credit.skops"]);
    insta::assert_snapshot!(common::transcript(&out));
    let out = run(&[
        "check",
        "--isolated",
        "fixtures/artifacts/sec_skops_eval_key.skops",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(
            "sec_skops_eval_key.skops!schema.json:857: SEC001 error builtins.eval is called while loading"
        ),
        "{}",
        stdout(&out)
    );
    // diff and verify read pickles; they say so rather than misread a skops file.
    let out = run(&[
        "diff",
        "fixtures/artifacts/skops_credit.skops",
        "fixtures/artifacts/skops_ct_logreg.skops",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// PyTorch checkpoints (zip and legacy), .npz files and zips of artifacts are read member
/// by member: each pickle is an artifact named `file!member`, findings carry the member's
/// offsets, machine formats name the member, and model commands refuse the containers.
#[test]
fn archives_are_read_member_by_member() {
    let out = run(&["inspect", "fixtures/artifacts/torch_state_dict.pt"]);
    insta::assert_snapshot!(common::transcript(&out));
    let out = run(&["inspect", "fixtures/artifacts/torch_legacy.pt"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("pytorch-legacy") && text.contains("Tensors  6 tensors"),
        "{text}"
    );

    let out = run(&["check", "fixtures/artifacts/sec_torch_os_system.pt"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(
            "sec_torch_os_system.pt!sec_torch_os_system/data.pkl:504: SEC001 error posix.system"
        ),
        "{}",
        stdout(&out)
    );

    let zip = "fixtures/artifacts/sec_zip_nested.zip";
    let out = run(&["check", "--isolated", "--format", "json", zip]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let evil = doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["member"] == "archive/inner.zip!models/evil.pkl")
        .expect("the nested member is an artifact");
    assert_eq!(evil["file"], zip);
    assert_eq!(evil["findings"][0]["code"], "SEC001");

    let out = run(&["check", "--isolated", "--format", "sarif", zip]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "SEC001")
        .unwrap()
        .clone();
    let location = &result["locations"][0];
    assert_eq!(location["physicalLocation"]["artifactLocation"]["uri"], zip);
    // The offset is the member's, so it is no region of the file.
    assert!(location["physicalLocation"]["region"]["byteOffset"].is_null());
    assert_eq!(
        location["logicalLocations"][0]["fullyQualifiedName"],
        "archive/inner.zip!models/evil.pkl:5"
    );

    let out = run(&[
        "dis",
        "--format",
        "json",
        "fixtures/artifacts/npz_object.npz",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let first: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["member"], "names.npy");

    for args in [
        vec![
            "patch",
            "fixtures/artifacts/torch_state_dict.pt",
            "--fix",
            "--dry-run",
        ],
        vec![
            "diff",
            "fixtures/artifacts/torch_legacy.pt",
            "fixtures/artifacts/torch_state_dict.pt",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("PyTorch checkpoint"), "{err}");
    }
}

/// A dry run of a repair: the edits on stdout, nothing written.
#[test]
fn patch_dry_run_human() {
    let out = run(&[
        "patch",
        "fixtures/artifacts/credit_ct_xgb.joblib",
        "--fix",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(common::transcript(&out));
}

#[test]
fn dis_shows_joblib_arrays_between_opcodes() {
    let out = run(&["dis", "fixtures/artifacts/ct_logreg.joblib"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("---- joblib array f8 (1, 7): 5 padding bytes, 56 data bytes at 3344"),
        "{text}"
    );
    assert!(text.contains("---- joblib object array O8 (5,)"), "{text}");
}

#[test]
fn dis_json_is_one_object_per_line() {
    let out = run(&[
        "dis",
        "--format",
        "json",
        "fixtures/artifacts/ct_logreg.p2.pkl",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let records: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(records[0]["offset"], 0);
    assert_eq!(records[0]["op"], "PROTO");
    assert_eq!(records[0]["arg"], 2);
    assert_eq!(records.last().unwrap()["op"], "STOP");
}

/// The documents of `inspect`, `dis`, `diff` and `rule`, from real runs, validate against
/// their generated schemas (check, patch and verify are validated beside their own tests).
#[test]
fn json_documents_validate_against_their_schemas() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pkl");
    std::fs::write(&bad, b"\x80\x04N").unwrap();
    let mut inspect = vec!["inspect".to_string(), "--format".into(), "json".into()];
    for entry in std::fs::read_dir(common::root().join("fixtures/artifacts")).unwrap() {
        inspect.push(entry.unwrap().path().display().to_string());
    }
    inspect.push(bad.display().to_string());
    let args: Vec<&str> = inspect.iter().map(String::as_str).collect();
    let out = run(&args);
    // Every fixture is listed, the broken file under `errors`.
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["errors"].as_array().unwrap().len(), 1);
    common::validate_json("inspect", &out.stdout);

    // Inline joblib arrays and object arrays, protocol 0 text arguments and GLOBAL pairs,
    // payloads above the inline limit.
    for fixture in [
        "ct_logreg.joblib",
        "ct_logreg.p0.pkl",
        "sec_nested_in_bytes.p4.pkl",
        "lgbm.joblib",
        "torch_state_dict.pt",
    ] {
        let path = common::fixture(fixture);
        let out = run(&["dis", "--format", "json", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{fixture}");
        common::validate_json("dis", &out.stdout);
    }

    // Different models: every section of the diff has entries.
    let (a, b) = (
        common::fixture("ct_logreg.p4.pkl"),
        common::fixture("featureunion_forest.p4.pkl"),
    );
    let out = run(&[
        "diff",
        "--format",
        "json",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for section in ["settings", "estimators", "arrays", "globals"] {
        assert!(!doc[section].as_array().unwrap().is_empty(), "{section}");
    }
    common::validate_json("diff", &out.stdout);

    let out = run(&["rule", "--all", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    common::validate_json("rule", &out.stdout);
}

#[test]
fn several_files_one_failure_exit_2_but_others_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pkl");
    std::fs::write(&bad, b"\x80\x04N").unwrap();
    let out = run(&[
        "inspect",
        "--format",
        "json",
        "fixtures/artifacts/kmeans.p5.pkl",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    // The broken file is listed too, as far as it was read (what a loader ran before the
    // error), marked incomplete.
    assert_eq!(doc["artifacts"].as_array().unwrap().len(), 2);
    assert_eq!(doc["artifacts"][0]["complete"], true);
    assert_eq!(doc["artifacts"][1]["complete"], false);
    assert_eq!(doc["errors"][0]["offset"], 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.pkl: at offset 3"));
}

#[test]
fn missing_file_and_usage_errors_exit_2() {
    let out = run(&["inspect", "does/not/exist.pkl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does/not/exist.pkl: cannot open"));
    let out = run(&["inspect"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_teaches_with_examples() {
    let out = run(&["inspect", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("Examples:"));
    assert!(text.contains("--format"));
}

#[test]
fn man_pages_in_the_repo_are_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert!(
        pages.contains(&"artifact.1".to_string())
            && pages.contains(&"artifact-check.1".to_string()),
        "{pages:?}"
    );
    for page in &pages {
        let made = std::fs::read_to_string(dir.path().join(page)).unwrap();
        let committed =
            std::fs::read_to_string(common::root().join("man").join(page)).unwrap_or_default();
        assert!(
            committed == made,
            "man/{page} is stale: run scripts/update-generated.sh"
        );
    }
    let committed = std::fs::read_dir(common::root().join("man"))
        .unwrap()
        .count();
    assert_eq!(committed, pages.len(), "man/ holds pages no command makes");
}

#[test]
fn every_command_help_ends_with_an_example() {
    for command in [
        "inspect",
        "dis",
        "check",
        "patch",
        "diff",
        "verify",
        "rule",
        "init",
        "completions",
    ] {
        let help = stdout(&run(&[command, "--help"]));
        assert!(
            help.contains("Example"),
            "`artifact {command} --help` shows no example"
        );
    }
    let top = stdout(&run(&["--help"]));
    assert!(
        top.trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.contains("artifact ")),
        "{top}"
    );
}

#[test]
fn version_names_the_rule_set() {
    let out = stdout(&run(&["--version"]));
    assert_eq!(
        out.trim(),
        format!(
            "artifact {} (rule set {})",
            env!("CARGO_PKG_VERSION"),
            artifact::rules::RULESET_VERSION
        )
    );
}

#[test]
fn the_rule_set_version_moves_with_the_catalogue() {
    use sha2::Digest;
    let catalogue = run(&["rule", "--all", "--format", "json"]).stdout;
    let digest: String = sha2::Sha256::digest(&catalogue)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        digest,
        artifact::rules::RULESET_DIGEST,
        "the rules changed: bump ruleset_version! in src/rules/mod.rs, set RULESET_DIGEST to {digest}, and say what changed in CHANGELOG.md"
    );
}

#[test]
fn completions_in_the_repo_are_fresh() {
    for (shell, file) in [
        ("bash", "artifact.bash"),
        ("zsh", "_artifact"),
        ("fish", "artifact.fish"),
        ("powershell", "_artifact.ps1"),
    ] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        let committed = std::fs::read_to_string(common::root().join("completions").join(file))
            .unwrap_or_default();
        assert!(
            committed == stdout(&out),
            "completions/{file} is stale: run scripts/update-generated.sh"
        );
    }
}

#[test]
fn rule_reference_in_the_repo_is_fresh() {
    let committed =
        std::fs::read_to_string(common::root().join("docs/rules.md")).unwrap_or_default();
    let listing = stdout(&run(&["rule", "--all"]));
    assert!(
        committed.contains(&listing),
        "docs/rules.md is stale: run scripts/update-generated.sh"
    );
    let trust = std::fs::read_to_string(common::root().join("docs/trust-model.md")).unwrap();
    assert!(
        committed.contains(&trust),
        "docs/rules.md lacks the trust model: run scripts/update-generated.sh"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&run(&["rule", "--all", "--format", "json"]).stdout).unwrap();
    for rule in json.as_array().unwrap() {
        let doc = rule["doc"].as_str().unwrap().replace("## ", "### ");
        assert!(
            committed.contains(&doc),
            "docs/rules.md is stale for {}: run scripts/update-generated.sh",
            rule["code"]
        );
    }
}

/// Each cause is printed once, and a text file is "not a pickle" (issue 10); before, the
/// opcode detail was printed twice.
#[test]
fn errors_name_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.pkl");
    std::fs::write(&text, "hello, this is text h").unwrap();
    let out = run(&["patch", text.to_str().unwrap(), "--fix", "-o", "/dev/null"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a pickle or joblib file"), "{stderr}");
    assert_eq!(stderr.matches("at offset 0").count(), 1, "{stderr}");
}

/// `--format json | head` is not an error. (The document is far larger than a pipe's
/// buffer, and the run would otherwise exit 2 for the missing file: exit 0 proves the
/// closed pipe was seen.)
#[test]
fn a_closed_pipe_exits_0_quietly() {
    use std::io::Read;
    let mut files: Vec<String> = std::fs::read_dir(common::root().join("fixtures/artifacts"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    files.push("does-not-exist.pkl".into());
    let mut child = common::artifact()
        .args(["inspect", "--format", "json"])
        .args(&files)
        .current_dir(common::root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Broken pipe"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A dangerous global in inspect's list never stands without its finding (issue 10).
#[test]
fn inspect_ends_with_the_findings() {
    let out = run(&["inspect", "fixtures/artifacts/sec_reduce_os_system.p2.pkl"]);
    let text = stdout(&out);
    let findings = text.rfind("Findings").expect("a Findings section");
    assert!(text[findings..].contains("SEC001 error"), "{text}");
    assert!(text[..findings].contains("posix.system"), "{text}");
}

#[test]
fn repeated_fitted_clones_are_one_line_unless_all() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let forest = dir.path().join("forest.p4.pkl");
    common::python_code(
        "import sys, pickle, numpy as np\n\
             from sklearn.ensemble import RandomForestClassifier\n\
             X = np.random.RandomState(0).normal(size=(100, 3)); y = (X[:, 0] > 0).astype(int)\n\
             m = RandomForestClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)\n\
             pickle.dump(m, open(sys.argv[1], 'wb'), protocol=4)\n",
        &[&forest],
    );
    let out = common::run(&["inspect", forest.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("└─ estimator: 30 x DecisionTreeClassifier (fitted)  [estimators_[0..29]]"),
        "{text}"
    );
    assert_eq!(
        text.matches("DecisionTreeClassifier (").count(),
        2,
        "{text}"
    );
    let out = common::run(&["inspect", "--all", forest.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("DecisionTreeClassifier (fitted)").count(), 30);
    assert!(text.contains("[estimators_[29]]"));
    // Two clones stay two lines.
    let out = common::run(&["inspect", "fixtures/artifacts/bagging_knn.p5.pkl"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("KNeighborsClassifier (fitted)").count(),
        2,
        "{text}"
    );
}

#[test]
fn tables_fit_the_width_they_are_given() {
    let table_lines = |text: &str, section: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with(section))
            .skip(1)
            .take_while(|l| !l.trim().is_empty() && !l.starts_with("  +"))
            .map(str::to_string)
            .collect()
    };
    for width in [80usize, 60] {
        let out = common::artifact()
            .args(["inspect", "fixtures/artifacts/credit_ct_xgb.joblib"])
            .current_dir(common::root())
            .env("COLUMNS", width.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines = table_lines(&text, "Settings");
        assert!(lines.len() >= 3, "{text}");
        for l in &lines {
            assert!(l.chars().count() <= width, "{width}: {l:?}");
        }
        assert!(
            !lines[0].contains("raw path"),
            "narrow output drops the raw path"
        );
        let out = common::artifact()
            .args([
                "patch",
                "fixtures/artifacts/credit_ct_xgb.joblib",
                "--fix",
                "--dry-run",
            ])
            .current_dir(common::root())
            .env("COLUMNS", width.to_string())
            .output()
            .unwrap();
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            assert!(l.chars().count() <= width, "patch at {width}: {l:?}");
        }
    }
    // Piped with no width: rows stay whole, raw paths included.
    let out = common::run(&["inspect", "fixtures/artifacts/credit_ct_xgb.joblib"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(table_lines(&text, "Settings")[0].contains("raw path"));
}
