//! PRT: what breaks a model in another process, another machine or another Python.

use std::collections::BTreeMap;

use super::{Finding, Options, Rule, Severity};
use crate::inspection::Inspection;

pub const PRT001: Rule = Rule {
    code: "PRT001",
    name: "main-module-reference",
    severity: Severity::Error,
    summary: "a class or function from __main__: will not load in another process",
    doc: "## What it finds
A global whose module is `__main__` (or `__mp_main__`): a class or function defined in the
notebook or script that trained the model, pickled by reference.

## Why it hurts
Any other process (the server, a joblib worker, a colleague) has a different `__main__`:
the load fails with `AttributeError: Can't get attribute ... on <module '__main__'>`.

## Example
`__main__.LogTransformer` inside a Pipeline trained in a notebook.

## Fix
Move the class or function into an importable module, import it from there, and retrain (or
re-pickle the model from a process that imports it from that module).",
    autofix: None,
    fix_safety: None,
    since: "0.1.0",
};

pub const PRT002: Rule = Rule {
    code: "PRT002",
    name: "pickled-code",
    severity: Severity::Warning,
    summary: "code pickled by value (cloudpickle functions, lambdas, local classes)",
    doc: "## What it finds
Functions and classes pickled by value: cloudpickle's `_make_function`, `_make_skeleton_class`,
`_builtin_type('CodeType')`, and `types.FunctionType` / `types.CodeType` / `marshal`.

## Why it hurts
Bytecode is tied to the Python minor version that wrote it: a model pickled under 3.11 can
fail or misbehave under 3.12. The code also runs when the model predicts, unreviewed.

## Example
`FunctionTransformer(lambda x: np.log1p(x))` saved with cloudpickle.

## Fix
Replace the lambda or local class with a function or class in an importable module.",
    autofix: None,
    fix_safety: None,
    since: "0.1.0",
};

pub const PRT003: Rule = Rule {
    code: "PRT003",
    name: "heavy-import",
    severity: Severity::Info,
    summary: "a heavy framework must be imported just to load (tensorflow, torch, ...)",
    doc: "## What it finds
Globals from tensorflow, keras, torch, jax, transformers and similar frameworks.

## Why it hurts
Importing them takes seconds and hundreds of MB in every process that loads the model,
including each joblib worker.

## Example
`torch._utils._rebuild_tensor_v2` inside a scikit-learn pipeline.

## Fix
Keep the framework out of the artifact (save its part in its own format), or accept the cost.",
    autofix: None,
    fix_safety: None,
    since: "0.1.0",
};

pub const RULES: &[&Rule] = &[&PRT001, &PRT002, &PRT003];

const HEAVY: &[&str] = &[
    "tensorflow",
    "keras",
    "tf_keras",
    "torch",
    "torchvision",
    "jax",
    "jaxlib",
    "flax",
    "transformers",
    "paddle",
    "mxnet",
    "theano",
    "cupy",
    "onnxruntime",
];

fn pickled_code(module: &str, name: &str) -> bool {
    (module.starts_with("cloudpickle")
        && matches!(
            name,
            "_make_function"
                | "_make_skeleton_class"
                | "_make_skel_func"
                | "_fill_function"
                | "_make_skeleton_enum"
                | "_builtin_type"
                | "_function_setstate"
                | "_class_setstate"
        ))
        || (module == "types" && matches!(name, "FunctionType" | "CodeType" | "LambdaType"))
        || module == "marshal"
}

pub fn check(inspection: &Inspection, _options: &Options, findings: &mut Vec<Finding>) {
    let view = &inspection.view;
    let mut code: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut heavy: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for g in &view.globals {
        if matches!(g.module.as_str(), "__main__" | "__mp_main__") {
            findings.push(
                Finding::new(
                    &PRT001,
                    format!(
                        "{}.{} is pickled by reference to __main__: no other process can load it",
                        g.module, g.name
                    ),
                )
                .at(g.first_offset),
            );
        }
        if pickled_code(&g.module, &g.name) {
            let e = code
                .entry(format!("{}.{}", g.module, g.name))
                .or_insert((g.count, g.first_offset));
            e.0 = g.count;
        }
        let top = g.module.split('.').next().unwrap_or_default();
        if let Some(h) = HEAVY.iter().find(|h| **h == top) {
            let e = heavy.entry(h).or_insert((0, g.first_offset));
            e.0 += g.count;
            e.1 = e.1.min(g.first_offset);
        }
    }
    if !code.is_empty() {
        let first = code.values().map(|(_, o)| *o).min().unwrap_or(0);
        let names: Vec<_> = code.keys().cloned().collect();
        findings.push(
            Finding::new(
                &PRT002,
                format!(
                    "code pickled by value ({}): tied to the Python version that wrote it",
                    names.join(", ")
                ),
            )
            .at(first),
        );
    }
    for (name, (count, offset)) in heavy {
        findings.push(
            Finding::new(
                &PRT003,
                format!(
                    "loading imports {name} ({count} reference{})",
                    if count == 1 { "" } else { "s" }
                ),
            )
            .at(offset),
        );
    }
}
