//! How CPython's `find_class` turns the names a stream spells into the object it imports.
//!
//! `Unpickler.find_class(module, name)` (Lib/pickle.py, and `_pickle.c`'s twin):
//!
//! 1. below protocol 3 (`self.proto`, which every PROTO opcode sets), `_compat_pickle`
//!    renames Python 2 names: a (module, name) pair first, else the module alone
//!    (`copy_reg` is `copyreg`, `SimpleHTTPServer` is `http.server`);
//! 2. `__import__(module)`;
//! 3. from protocol 4, `name` is a dotted path walked attribute by attribute
//!    (`_getattribute`), so `uuid` + `os.system` is `uuid.os.system`: `os.system`, reached
//!    through a module attribute. Below 4 it is one `getattr`.
//!
//! The tables are generated from Python's own `_compat_pickle` (scripts/python_names.py).

use std::collections::HashMap;
use std::sync::LazyLock;

const COMPAT_PICKLE: &str = include_str!("data/compat_pickle.tsv");

struct Compat {
    names: HashMap<(&'static str, &'static str), (&'static str, &'static str)>,
    modules: HashMap<&'static str, &'static str>,
}

static COMPAT: LazyLock<Compat> = LazyLock::new(|| {
    let mut names = HashMap::new();
    let mut modules = HashMap::new();
    for line in COMPAT_PICKLE.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&'static str> = line.split('\t').collect();
        match fields.as_slice() {
            ["name", m, n, nm, nn] => {
                names.insert((*m, *n), (*nm, *nn));
            }
            ["import", m, nm] => {
                modules.insert(*m, *nm);
            }
            _ => {}
        }
    }
    Compat { names, modules }
});

/// A global as `find_class` resolves it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resolved {
    /// The module `__import__` is called with.
    pub module: String,
    /// The attribute path looked up on it (`a.b.c` is walked from protocol 4).
    pub name: String,
    /// Whether `_compat_pickle` renamed what the stream spelled.
    pub renamed: bool,
    /// Whether `name` is walked through attributes (protocol 4 and more, with a dot).
    pub dotted: bool,
}

/// What `find_class(module, name)` imports and looks up when `self.proto` is `proto`.
pub fn resolve(module: &str, name: &str, proto: u8) -> Resolved {
    let (mut m, mut n, mut renamed) = (module, name, false);
    if proto < 3 {
        let compat = &*COMPAT;
        if let Some(&(nm, nn)) = compat.names.get(&(module, name)) {
            (m, n, renamed) = (nm, nn, true);
        } else if let Some(&nm) = compat.modules.get(module) {
            (m, renamed) = (nm, true);
        }
    }
    Resolved {
        module: m.to_string(),
        name: n.to_string(),
        renamed,
        dotted: proto >= 4 && n.contains('.'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_2_names_are_renamed_below_protocol_3_only() {
        let r = resolve("copy_reg", "_reconstructor", 2);
        assert_eq!(
            (r.module.as_str(), r.name.as_str()),
            ("copyreg", "_reconstructor")
        );
        assert!(r.renamed);
        let r = resolve("__builtin__", "xrange", 0);
        assert_eq!((r.module.as_str(), r.name.as_str()), ("builtins", "range"));
        let r = resolve("SimpleHTTPServer", "test", 1);
        assert_eq!(r.module, "http.server");
        let r = resolve("copy_reg", "_reconstructor", 3);
        assert_eq!(r.module, "copy_reg");
        assert!(!r.renamed);
    }

    #[test]
    fn dotted_names_are_walked_from_protocol_4() {
        assert!(resolve("uuid", "os.system", 4).dotted);
        assert!(!resolve("uuid", "os.system", 3).dotted);
        assert!(!resolve("os", "system", 5).dotted);
    }
}
