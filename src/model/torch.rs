//! PyTorch checkpoints as `torch.save` writes them: `data.pkl` refers to each tensor's
//! storage by a persistent id `('storage', torch.FloatStorage, key, location, numel)` and
//! rebuilds tensors with `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
//! ...)` (`_rebuild_tensor_v3` adds the dtype, for storages without a typed class). The
//! storages' bytes live in other members of the zip (or after the pickles, in the legacy
//! format); they are sized here from the ids, never read.

use crate::pickle::graph::Node;
use crate::pickle::{Graph, Value};

/// A storage a persistent id refers to.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchStorage {
    pub key: String,
    /// The storage class's name (`FloatStorage`, `UntypedStorage`).
    pub storage_type: String,
    /// Its element type (`float32`), when the class names one.
    pub dtype: Option<&'static str>,
    /// Elements (bytes for an untyped storage).
    pub numel: u64,
    pub location: String,
    /// Where the persistent id is loaded (its BINPERSID / PERSID).
    pub offset: u64,
}

impl TorchStorage {
    /// Bytes the storage holds, as its id declares.
    pub fn nbytes(&self) -> Option<u64> {
        self.numel.checked_mul(itemsize(self.dtype?)?)
    }
}

/// torch's storage classes (`torch.storage._dtype_to_storage_type_map`), with the dtype
/// each holds; `UntypedStorage` counts bytes.
const STORAGE_TYPES: &[(&str, &str)] = &[
    ("DoubleStorage", "float64"),
    ("FloatStorage", "float32"),
    ("HalfStorage", "float16"),
    ("LongStorage", "int64"),
    ("IntStorage", "int32"),
    ("ShortStorage", "int16"),
    ("CharStorage", "int8"),
    ("ByteStorage", "uint8"),
    ("BoolStorage", "bool"),
    ("BFloat16Storage", "bfloat16"),
    ("ComplexDoubleStorage", "complex128"),
    ("ComplexFloatStorage", "complex64"),
    ("QInt8Storage", "qint8"),
    ("QInt32Storage", "qint32"),
    ("QUInt8Storage", "quint8"),
    ("QUInt4x2Storage", "quint4x2"),
    ("QUInt2x4Storage", "quint2x4"),
    ("UntypedStorage", "uint8"),
];

/// Bytes per element of a torch dtype (by the name `torch.<dtype>` pickles as).
pub fn itemsize(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "float64" | "int64" | "uint64" | "complex64" => 8,
        "float32" | "int32" | "uint32" | "qint32" | "complex32" => 4,
        "float16" | "bfloat16" | "int16" | "uint16" => 2,
        "int8" | "uint8" | "bool" | "qint8" | "quint8" | "quint4x2" | "quint2x4"
        | "float8_e4m3fn" | "float8_e5m2" | "float8_e4m3fnuz" | "float8_e5m2fnuz"
        | "float8_e8m0fnu" | "float4_e2m1fn_x2" | "bits8" => 1,
        "complex128" => 16,
        _ => return None,
    })
}

fn storage_dtype(class: &str) -> Option<&'static str> {
    STORAGE_TYPES
        .iter()
        .find(|(name, _)| *name == class)
        .map(|&(_, dtype)| dtype)
}

/// Every persistent id in torch's storage shape.
pub fn storages(graph: &Graph<'_>) -> Vec<TorchStorage> {
    let mut found = Vec::new();
    for id in graph.ids() {
        let Node::PersistentId(pid) = graph.node(id) else {
            continue;
        };
        if let Some(storage) = storage_id(graph, *pid, graph.origin(id)) {
            found.push(storage);
        }
    }
    found
}

/// `('storage', <torch storage class>, key, location, numel)`: the id `torch.save`
/// writes (the legacy format adds a sixth item, the view's metadata, usually None).
fn storage_id(graph: &Graph<'_>, pid: Value, offset: u64) -> Option<TorchStorage> {
    let items = graph.sequence(pid)?;
    if !(items.len() == 5 || items.len() == 6) || !graph.text_is(items[0], "storage") {
        return None;
    }
    let (module, class) = graph.global(items[1])?;
    if !(module == "torch" || module == "torch.storage") {
        return None;
    }
    let dtype = storage_dtype(class)?;
    let key = graph.text(items[2])?.into_owned();
    let location = graph.text(items[3])?.into_owned();
    let Value::Int(numel) = items[4] else {
        return None;
    };
    Some(TorchStorage {
        key,
        storage_type: class.to_string(),
        dtype: Some(dtype),
        numel: u64::try_from(numel).ok()?,
        location,
        offset,
    })
}

/// A tensor rebuilt by `_rebuild_tensor*`: (shape, dtype, bytes of its view).
pub fn tensor(
    graph: &Graph<'_>,
    name: &str,
    args: Value,
) -> Option<(Vec<u64>, Option<String>, u64)> {
    let args = graph.sequence(args)?;
    let storage = args.first().and_then(|&s| match graph.get(s) {
        Some(Node::PersistentId(pid)) => storage_id(graph, *pid, 0),
        _ => None,
    });
    let shape: Vec<u64> = graph
        .sequence(*args.get(2)?)?
        .iter()
        .map(|v| match v {
            Value::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    // v3 names the dtype (`torch.float8_e4m3fn`) after the hooks; v2's is the storage's.
    let dtype = match name {
        "_rebuild_tensor_v3" => args
            .get(6)
            .and_then(|&d| graph.global(d))
            .filter(|(module, _)| *module == "torch")
            .map(|(_, d)| d.to_string()),
        _ => storage.as_ref().and_then(|s| s.dtype).map(str::to_string),
    };
    let elements = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d))?;
    let nbytes = dtype
        .as_deref()
        .and_then(itemsize)
        .and_then(|size| elements.checked_mul(size))
        .unwrap_or(0);
    Some((shape, dtype, nbytes))
}

/// Whether `torch._utils.<name>` rebuilds a tensor from a storage.
pub fn rebuilds_tensor(module: &str, name: &str) -> bool {
    module == "torch._utils"
        && matches!(
            name,
            "_rebuild_tensor" | "_rebuild_tensor_v2" | "_rebuild_tensor_v3"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_classes_name_their_dtypes() {
        assert_eq!(storage_dtype("FloatStorage"), Some("float32"));
        assert_eq!(storage_dtype("BFloat16Storage"), Some("bfloat16"));
        assert_eq!(storage_dtype("NotAStorage"), None);
        for (_, dtype) in STORAGE_TYPES {
            assert!(itemsize(dtype).is_some(), "{dtype} has a size");
        }
    }
}
