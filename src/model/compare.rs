//! What differs between two artifacts, in the terms `inspect` reports: settings,
//! estimators, arrays, globals and recorded scikit-learn versions.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::model::{ArrayStorage, ModelView, SettingValue};

/// One key whose value differs between the sides, or that only one side has.
#[derive(Clone, Debug, PartialEq)]
pub struct Change<K, V> {
    pub key: K,
    pub a: Option<V>,
    pub b: Option<V>,
}

/// A setting as one side stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingSide {
    pub sklearn_path: String,
    pub value: SettingValue,
}

/// A setting is matched by its attribute path and name: the sklearn path names a fitted
/// clone the same as its template.
pub type SettingKey = (String, String);

/// An array as one side stores it; two arrays are the same when all of this is.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayFacts {
    pub nbytes: u64,
    pub dtype: Option<String>,
    pub shape: Option<Vec<u64>>,
    /// Of the data bytes, when the file holds them (not for arrays a reducer builds).
    pub sha256: Option<[u8; 32]>,
}

#[derive(Debug, Default)]
pub struct Differences {
    pub settings: Vec<Change<SettingKey, SettingSide>>,
    /// Keyed by raw path; the value is the class.
    pub estimators: Vec<Change<String, String>>,
    pub arrays: Vec<Change<String, ArrayFacts>>,
    /// Keyed by `module.name`; the value is the number of references.
    pub globals: Vec<Change<String, u64>>,
    /// Keyed by `_sklearn_version`; the value is the number of estimators recording it.
    pub versions: Vec<Change<String, u64>>,
}

impl Differences {
    /// Compares two views, each with the pickle data it was read from (for array hashes).
    pub fn between(a: (&ModelView, &[u8]), b: (&ModelView, &[u8])) -> Self {
        let (a, b) = (Side::of(a.0, a.1), Side::of(b.0, b.1));
        Differences {
            settings: changes(&a.settings, &b.settings),
            estimators: changes(&a.estimators, &b.estimators),
            arrays: changes(&a.arrays, &b.arrays),
            globals: changes(&a.globals, &b.globals),
            versions: changes(&a.versions, &b.versions),
        }
    }

    pub fn total(&self) -> usize {
        self.settings.len()
            + self.estimators.len()
            + self.arrays.len()
            + self.globals.len()
            + self.versions.len()
    }
}

/// What one side knows, keyed for comparison.
struct Side {
    settings: BTreeMap<SettingKey, SettingSide>,
    estimators: BTreeMap<String, String>,
    arrays: BTreeMap<String, ArrayFacts>,
    globals: BTreeMap<String, u64>,
    versions: BTreeMap<String, u64>,
}

impl Side {
    fn of(view: &ModelView, data: &[u8]) -> Side {
        // An array no path reaches is named by its offset, which an edit before it moves:
        // such arrays are matched by their order instead.
        let mut unreached = 0;
        let arrays = view
            .arrays
            .iter()
            .map(|a| {
                let key = if a.path.starts_with("<unreached") {
                    unreached += 1;
                    format!("<unreached array #{unreached}>")
                } else {
                    a.path.clone()
                };
                let stored = matches!(
                    a.storage,
                    ArrayStorage::JoblibInline | ArrayStorage::Pickled
                );
                let bytes = usize::try_from(a.offset).ok().and_then(|start| {
                    let end = start.checked_add(usize::try_from(a.nbytes).ok()?)?;
                    data.get(start..end)
                });
                let facts = ArrayFacts {
                    nbytes: a.nbytes,
                    dtype: a.dtype.clone(),
                    shape: a.shape.clone(),
                    sha256: bytes.filter(|_| stored).map(|b| Sha256::digest(b).into()),
                };
                (key, facts)
            })
            .collect();
        Side {
            settings: view
                .settings
                .iter()
                .map(|s| {
                    (
                        (s.raw_path.clone(), s.name.clone()),
                        SettingSide {
                            sklearn_path: s.sklearn_path.clone(),
                            value: s.value.clone(),
                        },
                    )
                })
                .collect(),
            estimators: view
                .estimators
                .iter()
                .map(|e| (e.raw_path.clone(), e.class.clone()))
                .collect(),
            arrays,
            globals: view
                .globals
                .iter()
                .map(|g| (format!("{}.{}", g.module, g.name), g.count))
                .collect(),
            versions: view.sklearn_versions.clone(),
        }
    }
}

/// Every key whose value differs or exists on one side only, in key order.
fn changes<K: Ord + Clone, V: PartialEq + Clone>(
    a: &BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
) -> Vec<Change<K, V>> {
    let mut keys: Vec<&K> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k), b.get(k));
            (x != y).then(|| Change {
                key: k.clone(),
                a: x.cloned(),
                b: y.cloned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_lists_differing_and_one_sided_keys_in_order() {
        let a = BTreeMap::from([("x", 1), ("y", 2), ("z", 3)]);
        let b = BTreeMap::from([("w", 0), ("x", 1), ("y", 5)]);
        let got = changes(&a, &b);
        let keys: Vec<_> = got.iter().map(|c| (c.key, c.a, c.b)).collect();
        assert_eq!(
            keys,
            [
                ("w", None, Some(0)),
                ("y", Some(2), Some(5)),
                ("z", Some(3), None)
            ]
        );
    }
}
