//! Configuration: `artifact.toml`, or `[tool.artifact]` in `pyproject.toml`, found by
//! walking up from the current folder. Unknown keys are errors; every suppression needs a
//! written reason, and one that matched nothing is reported so the file stays honest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::rules::{self, Severity};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Rule codes or prefixes to run (`["ALL"]` by default).
    pub select: Option<Vec<String>>,
    /// Rule codes or prefixes not to run.
    pub ignore: Option<Vec<String>>,
    /// The lowest severity that fails the gate.
    pub fail_on: Option<Severity>,
    /// SEC003 as an error.
    pub strict: Option<bool>,
    /// MEM001's budget: bytes, or a size like "4 GiB".
    pub memory_budget: Option<Size>,
    /// Extra globals SEC003 allows: `module.name` or `module.*`.
    pub allowed_globals: Option<Vec<String>>,
    /// Glob patterns of files and folders `check` leaves out (counted in its summary).
    pub exclude: Option<Vec<String>>,
    /// Library versions of the serving environment (`sklearn = "1.9"`).
    pub target: Option<BTreeMap<String, String>>,
    /// Severity per rule code.
    pub severity: Option<BTreeMap<String, Severity>>,
    #[serde(default)]
    pub suppress: Vec<Suppression>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// The rule code.
    pub rule: String,
    /// The artifact, relative to the configuration file's folder.
    pub file: Option<String>,
    /// Or the artifact's SHA-256 (of the file as stored).
    pub sha256: Option<String>,
    /// Why this is acceptable: required.
    pub reason: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Size {
    Bytes(u64),
    #[serde(deserialize_with = "size_text")]
    Text(u64),
}

impl Size {
    pub fn bytes(self) -> u64 {
        match self {
            Size::Bytes(n) | Size::Text(n) => n,
        }
    }
}

fn size_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let text = String::deserialize(d)?;
    parse_size(&text).map_err(serde::de::Error::custom)
}

/// `4 GiB`, `512MiB`, `2GB`, `1000`: a size in bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (try \"4 GiB\")"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        other => return Err(format!("unknown size unit '{other}' in '{text}'")),
    };
    Ok((number * scale as f64) as u64)
}

/// A configuration and the file it came from.
#[derive(Debug, Default)]
pub struct Loaded {
    pub config: Config,
    pub path: Option<PathBuf>,
}

impl Loaded {
    /// The folder suppressions' file paths are relative to.
    pub fn root(&self) -> PathBuf {
        self.path
            .as_ref()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<Tool>,
}

#[derive(Deserialize)]
struct Tool {
    artifact: Option<toml::Value>,
}

/// Loads `explicit`, or the nearest `artifact.toml` / `pyproject.toml` with a
/// `[tool.artifact]` table above `start`; no file means the defaults.
pub fn load(explicit: Option<&Path>, start: &Path) -> anyhow::Result<Loaded> {
    if let Some(path) = explicit {
        return read(path).map(|config| Loaded {
            config,
            path: Some(path.to_path_buf()),
        });
    }
    let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    for dir in start.ancestors() {
        let candidate = dir.join("artifact.toml");
        if candidate.is_file() {
            return read(&candidate).map(|config| Loaded {
                config,
                path: Some(candidate),
            });
        }
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() {
            let text = std::fs::read_to_string(&pyproject)
                .with_context(|| format!("cannot read {}", pyproject.display()))?;
            let parsed: Pyproject = toml::from_str(&text)
                .with_context(|| format!("{} is not valid TOML", pyproject.display()))?;
            if let Some(table) = parsed.tool.and_then(|t| t.artifact) {
                let config: Config = table
                    .try_into()
                    .with_context(|| format!("{}: [tool.artifact]", pyproject.display()))?;
                validate(&config)
                    .with_context(|| format!("{}: [tool.artifact]", pyproject.display()))?;
                return Ok(Loaded {
                    config,
                    path: Some(pyproject),
                });
            }
        }
    }
    Ok(Loaded::default())
}

fn read(path: &Path) -> anyhow::Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config: Config = toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
    validate(&config).with_context(|| format!("{}", path.display()))?;
    Ok(config)
}

fn validate(config: &Config) -> anyhow::Result<()> {
    let known = |code: &str| rules::find(code).is_some();
    let selector_ok = |s: &str| {
        s.eq_ignore_ascii_case("ALL")
            || rules::all()
                .iter()
                .any(|r| r.code.starts_with(&s.to_ascii_uppercase()))
    };
    for s in config
        .select
        .iter()
        .flatten()
        .chain(config.ignore.iter().flatten())
    {
        if !selector_ok(s) {
            bail!("'{s}' selects no rule (codes look like PAR001; prefixes like PAR work too)");
        }
    }
    for code in config.severity.iter().flat_map(|m| m.keys()) {
        if !known(code) {
            bail!("severity for unknown rule '{code}'");
        }
    }
    for s in &config.suppress {
        if !known(&s.rule) {
            bail!("suppression for unknown rule '{}'", s.rule);
        }
        if s.reason.trim().is_empty() {
            bail!("the suppression of {} needs a reason", s.rule);
        }
        if s.file.is_none() == s.sha256.is_none() {
            bail!(
                "the suppression of {} needs exactly one of `file` or `sha256`",
                s.rule
            );
        }
    }
    Ok(())
}

/// The commented starter configuration `artifact init` writes.
pub const STARTER: &str = r#"# artifact configuration: `artifact check` finds it by walking up from the current folder.
# (The same keys work under [tool.artifact] in pyproject.toml.) `artifact rule --all` lists rules.

# Rules to run, by code or prefix ("ALL", "PAR", "SEC001"), and rules to skip.
select = ["ALL"]
ignore = []

# The lowest severity that fails the gate: "error", "warning" or "info".
fail-on = "warning"

# Globals of your own modules that are not in allowed-globals are errors, not warnings
# (SEC003). Globals no ML library pickles are errors either way (docs/trust-model.md).
strict = false

# MEM001: total array memory above this is a finding.
memory-budget = "4 GiB"

# Globals you reviewed and allow (SEC003): "module.Name" or "mypackage.*".
allowed-globals = []

# Paths `check` leaves out of folder walks (glob patterns; the summary counts them).
exclude = []

# The library versions your servers run (VER001).
# [target]
# sklearn = "1.9"

# Severity per rule.
# [severity]
# PAR002 = "error"

# Accepted findings. Each needs a reason, and one that matches nothing is reported.
# [[suppress]]
# rule = "MEM002"
# file = "models/knn.pkl"          # relative to this file, or: sha256 = "..."
# reason = "neighbors models are their training data"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4 GiB").unwrap(), 4 << 30);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("four").is_err());
        assert!(parse_size("4 parsecs").is_err());
    }

    #[test]
    fn the_starter_config_is_valid() {
        let config: Config = toml::from_str(STARTER).unwrap();
        validate(&config).unwrap();
        assert_eq!(config.memory_budget.map(Size::bytes), Some(4 << 30));
    }

    #[test]
    fn unknown_keys_and_reasonless_suppressions_are_errors() {
        assert!(toml::from_str::<Config>("selcet = [\"PAR\"]").is_err());
        let config: Config =
            toml::from_str("[[suppress]]\nrule = \"PAR001\"\nfile = \"a.pkl\"\nreason = \" \"")
                .unwrap();
        assert!(validate(&config).is_err());
        let config: Config = toml::from_str("select = [\"XYZ\"]").unwrap();
        assert!(validate(&config).is_err());
    }
}
