//! numpy arrays and how many bytes they hold, in the three forms they take in pickles:
//! joblib's inline arrays, `_reconstruct` + BUILD with a bytes payload (protocols 0-4),
//! and `_frombuffer` over a bytearray or an out-of-band buffer (protocol 5).

use std::collections::BTreeMap;

use serde::Serialize;

use super::path::{PathId, Paths};
use crate::pickle::graph::Node;
use crate::pickle::joblib::dtype_of;
use crate::pickle::{Graph, NodeId, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ArrayStorage {
    /// Raw bytes between the opcodes of a joblib file.
    JoblibInline,
    /// A joblib object array: a nested pickle stream.
    JoblibObject,
    /// A bytes / bytearray payload inside the pickle: `offset` is the data.
    Pickled,
    /// Bytes spelled as latin-1 text (protocols 0-2): `offset` is the object, and the
    /// file does not hold the raw bytes anywhere.
    PickledText,
    /// Python objects (an object-dtype array pickled as a list).
    PickledObjects,
    /// NEXT_BUFFER: the bytes are not in the file.
    OutOfBand,
    /// A plain `.npy` file's data, after its header: `offset` is the data.
    NpyFile,
    /// A PyTorch tensor: its storage lies outside the pickle (a member of the checkpoint
    /// zip), and `nbytes` is what the tensor's view covers; `offset` is the object.
    TorchStorage,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArrayInfo {
    pub path: String,
    pub storage: ArrayStorage,
    pub shape: Option<Vec<u64>>,
    pub dtype: Option<String>,
    /// Bytes of array data in the file (0 when not stored in it).
    pub nbytes: u64,
    /// Offset of the data (or of the object that builds the array).
    pub offset: u64,
}

pub(super) fn collect(
    graph: &Graph<'_>,
    paths: &Paths,
    object_paths: &BTreeMap<NodeId, Option<PathId>>,
) -> Vec<ArrayInfo> {
    let mut arrays = Vec::new();
    // The array inside a joblib object array's nested stream is the one its wrapper
    // already stands for: count it once, at the wrapper's path.
    let nested_roots: Vec<Value> = graph
        .streams
        .iter()
        .filter(|s| s.nested)
        .map(|s| s.root)
        .collect();
    for id in graph.ids() {
        let Node::Object(obj) = graph.node(id) else {
            continue;
        };
        if nested_roots.contains(&Value::Node(id)) {
            continue;
        }
        let path = || match object_paths.get(&id) {
            Some(p) => paths.render(graph, *p),
            None => format!("<unreached object at offset {}>", graph.origin(id)),
        };
        if let Some(inline) = &obj.inline_data {
            arrays.push(ArrayInfo {
                path: path(),
                storage: if inline.nested_stream.is_some() {
                    ArrayStorage::JoblibObject
                } else {
                    ArrayStorage::JoblibInline
                },
                shape: Some(inline.shape.clone()),
                dtype: Some(inline.dtype.clone()),
                nbytes: inline.data.len,
                offset: inline.data.offset,
            });
            continue;
        }
        let Some((module, name)) = graph.global(obj.callable) else {
            continue;
        };
        let numpy = module.starts_with("numpy");
        if super::torch::rebuilds_tensor(module, name) {
            if let Some((shape, dtype, nbytes)) = super::torch::tensor(graph, name, obj.args) {
                arrays.push(ArrayInfo {
                    path: path(),
                    storage: ArrayStorage::TorchStorage,
                    shape: Some(shape),
                    dtype,
                    nbytes,
                    offset: graph.origin(id),
                });
            }
        } else if numpy && name == "_reconstruct" {
            // BUILD state: (version, shape, dtype, is_fortran, rawdata)
            let Some(state) = obj.state.and_then(|s| graph.sequence(s)) else {
                continue;
            };
            if state.len() < 5 {
                continue;
            }
            let shape = shape_of(graph, state[1]);
            let dtype = dtype_of(graph, state[2]).ok().map(|(t, _, _)| t);
            let (storage, nbytes, offset) = match graph.bytes_like_len(state[4]) {
                Some((len, Some(span))) => (ArrayStorage::Pickled, len, span.offset),
                Some((len, None)) => (ArrayStorage::PickledText, len, graph.origin_of(state[4])),
                None => (ArrayStorage::PickledObjects, 0, graph.origin(id)),
            };
            arrays.push(ArrayInfo {
                path: path(),
                storage,
                shape,
                dtype,
                nbytes,
                offset,
            });
        } else if numpy && name == "_frombuffer" {
            // REDUCE args: (buffer, dtype, shape, order)
            let Some(args) = graph.sequence(obj.args) else {
                continue;
            };
            if args.len() < 3 {
                continue;
            }
            let dtype = dtype_of(graph, args[1]).ok().map(|(t, _, _)| t);
            let (storage, nbytes, offset) = match graph.bytes_like_len(args[0]) {
                Some((len, Some(span))) => (ArrayStorage::Pickled, len, span.offset),
                Some((len, None)) => (ArrayStorage::PickledText, len, graph.origin_of(args[0])),
                None if matches!(graph.get(args[0]), Some(Node::Buffer { .. })) => {
                    (ArrayStorage::OutOfBand, 0, graph.origin(id))
                }
                None => continue,
            };
            arrays.push(ArrayInfo {
                path: path(),
                storage,
                shape: shape_of(graph, args[2]),
                dtype,
                nbytes,
                offset,
            });
        }
    }
    arrays
}

fn shape_of(graph: &Graph<'_>, value: Value) -> Option<Vec<u64>> {
    graph
        .sequence(value)?
        .iter()
        .map(|v| match v {
            Value::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        })
        .collect()
}
