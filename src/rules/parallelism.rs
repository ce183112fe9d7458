//! PAR: settings that start processes or threads when the model predicts.
//!
//! Judged on measured behaviour (`reference/parallelism.md`), not on the attribute name:
//! the same `n_jobs=14` starts 14 loky worker processes on a ColumnTransformer, 14
//! threads on a forest, and nothing at all on a GridSearchCV (whose fitted
//! `best_estimator_` is judged on its own).

use super::{Finding, FixSafety, Options, Rule, Severity};
use crate::inspection::Inspection;
use crate::model::{Location, SettingValue};

pub const PAR001: Rule = Rule {
    code: "PAR001",
    name: "process-parallel-n-jobs",
    severity: Severity::Error,
    summary: "n_jobs on an estimator that starts worker processes at predict/transform",
    doc: "## What it finds
`n_jobs` other than None or 1 on an estimator that runs joblib's process pool (loky) at
predict or transform time: ColumnTransformer, FeatureUnion, Bagging (and imbalanced-learn's
BalancedBagging and EasyEnsemble), MultiOutputClassifier/Regressor (`predict`),
LatentDirichletAllocation, DictionaryLearning, MiniBatchDictionaryLearning, SparseCoder.

## Why it hurts
Every call starts that many worker processes, and they stay alive afterwards. Measured on
two cores: a ColumnTransformer(n_jobs=4) pipeline started 6 processes and took RSS from
188 MB to 641 MB; `predict_proba` on 500 rows took 12.8 s instead of 0.06 s. A service
loading a model trained with n_jobs=14 would not start in its pod.

## Example
`Pipeline([('preprocessor', ColumnTransformer([...], n_jobs=14)), ('model', XGBClassifier())])`
reports `preprocessor__n_jobs=14`.

## Fix
`artifact patch model.pkl --set preprocessor__n_jobs=null` (or `--fix`): None lets the
serving environment decide through `joblib.parallel_config`; predictions are identical.",
    autofix: Some("None"),
    fix_safety: Some(FixSafety::Safe),
    since: "0.1.0",
};

pub const PAR002: Rule = Rule {
    code: "PAR002",
    name: "thread-parallel-n-jobs",
    severity: Severity::Warning,
    summary: "n_jobs on an estimator that starts threads at predict",
    doc: "## What it finds
`n_jobs` other than None or 1 on an estimator that runs a thread pool at predict time:
random forests and extra trees, RandomTreesEmbedding, BalancedRandomForest, the neighbors
family (KNeighbors*, RadiusNeighbors*, NearestNeighbors, LocalOutlierFactor and the
neighbors transformers), KernelPCA, Nystroem, and the hidden inner copies that Isomap,
LocallyLinearEmbedding and LabelSpreading/LabelPropagation keep (`nbrs_`, `nn_fit`).

## Why it hurts
Threads compete with the server's own workers: `n_jobs=-1` takes every core of the host
it lands on. Forest probabilities summed by several threads also vary from run to run.

## Example
`RandomForestClassifier(n_jobs=-1)` at `forest__n_jobs`.

## Fix
`artifact patch model.pkl --set forest__n_jobs=null` (or `--fix`).",
    autofix: Some("None"),
    fix_safety: Some(FixSafety::Safe),
    since: "0.1.0",
};

pub const PAR003: Rule = Rule {
    code: "PAR003",
    name: "native-thread-count",
    severity: Severity::Warning,
    summary: "native thread settings that govern predict (XGBoost booster, LightGBM, KMeans)",
    doc: "## What it finds
Thread counts that the native library applies at predict time: XGBoost's booster config
(`nthread`, `n_jobs` inside the pickled `handle`; the wrapper's attribute alone changes
nothing), LightGBM's `n_jobs` and `num_threads` (attribute and `_other_params`), and the
KMeans family's `_n_threads`, which records the training host's core count.

## Why it hurts
The count was right for the training machine, not the server: `_n_threads=8` starts 8
OpenMP threads on a 2-core pod, and a booster with nthread=14 oversubscribes every core.

## Example
`XGBClassifier(n_jobs=14)` keeps `nthread: \"14\"` in the booster at `xgboost__booster.nthread`.

## Fix
`artifact patch --fix`: the booster's value becomes \"0\" (what n_jobs=None records),
LightGBM's settings None, KMeans' `_n_threads` 1 (it must stay an integer).",
    autofix: Some("\"0\" in XGBoost's booster; None for LightGBM; 1 for _n_threads"),
    fix_safety: Some(FixSafety::Safe),
    since: "0.1.0",
};

pub const PAR004: Rule = Rule {
    code: "PAR004",
    name: "inert-parallel-setting",
    severity: Severity::Info,
    summary: "parallelism settings that do nothing at predict (used again on refit)",
    doc: "## What it finds
Parallelism settings that do not act when the model predicts: a search object's or a
stacking/voting ensemble's own `n_jobs` (their fitted inner estimators are judged on their
own), one-vs-rest and one-vs-one wrappers, IsolationForest, linear models, XGBoost's wrapper
attribute, CatBoost's `thread_count`, a non-default `pre_dispatch`,
and the unfitted parameter templates of fitted meta-estimators.

## Why it hurts
Little or nothing at predict time. They come back when somebody refits or clones the model
on a server, so they are listed, not failed. XGBoost's wrapper `n_jobs` is the nearest to
acting: xgboost 3.2 passes it as `DMatrix(nthread=...)` when `predict` falls back from
in-place prediction (COO and CSC inputs) and in every `apply`, but caps it at the host's
cores (measured with strace on 2 cores: `n_jobs=14` and None start the same threads for
both), so the booster's own `nthread` (PAR003) is what decides.

## Example
`GridSearchCV(..., n_jobs=8)` reports `n_jobs=8` here; its `best_estimator_` is judged
by PAR001-PAR003.

## Fix
`artifact patch model.pkl --fix` sets every such `n_jobs` to None, so the saved parameters
say what serving does (`pre_dispatch` and CatBoost's `thread_count` are left as they are);
predictions are identical.",
    autofix: Some("None (n_jobs only)"),
    fix_safety: Some(FixSafety::Safe),
    since: "0.1.0",
};

pub const RULES: &[&Rule] = &[&PAR001, &PAR002, &PAR003, &PAR004];

/// Classes whose `n_jobs` starts loky worker processes at predict/transform.
const PROCESS_CLASSES: &[&str] = &[
    "ColumnTransformer",
    "FeatureUnion",
    "BaggingClassifier",
    "BaggingRegressor",
    "BalancedBaggingClassifier",
    "EasyEnsembleClassifier",
    "MultiOutputClassifier",
    "MultiOutputRegressor",
    "LatentDirichletAllocation",
    "DictionaryLearning",
    "MiniBatchDictionaryLearning",
    "SparseCoder",
];

/// Classes whose `n_jobs` starts threads at predict.
const THREAD_CLASSES: &[&str] = &[
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "RandomTreesEmbedding",
    "BalancedRandomForestClassifier",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "KNeighborsTransformer",
    "RadiusNeighborsClassifier",
    "RadiusNeighborsRegressor",
    "RadiusNeighborsTransformer",
    "NearestNeighbors",
    "LocalOutlierFactor",
    "KernelPCA",
    "Nystroem",
    "Isomap",
    "LocallyLinearEmbedding",
    "LabelSpreading",
    "LabelPropagation",
];

/// Whether an `n_jobs`-style value asks for parallelism (None, 1 and 0 do not).
fn parallel(value: &SettingValue) -> Option<i64> {
    match value {
        SettingValue::Int(n) if *n != 1 && *n != 0 => Some(*n),
        SettingValue::Str(s) => s.parse::<i64>().ok().filter(|n| *n != 1 && *n != 0),
        _ => None,
    }
}

fn describe(n: i64, what: &str) -> String {
    if n < 0 {
        format!("as many {what} as the host has cores")
    } else {
        format!("{n} {what}")
    }
}

pub fn check(inspection: &Inspection, _options: &Options, findings: &mut Vec<Finding>) {
    let view = &inspection.view;
    for s in &view.settings {
        let est = &view.estimators[s.estimator];
        let class = est.class_name();
        let module = est.class.as_str();
        let shown = format!("{}={}", s.sklearn_path, s.value);
        if est.template {
            if s.name == "n_jobs" && parallel(&s.value).is_some() {
                findings.push(Finding::on_setting(
                    &PAR004,
                    s,
                    format!("{shown} on {class}: an unfitted template; its fitted copy is what runs, this only matters on refit"),
                    Some(SettingValue::None),
                ));
            }
            continue;
        }
        match (s.name.as_str(), &s.location) {
            (
                "num_threads" | "num_thread" | "nthread" | "nthreads" | "n_jobs",
                Location::Attribute | Location::ParamsDict,
            ) if module.starts_with("lightgbm.") => {
                if let Some(n) = parallel(&s.value) {
                    findings.push(Finding::on_setting(
                        &PAR003,
                        s,
                        format!(
                            "{shown} on {class}: LightGBM runs {} at predict",
                            describe(n, "OpenMP threads")
                        ),
                        Some(SettingValue::None),
                    ));
                }
            }
            ("nthread" | "n_jobs", Location::XgboostConfig) => {
                if let Some(n) = parallel(&s.value) {
                    findings.push(Finding::on_setting(
                        &PAR003,
                        s,
                        format!(
                            "{shown} in {class}'s booster: XGBoost predicts with {}",
                            describe(n, "threads")
                        ),
                        Some(SettingValue::Str("0".into())),
                    ));
                }
            }
            ("n_jobs", Location::Attribute)
                if module.starts_with("xgboost.") && parallel(&s.value).is_some() =>
            {
                findings.push(Finding::on_setting(
                    &PAR004,
                    s,
                    format!("{shown} on {class}: the wrapper attribute; predict uses it only for inputs in-place prediction refuses (COO, CSC) and apply always, capped at the host's cores; the booster's nthread governs the rest"),
                    Some(SettingValue::None),
                ));
            }
            ("_n_threads", Location::Attribute) => {
                if let SettingValue::Int(n) = s.value
                    && n > 1
                {
                    findings.push(Finding::on_setting(
                        &PAR003,
                        s,
                        format!("{shown} on {class}: the training host's core count; predict starts {n} OpenMP threads whatever the server has"),
                        Some(SettingValue::Int(1)),
                    ));
                }
            }
            ("thread_count", _) if parallel(&s.value).is_some() => {
                findings.push(Finding::on_setting(
                    &PAR004,
                    s,
                    format!(
                        "{shown} on {class}: CatBoost predicts with its own pool whatever this says"
                    ),
                    None,
                ));
            }
            ("pre_dispatch", Location::Attribute)
                if !matches!(&s.value, SettingValue::Str(v) if v == "2*n_jobs")
                    && s.value != SettingValue::None =>
            {
                findings.push(Finding::on_setting(
                    &PAR004,
                    s,
                    format!("{shown} on {class}: used by fit only"),
                    None,
                ));
            }
            ("n_jobs", Location::Attribute) => {
                let Some(n) = parallel(&s.value) else {
                    continue;
                };
                if PROCESS_CLASSES.contains(&class) {
                    let when = if class.starts_with("MultiOutput") {
                        "predict"
                    } else {
                        "predict/transform"
                    };
                    findings.push(Finding::on_setting(
                        &PAR001,
                        s,
                        format!(
                            "{shown} on {class}: starts {} at every {when}, and keeps them alive",
                            describe(n, "worker processes")
                        ),
                        Some(SettingValue::None),
                    ));
                } else if THREAD_CLASSES.contains(&class) {
                    findings.push(Finding::on_setting(
                        &PAR002,
                        s,
                        format!(
                            "{shown} on {class}: predict runs {}",
                            describe(n, "threads")
                        ),
                        Some(SettingValue::None),
                    ));
                } else {
                    findings.push(Finding::on_setting(
                        &PAR004,
                        s,
                        format!("{shown} on {class}: does nothing at predict; used on refit"),
                        Some(SettingValue::None),
                    ));
                }
            }
            _ => {}
        }
    }
}
