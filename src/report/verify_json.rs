//! `artifact verify --format json` (schema: docs/verify.schema.json, generated from these
//! types).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::SCHEMA_VERSION;
use crate::verify::{Difference, Profile, Report, RuntimeRun, Spread};

/// The comparison of two artifacts' outputs, and what each costs at runtime.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyDocument {
    pub schema_version: u32,
    /// `identical`, `within-tolerance`, `different`, `failed` or `not-proven`.
    pub verdict: &'static str,
    /// The original, then the candidate.
    pub artifacts: [ArtifactProfile; 2],
    /// Per method whose outputs differ (or cannot be compared).
    pub differences: BTreeMap<String, Difference>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactProfile {
    pub path: String,
    /// The loaded object's class (`sklearn.pipeline.Pipeline`).
    pub class: Option<String>,
    pub load_seconds: Option<f64>,
    /// Medians over the runtime runs; each run is under `runtime_runs`.
    pub peak_rss_bytes: Option<u64>,
    pub max_child_processes: Option<u64>,
    pub processes_started: Option<u64>,
    /// `ptrace` (the kernel's count) or `python-hooks` (where ptrace is forbidden).
    pub processes_counted_by: Option<&'static str>,
    pub max_threads: Option<u64>,
    pub runtime_runs: Vec<RuntimeRunEntry>,
    /// Why the child failed (crash, exception, timeout); null when it did not.
    pub failure: Option<String>,
    /// The child's last stderr lines, when it failed.
    pub stderr_tail: Option<String>,
    pub methods: BTreeMap<String, MethodEntry>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeRunEntry {
    pub peak_rss_bytes: u64,
    pub max_child_processes: usize,
    pub processes_started: Option<u64>,
    pub processes_counted_by: &'static str,
    pub max_threads: usize,
    pub wall_seconds: f64,
    pub load_seconds: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodEntry {
    /// The hash of the output computed with one worker; null when it raised.
    pub sha256: Option<String>,
    /// Median seconds over the runtime runs.
    pub seconds: Option<f64>,
    pub seconds_spread: Option<SpreadEntry>,
    /// The exception the method raised: `ValueError: ...`.
    pub error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpreadEntry {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl From<Spread> for SpreadEntry {
    fn from(s: Spread) -> Self {
        SpreadEntry {
            median: s.median,
            min: s.min,
            max: s.max,
        }
    }
}

impl ArtifactProfile {
    fn new(p: &Profile) -> Self {
        let median = |f: &dyn Fn(&RuntimeRun) -> Option<f64>| {
            p.runtime_spread(f).map(|s| s.median.round() as u64)
        };
        ArtifactProfile {
            path: p.path.clone(),
            class: p.class.clone(),
            load_seconds: p.load_seconds,
            peak_rss_bytes: median(&|r| Some(r.run.peak_rss as f64)),
            max_child_processes: median(&|r| Some(r.run.max_children as f64)),
            processes_started: median(&|r| r.processes_started.map(|n| n as f64)),
            processes_counted_by: p.runtime.first().map(|r| r.counted_by.name()),
            max_threads: median(&|r| Some(r.run.max_threads as f64)),
            runtime_runs: p
                .runtime
                .iter()
                .map(|r| RuntimeRunEntry {
                    peak_rss_bytes: r.run.peak_rss,
                    max_child_processes: r.run.max_children,
                    processes_started: r.processes_started,
                    processes_counted_by: r.counted_by.name(),
                    max_threads: r.run.max_threads,
                    wall_seconds: r.run.wall.as_secs_f64(),
                    load_seconds: r.load_seconds,
                })
                .collect(),
            failure: p.failure.clone(),
            stderr_tail: p
                .failure
                .as_ref()
                .map(|_| p.equivalence.stderr_tail.clone()),
            methods: p
                .methods
                .iter()
                .map(|(name, m)| {
                    let spread = Spread::of(m.seconds.iter().copied());
                    let entry = MethodEntry {
                        sha256: m.sha256.clone(),
                        seconds: spread.map(|s| s.median),
                        seconds_spread: spread.map(SpreadEntry::from),
                        error: m.error.clone(),
                    };
                    (name.clone(), entry)
                })
                .collect(),
        }
    }
}

impl VerifyDocument {
    pub fn new(r: &Report) -> Self {
        VerifyDocument {
            schema_version: SCHEMA_VERSION,
            verdict: r.verdict.name(),
            artifacts: [
                ArtifactProfile::new(&r.original),
                ArtifactProfile::new(&r.candidate),
            ],
            differences: r.differences.clone(),
        }
    }
}
