//! MEM: how much memory loading takes, and data that should not be in a model at all.

use super::{Finding, Options, Rule, Severity};
use crate::inspection::Inspection;
use crate::units::human_bytes;

pub const MEM001: Rule = Rule {
    code: "MEM001",
    name: "large-arrays",
    severity: Severity::Warning,
    summary: "array memory above the budget, or a single buffer over 2 GiB",
    doc: "## What it finds
The bytes of all arrays together above the memory budget (`memory-budget`, default 4 GiB),
and any single array buffer over 2 GiB.

## Why it hurts
Loading holds the model at least once more than its arrays (twice with `pickle.loads` of a
downloaded blob): a 19 GB pickle killed a 32 GB server. Single reads over 2^31 bytes break
some streams (CPython's SSL read takes a signed 32-bit length).

## Example
A forest with 2,000 deep trees: 7.4 GiB of node arrays.

## Fix
Shrink the model (fewer or shallower trees, float32), or raise the budget knowingly.",
    autofix: None,
    fix_safety: None,
    since: "0.1.0",
};

pub const MEM002: Rule = Rule {
    code: "MEM002",
    name: "training-data-kept",
    severity: Severity::Info,
    summary: "training data kept in the artifact (_fit_X, cv_results_, oob_*)",
    doc: "## What it finds
Attributes that hold training data or per-sample training results: neighbors' `_fit_X`,
KernelPCA's `X_fit_`, out-of-bag `oob_decision_function_`/`oob_prediction_`, search
objects' `cv_results_`.

## Why it hurts
They make the artifact large, and they ship your training data (personal data, often)
wherever the model goes.

## Example
`KNeighborsClassifier` keeps every training row in `_fit_X`.

## Fix
For neighbors models the data is the model: accept it or choose another model. Otherwise
delete the attribute before saving (`del search.cv_results_`).",
    autofix: None,
    fix_safety: None,
    since: "0.1.0",
};

pub const RULES: &[&Rule] = &[&MEM001, &MEM002];

const TRAINING_DATA: &[&str] = &[
    "_fit_X",
    "X_fit_",
    "oob_decision_function_",
    "oob_prediction_",
    "cv_results_",
];

const TWO_GIB: u64 = 2 << 30;

pub fn check(inspection: &Inspection, options: &Options, findings: &mut Vec<Finding>) {
    let arrays = &inspection.view.arrays;
    let total: u64 = arrays.iter().map(|a| a.nbytes).sum();
    if total > options.memory_budget {
        findings.push(Finding::new(
            &MEM001,
            format!(
                "arrays hold {} ({} bytes), above the memory budget of {}",
                human_bytes(total),
                total,
                human_bytes(options.memory_budget)
            ),
        ));
    }
    for a in arrays.iter().filter(|a| a.nbytes > TWO_GIB) {
        findings.push(Finding {
            raw_path: Some(a.path.clone()),
            ..Finding::new(
                &MEM001,
                format!(
                    "one array buffer of {} at {}: over 2 GiB",
                    human_bytes(a.nbytes),
                    a.path
                ),
            )
            .at(a.offset)
        });
    }
    for a in arrays {
        let attribute = a.path.rsplit('.').next().unwrap_or(&a.path);
        if TRAINING_DATA.contains(&attribute) {
            findings.push(Finding {
                raw_path: Some(a.path.clone()),
                ..Finding::new(
                    &MEM002,
                    format!("{} keeps training data ({})", a.path, human_bytes(a.nbytes)),
                )
                .at(a.offset)
            });
        }
    }
}
