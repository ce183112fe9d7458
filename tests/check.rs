//! `artifact check`, the CI gate: findings on the fixtures, exit codes, configuration,
//! and the machine formats validated against their schemas.

mod common;

use common::{json, run, run_in};

use serde_json::Value;

fn fixture(name: &str) -> String {
    common::fixture(name).display().to_string()
}

/// Every finding's code, in the file and (for an archive) in each member read.
fn codes(doc: &Value) -> Vec<String> {
    doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["findings"].as_array().unwrap())
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_fixture_reports_the_findings_its_manifest_names() {
    for entry in common::manifest() {
        let file = entry["file"].as_str().unwrap();
        let expected: Vec<&str> = entry["findings"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap()).collect())
            .unwrap_or_default();
        let out = run(&["check", "--isolated", "--format", "json", &fixture(file)]);
        let doc = json(&out);
        let found = codes(&doc);
        for code in &expected {
            assert!(
                found.iter().any(|c| c == code),
                "{file}: expected {code}, found {found:?}"
            );
        }
        let fails = doc["summary"]["failed"].as_bool().unwrap();
        assert_eq!(out.status.code(), Some(if fails { 1 } else { 0 }), "{file}");
    }
}

#[test]
fn malicious_artifacts_fail_with_sec_and_ordinary_ones_pass_sec() {
    let mut malicious = 0;
    let mut ordinary = 0;
    for entry in common::manifest() {
        let file = entry["file"].as_str().unwrap();
        let out = run(&[
            "check",
            "--isolated",
            "--select",
            "SEC",
            "--format",
            "json",
            &fixture(file),
        ]);
        if file.starts_with("sec_") {
            malicious += 1;
            assert_eq!(out.status.code(), Some(1), "{file} must fail the gate");
            let found = codes(&json(&out));
            let expected: Vec<&str> = entry["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert!(
                expected.iter().any(|c| c.starts_with("SEC")),
                "{file}: its manifest names a SEC finding"
            );
            for code in expected.iter().filter(|c| c.starts_with("SEC")) {
                assert!(
                    found.iter().any(|c| c == code),
                    "{file}: expected {code}, found {found:?}"
                );
            }
        } else if !file.starts_with("prt_") && file != "cloudpickle_lambda.pkl" {
            ordinary += 1;
            assert_eq!(
                out.status.code(),
                Some(0),
                "{file}: an ordinary model must pass --select SEC: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            assert!(
                codes(&json(&out)).is_empty(),
                "{file}: no SEC findings at all"
            );
        }
    }
    assert!(
        malicious >= 10 && ordinary >= 20,
        "{malicious} malicious, {ordinary} ordinary"
    );
}

#[test]
fn every_leftover_n_jobs_is_reported_at_its_sklearn_path() {
    for entry in common::manifest() {
        let file = entry["file"].as_str().unwrap();
        let out = run(&["check", "--isolated", "--format", "json", &fixture(file)]);
        let doc = json(&out);
        // An archive's findings are its members' (a skops file's are schema.json's).
        let findings: Vec<Value> = doc["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["findings"].as_array().unwrap().clone())
            .collect();
        for s in entry["settings"].as_array().unwrap() {
            let path = s["path"].as_str().unwrap();
            let parallel = s["value"].as_i64().is_some_and(|v| v != 1 && v != 0);
            if !path.ends_with("n_jobs") || path.contains("booster.") || !parallel {
                continue;
            }
            let hit = findings.iter().any(|f| {
                f["code"].as_str().unwrap().starts_with("PAR")
                    && f["sklearn_path"] == s["path"]
                    && s.get("raw").is_none_or(|raw| &f["raw_path"] == raw)
            });
            assert!(hit, "{file}: no PAR finding for {s}");
        }
    }
}

#[test]
fn portability_findings() {
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        &fixture("prt_main_module_class.p5.pkl"),
    ]);
    assert!(codes(&json(&out)).contains(&"PRT001".to_string()));
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        &fixture("cloudpickle_lambda.pkl"),
    ]);
    assert!(codes(&json(&out)).contains(&"PRT002".to_string()));
}

#[test]
fn malformed_files_exit_2_never_0() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(common::fixture("credit_ct_xgb.p5.pkl")).unwrap();
    std::fs::write(dir.path().join("cut.pkl"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(dir.path().join("ok.pkl"), b"\x80\x04N.").unwrap();
    let out = run_in(dir.path(), &["check", "--isolated", "."]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cut.pkl: unreadable"), "{text}");
    assert!(text.contains("could not be read to the end"), "{text}");
    // --exit-zero does not hide an unreadable file.
    let out = run_in(dir.path(), &["check", "--isolated", "--exit-zero", "."]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn folders_are_searched_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("nested/.hidden")).unwrap();
    std::fs::copy(
        common::fixture("ct_logreg.joblib.gz"),
        d.join("nested/model.bin"),
    )
    .unwrap();
    std::fs::copy(
        common::fixture("kmeans.p5.pkl"),
        d.join("nested/.hidden/also_read.pkl"),
    )
    .unwrap();
    std::fs::write(d.join("train.py"), "import numpy\nclass X: pass\n").unwrap();
    std::fs::write(d.join("README.md"), "# models\n").unwrap();
    let out = run_in(d, &["check", "--isolated", "--format", "json", "."]);
    let doc = json(&out);
    let paths: Vec<&str> = doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        vec!["./nested/.hidden/also_read.pkl", "./nested/model.bin"],
        "hidden folders are read: {doc}"
    );
    assert_eq!(
        doc["summary"]["skipped"], 2,
        "train.py and README.md are refused by both loaders before any import: {doc}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn select_ignore_fail_on_and_exit_zero() {
    let credit = fixture("credit_ct_xgb.joblib");
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "--select",
        "PAR003",
        &credit,
    ]);
    let found = codes(&json(&out));
    assert!(
        !found.is_empty() && found.iter().all(|c| c == "PAR003"),
        "{found:?}"
    );
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "--ignore",
        "PAR",
        &credit,
    ]);
    assert!(codes(&json(&out)).is_empty());
    assert_eq!(out.status.code(), Some(0));
    // PAR003 is a warning: it fails the default gate, not --fail-on error.
    let out = run(&[
        "check",
        "--isolated",
        "--select",
        "PAR003",
        "--fail-on",
        "error",
        &credit,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["check", "--isolated", "--select", "PAR003", &credit]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["check", "--isolated", "--exit-zero", &credit]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["check", "--isolated", "--select", "NOPE", &credit]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'NOPE' selects no rule"));
}

#[test]
fn configuration_severity_suppressions_and_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("models")).unwrap();
    std::fs::copy(
        common::fixture("kmeans.p5.pkl"),
        d.join("models/kmeans.pkl"),
    )
    .unwrap();
    std::fs::copy(
        common::fixture("credit_ct_xgb.joblib"),
        d.join("models/credit.joblib"),
    )
    .unwrap();
    std::fs::write(
        d.join("pyproject.toml"),
        r#"[project]
name = "models"

[tool.artifact]
select = ["PAR"]
fail-on = "error"

[tool.artifact.severity]
PAR003 = "error"

[[tool.artifact.suppress]]
rule = "PAR003"
file = "models/kmeans.pkl"
reason = "the serving image sets OMP_NUM_THREADS"

[[tool.artifact.suppress]]
rule = "PAR001"
file = "models/gone.pkl"
reason = "retired model"
"#,
    )
    .unwrap();
    let sub = d.join("models");
    let out = run_in(&sub, &["check", "--format", "json", "."]);
    let doc = json(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(doc["summary"]["suppressed"], 1, "{doc}");
    let artifacts = doc["artifacts"].as_array().unwrap();
    let kmeans = artifacts
        .iter()
        .find(|a| a["path"].as_str().unwrap().ends_with("kmeans.pkl"))
        .unwrap();
    assert!(kmeans["findings"].as_array().unwrap().is_empty());
    let credit = artifacts
        .iter()
        .find(|a| a["path"].as_str().unwrap().ends_with("credit.joblib"))
        .unwrap();
    let par003: Vec<_> = credit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "PAR003")
        .collect();
    assert!(!par003.is_empty() && par003.iter().all(|f| f["severity"] == "error"));
    assert!(
        stderr.contains("the suppression of PAR001 for models/gone.pkl matched nothing"),
        "{stderr}"
    );
    assert_eq!(doc["unused_suppressions"][0]["rule"], "PAR001");
    assert_eq!(out.status.code(), Some(1));

    // An unknown key is a configuration error (exit 2), never ignored.
    std::fs::write(d.join("artifact.toml"), "selcet = [\"PAR\"]\n").unwrap();
    let out = run_in(&sub, &["check", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `selcet`"));
    // A suppression needs a reason.
    std::fs::write(
        d.join("artifact.toml"),
        "[[suppress]]\nrule = \"PAR001\"\nfile = \"x\"\nreason = \"\"\n",
    )
    .unwrap();
    let out = run_in(&sub, &["check", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a reason"));
}

#[test]
fn init_writes_a_config_that_check_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.path().join("artifact.toml")).unwrap();
    assert!(text.contains("fail-on = \"warning\""));
    assert_eq!(
        run_in(dir.path(), &["init"]).status.code(),
        Some(2),
        "no overwrite without --force"
    );
    std::fs::copy(common::fixture("kmeans.p5.pkl"), dir.path().join("k.pkl")).unwrap();
    assert_eq!(
        run_in(dir.path(), &["check", "k.pkl"]).status.code(),
        Some(1)
    );
}

fn validate(kind: &str, document: &[u8]) {
    common::validate_json(kind, document);
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    if common::skip_without_python() {
        return;
    }
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "sarif",
        "fixtures/artifacts",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["version"], "2.1.0");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() > 20);
    let first = &results[0];
    assert!(first["locations"][0]["physicalLocation"]["region"]["byteOffset"].is_u64());
    assert!(doc["runs"][0]["tool"]["driver"]["rules"][0]["help"]["text"].is_string());
    validate("sarif", &out.stdout);
}

#[test]
fn json_validates_against_the_documented_schema() {
    if common::skip_without_python() {
        return;
    }
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "fixtures/artifacts",
    ]);
    validate("check", &out.stdout);
    let doc = json(&out);
    assert_eq!(doc["schema_version"], 1);
}

#[test]
fn ci_formats_validate_and_keep_their_shape() {
    // One clean file, one with findings in an archive member, one unreadable: every
    // format says the same thing its own way.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.pkl");
    std::fs::write(&broken, b"\x80\x04\x95").unwrap();
    let files = [
        "fixtures/artifacts/npy_plain.npy".to_string(),
        "fixtures/artifacts/sec_zip_nested.zip".to_string(),
        broken.display().to_string(),
    ];
    let args = |format: &'static str| {
        let mut a = vec!["check", "--isolated", "--format", format];
        a.extend(files.iter().map(String::as_str));
        a
    };
    let redact = |text: &str| text.replace(&broken.display().to_string(), "[TMP]/broken.pkl");

    let junit = run(&args("junit"));
    assert_eq!(
        junit.status.code(),
        Some(2),
        "an unreadable file fails the gate"
    );
    insta::assert_snapshot!("junit", redact(&String::from_utf8_lossy(&junit.stdout)));

    let gitlab = run(&args("gitlab"));
    assert_eq!(gitlab.status.code(), Some(2));
    // A fingerprint hashes the path: the temporary one changes from run to run.
    let mut issues: Value = serde_json::from_slice(&gitlab.stdout).unwrap();
    for issue in issues.as_array_mut().unwrap() {
        if issue["location"]["path"] == broken.display().to_string() {
            issue["fingerprint"] = Value::from("[a hash of the temporary path]");
        }
    }
    insta::assert_snapshot!(
        "gitlab",
        redact(&serde_json::to_string_pretty(&issues).unwrap())
    );

    let lines = run(&args("json-lines"));
    assert_eq!(lines.status.code(), Some(2));
    let text = String::from_utf8_lossy(&lines.stdout).into_owned();
    insta::assert_snapshot!("json_lines", redact(&text));
    let types: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Lines come in the files' order (sorted), each as soon as its file is checked.
    assert!(
        types.iter().filter(|t| *t == "artifact").count() >= 4,
        "{types:?}"
    );
    assert_eq!(types.last().map(String::as_str), Some("summary"));
    assert!(types.iter().any(|t| t == "error"), "{types:?}");

    if common::skip_without_python() {
        return;
    }
    validate("gitlab", &gitlab.stdout);
    validate("check-lines", &lines.stdout);
    // JUnit has no schema every consumer agrees on: check what GitLab and Jenkins read
    // (suites of cases, each with a classname and a name; counts that add up).
    let checked = common::python_code(
        "import sys, xml.etree.ElementTree as ET\n\
         root = ET.parse(sys.argv[1]).getroot()\n\
         assert root.tag == 'testsuites'\n\
         cases = root.findall('testsuite/testcase')\n\
         assert all(c.get('classname') and c.get('name') for c in cases)\n\
         assert int(root.get('tests')) == len(cases)\n\
         assert int(root.get('failures')) == len(root.findall('testsuite/testcase/failure'))\n\
         assert int(root.get('errors')) == len(root.findall('testsuite/testcase/error'))\n\
         print(len(cases))",
        &[&{
            let path = dir.path().join("junit.xml");
            std::fs::write(&path, &junit.stdout).unwrap();
            path
        }],
    );
    assert!(checked.trim().parse::<usize>().unwrap() >= 4, "{checked}");
}

#[test]
fn github_annotations() {
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "github",
        "--select",
        "PAR001",
        &fixture("credit_ct_xgb.joblib"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("::error file=")
            && text.contains("title=PAR001::preprocessor__n_jobs=14 on ColumnTransformer"),
        "{text}"
    );
}

#[test]
fn human_output_snapshot() {
    let out = run(&[
        "check",
        "--isolated",
        "fixtures/artifacts/credit_ct_xgb.joblib",
        "fixtures/artifacts/sec_stack_global_memo.p4.pkl",
    ]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(common::transcript(&out));
}

#[test]
fn rule_documentation() {
    let out = run(&["rule", "PAR001"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(common::transcript(&out));
    let out = run(&["rule", "--all"]);
    insta::assert_snapshot!("rule_all", common::transcript(&out));
    let out = run(&["rule", "XYZ999"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Each rule, on the fixture that shows it: exactly what users see.
const RULE_FIXTURES: &[(&str, &str, &[&str])] = &[
    ("CFG001", "cfg_njobs_text.p4.pkl", &[]),
    ("DEV001", "dev_xgb_cuda.joblib", &[]),
    ("MEM001", "isomap.p4.pkl", &["--memory-budget", "10 KiB"]),
    ("MEM002", "isomap.p4.pkl", &[]),
    ("PAR001", "credit_ct_xgb.joblib", &[]),
    ("PAR002", "featureunion_forest.joblib", &[]),
    ("PAR003", "kmeans.p5.pkl", &[]),
    ("PAR004", "gridsearch_forest.joblib", &[]),
    ("PRT001", "prt_main_module_class.p5.pkl", &[]),
    ("PRT002", "cloudpickle_lambda.pkl", &[]),
    ("PRT003", "prt_torch_reference.p2.pkl", &[]),
    ("SEC001", "sec_reduce_os_system.p2.pkl", &[]),
    ("SEC002", "sec_functiontransformer_os_system.joblib", &[]),
    ("SEC003", "prt_torch_reference.p2.pkl", &[]),
    ("SEC004", "sec_trailing_garbage.p4.pkl", &[]),
    ("SEC005", "sec_memo_overwrite.p2.pkl", &[]),
    ("VER001", "ver_mixed_versions.p5.pkl", &[]),
];

#[test]
fn every_rule_has_a_fixture_and_a_snapshot() {
    let codes: Vec<&str> = RULE_FIXTURES.iter().map(|(c, _, _)| *c).collect();
    let all: Vec<String> =
        serde_json::from_slice::<Value>(&run(&["rule", "--all", "--format", "json"]).stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(codes, all, "every rule needs a line in RULE_FIXTURES");
    for (code, file, extra) in RULE_FIXTURES {
        let path = format!("fixtures/artifacts/{file}");
        let mut args = vec!["check", "--isolated", "--select", code, "--fail-on", "info"];
        args.extend_from_slice(extra);
        args.push(&path);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{code} on {file}");
        insta::assert_snapshot!(format!("rule_{code}"), common::transcript(&out));
    }
}

#[test]
fn target_versions_strict_and_allowed_globals() {
    let lr = fixture("ct_logreg.p5.pkl");
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "--select",
        "VER",
        "--target",
        "sklearn==1.5",
        &lr,
    ]);
    let doc = json(&out);
    assert_eq!(codes(&doc), vec!["VER001"]);
    assert!(
        doc["artifacts"][0]["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the target runs 1.5")
    );
    let out = run(&[
        "check",
        "--isolated",
        "--select",
        "VER",
        "--target",
        "sklearn==1.9",
        &lr,
    ]);
    assert_eq!(out.status.code(), Some(0));

    // SEC003: a global of a known library that is not on the allowlist is an error; one
    // from the user's own module is a warning (error under --strict) naming allowed-globals.
    let torch = fixture("prt_torch_reference.p2.pkl");
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "--select",
        "SEC003",
        &torch,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json(&out)["artifacts"][0]["findings"][0]["severity"],
        "error"
    );
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("own.pkl");
    std::fs::write(&own, b"cmycompany.features\nCleaner\n)R.").unwrap();
    let own = own.to_str().unwrap();
    let out = run(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "--select",
        "SEC003",
        own,
    ]);
    let doc = json(&out);
    let finding = &doc["artifacts"][0]["findings"][0];
    assert_eq!(finding["severity"], "warning");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("allowed-globals")
    );
    assert_eq!(out.status.code(), Some(1));
    let passes = |extra: &[&str]| {
        let mut args = vec!["check", "--isolated", "--select", "SEC003"];
        args.extend_from_slice(extra);
        args.push(own);
        run(&args).status.code()
    };
    assert_eq!(passes(&["--fail-on", "error"]), Some(0));
    assert_eq!(passes(&["--fail-on", "error", "--strict"]), Some(1));

    // A reviewed global allowed in the configuration is not reported; sha256 suppressions work.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("t.pkl");
    std::fs::copy(common::fixture("prt_torch_reference.p2.pkl"), &copy).unwrap();
    let digest = {
        use sha2::Digest;
        artifact::units::hex(&sha2::Sha256::digest(std::fs::read(&copy).unwrap()))
    };
    std::fs::write(
        dir.path().join("artifact.toml"),
        format!(
            "strict = true\nallowed-globals = [\"torch.nn.modules.pixelshuffle.PixelShuffle\"]\n\n[[suppress]]\nrule = \"PRT003\"\nsha256 = \"{digest}\"\nreason = \"reviewed: the tensor is loaded on CPU\"\n"
        ),
    )
    .unwrap();
    let out = run_in(dir.path(), &["check", "--format", "json", "t.pkl"]);
    let doc = json(&out);
    assert!(codes(&doc).is_empty(), "{doc}");
    assert_eq!(doc["summary"]["suppressed"], 1);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn json_lines_stream_each_file_as_it_is_checked() {
    // Files are checked in sorted order; the second is a FIFO nobody writes to, so reading
    // it blocks forever. The first file's line must arrive all the same.
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.pkl");
    std::fs::copy(common::fixture("ct_logreg.p5.pkl"), &first).unwrap();
    let fifo = dir.path().join("z.pkl");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut child = common::artifact()
        .args(["check", "--isolated", "--format", "json-lines"])
        .arg(&first)
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(line["type"], "artifact");
    assert!(line["path"].as_str().unwrap().ends_with("a.pkl"), "{line}");
    assert!(!line["findings"].as_array().unwrap().is_empty());
}
