//! VER: the library versions the artifact was written with.

use super::{Finding, Options, Rule, Severity};
use crate::inspection::Inspection;

pub const VER001: Rule = Rule {
    code: "VER001",
    name: "version-mismatch",
    severity: Severity::Warning,
    summary: "recorded library versions mixed within the artifact or different from --target",
    doc: "## What it finds
Estimators that recorded different `_sklearn_version`s in one artifact, and recorded
versions (scikit-learn, XGBoost, LightGBM) whose major.minor differs from the serving
environment given with `--target sklearn==1.9` (or `target` in the configuration).

## Why it hurts
scikit-learn does not promise that a model pickled by one version loads or predicts the same
under another; it warns with `InconsistentVersionWarning` and sometimes fails.

## Example
A pipeline fitted with 1.5.2 whose final step was refitted with 1.9.1.

## Fix
Refit (or re-save) the model with the version the server runs.",
    autofix: None,
    fix_safety: None,
    since: "0.1.0",
};

pub const RULES: &[&Rule] = &[&VER001];

fn major_minor(version: &str) -> String {
    version
        .trim_start_matches('v')
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".")
}

pub fn check(inspection: &Inspection, options: &Options, findings: &mut Vec<Finding>) {
    let view = &inspection.view;
    if view.sklearn_versions.len() > 1 {
        let listed: Vec<_> = view
            .sklearn_versions
            .iter()
            .map(|(v, n)| format!("{v} ({n})"))
            .collect();
        findings.push(Finding::new(
            &VER001,
            format!(
                "estimators recorded different scikit-learn versions: {}",
                listed.join(", ")
            ),
        ));
    }
    let recorded = view
        .sklearn_versions
        .keys()
        .map(|v| ("sklearn", v.as_str()))
        .chain(
            view.library_versions
                .iter()
                .map(|(lib, v)| (lib.as_str(), v.as_str())),
        );
    for (lib, version) in recorded {
        let target = options.target.get(lib).or_else(|| {
            (lib == "sklearn")
                .then(|| options.target.get("scikit-learn"))
                .flatten()
        });
        if let Some(target) = target
            && major_minor(target) != major_minor(version)
        {
            findings.push(Finding::new(
                &VER001,
                format!("recorded {lib} {version}, the target runs {target}"),
            ));
        }
    }
}
