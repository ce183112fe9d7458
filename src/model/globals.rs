//! What loading a graph imports and invokes, as CPython's unpickler would: every global
//! resolved the way `find_class` resolves it, whether the load calls it, and the calls
//! whose target the names alone do not tell (an object built during the load called in
//! turn, `getattr` chains, cloudpickle's by-name lookups).

use std::collections::BTreeMap;

use crate::pickle::graph::{Node, ObjectKind};
use crate::pickle::{Graph, Value};

/// A global the loader must import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalRef {
    /// As the stream spells it.
    pub module: String,
    pub name: String,
    /// As `find_class` resolves it (`_compat_pickle` renames below protocol 3).
    pub resolved_module: String,
    pub resolved_name: String,
    /// `name` is a dotted path walked attribute by attribute (protocol 4 and more).
    pub dotted: bool,
    /// How many GLOBAL / STACK_GLOBAL / INST opcodes name it.
    pub count: u64,
    /// Whether the load invokes it at least once: REDUCE, NEWOBJ(_EX), INST, OBJ,
    /// `copyreg` reconstructors, a called `functools.partial`, a `__setstate__` it was
    /// installed as.
    pub called: bool,
    /// Offset of the first reference.
    pub first_offset: u64,
}

impl GlobalRef {
    /// `module.name` as resolved.
    pub fn resolved(&self) -> String {
        format!("{}.{}", self.resolved_module, self.resolved_name)
    }
}

/// A call during the load that is not a plain call of a named global.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// REDUCE / NEWOBJ / OBJ of something built during the load (a function made from
    /// pickled code, the result of `getattr`, a class made by cloudpickle): `made_by`
    /// names what built it, when a global did.
    CalledObject {
        offset: u64,
        made_by: Option<String>,
        /// The callee is a class cloudpickle rebuilt by value whose body defines none of
        /// `__new__`, `__init__`, `__setstate__`: instantiating it runs no pickled code.
        inert_class: bool,
    },
    /// `builtins.getattr(target, attr)`.
    Getattr {
        offset: u64,
        target: GetattrTarget,
        /// The attribute name when it is a constant str.
        attr: Option<String>,
    },
    /// cloudpickle's `_builtin_type(name)` (`getattr(types, name)`) or `subimport(name)`
    /// (`__import__(name)`): a lookup by a name given as an argument.
    ByName {
        offset: u64,
        function: String,
        /// The name when it is a constant str.
        argument: Option<String>,
    },
    /// EXT1/2/4: a global chosen by copyreg's extension registry at load time.
    Extension { offset: u64, code: i64 },
}

/// What `getattr` is applied to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GetattrTarget {
    /// An imported global (module, class or function), resolved.
    Global(String),
    /// An instance built during the load, with its class when known.
    Instance(Option<String>),
    Other,
}

/// Everything a load would import and invoke.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadFacts {
    pub globals: Vec<GlobalRef>,
    pub invocations: Vec<Invocation>,
}

fn resolved_name(graph: &Graph<'_>, value: Value) -> Option<String> {
    match graph.get(value)? {
        Node::Global(g) => {
            let r = g.resolved();
            Some(format!("{}.{}", r.module, r.name))
        }
        _ => None,
    }
}

/// The class (or callable) an object was made by, resolved.
fn made_by(graph: &Graph<'_>, value: Value) -> Option<String> {
    let obj = graph.object(value)?;
    let callee = resolved_name(graph, obj.callable)?;
    if callee == "copyreg._reconstructor" {
        return resolved_name(graph, *graph.sequence(obj.args)?.first()?);
    }
    Some(callee)
}

/// Whether a class rebuilt by cloudpickle defines a method that instantiating it (or
/// BUILD on its instances) would run.
fn cloudpickle_class_runs_code(graph: &Graph<'_>, class: Value) -> bool {
    let Some(obj) = graph.object(class) else {
        return true;
    };
    // `_class_setstate(obj, (state, slotstate))` or BUILD on the skeleton sets the body.
    let defines = |entries: &[crate::pickle::graph::Entry]| {
        entries.iter().any(|e| {
            graph.text(e.key()).is_some_and(|k| {
                matches!(
                    k.as_ref(),
                    "__new__" | "__init__" | "__setstate__" | "__reduce__" | "__reduce_ex__"
                )
            })
        })
    };
    let mut stack = vec![];
    if let Some(state) = obj.state {
        stack.push(state);
    }
    while let Some(v) = stack.pop() {
        match graph.get(v) {
            Some(Node::Dict(entries)) if defines(entries) => return true,
            Some(Node::Tuple(items)) => stack.extend(items.iter().copied()),
            _ => {}
        }
    }
    false
}

/// Every global a graph names, once each, and the calls the load makes that names alone
/// do not tell.
pub fn load_facts(graph: &Graph<'_>) -> LoadFacts {
    let mut called = vec![false; graph.len()];
    let mut invocations = Vec::new();
    let mark = |called: &mut Vec<bool>, v: Value| {
        if let Value::Node(id) = v {
            called[id as usize] = true;
        }
    };
    for id in graph.ids() {
        match graph.node(id) {
            Node::Object(obj) => {
                let offset = graph.origin(id);
                match graph.get(obj.callable) {
                    Some(Node::Global(g)) => {
                        mark(&mut called, obj.callable);
                        let r = g.resolved();
                        let args = graph.sequence(obj.args).unwrap_or_default();
                        let text_arg = |i: usize| {
                            args.get(i)
                                .and_then(|&v| graph.text(v))
                                .map(|t| t.into_owned())
                        };
                        match (r.module.as_str(), r.name.as_str()) {
                            // copyreg._reconstructor(cls, base, state) calls base.__new__(cls)
                            // and base.__init__; __newobj__(cls, *args) calls cls.__new__.
                            ("copyreg", "_reconstructor") => {
                                args.iter().take(2).for_each(|&a| mark(&mut called, a))
                            }
                            ("copyreg", "__newobj__" | "__newobj_ex__") => {
                                args.iter().take(1).for_each(|&a| mark(&mut called, a))
                            }
                            ("builtins", "getattr") => {
                                let target = match args.first().and_then(|&a| graph.get(a)) {
                                    Some(Node::Global(_)) => GetattrTarget::Global(
                                        resolved_name(graph, args[0]).unwrap_or_default(),
                                    ),
                                    Some(Node::Object(_)) => {
                                        GetattrTarget::Instance(made_by(graph, args[0]))
                                    }
                                    _ => GetattrTarget::Other,
                                };
                                invocations.push(Invocation::Getattr {
                                    offset,
                                    target,
                                    attr: text_arg(1),
                                });
                            }
                            (m, f @ ("_builtin_type" | "subimport" | "dynamic_subimport"))
                                if m.starts_with("cloudpickle") =>
                            {
                                invocations.push(Invocation::ByName {
                                    offset,
                                    function: format!("{m}.{f}"),
                                    argument: text_arg(0),
                                });
                            }
                            _ => {}
                        }
                    }
                    Some(Node::Object(callee)) => {
                        // functools.partial(f, ...) called: f is called.
                        if resolved_name(graph, callee.callable).as_deref()
                            == Some("functools.partial")
                            && let Some(&f) = graph.sequence(callee.args).and_then(|a| a.first())
                        {
                            mark(&mut called, f);
                        }
                        let maker = made_by(graph, obj.callable);
                        // A type from `types` that cloudpickle looked up by name (CodeType,
                        // CellType: constructing one runs nothing; the name is judged on
                        // its own), or a class it rebuilt that defines no code to run.
                        let inert_class = maker.as_deref().is_some_and(|m| {
                            m.starts_with("cloudpickle") && m.ends_with("._builtin_type")
                        }) || (obj.kind != ObjectKind::Reduce
                            && maker
                                .as_deref()
                                .is_some_and(|m| m.ends_with("._make_skeleton_class"))
                            && !cloudpickle_class_runs_code(graph, obj.callable));
                        invocations.push(Invocation::CalledObject {
                            offset,
                            made_by: maker,
                            inert_class,
                        });
                    }
                    _ => {}
                }
            }
            Node::Extension(code) => invocations.push(Invocation::Extension {
                offset: graph.origin(id),
                code: *code,
            }),
            _ => {}
        }
    }
    // BUILD calls `__setstate__` when the object has one: a state that installs one makes
    // the next BUILD on that object call it.
    for &v in &graph.setstate_installs {
        mark(&mut called, v);
    }
    let mut found: BTreeMap<(String, String), GlobalRef> = BTreeMap::new();
    for id in graph.ids() {
        if let Node::Global(g) = graph.node(id) {
            let r = g.resolved();
            let entry = found
                .entry((g.module.to_string(), g.name.to_string()))
                .or_insert_with(|| GlobalRef {
                    module: g.module.to_string(),
                    name: g.name.to_string(),
                    resolved_module: r.module.clone(),
                    resolved_name: r.name.clone(),
                    dotted: r.dotted,
                    count: 0,
                    called: false,
                    first_offset: graph.origin(id),
                });
            entry.count += 1;
            entry.called |= called[id as usize];
            entry.dotted |= r.dotted;
        }
    }
    invocations.sort_by_key(|i| match i {
        Invocation::CalledObject { offset, .. }
        | Invocation::Getattr { offset, .. }
        | Invocation::ByName { offset, .. }
        | Invocation::Extension { offset, .. } => *offset,
    });
    LoadFacts {
        globals: found.into_values().collect(),
        invocations,
    }
}
