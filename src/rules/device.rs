//! DEV: device settings left over from training on a GPU.

use super::{Finding, FixSafety, Options, Rule, Severity};
use crate::inspection::Inspection;
use crate::model::{Location, SettingValue};

pub const DEV001: Rule = Rule {
    code: "DEV001",
    name: "gpu-device-leftover",
    severity: Severity::Warning,
    summary: "GPU settings left from training (device='cuda', tree_method='gpu_hist', ...)",
    doc: "## What it finds
Device settings that ask for a GPU: XGBoost `device='cuda'` (wrapper or booster config) and
`tree_method='gpu_hist'`, `predictor='gpu_predictor'`, LightGBM `device`/`device_type` 'gpu'
or 'cuda', CatBoost `task_type='GPU'`, and a non-negative `gpu_id`.

## Why it hurts
On a CPU-only server most of them are ignored at predict time, but `gpu_hist` is rejected by
XGBoost 3 on any refit or clone, and on a server that does have a GPU, `device='cuda'` moves
inference onto it without anybody deciding so.

## Example
`XGBClassifier(device='cuda')` reports `xgboost__device='cuda'` and `xgboost__booster.device`.

## Fix
`artifact patch --fix` writes the CPU value: 'cpu', 'hist', 'cpu_predictor', 'CPU'.",
    autofix: Some("the CPU value ('cpu', 'hist', 'CPU')"),
    fix_safety: Some(FixSafety::Unsafe),
    since: "0.1.0",
};

pub const RULES: &[&Rule] = &[&DEV001];

/// The CPU value for a GPU setting, or None when the setting does not ask for a GPU.
fn cpu_value(name: &str, value: &SettingValue) -> Option<SettingValue> {
    let text = match value {
        SettingValue::Str(s) => s.to_ascii_lowercase(),
        SettingValue::Int(n) if name == "gpu_id" && *n >= 0 => return Some(SettingValue::Int(-1)),
        _ => return None,
    };
    let cpu = match name {
        "device" | "device_type" if text.starts_with("cuda") || text.starts_with("gpu") => "cpu",
        "tree_method" if text.starts_with("gpu") => "hist",
        "predictor" if text.starts_with("gpu") => "cpu_predictor",
        "task_type" if text == "gpu" => "CPU",
        _ => return None,
    };
    Some(SettingValue::Str(cpu.into()))
}

pub fn check(inspection: &Inspection, _options: &Options, findings: &mut Vec<Finding>) {
    let view = &inspection.view;
    for s in &view.settings {
        // LightGBM's model text records the device it trained on; the wrapper decides.
        if s.location == Location::LightgbmModelText {
            continue;
        }
        let name = s.name.rsplit('.').next().unwrap_or(&s.name);
        let Some(cpu) = cpu_value(name, &s.value) else {
            continue;
        };
        let class = view.estimators[s.estimator].class_name();
        let message = format!(
            "{}={} on {class}: a GPU setting left from training; the CPU value is {cpu}",
            s.sklearn_path, s.value
        );
        findings.push(Finding::on_setting(&DEV001, s, message, Some(cpu)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_values_map_to_cpu_values() {
        let s = |v: &str| SettingValue::Str(v.into());
        assert_eq!(cpu_value("device", &s("cuda:0")), Some(s("cpu")));
        assert_eq!(cpu_value("tree_method", &s("gpu_hist")), Some(s("hist")));
        assert_eq!(cpu_value("task_type", &s("GPU")), Some(s("CPU")));
        assert_eq!(cpu_value("device", &s("cpu")), None);
        assert_eq!(cpu_value("tree_method", &s("hist")), None);
        assert_eq!(
            cpu_value("gpu_id", &SettingValue::Int(0)),
            Some(SettingValue::Int(-1))
        );
        assert_eq!(cpu_value("gpu_id", &SettingValue::Int(-1)), None);
    }
}
