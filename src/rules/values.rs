//! CFG: stored settings the library reading them would refuse.
//!
//! The accepted values are the model layer's (`model::value_type`), the same table the
//! patcher converts requested values with, so `check` and `patch` never disagree about
//! what a setting may hold.

use super::{Finding, Options, Rule, Severity};
use crate::inspection::Inspection;
use crate::model::value_type;

pub const CFG001: Rule = Rule {
    code: "CFG001",
    name: "invalid-setting-value",
    severity: Severity::Error,
    summary: "a setting holds a value its library refuses at load or predict time",
    doc: "## What it finds
A parallelism or device setting whose stored value the library does not accept: an
`n_jobs` that is 0, a string, or beyond a C int; an XGBoost booster config entry (`nthread`,
`n_jobs`, `device`, `tree_method`) outside what XGBoost parses; a KMeans `_n_threads` that
is negative or None; a LightGBM or CatBoost thread count of the wrong type.

## Why it hurts
Measured with xgboost 3.2, lightgbm 4.6 and scikit-learn 1.9: an XGBoost config entry
`nthread: \"abc\"` or `device: \"gpu9\"` makes `joblib.load` itself fail; `n_jobs=\"eight\"`
or `n_jobs=1e20` loads and then fails at the first `predict`, in production, not in CI.
Such values come from hand edits of the byte stream or of the config.

## Example
`preprocessor__n_jobs='eight'` on a ColumnTransformer.

## Fix
`artifact patch model.pkl --set preprocessor__n_jobs=null`: the patcher only writes values
the library accepts, and says what those are when it refuses one.",
    autofix: None,
    fix_safety: None,
    since: "0.1.0",
};

pub const RULES: &[&Rule] = &[&CFG001];

pub fn check(inspection: &Inspection, _options: &Options, findings: &mut Vec<Finding>) {
    let view = &inspection.view;
    for s in &view.settings {
        let accepts = value_type(s, view);
        if !accepts.breaks_at_use(&s.value) {
            continue;
        }
        let class = view.estimators[s.estimator].class_name();
        let message = format!(
            "{}={} on {class}: refused when the model loads or predicts; accepted: {}",
            s.sklearn_path,
            s.value,
            accepts.describe()
        );
        findings.push(Finding::on_setting(&CFG001, s, message, None));
    }
}
