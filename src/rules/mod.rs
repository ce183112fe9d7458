//! Findings a team can act on, from what the reader saw. Each family of rules lives in
//! its own file: its rules (code, name, default severity, documentation, fix and its
//! safety, the version it appeared in) beside its check function. [`REGISTRY`] is the
//! one list of families; everything else (`check`, `rule`, docs/rules.md, SARIF rule
//! metadata, config validation) reads it. Rules read [`Inspection`]s only: they never
//! parse bytes.

mod device;
mod memory;
mod parallelism;
mod portability;
mod security;
mod values;
mod versions;

pub use security::validate_allowed_globals;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::inspection::Inspection;
use crate::model::SettingValue;

#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    /// The default threshold of the gate.
    #[default]
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A family of rules: the first three letters of their codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Parallelism,
    Device,
    Security,
    Portability,
    Memory,
    Versions,
    Values,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Parallelism => "parallelism",
            Family::Device => "device",
            Family::Security => "security",
            Family::Portability => "portability",
            Family::Memory => "memory",
            Family::Versions => "versions",
            Family::Values => "values",
        }
    }

    /// The code prefix: `PAR`.
    pub fn prefix(self) -> &'static str {
        match self {
            Family::Parallelism => "PAR",
            Family::Device => "DEV",
            Family::Security => "SEC",
            Family::Portability => "PRT",
            Family::Memory => "MEM",
            Family::Versions => "VER",
            Family::Values => "CFG",
        }
    }
}

/// The rule set's version, as a literal (so that `--version` can `concat!` it). Bump it
/// whenever a rule is added or removed or changes what it reports, and record the
/// catalogue's digest beside it ([`RULESET_DIGEST`]; a test says when they disagree): a
/// registry stores it with each verdict to tell which gate passed a model.
#[macro_export]
macro_rules! ruleset_version {
    () => {
        "2026.12.0"
    };
}

pub const RULESET_VERSION: &str = ruleset_version!();

/// SHA-256 (first 16 hex digits) of `artifact rule --all --format json` for
/// [`RULESET_VERSION`].
pub const RULESET_DIGEST: &str = "16ad49111585d4fe";

/// One family's rules and the function that finds them.
pub struct FamilyRules {
    pub family: Family,
    pub rules: &'static [&'static Rule],
    pub check: fn(&Inspection, &Options, &mut Vec<Finding>),
}

/// Every family of rules: adding a rule means adding it to its family's `RULES` and
/// emitting it from its `check`; adding a family means one line here.
pub const REGISTRY: [FamilyRules; 7] = [
    FamilyRules {
        family: Family::Parallelism,
        rules: parallelism::RULES,
        check: parallelism::check,
    },
    FamilyRules {
        family: Family::Device,
        rules: device::RULES,
        check: device::check,
    },
    FamilyRules {
        family: Family::Security,
        rules: security::RULES,
        check: security::check,
    },
    FamilyRules {
        family: Family::Portability,
        rules: portability::RULES,
        check: portability::check,
    },
    FamilyRules {
        family: Family::Memory,
        rules: memory::RULES,
        check: memory::check,
    },
    FamilyRules {
        family: Family::Versions,
        rules: versions::RULES,
        check: versions::check,
    },
    FamilyRules {
        family: Family::Values,
        rules: values::RULES,
        check: values::check,
    },
];

/// Whether applying a rule's fix can change what the model computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FixSafety {
    /// Predictions stay bit-identical (`verify` proves it): thread and process counts.
    Safe,
    /// Outputs may change within floating-point noise (a device moved to CPU).
    Unsafe,
}

/// A rule: what it finds, how bad it is by default, how to fix it.
#[derive(Debug)]
pub struct Rule {
    /// `PAR001`.
    pub code: &'static str,
    /// What it finds, as a pattern: `process-parallel-n-jobs`.
    pub name: &'static str,
    pub severity: Severity,
    /// One line for listings.
    pub summary: &'static str,
    /// Markdown with the sections "What it finds", "Why it hurts", "Example", "Fix".
    pub doc: &'static str,
    /// The safe value `artifact patch --fix` writes, when there is one.
    pub autofix: Option<&'static str>,
    /// What applying `autofix` can do to the outputs (None without an autofix).
    pub fix_safety: Option<FixSafety>,
    /// The artifact version the rule appeared in.
    pub since: &'static str,
}

impl FixSafety {
    pub fn name(self) -> &'static str {
        match self {
            FixSafety::Safe => "safe",
            FixSafety::Unsafe => "unsafe",
        }
    }
}

/// The family whose table holds `code`.
fn family_of(code: &str) -> Option<Family> {
    REGISTRY
        .iter()
        .find(|f| f.rules.iter().any(|r| r.code == code))
        .map(|f| f.family)
}

impl Rule {
    pub fn family(&self) -> Family {
        // Every rule is reached through REGISTRY, so the lookup cannot miss.
        family_of(self.code).unwrap_or(Family::Values)
    }
}

/// A setting to write to fix a finding (what `artifact patch --fix` applies).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fix {
    /// The setting's sklearn path (`preprocessor__n_jobs`).
    pub path: String,
    pub value: SettingValue,
}

/// One finding in one artifact.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The sklearn path of the setting or estimator, when there is one.
    pub sklearn_path: Option<String>,
    /// The raw object path, when there is one.
    pub raw_path: Option<String>,
    pub class: Option<String>,
    /// Byte offset in the pickle data.
    pub offset: Option<u64>,
    pub fix: Option<Fix>,
}

impl Finding {
    /// The family of the rule that found it.
    pub fn family(&self) -> Option<Family> {
        family_of(self.code)
    }

    fn new(rule: &Rule, message: String) -> Self {
        Finding {
            code: rule.code,
            severity: rule.severity,
            message,
            sklearn_path: None,
            raw_path: None,
            class: None,
            offset: None,
            fix: None,
        }
    }

    /// A finding about one setting: its paths, class and offset, and the value that fixes
    /// it, if there is one.
    fn on_setting(
        rule: &Rule,
        s: &crate::model::Setting,
        message: String,
        fix: Option<SettingValue>,
    ) -> Self {
        Finding {
            sklearn_path: Some(s.sklearn_path.clone()),
            raw_path: Some(s.raw_path.clone()),
            class: Some(s.class.clone()),
            offset: Some(s.offset),
            fix: fix.map(|value| Fix {
                path: s.sklearn_path.clone(),
                value,
            }),
            ..Finding::new(rule, message)
        }
    }

    fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
}

/// Knobs that change what rules report (from the config file and flags).
#[derive(Clone, Debug)]
pub struct Options {
    /// SEC003 becomes an error: only the known-safe ML globals may load.
    pub strict: bool,
    /// MEM001: array bytes above this are a finding.
    pub memory_budget: u64,
    /// VER001: library versions the serving environment runs (`sklearn` -> `1.9`).
    pub target: BTreeMap<String, String>,
    /// Extra globals allowed by SEC003 (`module.name`, or `module.*`).
    pub allowed_globals: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            strict: false,
            memory_budget: 4 << 30,
            target: BTreeMap::new(),
            allowed_globals: Vec::new(),
        }
    }
}

/// Every rule, in code order.
pub fn all() -> Vec<&'static Rule> {
    let mut rules: Vec<&'static Rule> = REGISTRY.iter().flat_map(|f| f.rules).copied().collect();
    rules.sort_by_key(|r| r.code);
    rules
}

pub fn find(code: &str) -> Option<&'static Rule> {
    all()
        .into_iter()
        .find(|r| r.code.eq_ignore_ascii_case(code))
}

/// Runs every rule over one artifact. Selection, severity overrides and suppressions
/// are the caller's business (they come from configuration).
pub fn check(inspection: &Inspection, options: &Options) -> Vec<Finding> {
    let mut findings = Vec::new();
    for family in &REGISTRY {
        (family.check)(inspection, options, &mut findings);
    }
    // In file order, as a reader scrolls through the artifact.
    findings.sort_by_key(|f| (f.offset.unwrap_or(0), f.code));
    findings
}

/// Whether `code` is selected by a list of codes and prefixes (`PAR`, `SEC00`, `ALL`).
pub fn matches(code: &str, selectors: &[String]) -> bool {
    selectors.iter().any(|s| {
        s.eq_ignore_ascii_case("ALL")
            || code
                .to_ascii_uppercase()
                .starts_with(&s.to_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_is_unique_and_documented() {
        let rules = all();
        let codes: HashSet<_> = rules.iter().map(|r| r.code).collect();
        assert_eq!(codes.len(), rules.len(), "duplicate rule codes");
        for rule in rules {
            assert!(
                rule.code.len() == 6,
                "{}: codes are three letters and three digits",
                rule.code
            );
            assert!(
                !rule.name.contains(' ') && rule.name == rule.name.to_lowercase(),
                "{}: names are kebab-case",
                rule.code
            );
            for section in [
                "## What it finds",
                "## Why it hurts",
                "## Example",
                "## Fix",
            ] {
                assert!(
                    rule.doc.contains(section),
                    "{} lacks '{section}'",
                    rule.code
                );
            }
        }
    }

    #[test]
    fn every_rule_sits_in_the_family_its_code_names() {
        for family in &REGISTRY {
            for rule in family.rules {
                assert!(
                    rule.code.starts_with(family.family.prefix()),
                    "{}",
                    rule.code
                );
                assert_eq!(rule.family(), family.family);
                assert_eq!(
                    rule.autofix.is_some(),
                    rule.fix_safety.is_some(),
                    "{}",
                    rule.code
                );
            }
        }
    }

    #[test]
    fn selectors_take_codes_prefixes_and_all() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches("PAR001", &s(&["PAR"])));
        assert!(matches("PAR001", &s(&["par001"])));
        assert!(matches("SEC004", &s(&["ALL"])));
        assert!(!matches("SEC004", &s(&["PAR", "SEC1"])));
    }
}
