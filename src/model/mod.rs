//! The machine-learning view of a pickle graph: which objects are estimators, what
//! scikit-learn calls them, the settings that control parallelism and devices, the
//! arrays and their sizes, the globals a loader must import, the recorded versions.
//!
//! Names follow scikit-learn's `set_params` spelling: `preprocessor__n_jobs` for the
//! `n_jobs` of the step named `preprocessor`. Fitted clones, which have no `set_params`
//! name of their own, take the name of the parameter they were cloned from
//! (`best_estimator_` is `estimator`, `named_estimators_['rf']` is `rf`), so that one
//! name covers the template and the copy that actually runs; the raw path
//! (`best_estimator_.n_jobs`) tells them apart.

mod arrays;
mod boosters;
pub mod compare;
pub mod globals;
mod path;
mod setting_types;
mod settings;
pub mod torch;
pub mod ubjson;

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::pickle::{Graph, Node, NodeId, Value};

pub use arrays::{ArrayInfo, ArrayStorage};
pub use globals::{GetattrTarget, GlobalRef, Invocation, LoadFacts, load_facts};
pub use path::{PathId, Paths, Segment};
pub use setting_types::{ValueType, value_type};
pub use settings::{BlobForm, BlobValue, Location, Setting, SettingValue};

/// One estimator (or estimator-like object) found in the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimator {
    /// `module.Class`.
    pub class: String,
    /// The `set_params` names leading to it (empty for the root).
    pub sklearn_path: Vec<String>,
    /// The raw attribute path from the root (`steps[0][1]`), empty for the root.
    pub raw_path: String,
    /// Index of the estimator that holds it.
    pub parent: Option<usize>,
    /// Whether it sits under a fitted attribute (`estimators_`, `best_estimator_`).
    pub fitted: bool,
    /// Whether it is an unfitted parameter whose fitted copy is what runs (the
    /// `transformers` of a fitted ColumnTransformer, a search's `estimator`): it does
    /// nothing at predict time, only on a refit.
    pub template: bool,
    pub node: NodeId,
    /// Offset of the first opcode that builds it.
    pub offset: u64,
    /// `_sklearn_version` recorded in its state.
    pub sklearn_version: Option<String>,
}

impl Estimator {
    /// The `set_params` key for one of its attributes: `preprocessor__n_jobs`.
    pub fn param(&self, attribute: &str) -> String {
        join_param(&self.sklearn_path, attribute)
    }

    pub fn class_name(&self) -> &str {
        self.class.rsplit('.').next().unwrap_or(&self.class)
    }
}

pub(crate) fn join_param(prefix: &[String], attribute: &str) -> String {
    if prefix.is_empty() {
        attribute.to_string()
    } else {
        format!("{}__{}", prefix.join("__"), attribute)
    }
}

#[derive(Debug, Default)]
pub struct ModelView {
    pub estimators: Vec<Estimator>,
    pub settings: Vec<Setting>,
    pub arrays: Vec<ArrayInfo>,
    /// PyTorch storages the persistent ids refer to (their bytes are not in the pickle).
    pub torch_storages: Vec<torch::TorchStorage>,
    pub globals: Vec<GlobalRef>,
    /// Calls during the load that names alone do not tell (see [`load_facts`]).
    pub invocations: Vec<Invocation>,
    /// `_sklearn_version` values and how many estimators recorded each.
    pub sklearn_versions: BTreeMap<String, u64>,
    /// Other library versions found inside boosters (`lightgbm` model text).
    pub library_versions: BTreeMap<String, String>,
    /// Estimators whose boosters could not be read (message per estimator).
    pub warnings: Vec<String>,
}

/// Keys whose value is a list of `(name, estimator, ...)` tuples.
const NAMED_LISTS: &[&str] = &[
    "steps",
    "transformers",
    "transformers_",
    "transformer_list",
    "estimators",
];
/// Keys whose value maps names to fitted estimators.
const NAMED_MAPS: &[&str] = &["named_estimators_", "named_transformers_", "named_steps"];

/// The parameter a fitted attribute was cloned from.
fn alias(key: &str, state_has: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    Some(match key {
        "best_estimator_" | "estimator_" => "estimator",
        "final_estimator_" => "final_estimator",
        "base_estimator_" => "base_estimator",
        "estimators_" if state_has("estimator") => "estimator",
        "estimators_" if state_has("base_estimator") => "base_estimator",
        _ => return None,
    })
}

/// Whether the parameter `key` is an unfitted template: the estimator also holds the
/// fitted copy that runs (`transformers` beside `transformers_`, `estimator` beside
/// `best_estimator_`).
fn is_template(key: &str, state_has: &dyn Fn(&str) -> bool) -> bool {
    if key.ends_with('_') || key.starts_with('_') {
        return false;
    }
    let fitted_twins: &[&str] = match key {
        "estimator" => &[
            "estimators_",
            "best_estimator_",
            "estimator_",
            "calibrated_classifiers_",
        ],
        "estimators" => &["estimators_", "named_estimators_"],
        "base_estimator" => &["estimators_", "base_estimator_"],
        _ => &[],
    };
    state_has(&format!("{key}_")) || fitted_twins.iter().any(|k| state_has(k))
}

/// Module prefixes whose classes are estimators even without `_sklearn_version`
/// (scikit-learn only records it for classes in `sklearn.*`).
const ESTIMATOR_MODULES: &[&str] = &[
    "xgboost.sklearn",
    "lightgbm.sklearn",
    "catboost.core",
    "imblearn",
];

/// Whether an object is an estimator: its state records `_sklearn_version`, or its
/// class comes from a library's scikit-learn API.
pub fn is_estimator(graph: &Graph<'_>, value: Value) -> bool {
    let Some(state) = graph.state_dict(value) else {
        return false;
    };
    if graph.dict_get(state, "_sklearn_version").is_some() {
        return true;
    }
    graph.class_of(value).is_some_and(|(module, _)| {
        ESTIMATOR_MODULES
            .iter()
            .any(|p| module == *p || module.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
    })
}

/// One pending step of the walk.
struct Visit {
    value: Value,
    path: Option<PathId>,
    /// The estimator whose attribute led here.
    owner: Option<usize>,
    /// The `set_params` name the next estimator found here takes.
    name: Option<Rc<str>>,
    fitted: bool,
    template: bool,
}

impl ModelView {
    /// Builds the view from every top-level stream of a graph.
    pub fn build(graph: &Graph<'_>) -> ModelView {
        let mut view = ModelView::default();
        let mut paths = Paths::default();
        let mut visited = vec![false; graph.len()];
        let mut object_paths: BTreeMap<NodeId, Option<PathId>> = BTreeMap::new();
        let mut stack: Vec<Visit> = graph
            .streams
            .iter()
            .filter(|s| !s.nested)
            .rev()
            .map(|s| Visit {
                value: s.root,
                path: Paths::ROOT,
                owner: None,
                name: None,
                fitted: false,
                template: false,
            })
            .collect();

        while let Some(visit) = stack.pop() {
            let Value::Node(id) = visit.value else {
                continue;
            };
            if std::mem::replace(&mut visited[id as usize], true) {
                continue;
            }
            let mut children = Vec::new();
            match graph.node(id) {
                Node::Object(obj) => {
                    object_paths.insert(id, visit.path);
                    if is_estimator(graph, visit.value) {
                        let index = view.add_estimator(graph, &paths, &visit, id);
                        view.estimator_children(graph, &mut paths, index, &visit, &mut children);
                    } else {
                        push_object_children(graph, &mut paths, &visit, obj, &mut children);
                    }
                }
                Node::List(items)
                | Node::Tuple(items)
                | Node::Set(items)
                | Node::FrozenSet(items) => {
                    for (i, &item) in items.iter().enumerate() {
                        if matches!(item, Value::Node(_)) {
                            children.push(Visit {
                                value: item,
                                path: Some(paths.push(visit.path, Segment::Index(i as u32))),
                                owner: visit.owner,
                                name: visit.name.clone(),
                                fitted: visit.fitted,
                                template: visit.template,
                            });
                        }
                    }
                }
                Node::Dict(entries) => {
                    for entry in entries {
                        if matches!(entry.value(), Value::Node(_)) {
                            children.push(Visit {
                                value: entry.value(),
                                path: Some(paths.push(visit.path, Segment::Key(entry.key()))),
                                owner: visit.owner,
                                name: visit.name.clone(),
                                fitted: visit.fitted,
                                template: visit.template,
                            });
                        }
                    }
                }
                _ => {}
            }
            stack.extend(children.into_iter().rev());
        }

        for index in 0..view.estimators.len() {
            settings::collect(graph, &mut view, index);
        }
        view.arrays = arrays::collect(graph, &paths, &object_paths);
        view.torch_storages = torch::storages(graph);
        let facts = load_facts(graph);
        view.globals = facts.globals;
        view.invocations = facts.invocations;
        view
    }

    fn add_estimator(
        &mut self,
        graph: &Graph<'_>,
        paths: &Paths,
        visit: &Visit,
        id: NodeId,
    ) -> usize {
        let value = Value::Node(id);
        let class = graph
            .class_of(value)
            .map(|(m, n)| format!("{m}.{n}"))
            .unwrap_or_else(|| "?".into());
        let mut sklearn_path = visit
            .owner
            .map(|o| self.estimators[o].sklearn_path.clone())
            .unwrap_or_default();
        if visit.owner.is_some() || visit.path.is_some() {
            let name = match visit.name.as_deref() {
                Some(name) => name.to_string(),
                None => paths.render(graph, visit.path),
            };
            sklearn_path.push(name);
        }
        let sklearn_version = graph
            .state_dict(value)
            .and_then(|s| graph.dict_get(s, "_sklearn_version"))
            .and_then(|e| graph.text(e.value()))
            .map(|t| t.into_owned());
        if let Some(v) = &sklearn_version {
            *self.sklearn_versions.entry(v.clone()).or_default() += 1;
        }
        self.estimators.push(Estimator {
            class,
            sklearn_path,
            raw_path: paths.render(graph, visit.path),
            parent: visit.owner,
            fitted: visit.fitted,
            template: visit.template,
            node: id,
            offset: graph.origin(id),
            sklearn_version,
        });
        self.estimators.len() - 1
    }

    /// Queues the attributes of an estimator, naming the estimators they hold.
    fn estimator_children(
        &self,
        graph: &Graph<'_>,
        paths: &mut Paths,
        index: usize,
        visit: &Visit,
        children: &mut Vec<Visit>,
    ) {
        let value = Value::Node(self.estimators[index].node);
        let Some(state) = graph.state_dict(value) else {
            return;
        };
        let Some(entries) = graph.dict_entries(state) else {
            return;
        };
        let has = |k: &str| graph.dict_get(state, k).is_some();
        // Named maps first: they name the same fitted objects that `estimators_` lists
        // without names, and the first visit of a node decides its name.
        let mut ordered: Vec<_> = entries.iter().collect();
        ordered.sort_by_key(|e| {
            let key = graph.text(e.key());
            !key.is_some_and(|k| NAMED_MAPS.contains(&k.as_ref()))
        });
        for entry in ordered {
            if !matches!(entry.value(), Value::Node(_)) {
                continue;
            }
            let key = graph
                .text(entry.key())
                .map(|k| k.into_owned())
                .unwrap_or_default();
            let fitted = visit.fitted || (key.ends_with('_') && !key.starts_with('_'));
            let template = visit.template || is_template(&key, &has);
            let attr_path = paths.push(visit.path, Segment::Attr(entry.key()));
            let child = |value, path, name: &str| Visit {
                value,
                path: Some(path),
                owner: Some(index),
                name: Some(Rc::from(name)),
                fitted,
                template,
            };
            if NAMED_LISTS.contains(&key.as_str())
                && let Some(items) = graph.sequence(entry.value())
            {
                for (i, &item) in items.iter().enumerate() {
                    let item_path = paths.push(Some(attr_path), Segment::Index(i as u32));
                    match graph.sequence(item) {
                        Some(tuple) if tuple.len() >= 2 && graph.text(tuple[0]).is_some() => {
                            let name = graph.text(tuple[0]).unwrap_or_default();
                            for (j, &part) in tuple.iter().enumerate().skip(1) {
                                let part_path =
                                    paths.push(Some(item_path), Segment::Index(j as u32));
                                let name = if j == 1 { name.as_ref() } else { key.as_str() };
                                children.push(child(part, part_path, name));
                            }
                        }
                        _ => children.push(child(item, item_path, &key)),
                    }
                }
                continue;
            }
            if NAMED_MAPS.contains(&key.as_str()) {
                let named: Vec<_> = match graph.get(entry.value()) {
                    Some(Node::Dict(entries)) => entries.clone(),
                    Some(Node::Object(obj)) => obj.entries.clone(),
                    _ => Vec::new(),
                };
                if !named.is_empty() {
                    for e in named {
                        let name = graph
                            .text(e.key())
                            .map(|k| k.into_owned())
                            .unwrap_or_default();
                        let path = paths.push(Some(attr_path), Segment::Key(e.key()));
                        children.push(child(e.value(), path, &name));
                    }
                    continue;
                }
            }
            let name = alias(&key, &has).unwrap_or(key.as_str());
            children.push(child(entry.value(), attr_path, name));
        }
    }
}

/// Queues what a non-estimator object holds: its state, appended items, set items,
/// and a joblib object array's nested stream.
fn push_object_children(
    graph: &Graph<'_>,
    paths: &mut Paths,
    visit: &Visit,
    obj: &crate::pickle::graph::Object,
    children: &mut Vec<Visit>,
) {
    let mut push = |value: Value, segment: Segment| {
        if matches!(value, Value::Node(_)) {
            children.push(Visit {
                value,
                path: Some(paths.push(visit.path, segment)),
                owner: visit.owner,
                name: visit.name.clone(),
                fitted: visit.fitted,
                template: visit.template,
            });
        }
    };
    if let Some(state) = obj.state {
        match graph.dict_entries(state) {
            Some(entries) => {
                for e in entries {
                    push(e.value(), Segment::Attr(e.key()));
                }
            }
            None => push(state, Segment::Label("__setstate__")),
        }
    }
    for (i, &item) in obj.items.iter().enumerate() {
        push(item, Segment::Index(i as u32));
    }
    for e in &obj.entries {
        push(e.value(), Segment::Key(e.key()));
    }
    if let Some(stream) = obj.inline_data.as_ref().and_then(|d| d.nested_stream)
        && let Some(s) = graph.streams.get(stream)
    {
        push(s.root, Segment::Label("<array>"));
    }
    // What the constructor was called with: a tree's `Tree(n_features, n_classes,
    // n_outputs)` holds an array that is nowhere else, and without a path `diff` could
    // only match it by its offset, which every edit before it moves.
    push(obj.args, Segment::Label("<args>"));
}
