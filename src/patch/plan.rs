//! The ML policy of a repair: which settings an edit touches, what the rules' fixes
//! write, and which values each library accepts. Nothing here touches bytes.

use std::collections::BTreeMap;

use super::PatchError;
use super::request::Request;
use crate::inspection::Inspection;
use crate::model::{Location, ModelView, Setting, SettingValue};
use crate::rules::{self, Family};

/// One setting to rewrite, and what it becomes.
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    pub setting: Setting,
    pub new: SettingValue,
}

/// Every edit a run asks for: the `--set` requests and, with `fix`, the rules' fixes
/// (`jobs` as in [`plan_fix`]). Converted, checked and deduplicated once over both, so a
/// setting given two values is refused whichever way each was asked.
pub fn plan(
    inspection: &Inspection,
    requests: &[Request],
    fix: bool,
    jobs: Option<i64>,
) -> Result<Vec<Edit>, PatchError> {
    let mut edits = set_edits(&inspection.view, requests)?;
    if fix {
        edits.extend(fix_edits(inspection, jobs));
    }
    finish(&inspection.view, edits)
}

/// The edits of `--set` alone.
pub fn plan_set(view: &ModelView, requests: &[Request]) -> Result<Vec<Edit>, PatchError> {
    finish(view, set_edits(view, requests)?)
}

/// The edits of `--fix` alone.
pub fn plan_fix(inspection: &Inspection, jobs: Option<i64>) -> Result<Vec<Edit>, PatchError> {
    finish(&inspection.view, fix_edits(inspection, jobs))
}

/// Edits for `--set` requests. A key is a bare attribute (`n_jobs`: every estimator
/// attribute or parameter-dict entry of that name, fitted clones included), a sklearn
/// path (`preprocessor__n_jobs`, `xgboost__booster.nthread`) or a raw path.
fn set_edits(view: &ModelView, requests: &[Request]) -> Result<Vec<Edit>, PatchError> {
    let mut edits = Vec::new();
    for request in requests {
        let bare =
            !request.key.contains("__") && !request.key.contains('.') && !request.key.contains('[');
        let matched: Vec<&Setting> = view
            .settings
            .iter()
            .filter(|s| {
                s.sklearn_path == request.key
                    || s.raw_path == request.key
                    || (bare
                        && s.name == request.key
                        && matches!(s.location, Location::Attribute | Location::ParamsDict))
            })
            .collect();
        if matched.is_empty() {
            let mut known: Vec<&str> = view
                .settings
                .iter()
                .map(|s| s.sklearn_path.as_str())
                .collect();
            known.sort_unstable();
            known.dedup();
            return Err(PatchError::UnknownKey {
                key: request.key.clone(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        }
        for s in matched {
            edits.push(Edit {
                setting: s.clone(),
                new: request.value.clone(),
            });
        }
    }
    Ok(edits)
}

/// Edits for `--fix`: every autofix the rules offer. `jobs` asks for that explicit
/// thread count instead of the library default (None, or "0" in XGBoost's booster).
/// LightGBM's booster copies (model text, `params`) follow the wrapper, so that the
/// saved booster says what the repaired wrapper says.
fn fix_edits(inspection: &Inspection, jobs: Option<i64>) -> Vec<Edit> {
    let view = &inspection.view;
    let mut edits = Vec::new();
    for finding in rules::check(inspection, &rules::Options::default()) {
        let Some(fix) = &finding.fix else { continue };
        let Some(setting) = view
            .settings
            .iter()
            .find(|s| Some(s.offset) == finding.offset && s.sklearn_path == fix.path)
        else {
            continue;
        };
        let new = match (jobs, &fix.value, finding.family()) {
            (Some(n), SettingValue::None, Some(Family::Parallelism)) => SettingValue::Int(n),
            (Some(n), SettingValue::Str(_), Some(Family::Parallelism)) => {
                SettingValue::Str(n.to_string())
            }
            _ => fix.value.clone(),
        };
        edits.push(Edit {
            setting: setting.clone(),
            new,
        });
    }
    let lightgbm_fixed: Vec<usize> = edits
        .iter()
        .filter(|e| e.setting.class.starts_with("lightgbm."))
        .map(|e| e.setting.estimator)
        .collect();
    for s in &view.settings {
        let threads = matches!(
            s.name.as_str(),
            "num_threads" | "params.num_threads" | "params.n_jobs"
        );
        let booster = matches!(
            s.location,
            Location::LightgbmModelText | Location::BoosterParams
        );
        let parallel = matches!(s.value, SettingValue::Int(n) if n != 0 && Some(n) != jobs);
        if threads && booster && parallel && lightgbm_fixed.contains(&s.estimator) {
            edits.push(Edit {
                setting: s.clone(),
                new: SettingValue::Int(jobs.unwrap_or(0)),
            });
        }
    }
    edits
}

/// Converts each new value to what its setting stores, refusing values the library
/// would not load or predict with; drops edits that change nothing and duplicates.
fn finish(view: &ModelView, edits: Vec<Edit>) -> Result<Vec<Edit>, PatchError> {
    // Keyed by place and path: settings inside a text-spelled blob share one offset.
    let mut by_offset: BTreeMap<(u64, String), Edit> = BTreeMap::new();
    for mut e in edits {
        e.new = crate::model::value_type(&e.setting, view)
            .admit(&e.new)
            .map_err(|why| {
                PatchError::Invalid(format!(
                    "{} ({}): {why}",
                    e.setting.sklearn_path,
                    e.setting
                        .class
                        .rsplit('.')
                        .next()
                        .unwrap_or(&e.setting.class)
                ))
            })?;
        if e.setting.value == e.new {
            continue;
        }
        let key = (e.setting.offset, e.setting.raw_path.clone());
        if let Some(previous) = by_offset.get(&key)
            && previous.new != e.new
        {
            return Err(PatchError::Invalid(format!(
                "{} is set twice, to {} and to {}",
                e.setting.sklearn_path, previous.new, e.new
            )));
        }
        by_offset.insert(key, e);
    }
    Ok(by_offset.into_values().collect())
}
