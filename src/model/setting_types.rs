//! What each known setting accepts, as the library that reads it accepts it.
//!
//! The patcher converts a requested value with [`ValueType::admit`] before anything is
//! written (so `--set xgboost__booster.nthread=4` writes the string `"4"` XGBoost's
//! config stores), and `check` flags stored values that the library would refuse. Each
//! type was measured by loading and predicting with the value in place (xgboost 3.2,
//! lightgbm 4.6, scikit-learn 1.9, joblib 1.5): an XGBoost config entry that is not a
//! decimal integer makes `joblib.load` fail, a str or float `n_jobs` makes `predict` fail,
//! and `n_jobs=0` makes joblib's `Parallel` raise.

use super::{Location, ModelView, Setting, SettingValue};

/// XGBoost's devices (context.cc): `cpu`, `cuda`, `cuda:<ordinal>`, `gpu`, `gpu:<ordinal>`.
fn xgboost_device(s: &str) -> bool {
    let ordinal = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    matches!(s, "cpu" | "cuda" | "gpu")
        || s.strip_prefix("cuda:").is_some_and(ordinal)
        || s.strip_prefix("gpu:").is_some_and(ordinal)
}

/// What a setting may hold.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueType {
    /// joblib's `n_jobs`: None, or an integer other than 0 below C's INT_MAX (loky sizes
    /// a semaphore `n_jobs + 1`: measured, `2**31 - 1` raises OverflowError at predict).
    JoblibJobs,
    /// A native library's thread count in a Python attribute: None or a C int.
    NativeThreads,
    /// A count that must be a positive C int (KMeans' `_n_threads`).
    PositiveInt,
    /// CatBoost's `thread_count`: None, -1 or a positive C int.
    CatboostThreads,
    /// A decimal integer stored as text (XGBoost's booster config).
    DecimalText,
    /// An integer in a booster's text or params (LightGBM's `num_threads`).
    BoosterInt,
    /// One of a fixed set of strings (None too, when `optional`).
    OneOf {
        values: &'static [&'static str],
        optional: bool,
        /// Stored as text in a booster blob.
        text: bool,
    },
    /// An XGBoost device name.
    XgboostDevice { optional: bool, text: bool },
    /// Not typed here: the kinds a pickle or a blob can hold at that place.
    Untyped { text: bool },
}

const C_INT: std::ops::RangeInclusive<i64> = i32::MIN as i64..=i32::MAX as i64;

impl ValueType {
    /// What is accepted, for error messages.
    pub fn describe(&self) -> String {
        match self {
            ValueType::JoblibJobs => {
                "None or a non-zero integer below 2**31 - 1 (joblib refuses 0; -1 means every core)"
                    .into()
            }
            ValueType::NativeThreads => "None or an integer that fits a C int".into(),
            ValueType::PositiveInt => "a positive integer (1 is safe)".into(),
            ValueType::CatboostThreads => "None, -1 or a positive integer".into(),
            ValueType::DecimalText => {
                "an integer, stored as its decimal text (\"0\" means every core)".into()
            }
            ValueType::BoosterInt => "an integer (0 means the library default)".into(),
            ValueType::OneOf {
                values, optional, ..
            } => {
                let list = values
                    .iter()
                    .map(|v| format!("'{v}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if *optional {
                    format!("None or one of {list}")
                } else {
                    format!("one of {list}")
                }
            }
            ValueType::XgboostDevice { optional, .. } => format!(
                "{}'cpu', 'cuda', 'cuda:<n>', 'gpu' or 'gpu:<n>'",
                if *optional { "None, " } else { "" }
            ),
            ValueType::Untyped { text: true } => "an integer or a string".into(),
            ValueType::Untyped { text: false } => "None, a boolean, a number or a string".into(),
        }
    }

    /// Whether a stored value makes loading or predicting fail: what `check` flags.
    /// Looser than [`ValueType::admit`], which decides what the patcher writes, because
    /// the libraries convert more than they document (measured: joblib takes `n_jobs=True`
    /// and `2.0`, KMeans predicts with `_n_threads=0` or `1.5` and aborts the process with
    /// `-1`). The wrapper attributes `device` and `tree_method` are read only by `fit` (an
    /// XGBClassifier with `tree_method='bogus'`, `device='gpu9'` predicts), so they never
    /// break here.
    pub fn breaks_at_use(&self, value: &SettingValue) -> bool {
        use SettingValue as V;
        if self.admit(value).is_ok() {
            return false;
        }
        let as_int = match value {
            V::Bool(b) => Some(i64::from(*b)),
            V::Float(f) if f.is_finite() && f.abs() < 1e18 => Some(f.trunc() as i64),
            _ => None,
        };
        match self {
            ValueType::OneOf { text, .. } | ValueType::XgboostDevice { text, .. } => *text,
            ValueType::Untyped { .. } => false,
            ValueType::PositiveInt => !match value {
                V::Int(n) => (0..=i32::MAX as i64).contains(n),
                _ => as_int.is_some_and(|n| (0..=i32::MAX as i64).contains(&n)),
            },
            ValueType::DecimalText => {
                !matches!(value, V::Str(s) if s.trim().parse::<i32>().is_ok())
            }
            _ => as_int.is_none_or(|n| self.admit(&V::Int(n)).is_err()),
        }
    }

    /// The value to write for `value`, converted to the form this setting stores, or why
    /// it is refused.
    pub fn admit(&self, value: &SettingValue) -> Result<SettingValue, String> {
        use SettingValue as V;
        let refuse = || Err(format!("{value} is not accepted: {}", self.describe()));
        match (self, value) {
            (ValueType::JoblibJobs, V::None) => Ok(V::None),
            (ValueType::JoblibJobs, V::Int(n))
                if *n != 0 && (i32::MIN as i64..i32::MAX as i64).contains(n) =>
            {
                Ok(V::Int(*n))
            }
            (ValueType::NativeThreads | ValueType::CatboostThreads, V::None) => Ok(V::None),
            (ValueType::NativeThreads | ValueType::BoosterInt, V::Int(n)) if C_INT.contains(n) => {
                Ok(V::Int(*n))
            }
            (ValueType::PositiveInt, V::Int(n)) if (1..=i32::MAX as i64).contains(n) => {
                Ok(V::Int(*n))
            }
            (ValueType::CatboostThreads, V::Int(n))
                if *n == -1 || (1..=i32::MAX as i64).contains(n) =>
            {
                Ok(V::Int(*n))
            }
            (ValueType::DecimalText, V::Int(n)) if C_INT.contains(n) => Ok(V::Str(n.to_string())),
            (ValueType::DecimalText, V::Str(s)) => match s.parse::<i32>() {
                Ok(n) if n.to_string() == *s => Ok(V::Str(s.clone())),
                _ => refuse(),
            },
            (ValueType::OneOf { optional: true, .. }, V::None) => Ok(V::None),
            (ValueType::OneOf { values, .. }, V::Str(s)) if values.contains(&s.as_str()) => {
                Ok(V::Str(s.clone()))
            }
            (ValueType::XgboostDevice { optional: true, .. }, V::None) => Ok(V::None),
            (ValueType::XgboostDevice { .. }, V::Str(s)) if xgboost_device(s) => {
                Ok(V::Str(s.clone()))
            }
            (ValueType::Untyped { text: true }, V::Int(_) | V::Str(_)) => Ok(value.clone()),
            (ValueType::Untyped { text: false }, _) => Ok(value.clone()),
            _ => refuse(),
        }
    }
}

/// What `setting` accepts. `view` tells the library versions, where they matter.
pub fn value_type(setting: &Setting, view: &ModelView) -> ValueType {
    let text = matches!(
        setting.location,
        Location::XgboostConfig | Location::LightgbmModelText
    );
    let library = setting.class.split('.').next().unwrap_or("");
    let name = setting.name.trim_start_matches("params.");
    match (library, &setting.location, name) {
        ("xgboost", Location::XgboostConfig, "nthread" | "n_jobs" | "gpu_id") => {
            ValueType::DecimalText
        }
        ("xgboost", _, "device") => ValueType::XgboostDevice {
            optional: !text,
            text,
        },
        ("xgboost", _, "tree_method") => ValueType::OneOf {
            values: xgboost_tree_methods(view),
            optional: !text,
            text,
        },
        ("xgboost", _, "predictor") => ValueType::OneOf {
            values: &["auto", "cpu_predictor", "gpu_predictor"],
            optional: !text,
            text,
        },
        ("xgboost", _, "n_jobs" | "nthread") => ValueType::NativeThreads,
        (
            "lightgbm",
            Location::LightgbmModelText | Location::BoosterParams,
            "num_threads" | "n_jobs" | "num_thread" | "nthread" | "nthreads",
        ) => ValueType::BoosterInt,
        ("lightgbm", _, "n_jobs" | "num_threads" | "num_thread" | "nthread" | "nthreads") => {
            ValueType::NativeThreads
        }
        ("lightgbm", _, "device_type" | "device") => ValueType::OneOf {
            values: &["cpu", "gpu", "cuda"],
            optional: !text,
            text,
        },
        ("catboost", _, "thread_count") => ValueType::CatboostThreads,
        ("catboost", _, "task_type") => ValueType::OneOf {
            values: &["CPU", "GPU"],
            optional: true,
            text,
        },
        (_, _, "_n_threads") => ValueType::PositiveInt,
        ("sklearn" | "imblearn", Location::Attribute | Location::ParamsDict, "n_jobs") => {
            ValueType::JoblibJobs
        }
        _ => ValueType::Untyped { text },
    }
}

/// XGBoost 3 refuses `gpu_hist` when it loads a booster; 1.x and 2.x took it.
fn xgboost_tree_methods(view: &ModelView) -> &'static [&'static str] {
    let major = view
        .library_versions
        .get("xgboost")
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m >= 3 => &["auto", "exact", "approx", "hist"],
        _ => &["auto", "exact", "approx", "hist", "gpu_hist"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SettingValue as V;

    #[test]
    fn joblib_jobs_refuse_zero_text_and_floats() {
        let t = ValueType::JoblibJobs;
        assert_eq!(t.admit(&V::None), Ok(V::None));
        assert_eq!(t.admit(&V::Int(-1)), Ok(V::Int(-1)));
        assert!(t.admit(&V::Int(0)).is_err());
        assert!(t.admit(&V::Str("eight".into())).is_err());
        assert!(t.admit(&V::Float(1e20)).is_err());
        assert!(t.admit(&V::Bool(true)).is_err());
        assert!(t.admit(&V::Int(i32::MAX as i64)).is_err());
        // What joblib converts itself is not a broken artifact.
        assert!(!t.breaks_at_use(&V::Bool(true)));
        assert!(!t.breaks_at_use(&V::Float(2.0)));
        assert!(t.breaks_at_use(&V::Float(1e20)));
        assert!(t.breaks_at_use(&V::Int(0)));
    }

    #[test]
    fn booster_config_counts_become_decimal_text() {
        let t = ValueType::DecimalText;
        assert_eq!(t.admit(&V::Int(4)), Ok(V::Str("4".into())));
        assert_eq!(t.admit(&V::Str("0".into())), Ok(V::Str("0".into())));
        assert!(t.admit(&V::Str("abc".into())).is_err());
        assert!(t.admit(&V::Str("04".into())).is_err());
        assert!(t.admit(&V::Int(1 << 40)).is_err());
        assert!(t.admit(&V::None).is_err());
    }

    #[test]
    fn devices_are_xgboosts_list() {
        let t = ValueType::XgboostDevice {
            optional: false,
            text: true,
        };
        for ok in ["cpu", "cuda", "cuda:1", "gpu", "gpu:0"] {
            assert!(t.admit(&V::Str(ok.into())).is_ok(), "{ok}");
        }
        for bad in ["gpu9", "cuda:", "cuda:x", "CPU"] {
            assert!(t.admit(&V::Str(bad.into())).is_err(), "{bad}");
        }
        assert!(t.admit(&V::None).is_err());
    }

    #[test]
    fn kmeans_threads_stay_positive() {
        let t = ValueType::PositiveInt;
        assert!(t.admit(&V::Int(1)).is_ok());
        assert!(t.admit(&V::Int(0)).is_err());
        assert!(t.admit(&V::None).is_err());
        assert!(!t.breaks_at_use(&V::Int(0)));
        assert!(t.breaks_at_use(&V::Int(-1)));
        assert!(t.breaks_at_use(&V::None));
    }
}
