//! `artifact verify`: the one place artifacts are executed, so it is done with care.
//!
//! Both artifacts are scanned statically first; any SEC finding refuses the run unless
//! the user trusts the files. Each artifact is then loaded by an embedded Python harness
//! in its own isolated child ([`child`]), with an unpickler restricted to the globals the
//! scan listed: once with parallelism pinned to one worker, for outputs whose hashes are
//! compared here; once unpinned, as production runs it, for timings, memory, processes
//! and threads.

mod child;
mod npy;
mod trace;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

pub use child::{Limits, Outcome, Run, signal_name};
pub use npy::Difference;

use crate::inspection;
use crate::rules::{self, Family, Finding};

const HARNESS: &str = include_str!("harness.py");

#[derive(Clone, Debug)]
pub struct Options {
    pub python: Option<PathBuf>,
    pub data: PathBuf,
    /// Rows of the sample to use (0: all).
    pub rows: usize,
    pub tolerance: Option<f64>,
    pub limits: Limits,
    pub trust: bool,
    /// Runs of the runtime profile (the median is reported).
    pub repeat: usize,
}

/// Why verification did not get to compare outputs.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "{path} has security findings; verify executes artifacts, so it refuses (re-run with --trust if you trust the file):\n{findings}"
    )]
    Unsafe { path: String, findings: String },
    /// The sample cannot prove anything: missing, unreadable, empty, or not the columns
    /// the model was fitted on.
    #[error("the sample data {path}: {message}")]
    Data { path: String, message: String },
}

/// One artifact's runs.
#[derive(Debug)]
pub struct Profile {
    pub path: String,
    /// The pinned run (outputs) and the unpinned runs (runtime), when they ran.
    pub equivalence: Run,
    pub runtime: Vec<RuntimeRun>,
    pub load_seconds: Option<f64>,
    pub class: Option<String>,
    /// Per method: output hash (pinned run) and seconds (unpinned run).
    pub methods: BTreeMap<String, MethodResult>,
    /// Why the artifact could not be verified (crash, timeout, exception).
    pub failure: Option<String>,
}

#[derive(Debug, Default)]
pub struct MethodResult {
    pub sha256: Option<String>,
    /// Seconds in each runtime run.
    pub seconds: Vec<f64>,
    pub error: Option<String>,
}

/// One unpinned run: what the process tree did, watched from outside, and what the
/// harness counted from inside.
#[derive(Debug)]
pub struct RuntimeRun {
    pub run: Run,
    /// Processes the run started, however short-lived: counted by the kernel's ptrace
    /// events, or where ptrace is forbidden, where Python creates them (`os.fork`,
    /// `_posixsubprocess.fork_exec` under loky, multiprocessing and subprocess,
    /// `os.posix_spawn`), which misses a fork made in C.
    pub processes_started: Option<u64>,
    /// Which of the two counted them.
    pub counted_by: Counter,
    pub load_seconds: Option<f64>,
}

/// Who counted the processes a run started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// ptrace fork, vfork and clone events: every process, from C or Python.
    Kernel,
    /// Hooks on Python's process-creating functions (ptrace was refused).
    Python,
}

impl Counter {
    pub fn name(self) -> &'static str {
        match self {
            Counter::Kernel => "ptrace",
            Counter::Python => "python-hooks",
        }
    }
}

/// The median and the range of some measurements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

impl Profile {
    pub fn runtime_spread(&self, f: impl Fn(&RuntimeRun) -> Option<f64>) -> Option<Spread> {
        Spread::of(self.runtime.iter().filter_map(f))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every output hash is equal.
    Identical,
    /// Float outputs differ within the tolerance; everything else is identical.
    WithinTolerance,
    Different,
    /// An artifact could not be loaded or run: crash, timeout, exception.
    Failed,
    /// Both loaded, but no method produced an output on the sample: nothing was compared.
    NotProven,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Identical => "identical",
            Verdict::WithinTolerance => "within-tolerance",
            Verdict::Different => "different",
            Verdict::Failed => "failed",
            Verdict::NotProven => "not-proven",
        }
    }
}

#[derive(Debug)]
pub struct Report {
    pub verdict: Verdict,
    pub original: Profile,
    pub candidate: Profile,
    /// Methods whose outputs differ, and how.
    pub differences: BTreeMap<String, Difference>,
}

/// Finds Python: `--python`, `ARTIFACT_PYTHON`, `$VIRTUAL_ENV/bin/python`, `python3`.
pub fn find_python(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("ARTIFACT_PYTHON") {
        return PathBuf::from(p);
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        let p = PathBuf::from(venv).join("bin").join("python");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("python3")
}

/// Checks that Python runs and has what the harness needs.
fn check_python(python: &Path) -> anyhow::Result<()> {
    let out = std::process::Command::new(python)
        .args(["-c", "import numpy, joblib, threadpoolctl"])
        .output()
        .map_err(|e| {
            anyhow!(
                "cannot run Python at '{}': {e} (give one with --python or ARTIFACT_PYTHON)",
                python.display()
            )
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let missing = stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("ModuleNotFoundError: No module named "))
            .map(|m| m.trim_matches('\'').to_string())
            .unwrap_or_else(|| stderr.trim().to_string());
        bail!(
            "the Python at '{}' lacks {missing}: install numpy, joblib and threadpoolctl there (and the model's own libraries), e.g. `{} -m pip install numpy joblib threadpoolctl scikit-learn`",
            python.display(),
            python.display()
        );
    }
    Ok(())
}

/// Scans an artifact statically and returns the globals its loader may import.
fn scan(path: &Path, trust: bool) -> anyhow::Result<Vec<(String, String)>> {
    let insp = inspection::read(path, &mut |_| {})?;
    let findings: Vec<Finding> = rules::check(&insp, &rules::Options::default())
        .into_iter()
        .filter(|f| f.family() == Some(Family::Security))
        .collect();
    if !findings.is_empty() && !trust {
        let listed = findings
            .iter()
            .map(|f| {
                format!(
                    "  {} {} {}{}",
                    f.code,
                    f.severity,
                    f.message,
                    f.offset
                        .map(|o| format!(" (offset {o})"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        return Err(Refusal::Unsafe {
            path: path.display().to_string(),
            findings: listed,
        }
        .into());
    }
    Ok(insp
        .view
        .globals
        .iter()
        .map(|g| (g.module.clone(), g.name.clone()))
        .collect())
}

pub fn verify(original: &Path, candidate: &Path, options: &Options) -> anyhow::Result<Report> {
    if let Err(e) = std::fs::File::open(&options.data) {
        return Err(Refusal::Data {
            path: options.data.display().to_string(),
            message: format!("cannot be opened: {e}"),
        }
        .into());
    }
    let allowed = [
        scan(original, options.trust)?,
        scan(candidate, options.trust)?,
    ];
    let python = find_python(options.python.as_deref());
    check_python(&python)?;
    let work = tempfile::tempdir().context("cannot create a working folder")?;
    let harness = work.path().join("harness.py");
    std::fs::write(&harness, HARNESS).context("cannot write the harness")?;

    let mut profiles = Vec::new();
    for (i, (path, allowed)) in [original, candidate].iter().zip(&allowed).enumerate() {
        let dir = work.path().join(format!("artifact{i}"));
        std::fs::create_dir_all(dir.join("equivalence"))?;
        std::fs::create_dir_all(dir.join("runtime"))?;
        let allowed_path = dir.join("allowed.json");
        std::fs::write(&allowed_path, serde_json::to_vec(allowed)?)?;
        let args = |mode: &str| -> Vec<OsString> {
            vec![
                harness.clone().into(),
                mode.into(),
                path.canonicalize()
                    .unwrap_or_else(|_| path.to_path_buf())
                    .into(),
                options
                    .data
                    .canonicalize()
                    .unwrap_or_else(|_| options.data.clone())
                    .into(),
                options.rows.to_string().into(),
                dir.join(mode).into(),
                allowed_path.clone().into(),
            ]
        };
        let equivalence = child::run(&python, &args("equivalence"), options.limits)
            .with_context(|| format!("cannot start {}", python.display()))?;
        // The harness checks the sample before anything is compared (see harness.py).
        if let Some(message) = equivalence
            .stderr_tail
            .lines()
            .find_map(|l| l.strip_prefix("artifact-harness: data: "))
        {
            return Err(Refusal::Data {
                path: options.data.display().to_string(),
                message: message.to_string(),
            }
            .into());
        }
        let mut profile = Profile {
            path: path.display().to_string(),
            equivalence,
            runtime: Vec::new(),
            load_seconds: None,
            class: None,
            methods: BTreeMap::new(),
            failure: None,
        };
        profile.failure = failure(&profile.equivalence);
        collect(&mut profile, &dir)?;
        // Runtime figures vary between runs of the same bytes (a loky worker that starts
        // late, a page cache): several runs, and the median.
        for n in 0..options.repeat.max(1) {
            if profile.failure.is_some() {
                break;
            }
            let _ = std::fs::remove_file(dir.join("runtime").join("result.json"));
            let run = child::run(&python, &args("runtime"), options.limits)?;
            if let Some(why) = failure(&run) {
                profile.failure = Some(format!("in unpinned run {}: {why}", n + 1));
            }
            let result = read_result(&dir, "runtime");
            if let Some(methods) = result.as_ref().map(|r| &r.methods) {
                for (name, m) in methods {
                    if let Some(secs) = m.seconds {
                        profile
                            .methods
                            .entry(name.clone())
                            .or_default()
                            .seconds
                            .push(secs);
                    }
                }
            }
            let in_python = result.as_ref().and_then(|r| r.processes_started);
            let (processes_started, counted_by) = match run.processes_started {
                Some(n) => (Some(n), Counter::Kernel),
                None => (in_python, Counter::Python),
            };
            profile.runtime.push(RuntimeRun {
                run,
                processes_started,
                counted_by,
                load_seconds: result.as_ref().and_then(|r| r.load_seconds),
            });
        }
        profile.load_seconds = profile.runtime_spread(|r| r.load_seconds).map(|s| s.median);
        profiles.push(profile);
    }
    let candidate_profile = profiles.pop().ok_or_else(|| anyhow!("no profile"))?;
    let original_profile = profiles.pop().ok_or_else(|| anyhow!("no profile"))?;

    let mut differences = BTreeMap::new();
    let mut verdict = Verdict::Identical;
    if original_profile.failure.is_some() || candidate_profile.failure.is_some() {
        verdict = Verdict::Failed;
    } else {
        let methods: Vec<String> = original_profile
            .methods
            .keys()
            .chain(candidate_profile.methods.keys())
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for method in methods {
            let a = original_profile
                .methods
                .get(&method)
                .and_then(|m| m.sha256.clone());
            let b = candidate_profile
                .methods
                .get(&method)
                .and_then(|m| m.sha256.clone());
            if a.is_some() && a == b {
                continue;
            }
            let load = |i: usize| -> Option<npy::Array> {
                let bytes = std::fs::read(
                    work.path()
                        .join(format!("artifact{i}/equivalence/{method}.npy")),
                )
                .ok()?;
                npy::read(bytes).ok()
            };
            let diff = match (load(0), load(1)) {
                (Some(x), Some(y)) => npy::compare(&x, &y, options.tolerance),
                (None, None) => {
                    // Both raised: the same error is not a difference.
                    let ea = original_profile
                        .methods
                        .get(&method)
                        .and_then(|m| m.error.clone());
                    let eb = candidate_profile
                        .methods
                        .get(&method)
                        .and_then(|m| m.error.clone());
                    if ea == eb {
                        continue;
                    }
                    Difference {
                        incompatible: Some(format!(
                            "{} vs {}",
                            ea.unwrap_or_default(),
                            eb.unwrap_or_default()
                        )),
                        ..Difference::default()
                    }
                }
                _ => Difference {
                    incompatible: Some(
                        "one artifact has this method's output, the other raised".into(),
                    ),
                    ..Difference::default()
                },
            };
            if diff.within_tolerance && diff.incompatible.is_none() {
                if verdict == Verdict::Identical {
                    verdict = Verdict::WithinTolerance;
                }
            } else {
                verdict = Verdict::Different;
            }
            differences.insert(method, diff);
        }
    }
    // Verified means compared: at least one method produced an output on the sample.
    let produced = |p: &Profile| p.methods.values().any(|m| m.sha256.is_some());
    if verdict != Verdict::Failed && !(produced(&original_profile) && produced(&candidate_profile))
    {
        verdict = Verdict::NotProven;
    }
    Ok(Report {
        verdict,
        original: original_profile,
        candidate: candidate_profile,
        differences,
    })
}

/// Why a child run failed, if it did.
fn failure(run: &Run) -> Option<String> {
    let last = run
        .stderr_tail
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string();
    if let Some(module) = last.strip_prefix("ModuleNotFoundError: No module named ") {
        let module = module.trim_matches('\'');
        let package = match module.split('.').next().unwrap_or(module) {
            "sklearn" => "scikit-learn",
            "imblearn" => "imbalanced-learn",
            "yaml" => "pyyaml",
            other => other,
        };
        return Some(format!(
            "the model needs {module}, which this Python lacks: install {package} there (or choose another with --python)"
        ));
    }
    match &run.outcome {
        Outcome::Exited(0) => None,
        Outcome::Exited(code) => Some(format!(
            "the child exited with status {code}{}",
            if last.is_empty() {
                String::new()
            } else {
                format!(": {last}")
            }
        )),
        Outcome::Signaled(signal) => {
            Some(format!("the child was killed by {}", signal_name(*signal)))
        }
        Outcome::TimedOut => Some(format!(
            "timed out after {:.0} s; its process tree was killed",
            run.wall.as_secs_f64()
        )),
    }
}

/// What harness.py writes to `result.json` as it goes (rewritten after each step, so a
/// child that dies leaves what it got to).
#[derive(Debug, Default, serde::Deserialize)]
struct HarnessResult {
    class: Option<String>,
    load_seconds: Option<f64>,
    /// Counted by Python hooks, in the unpinned runs only.
    processes_started: Option<u64>,
    #[serde(default)]
    methods: std::collections::BTreeMap<String, HarnessMethod>,
}

#[derive(Debug, serde::Deserialize)]
struct HarnessMethod {
    seconds: Option<f64>,
    /// The exception the method raised: `ValueError: ...`.
    error: Option<String>,
}

/// None when the child wrote nothing (it died before loading) or something we cannot read.
fn read_result(dir: &Path, mode: &str) -> Option<HarnessResult> {
    let text = std::fs::read_to_string(dir.join(mode).join("result.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Reads the pinned run's result file and hashes the outputs.
fn collect(profile: &mut Profile, dir: &Path) -> anyhow::Result<()> {
    if let Some(eq) = read_result(dir, "equivalence") {
        profile.class = eq.class;
        for (name, m) in eq.methods {
            let path = dir.join("equivalence").join(format!("{name}.npy"));
            let entry = profile.methods.entry(name).or_default();
            entry.error = m.error;
            if let Ok(bytes) = std::fs::read(&path) {
                let array = npy::read(bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
                entry.sha256 = Some(array.sha256());
            }
        }
    }
    Ok(())
}

/// Defaults: a generous timeout, no memory limit.
pub fn default_limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(600),
        memory: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape harness.py writes: a method that ran, one that raised, the hook count.
    #[test]
    fn the_harness_result_reads_as_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("runtime")).unwrap();
        std::fs::write(
            dir.path().join("runtime/result.json"),
            r#"{"mode": "runtime", "methods": {"predict": {"seconds": 0.5},
                "transform": {"error": "AttributeError: no"}}, "processes_started": 3,
                "load_seconds": 1.25, "class": "sklearn.pipeline.Pipeline", "done": true}"#,
        )
        .unwrap();
        let r = read_result(dir.path(), "runtime").unwrap();
        assert_eq!(r.class.as_deref(), Some("sklearn.pipeline.Pipeline"));
        assert_eq!((r.load_seconds, r.processes_started), (Some(1.25), Some(3)));
        assert_eq!(r.methods["predict"].seconds, Some(0.5));
        assert_eq!(
            r.methods["transform"].error.as_deref(),
            Some("AttributeError: no")
        );
        // A child killed before its first save leaves a result with the mode only.
        std::fs::write(
            dir.path().join("runtime/result.json"),
            r#"{"mode": "runtime", "methods": {}}"#,
        )
        .unwrap();
        assert!(
            read_result(dir.path(), "runtime")
                .unwrap()
                .methods
                .is_empty()
        );
    }
}
