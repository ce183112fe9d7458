//! skops files: a zip whose `schema.json` describes the object tree, read the way
//! `skops.io` builds its tree of nodes (`get_tree`), without constructing anything.
//!
//! Every JSON object of the schema is a state with a `__loader__` that picks the node
//! class skops builds from it. Nodes are memoized by `__id__` before their children are
//! read, and a later state with a known id *is* the earlier node: its own content is
//! never looked at, so it is not read here either. From the tree come:
//! - [`Schema::untrusted_types`]: what `skops.io.get_untrusted_types` lists, from the
//!   default trusted types each loader has (`data/skops-trusted.tsv`, harvested from
//!   skops by scripts/harvest_skops.py);
//! - [`Schema::imports`]: every (module, name) `skops.io.load` would import, and which
//!   it calls;
//! - [`Schema::to_pickle`]: the same object graph as pickle opcodes, so that the model
//!   layer (estimators, settings, boosters) reads a skops file with the code that reads
//!   pickles; each opcode run maps back to the schema offset of the node it came from.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use super::json::{self, Json, JsonKind};
use crate::pickle::graph::Span;

/// The newest skops protocol this reader knows (skops 0.16 writes 2); older ones are
/// read with the same nodes, as skops does for loaders a protocol did not change.
pub const PROTOCOL: i64 = 2;

const TRUSTED_TABLE: &str = include_str!("data/skops-trusted.tsv");

/// Loader name to the types it trusts by default ("-" rows: none).
static TRUSTED: LazyLock<HashMap<&'static str, HashSet<&'static str>>> = LazyLock::new(|| {
    let mut table: HashMap<&str, HashSet<&str>> = HashMap::new();
    for line in TRUSTED_TABLE.lines().filter(|l| !l.starts_with('#')) {
        if let Some((loader, ty)) = line.split_once('\t') {
            let set = table.entry(loader).or_default();
            if ty != "-" {
                set.insert(ty);
            }
        }
    }
    table
});

const BIT_GENERATORS: &str = "RandomGeneratorNode.bit_generator";

/// Stack for reading a schema: the JSON parser and the tree builder recurse once per
/// level (at most [`json::MAX_DEPTH`]), and a caller's thread may have little (2 MiB
/// for test and worker threads; a debug build's frames are several KiB). Only the pages
/// touched are memory.
const STACK: usize = 32 << 20;

/// Runs `work` on a thread of its own with [`STACK`] of stack; None when no thread can
/// be had (a process at its address-space limit), rather than risk this thread's stack.
fn on_deep_stack<T: Send, F: FnOnce() -> T + Send>(work: F) -> Option<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("skops-schema".into())
            .stack_size(STACK)
            .spawn_scoped(scope, work)
            .ok()?;
        match handle.join() {
            Ok(value) => Some(value),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The error when no thread can be started to read a schema.
fn no_thread() -> SkopsError {
    SkopsError {
        offset: 0,
        problem: "cannot start a thread to read the schema (the process is at its memory limit)"
            .into(),
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("at offset {offset} of schema.json: {problem}")]
pub struct SkopsError {
    pub offset: u64,
    pub problem: String,
}

impl From<json::JsonError> for SkopsError {
    fn from(e: json::JsonError) -> Self {
        SkopsError {
            offset: e.offset,
            problem: format!("not JSON that Python reads: {}", e.problem),
        }
    }
}

pub type NodeRef = usize;

/// One node of the tree, as skops builds it from a state.
#[derive(Debug)]
pub struct SkopsNode {
    pub loader: String,
    pub module: String,
    pub class: String,
    /// The state's JSON object in schema.json.
    pub span: Span,
    /// Built under a `LossNode`, whose allowed losses its subtree trusts too.
    pub trusts_losses: bool,
    pub kind: NodeKind,
}

impl SkopsNode {
    pub fn type_name(&self) -> String {
        format!("{}.{}", self.module, self.class)
    }
}

#[derive(Debug)]
pub enum NodeKind {
    /// `JsonNode`: its `content` is JSON text that `json.loads` turns into the value.
    Json(Json),
    /// `DictNode`: keys as written, converted by `key_types` when loaded.
    Dict {
        key_types: NodeRef,
        entries: Vec<(String, NodeRef)>,
    },
    /// `ListNode`, `TupleNode`, `SetNode`.
    Sequence(Vec<NodeRef>),
    /// `ObjectNode`: `cls.__new__(cls)`, then its attributes.
    Object { attrs: Option<NodeRef> },
    /// `TreeNode`, `LossNode`, `QuantileForestNode`: `constructor(*args)`, then attributes.
    Reduce {
        attrs: NodeRef,
        args: NodeRef,
        constructor: (String, String),
    },
    /// `NdArrayNode`: a `.npy` member (`file`), or objects listed in the schema.
    Array {
        file: Option<String>,
        items: Vec<NodeRef>,
        shape: Option<NodeRef>,
    },
    /// `BytesNode`, `BytearrayNode`: the bytes are a member.
    Bytes { file: String },
    /// `SparseMatrixNode`: a scipy `.npz` member.
    Sparse { file: String },
    /// `FunctionNode`: the function itself, not called.
    Function,
    /// `TypeNode`: a type, imported.
    Type,
    /// `MethodNode`: `getattr(obj, func)`.
    Method { obj: NodeRef, func: String },
    /// `RandomGeneratorNode`, with the bit generator its state names.
    Generator {
        bit_generator: String,
        children: Vec<NodeRef>,
    },
    /// `CachedNode`: the node loaded earlier under the same id.
    Cached(NodeRef),
    /// A state whose `__id__` names a node built before it: skops returns that node and
    /// never reads this state's content. Kept apart so that each place keeps its own
    /// offset (a patch rewrites the state at that place, not the first one).
    Alias(NodeRef),
    /// `SliceNode`: start, stop and step are plain JSON.
    Slice,
    /// Every other loader: what it holds.
    Other(Vec<NodeRef>),
}

/// A type skops imports while loading, and whether the load calls it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub called: bool,
    /// The state that names it.
    pub offset: u64,
}

/// A method a `MethodNode` takes from an object built during the load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodLookup {
    pub class: String,
    pub method: String,
    pub offset: u64,
}

/// An array whose bytes are a `.npy` member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrayMember {
    /// Attribute path from the root (`steps[0][1].mean_`).
    pub path: String,
    pub file: String,
    pub offset: u64,
}

#[derive(Debug)]
pub struct Schema {
    pub protocol: i64,
    /// `_skops_version` as the file records it.
    pub skops_version: Option<String>,
    pub nodes: Vec<SkopsNode>,
    pub root: NodeRef,
}

/// What the tree builder needs from the archive: whether a member exists (skops reads
/// `file` members while it builds the tree, and a missing one stops the load).
pub trait Members: Sync {
    fn has(&self, name: &str) -> bool;
}

impl<F: Fn(&str) -> bool + Sync> Members for F {
    fn has(&self, name: &str) -> bool {
        self(name)
    }
}

impl Schema {
    /// Reads `schema.json` as `skops.io.load` does before it audits anything.
    pub fn parse(bytes: &[u8], members: &dyn Members) -> Result<Schema, SkopsError> {
        on_deep_stack(|| Schema::parse_here(bytes, members)).unwrap_or_else(|| Err(no_thread()))
    }

    fn parse_here(bytes: &[u8], members: &dyn Members) -> Result<Schema, SkopsError> {
        let doc = json::parse(bytes)?;
        let fail = |offset: u64, problem: String| SkopsError { offset, problem };
        if !matches!(doc.kind, JsonKind::Object(_)) {
            return Err(fail(
                doc.span.offset,
                "the schema is not a JSON object".into(),
            ));
        }
        let protocol = match doc.get("protocol") {
            Some(p) => p.as_int().ok_or_else(|| {
                fail(p.span.offset, "the skops protocol is not an integer".into())
            })?,
            None => {
                return Err(fail(
                    doc.span.offset,
                    "the schema names no skops protocol".into(),
                ));
            }
        };
        if !(0..=PROTOCOL).contains(&protocol) {
            return Err(fail(
                doc.get("protocol").map_or(0, |p| p.span.offset),
                format!("skops protocol {protocol}: this reader knows protocols 0 to {PROTOCOL}"),
            ));
        }
        let mut builder = Builder {
            nodes: Vec::new(),
            memo: HashMap::new(),
            members,
        };
        let root = builder.tree(&doc, false)?;
        Ok(Schema {
            protocol,
            skops_version: doc
                .get("_skops_version")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            nodes: builder.nodes,
            root,
        })
    }

    pub fn node(&self, r: NodeRef) -> &SkopsNode {
        &self.nodes[r]
    }

    /// The node a reference stands for (an alias's target).
    pub fn resolve(&self, r: NodeRef) -> NodeRef {
        match self.nodes[r].kind {
            NodeKind::Alias(target) => target,
            _ => r,
        }
    }

    /// The types `skops.io.get_untrusted_types` lists: every node whose type its loader
    /// does not trust by default, and the methods and bit generators those nodes name.
    pub fn untrusted_types(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut computing = vec![false; self.nodes.len()];
        // Iterative, with skops's guard: a node already being computed adds nothing.
        let mut stack = vec![(self.root, false)];
        while let Some((r, leaving)) = stack.pop() {
            if leaving {
                computing[r] = false;
                continue;
            }
            if computing[r] {
                continue;
            }
            let node = &self.nodes[r];
            match &node.kind {
                NodeKind::Alias(target) => {
                    stack.push((*target, false));
                    continue;
                }
                NodeKind::Json(_) | NodeKind::Slice => continue,
                NodeKind::Function => {
                    if !trusts(node, &node.type_name()) {
                        out.insert(node.type_name());
                    }
                    continue;
                }
                _ => {}
            }
            computing[r] = true;
            stack.push((r, true));
            if !trusts(node, &node.type_name()) {
                out.insert(node.type_name());
            }
            match &node.kind {
                NodeKind::Method { obj, func } => {
                    let owner = &self.nodes[*obj];
                    out.insert(format!("{}.{func}", owner.type_name()));
                }
                NodeKind::Generator { bit_generator, .. } => {
                    let full = format!("numpy.random.{bit_generator}");
                    if !TRUSTED
                        .get(BIT_GENERATORS)
                        .is_some_and(|s| s.contains(full.as_str()))
                    {
                        out.insert(full);
                    }
                }
                NodeKind::Reduce { constructor, .. } => {
                    // The constructor is a TypeNode built with the Reduce node's trust.
                    let name = format!("{}.{}", constructor.0, constructor.1);
                    let losses = node.trusts_losses || node.loader == "LossNode";
                    if !(in_table("TypeNode", &name) || losses && in_table("LossNode", &name)) {
                        out.insert(name);
                    }
                }
                _ => {}
            }
            for child in self.children(r).into_iter().rev() {
                stack.push((child, false));
            }
        }
        out
    }

    /// The nodes a node holds, in the order skops builds them.
    pub fn children(&self, r: NodeRef) -> Vec<NodeRef> {
        match &self.nodes[r].kind {
            NodeKind::Dict { key_types, entries } => {
                let mut out = vec![*key_types];
                out.extend(entries.iter().map(|(_, v)| *v));
                out
            }
            NodeKind::Sequence(items) | NodeKind::Other(items) => items.clone(),
            NodeKind::Object { attrs } => attrs.iter().copied().collect(),
            NodeKind::Reduce { attrs, args, .. } => vec![*attrs, *args],
            NodeKind::Array { items, shape, .. } => items.iter().chain(shape).copied().collect(),
            NodeKind::Method { obj, .. } => vec![*obj],
            NodeKind::Alias(target) => vec![*target],
            NodeKind::Generator { children, .. } => children.clone(),
            NodeKind::Json(_)
            | NodeKind::Bytes { .. }
            | NodeKind::Sparse { .. }
            | NodeKind::Function
            | NodeKind::Type
            | NodeKind::Cached(_)
            | NodeKind::Slice => Vec::new(),
        }
    }

    /// Every type `skops.io.load` imports (`gettype`, `_import_obj`), in document order,
    /// and the methods it looks up on loaded objects.
    pub fn imports(&self) -> (Vec<Import>, Vec<MethodLookup>) {
        let mut imports = Vec::new();
        let mut methods = Vec::new();
        let mut called_types: HashSet<NodeRef> = HashSet::new();
        for node in &self.nodes {
            // `content[k_type(key)]`: the key types are called on every key.
            if let NodeKind::Dict { key_types, .. } = node.kind {
                called_types.extend(
                    self.children(self.resolve(key_types))
                        .into_iter()
                        .map(|c| self.resolve(c)),
                );
            }
        }
        for (r, node) in self.nodes.iter().enumerate() {
            let offset = node.span.offset;
            let mut add = |module: &str, name: &str, called: bool| {
                imports.push(Import {
                    module: module.to_string(),
                    name: name.to_string(),
                    called,
                    offset,
                })
            };
            match &node.kind {
                NodeKind::Dict { .. } | NodeKind::Sequence(_) | NodeKind::Object { .. } => {
                    add(&node.module, &node.class, true)
                }
                NodeKind::Reduce { constructor, .. } => add(&constructor.0, &constructor.1, true),
                NodeKind::Array { file: Some(_), .. } if node.type_name() != "numpy.ndarray" => {
                    add(&node.module, &node.class, true)
                }
                NodeKind::Function => add(&node.module, &node.class, false),
                NodeKind::Type => add(&node.module, &node.class, called_types.contains(&r)),
                NodeKind::Generator { bit_generator, .. } => {
                    add("numpy.random.bit_generator", "SeedSequence", true);
                    add("numpy.random", bit_generator, true);
                    add(&node.module, &node.class, true);
                }
                NodeKind::Method { obj, func } => methods.push(MethodLookup {
                    class: self.nodes[*obj].type_name(),
                    method: func.clone(),
                    offset,
                }),
                NodeKind::Other(_) => match node.loader.as_str() {
                    "ConstructorFromReduceNode" | "RandomStateNode" => {
                        add(&node.module, &node.class, true)
                    }
                    // `getattr(operator, class)(*attrs)`.
                    "OperatorFuncNode" => add("operator", &node.class, true),
                    _ => {}
                },
                _ => {}
            }
        }
        (imports, methods)
    }

    /// The arrays whose bytes are `.npy` members, with their attribute paths.
    pub fn array_members(&self) -> Vec<ArrayMember> {
        let mut out = Vec::new();
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![(self.root, String::new())];
        while let Some((r, path)) = stack.pop() {
            if std::mem::replace(&mut seen[r], true) {
                continue;
            }
            let node = &self.nodes[r];
            let mut push = |child: NodeRef, path: String| stack.push((child, path));
            match &node.kind {
                NodeKind::Array {
                    file: Some(file), ..
                } => out.push(ArrayMember {
                    path: path.clone(),
                    file: file.clone(),
                    offset: node.span.offset,
                }),
                NodeKind::Object { attrs: Some(a) } | NodeKind::Reduce { attrs: a, .. } => {
                    // An object's attributes read as `.name`, not `['name']`.
                    if let NodeKind::Dict { entries, .. } = &self.nodes[self.resolve(*a)].kind {
                        for (k, v) in entries.iter().rev() {
                            push(*v, join(&path, &format!(".{k}")));
                        }
                    } else {
                        push(*a, path.clone());
                    }
                }
                NodeKind::Dict { entries, .. } => {
                    for (k, v) in entries.iter().rev() {
                        push(*v, format!("{path}[{}]", json::quote(k)));
                    }
                }
                NodeKind::Sequence(items) => {
                    for (i, v) in items.iter().enumerate().rev() {
                        push(*v, format!("{path}[{i}]"));
                    }
                }
                _ => {
                    for child in self.children(r).into_iter().rev() {
                        push(child, path.clone());
                    }
                }
            }
        }
        out
    }
}

fn join(path: &str, attr: &str) -> String {
    if path.is_empty() {
        attr.trim_start_matches('.').to_string()
    } else {
        format!("{path}{attr}")
    }
}

fn in_table(loader: &str, ty: &str) -> bool {
    TRUSTED.get(loader).is_some_and(|s| s.contains(ty))
}

/// Whether a node's loader trusts `ty`: its defaults, and under a `LossNode` the losses
/// (`DefaultDictNode` and `CachedNode` keep their own fixed lists).
fn trusts(node: &SkopsNode, ty: &str) -> bool {
    if in_table(&node.loader, ty) {
        return true;
    }
    let fixed = matches!(node.loader.as_str(), "DefaultDictNode" | "CachedNode");
    !fixed && node.trusts_losses && in_table("LossNode", ty)
}

struct Builder<'m> {
    nodes: Vec<SkopsNode>,
    /// `__id__` (as Python compares it) to the node first built with it.
    memo: HashMap<String, NodeRef>,
    members: &'m dyn Members,
}

/// An `__id__` as a dict key compares in Python (`1`, `1.0` and `true` are one key), or
/// None when it is falsy (skops memoizes only truthy ids).
fn memo_key(id: &Json) -> Result<Option<String>, String> {
    Ok(match &id.kind {
        JsonKind::Null | JsonKind::Bool(false) => None,
        JsonKind::Bool(true) => Some("n:1".into()),
        JsonKind::Number(text) => match (text.parse::<i128>(), text.parse::<f64>()) {
            (Ok(0), _) => None,
            (Ok(i), _) => Some(format!("n:{i}")),
            (_, Ok(0.0)) => None,
            (_, Ok(x)) if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e18 => {
                Some(format!("n:{}", x as i128))
            }
            _ => Some(format!("f:{text}")),
        },
        JsonKind::String(s) if s.is_empty() => None,
        JsonKind::String(s) => Some(format!("s:{s}")),
        JsonKind::Array(_) | JsonKind::Object(_) => {
            return Err("an __id__ that is a list or dict (Python cannot look it up)".into());
        }
    })
}

impl Builder<'_> {
    fn field<'j>(&self, state: &'j Json, key: &str) -> Result<&'j Json, SkopsError> {
        state.get(key).ok_or_else(|| SkopsError {
            offset: state.span.offset,
            problem: format!("a state without '{key}'"),
        })
    }

    fn text(&self, state: &Json, key: &str) -> Result<String, SkopsError> {
        let value = self.field(state, key)?;
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SkopsError {
                offset: value.span.offset,
                problem: format!("'{key}' is not a string"),
            })
    }

    fn member(&self, state: &Json) -> Result<String, SkopsError> {
        let file = self.text(state, "file")?;
        if !self.members.has(&file) {
            return Err(SkopsError {
                offset: state.span.offset,
                problem: format!(
                    "the state names the member '{file}', which the archive does not hold"
                ),
            });
        }
        Ok(file)
    }

    /// `get_tree`: the node a state makes (or the memoized one its id names).
    fn tree(&mut self, state: &Json, trusts_losses: bool) -> Result<NodeRef, SkopsError> {
        let fail = |problem: String| SkopsError {
            offset: state.span.offset,
            problem,
        };
        if !matches!(state.kind, JsonKind::Object(_)) {
            return Err(fail("a node state that is not a JSON object".into()));
        }
        let key = match state.get("__id__") {
            Some(id) => memo_key(id).map_err(fail)?,
            None => None,
        };
        if let Some(k) = &key
            && let Some(&known) = self.memo.get(k)
        {
            let target = &self.nodes[known];
            let alias = SkopsNode {
                loader: target.loader.clone(),
                module: target.module.clone(),
                class: target.class.clone(),
                span: state.span,
                trusts_losses,
                kind: NodeKind::Alias(known),
            };
            self.nodes.push(alias);
            return Ok(self.nodes.len() - 1);
        }
        let loader = self.text(state, "__loader__")?;
        let class = self.text(state, "__class__")?;
        let module = self.text(state, "__module__")?;
        if !TRUSTED.contains_key(loader.as_str()) && loader != "CachedNode" {
            return Err(fail(format!(
                "the loader '{loader}' (for {module}.{class}) is not one skops has"
            )));
        }
        let r = self.nodes.len();
        self.nodes.push(SkopsNode {
            loader: loader.clone(),
            module,
            class,
            span: state.span,
            trusts_losses,
            kind: NodeKind::Slice,
        });
        // Memoized before its children are read, as skops's Node.__init__ does.
        if let Some(k) = key
            && loader != "CachedNode"
        {
            self.memo.insert(k, r);
        }
        let kind = self.kind(state, &loader, trusts_losses)?;
        self.nodes[r].kind = kind;
        Ok(r)
    }

    fn kind(&mut self, state: &Json, loader: &str, losses: bool) -> Result<NodeKind, SkopsError> {
        let fail = |offset: u64, problem: &str| SkopsError {
            offset,
            problem: problem.to_string(),
        };
        let at = state.span.offset;
        let content = || {
            state
                .get("content")
                .ok_or_else(|| fail(at, "a state without 'content'"))
        };
        // Borrowed, not copied: a copy at every level would cost the square of the depth.
        fn list(value: &Json) -> Result<&[Json], SkopsError> {
            value.as_array().ok_or_else(|| SkopsError {
                offset: value.span.offset,
                problem: "'content' is not a list".into(),
            })
        }
        Ok(match loader {
            "JsonNode" => {
                let text = content()?;
                let inner = text.as_str().ok_or_else(|| {
                    fail(text.span.offset, "a JsonNode whose content is not a string")
                })?;
                let value = json::parse(inner.as_bytes()).map_err(|e| SkopsError {
                    offset: text.span.offset,
                    problem: format!("a JsonNode whose content is not JSON: {}", e.problem),
                })?;
                NodeKind::Json(value)
            }
            "DictNode" => {
                let key_types = self.tree(self.field(state, "key_types")?, losses)?;
                let body = content()?;
                if !matches!(body.kind, JsonKind::Object(_)) {
                    return Err(fail(
                        body.span.offset,
                        "a DictNode whose content is not an object",
                    ));
                }
                let mut entries = Vec::new();
                for (k, v) in body.members() {
                    entries.push((k.to_string(), self.tree(v, losses)?));
                }
                NodeKind::Dict { key_types, entries }
            }
            "ListNode" | "TupleNode" | "SetNode" => {
                let items = list(content()?)?;
                let mut refs = Vec::with_capacity(items.len());
                for item in items {
                    refs.push(self.tree(item, losses)?);
                }
                NodeKind::Sequence(refs)
            }
            "ObjectNode" => match state.get("content") {
                Some(c) => NodeKind::Object {
                    attrs: Some(self.tree(c, losses)?),
                },
                None => NodeKind::Object { attrs: None },
            },
            "TreeNode" | "LossNode" | "QuantileForestNode" => {
                let constructor = match loader {
                    "TreeNode" => ("sklearn.tree._tree".to_string(), "Tree".to_string()),
                    "QuantileForestNode" => (
                        "quantile_forest._quantile_forest_fast".to_string(),
                        "QuantileForest".to_string(),
                    ),
                    _ => (
                        self.text(state, "__module__")?,
                        self.text(state, "__class__")?,
                    ),
                };
                let inner = losses || loader == "LossNode";
                let attrs = self.tree(content()?, inner)?;
                let reduce = self.field(state, "__reduce__")?;
                let args = self.tree(self.field(reduce, "args")?, inner)?;
                NodeKind::Reduce {
                    attrs,
                    args,
                    constructor,
                }
            }
            "NdArrayNode" => match self.field(state, "type")?.as_str() {
                Some("numpy") => NodeKind::Array {
                    file: Some(self.member(state)?),
                    items: Vec::new(),
                    shape: None,
                },
                Some("json") => {
                    let items = list(content()?)?;
                    let mut refs = Vec::with_capacity(items.len());
                    for item in items {
                        refs.push(self.tree(item, losses)?);
                    }
                    let shape = self.tree(self.field(state, "shape")?, losses)?;
                    NodeKind::Array {
                        file: None,
                        items: refs,
                        shape: Some(shape),
                    }
                }
                _ => return Err(fail(at, "an array of an unknown type")),
            },
            "BytesNode" | "BytearrayNode" => NodeKind::Bytes {
                file: self.member(state)?,
            },
            "SparseMatrixNode" => {
                if self.field(state, "type")?.as_str() != Some("scipy") {
                    return Err(fail(at, "a sparse matrix that is not of type 'scipy'"));
                }
                NodeKind::Sparse {
                    file: self.member(state)?,
                }
            }
            "FunctionNode" => NodeKind::Function,
            "TypeNode" => NodeKind::Type,
            "SliceNode" => NodeKind::Slice,
            "MethodNode" => {
                let body = content()?;
                let obj = self.tree(self.field(body, "obj")?, losses)?;
                let func = self.text(body, "func")?;
                let (module, class) = (
                    self.text(state, "__module__")?,
                    self.text(state, "__class__")?,
                );
                let owner = &self.nodes[obj];
                if owner.module != module || owner.class != class {
                    return Err(fail(
                        at,
                        "a method whose object is of another type than the state says",
                    ));
                }
                NodeKind::Method { obj, func }
            }
            "RandomGeneratorNode" => {
                let body = content()?;
                let bit_state = self.field(body, "bit_generator")?;
                let bits = self.tree(bit_state, losses)?;
                let seed = self.tree(self.field(body, "seed_seq")?, losses)?;
                let name = bit_state
                    .get("content")
                    .and_then(|c| c.get("bit_generator"))
                    .and_then(|n| n.get("content"))
                    .and_then(|c| c.as_str())
                    .and_then(|c| json::parse(c.as_bytes()).ok())
                    .and_then(|n| n.as_str().map(str::to_string))
                    .ok_or_else(|| {
                        fail(at, "a random generator whose state names no bit generator")
                    })?;
                NodeKind::Generator {
                    bit_generator: name,
                    children: vec![bits, seed],
                }
            }
            "CachedNode" => {
                let target = state
                    .get("__id__")
                    .and_then(|id| memo_key(id).ok().flatten())
                    .and_then(|k| self.memo.get(&k).copied())
                    .ok_or_else(|| {
                        fail(
                            at,
                            "a cached node that refers to no object loaded before it",
                        )
                    })?;
                NodeKind::Cached(target)
            }
            "OperatorFuncNode" => {
                if self.text(state, "__module__")? != "operator" {
                    return Err(fail(
                        at,
                        "an operator function outside the module 'operator'",
                    ));
                }
                NodeKind::Other(vec![self.tree(self.field(state, "attrs")?, losses)?])
            }
            _ => {
                // The rest hold named child states under `content` (a single state for
                // some, a dict of states for others), in the order skops reads them.
                let names: &[&str] = match loader {
                    "DefaultDictNode" => &["main", "default_factory"],
                    "PartialNode" => &["func", "args", "kwds", "namespace"],
                    "MaskedArrayNode" => &["data", "mask"],
                    "_DictWithDeprecatedKeysNode" => &["main", "_deprecated_key_to_new_key"],
                    _ => &[],
                };
                let body = content()?;
                let mut children = Vec::new();
                if names.is_empty() {
                    children.push(self.tree(body, losses)?);
                } else {
                    for name in names {
                        children.push(self.tree(self.field(body, name)?, losses)?);
                    }
                }
                NodeKind::Other(children)
            }
        })
    }
}

/// The skops tree as pickle opcodes (protocol 5), for the model layer, and where each
/// node's opcodes start, paired with the node's offset in schema.json.
pub struct SyntheticPickle {
    pub bytes: Vec<u8>,
    /// (offset in `bytes`, offset in schema.json), ascending in both.
    pub origins: Vec<(u64, u64)>,
}

impl SyntheticPickle {
    /// The schema.json offset of the node whose opcodes hold `offset`.
    pub fn schema_offset(&self, offset: u64) -> u64 {
        let i = self
            .origins
            .partition_point(|&(synthetic, _)| synthetic <= offset);
        i.checked_sub(1).map_or(0, |i| self.origins[i].1)
    }
}

impl Schema {
    /// The object graph skops would construct, spelled as a pickle that constructs the
    /// same objects: objects as `cls.__new__` + BUILD, containers as containers, JSON
    /// values as values, bytes members inline (`bytes_of` reads them: a booster's blob is
    /// where its thread settings are). Arrays of `.npy` members are None: their sizes
    /// come from the members, and nothing in them is a setting.
    pub fn to_pickle(
        &self,
        bytes_of: &mut (dyn FnMut(&str) -> Option<Vec<u8>> + Send),
    ) -> Result<SyntheticPickle, SkopsError> {
        on_deep_stack(|| self.to_pickle_here(bytes_of)).ok_or_else(no_thread)
    }

    fn to_pickle_here(
        &self,
        bytes_of: &mut (dyn FnMut(&str) -> Option<Vec<u8>> + Send),
    ) -> SyntheticPickle {
        let mut out = Synth {
            schema: self,
            bytes: vec![0x80, 5],
            origins: Vec::new(),
            memo: HashMap::new(),
            open: HashSet::new(),
            bytes_of,
        };
        out.node(self.root);
        out.bytes.push(b'.');
        SyntheticPickle {
            bytes: out.bytes,
            origins: out.origins,
        }
    }
}

struct Synth<'a> {
    schema: &'a Schema,
    bytes: Vec<u8>,
    origins: Vec<(u64, u64)>,
    /// Nodes already written and memoized, by memo index.
    memo: HashMap<NodeRef, u32>,
    /// Nodes being written (a reference back to one is a cycle).
    open: HashSet<NodeRef>,
    bytes_of: &'a mut (dyn FnMut(&str) -> Option<Vec<u8>> + Send),
}

impl Synth<'_> {
    fn op(&mut self, code: u8) {
        self.bytes.push(code);
    }

    fn text(&mut self, s: &str) {
        self.op(b'X'); // BINUNICODE
        self.bytes
            .extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(s.as_bytes());
    }

    fn global(&mut self, module: &str, name: &str) {
        self.text(module);
        self.text(name);
        self.op(0x93); // STACK_GLOBAL
    }

    fn memoize(&mut self, r: NodeRef) {
        let index = self.memo.len() as u32;
        self.memo.insert(r, index);
        self.op(0x94); // MEMOIZE
    }

    fn int(&mut self, i: i64) {
        if let Ok(small) = i32::try_from(i) {
            self.op(b'J');
            self.bytes.extend_from_slice(&small.to_le_bytes());
        } else {
            self.op(0x8a); // LONG1
            self.bytes.push(8);
            self.bytes.extend_from_slice(&i.to_le_bytes());
        }
    }

    fn json(&mut self, value: &Json) {
        match &value.kind {
            JsonKind::Null => self.op(b'N'),
            JsonKind::Bool(true) => self.op(0x88),
            JsonKind::Bool(false) => self.op(0x89),
            JsonKind::Number(text) => match value.as_int() {
                Some(i) => self.int(i),
                None => {
                    let x: f64 = match text.as_ref() {
                        "NaN" => f64::NAN,
                        "Infinity" => f64::INFINITY,
                        "-Infinity" => f64::NEG_INFINITY,
                        t => t.parse().unwrap_or(f64::NAN),
                    };
                    self.op(b'G');
                    self.bytes.extend_from_slice(&x.to_be_bytes());
                }
            },
            JsonKind::String(s) => self.text(s),
            JsonKind::Array(items) => {
                self.op(b']');
                if !items.is_empty() {
                    self.op(b'(');
                    for item in items {
                        self.json(item);
                    }
                    self.op(b'e');
                }
            }
            JsonKind::Object(_) => {
                self.op(b'}');
                let members = value.members();
                if !members.is_empty() {
                    self.op(b'(');
                    for (k, v) in members {
                        self.text(k);
                        self.json(v);
                    }
                    self.op(b'u');
                }
            }
        }
    }

    fn node(&mut self, r: NodeRef) {
        if let NodeKind::Alias(target) = self.schema.nodes[r].kind {
            self.origins
                .push((self.bytes.len() as u64, self.schema.nodes[r].span.offset));
            self.emit(target, false);
        } else {
            self.emit(r, true);
        }
    }

    /// Writes a node (`record`: and marks where its opcodes start).
    fn emit(&mut self, r: NodeRef, record: bool) {
        if let Some(&index) = self.memo.get(&r) {
            self.op(b'j'); // LONG_BINGET
            self.bytes.extend_from_slice(&index.to_le_bytes());
            return;
        }
        if self.open.contains(&r) {
            // A cycle through a node that is not memoized yet (a tuple holding itself):
            // the model layer needs no such value.
            self.op(b'N');
            return;
        }
        let node = &self.schema.nodes[r];
        if record {
            self.origins
                .push((self.bytes.len() as u64, node.span.offset));
        }
        self.open.insert(r);
        match &node.kind {
            NodeKind::Json(value) => self.json(value),
            NodeKind::Dict { key_types, entries } => {
                let types: Vec<String> =
                    match &self.schema.nodes[self.schema.resolve(*key_types)].kind {
                        NodeKind::Sequence(items) => items
                            .iter()
                            .map(|t| self.schema.nodes[*t].type_name())
                            .collect(),
                        _ => Vec::new(),
                    };
                self.op(b'}');
                self.memoize(r);
                // skops pairs keys with `zip(key_types, content.items())`: entries past
                // the last key type are audited but never constructed.
                let built = entries.len().min(types.len());
                if built > 0 {
                    self.op(b'(');
                    for (i, (k, v)) in entries.iter().take(built).enumerate() {
                        match types.get(i).map(String::as_str) {
                            Some("builtins.int") => match k.trim().parse::<i64>() {
                                Ok(n) => self.int(n),
                                Err(_) => self.text(k),
                            },
                            _ => self.text(k),
                        }
                        self.node(*v);
                    }
                    self.op(b'u');
                }
            }
            NodeKind::Sequence(items) => match node.loader.as_str() {
                "TupleNode" => {
                    self.op(b'(');
                    for item in items {
                        self.node(*item);
                    }
                    self.op(b't');
                    self.memoize(r);
                }
                loader => {
                    self.op(if loader == "SetNode" { 0x8f } else { b']' });
                    self.memoize(r);
                    if !items.is_empty() {
                        self.op(b'(');
                        for item in items {
                            self.node(*item);
                        }
                        self.op(if loader == "SetNode" { 0x90 } else { b'e' });
                    }
                }
            },
            NodeKind::Object { attrs } => {
                let (module, class) = (node.module.clone(), node.class.clone());
                self.global(&module, &class);
                self.op(b')');
                self.op(0x81); // NEWOBJ
                self.memoize(r);
                if let Some(a) = attrs {
                    self.node(*a);
                    self.op(b'b');
                }
            }
            NodeKind::Reduce {
                attrs,
                args,
                constructor,
            } => {
                let (module, name) = constructor.clone();
                self.global(&module, &name);
                self.node(*args);
                self.op(b'R');
                self.memoize(r);
                self.node(*attrs);
                self.op(b'b');
            }
            NodeKind::Array {
                file: None, items, ..
            } => {
                self.op(b']');
                self.memoize(r);
                if !items.is_empty() {
                    self.op(b'(');
                    for item in items {
                        self.node(*item);
                    }
                    self.op(b'e');
                }
            }
            NodeKind::Bytes { file } => {
                let data = (self.bytes_of)(file).unwrap_or_default();
                self.op(if node.loader == "BytearrayNode" {
                    0x96
                } else {
                    0x8e
                }); // BYTEARRAY8 / BINBYTES8
                self.bytes
                    .extend_from_slice(&(data.len() as u64).to_le_bytes());
                self.bytes.extend_from_slice(&data);
            }
            NodeKind::Function | NodeKind::Type => {
                let (module, class) = (node.module.clone(), node.class.clone());
                self.global(&module, &class);
            }
            NodeKind::Cached(target) => {
                let target = *target;
                self.node(target);
            }
            NodeKind::Alias(target) => {
                let target = *target;
                self.emit(target, false);
            }
            NodeKind::Array { file: Some(_), .. }
            | NodeKind::Sparse { .. }
            | NodeKind::Method { .. }
            | NodeKind::Generator { .. }
            | NodeKind::Slice
            | NodeKind::Other(_) => self.op(b'N'),
        }
        self.open.remove(&r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_node(content: &str, id: u64) -> String {
        format!(
            r#"{{"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "content": {}, "is_json": true, "__id__": {id}}}"#,
            json::quote(content)
        )
    }

    fn estimator(class: &str, module: &str, attrs: &[(&str, String)], id: u64) -> String {
        let keys: Vec<String> = attrs
            .iter()
            .map(|_| r#"{"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode", "__id__": 7}"#.to_string())
            .collect();
        let content: Vec<String> = attrs
            .iter()
            .map(|(k, v)| format!("{}: {v}", json::quote(k)))
            .collect();
        format!(
            r#"{{"__class__": "{class}", "__module__": "{module}", "__loader__": "ObjectNode", "content": {{"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {{{}}}, "key_types": {{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": [{}]}}, "__id__": {}}}, "__id__": {id}}}"#,
            content.join(", "),
            keys.join(", "),
            id + 1000
        )
    }

    fn schema(root: String) -> String {
        let body = root.trim_end_matches('}');
        format!(r#"{body}, "protocol": 2, "_skops_version": "0.16.0"}}"#)
    }

    fn no_members(_: &str) -> bool {
        false
    }

    #[test]
    fn sklearn_estimators_are_trusted_and_others_listed() {
        let text = schema(estimator(
            "LogisticRegression",
            "sklearn.linear_model._logistic",
            &[
                ("n_jobs", json_node("14", 3)),
                ("f", r#"{"__class__": "system", "__module__": "posix", "__loader__": "FunctionNode", "__id__": 4}"#.into()),
            ],
            1,
        ));
        let schema = Schema::parse(text.as_bytes(), &no_members).unwrap();
        let untrusted: Vec<String> = schema.untrusted_types().into_iter().collect();
        assert_eq!(untrusted, vec!["posix.system".to_string()]);
        let (imports, _) = schema.imports();
        let names: Vec<(String, bool)> = imports
            .iter()
            .map(|i| (format!("{}.{}", i.module, i.name), i.called))
            .collect();
        assert!(names.contains(&("posix.system".into(), false)), "{names:?}");
        assert!(names.contains(&(
            "sklearn.linear_model._logistic.LogisticRegression".into(),
            true
        )));
        assert!(
            names.contains(&("builtins.str".into(), true)),
            "key types are called: {names:?}"
        );
    }

    #[test]
    fn a_known_id_is_the_earlier_node_and_its_own_content_is_never_read() {
        // The second state reuses id 3 with a dangerous class: skops returns the first
        // node (an int) and never looks at it.
        let evil = r#"{"__class__": "system", "__module__": "posix", "__loader__": "ObjectNode", "__id__": 3}"#;
        let text = schema(estimator(
            "LogisticRegression",
            "sklearn.linear_model._logistic",
            &[("n_jobs", json_node("14", 3)), ("other", evil.into())],
            1,
        ));
        let schema = Schema::parse(text.as_bytes(), &no_members).unwrap();
        assert!(schema.untrusted_types().is_empty());
        assert!(!schema.imports().0.iter().any(|i| i.module == "posix"));
    }

    #[test]
    fn hostile_states_are_errors_with_offsets() {
        for (text, problem) in [
            (schema(json_node("1", 1)).replace("\"protocol\": 2", "\"protocol\": 9"), "protocol 9"),
            (schema(json_node("1", 1)).replace("JsonNode", "EvalNode"), "loader 'EvalNode'"),
            (schema(json_node("1", 1)).replace("\"protocol\": 2", "\"protocol\": true"), "not an integer"),
            (
                schema(r#"{"__class__": "bytes", "__module__": "builtins", "__loader__": "BytesNode", "file": "x.bin"}"#.into()),
                "'x.bin'",
            ),
            (
                schema(r#"{"__class__": "x", "__module__": "y", "__loader__": "CachedNode", "__id__": 99}"#.into()),
                "cached node",
            ),
        ] {
            let err = Schema::parse(text.as_bytes(), &no_members).unwrap_err();
            assert!(err.problem.contains(problem), "{err} for {text}");
        }
    }

    #[test]
    fn synthetic_pickle_maps_back_to_the_schema() {
        let text = schema(estimator(
            "LogisticRegression",
            "sklearn.linear_model._logistic",
            &[("n_jobs", json_node("14", 3))],
            1,
        ));
        let schema = Schema::parse(text.as_bytes(), &no_members).unwrap();
        let synthetic = schema.to_pickle(&mut |_| None).unwrap();
        let n_jobs_at = text
            .find(r#"{"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode""#)
            .unwrap() as u64;
        assert!(synthetic.origins.iter().any(|&(_, s)| s == n_jobs_at));
        // The int's opcode maps to its JsonNode.
        let (synthetic_at, _) = *synthetic
            .origins
            .iter()
            .find(|&&(_, s)| s == n_jobs_at)
            .unwrap();
        assert_eq!(synthetic.schema_offset(synthetic_at + 1), n_jobs_at);
        assert_eq!(synthetic.bytes[synthetic_at as usize], b'J');
    }
}
