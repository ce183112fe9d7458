//! joblib's extension of the pickle stream: numpy arrays written inline.
//!
//! `joblib.numpy_pickle.NumpyPickler` replaces every ndarray with a
//! `NumpyArrayWrapper(subclass, shape, order, dtype, allow_mmap, numpy_array_alignment_bytes)`
//! and, right after its BUILD, writes the array outside the opcode stream
//! (`NumpyArrayWrapper.write_array`):
//!
//! - object arrays: a complete, nested protocol-5 pickle;
//! - everything else: when `numpy_array_alignment_bytes` is set (joblib >= 0.12), one
//!   byte `pad_len` then `pad_len` bytes of 0xFF so the data starts on the alignment,
//!   then `prod(shape) * itemsize` raw bytes.
//!
//! This module only computes that layout from the wrapper's state; the machine skips it.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::graph::{Graph, Node, Value};

/// Fixed-size numpy type strings with their kind and item size, from numpy itself
/// (scripts/python_names.py).
const NUMPY_DTYPES: &str = include_str!("data/numpy_dtypes.tsv");

static FIXED_DTYPES: LazyLock<HashMap<&'static str, (char, u64)>> = LazyLock::new(|| {
    NUMPY_DTYPES
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split('\t');
            let spelling = f.next()?;
            let kind = f.next()?.chars().next()?;
            let size = f.next()?.parse().ok()?;
            Some((spelling, (kind, size)))
        })
        .collect()
});

/// What follows a wrapper's BUILD.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayLayout {
    pub shape: Vec<u64>,
    /// The dtype as numpy's reduce spells it (`f8`, `U40`, `V12`).
    pub dtype: String,
    pub itemsize: u64,
    pub nbytes: u64,
    /// A nested pickle stream instead of raw bytes.
    pub object: bool,
    /// `numpy_array_alignment_bytes`: a padding byte and padding precede the data.
    pub alignment: Option<u64>,
}

/// numpy's `NPY_ITEM_HASOBJECT` flag in a dtype's pickled state.
const NPY_ITEM_HASOBJECT: i64 = 0x01;

/// Whether an object is a joblib `NumpyArrayWrapper`: joblib tests `isinstance`, so the
/// class must be exactly `joblib.numpy_pickle.NumpyArrayWrapper` as `find_class` resolves
/// it. A look-alike class is not skipped by joblib, so it must not be skipped here.
pub fn is_array_wrapper(graph: &Graph<'_>, value: Value) -> bool {
    let Some(obj) = graph.object(value) else {
        return false;
    };
    let class = match obj.kind {
        super::graph::ObjectKind::Reduce => graph
            .global(obj.callable)
            .filter(|g| matches!(*g, ("copyreg" | "copy_reg", "_reconstructor")))
            .and_then(|_| graph.sequence(obj.args)?.first().copied()),
        _ => Some(obj.callable),
    };
    match class.and_then(|c| graph.get(c)) {
        Some(Node::Global(g)) => {
            let r = g.resolved();
            r.module == "joblib.numpy_pickle" && r.name == "NumpyArrayWrapper"
        }
        _ => false,
    }
}

/// Why joblib's array bytes cannot be read where the pickle says they are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoblibError {
    #[error("NumpyArrayWrapper state is not a dict")]
    StateNotDict,
    #[error("NumpyArrayWrapper state has no '{0}'")]
    MissingField(&'static str),
    #[error("NumpyArrayWrapper 'shape' is not a tuple")]
    ShapeNotTuple,
    #[error("NumpyArrayWrapper 'shape' holds a non-integer or negative dimension")]
    BadDimension,
    #[error("NumpyArrayWrapper 'numpy_array_alignment_bytes' is not a positive integer")]
    BadAlignment,
    #[error("NumpyArrayWrapper {0} overflows 64 bits")]
    Overflow(&'static str),
    #[error("dtype is not a numpy.dtype object")]
    NotADtype,
    #[error("numpy.dtype arguments are not a tuple")]
    DtypeArgumentsNotTuple,
    #[error("numpy.dtype has no type string")]
    NoTypeString,
    #[error("cannot size numpy dtype '{0}' exactly")]
    UnsizedDtype(String),
    #[error("array data would start inside a frame ({remaining} frame bytes left)")]
    DataInsideFrame { remaining: usize },
    #[error(
        "array of shape {shape:?} and dtype {dtype} needs {nbytes} bytes at offset {offset}, only {available} remain"
    )]
    DataPastEnd {
        shape: Vec<u64>,
        dtype: String,
        nbytes: u64,
        offset: u64,
        available: u64,
    },
    #[error("object array stream: {0}")]
    ObjectArray(Box<super::PickleError>),
}

/// Reads the layout from a wrapper's BUILD state.
pub fn layout(graph: &Graph<'_>, wrapper: Value) -> Result<ArrayLayout, JoblibError> {
    let state = graph.state_dict(wrapper).ok_or(JoblibError::StateNotDict)?;
    let field = |key: &'static str| {
        graph
            .dict_get(state, key)
            .map(|e| e.value())
            .ok_or(JoblibError::MissingField(key))
    };
    let shape = graph
        .sequence(field("shape")?)
        .ok_or(JoblibError::ShapeNotTuple)?
        .iter()
        .map(|v| match v {
            Value::Int(n) => u64::try_from(*n).map_err(|_| JoblibError::BadDimension),
            _ => Err(JoblibError::BadDimension),
        })
        .collect::<Result<Vec<u64>, JoblibError>>()?;
    let (dtype, itemsize, object) = dtype_of(graph, field("dtype")?)?;
    let alignment = match graph.dict_get(state, "numpy_array_alignment_bytes") {
        None => None,
        Some(e) => match e.value() {
            Value::None => None,
            Value::Int(n) if n > 0 => Some(n.unsigned_abs()),
            _ => return Err(JoblibError::BadAlignment),
        },
    };
    let count = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or(JoblibError::Overflow("shape"))?;
    let nbytes = count
        .checked_mul(itemsize)
        .ok_or(JoblibError::Overflow("size"))?;
    Ok(ArrayLayout {
        shape,
        dtype,
        itemsize,
        nbytes: if object { 0 } else { nbytes },
        object,
        alignment,
    })
}

/// A pickled `numpy.dtype`: `REDUCE(numpy.dtype, ('f8', False, True))` then
/// `BUILD((version, byteorder, subdescr, names, fields, elsize, alignment, flags, ...))`.
/// Sized as numpy sizes it: the type string in any spelling numpy accepts (`f8`, `<f8`,
/// `float64`, `double`, `U40`, `M8[ns]`), and for the flexible kinds (str, bytes, void) the
/// state's `elsize` and, for void, its object flag, which `dtype.__setstate__` honours.
/// Returns the type string, the item size and whether the dtype holds Python objects; a
/// dtype this cannot size exactly is an error, never a guess.
pub fn dtype_of(graph: &Graph<'_>, dtype: Value) -> Result<(String, u64, bool), JoblibError> {
    let obj = graph.object(dtype).ok_or(JoblibError::NotADtype)?;
    let is_dtype = matches!(graph.get(obj.callable), Some(Node::Global(g)) if {
        let r = g.resolved();
        r.module == "numpy" && r.name == "dtype"
    });
    if !is_dtype {
        return Err(JoblibError::NotADtype);
    }
    let args = graph
        .sequence(obj.args)
        .ok_or(JoblibError::DtypeArgumentsNotTuple)?;
    let type_str = args
        .first()
        .and_then(|&v| graph.text(v))
        .ok_or(JoblibError::NoTypeString)?
        .into_owned();
    let state = obj.state.and_then(|s| graph.sequence(s));
    let int_at = |i: usize| match state.and_then(|s| s.get(i)) {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    };
    let elsize = int_at(5).unwrap_or(-1);
    let flags = int_at(7).unwrap_or(0);
    let (itemsize, object) = size_type_string(&type_str, elsize, flags)?;
    Ok((type_str, itemsize, object))
}

/// The item size of a dtype type string and whether it holds Python objects, as
/// `numpy.dtype(type_str)` would make it (with a pickled dtype's state: `elsize` sizes the
/// flexible kinds, `flags` marks a void holding objects; -1 and 0 when there is none).
/// A spelling this cannot size exactly is an error, never a guess.
pub fn size_type_string(
    type_str: &str,
    elsize: i64,
    flags: i64,
) -> Result<(u64, bool), JoblibError> {
    let cannot = || JoblibError::UnsizedDtype(type_str.to_string());
    let bare = type_str.trim_start_matches(['<', '>', '=', '|']);
    let (kind, itemsize) = if let Some(&(kind, size)) = FIXED_DTYPES.get(bare) {
        (kind, size)
    } else if let Some(unit) = bare
        .strip_prefix("M8")
        .or_else(|| bare.strip_prefix("m8"))
        .or_else(|| bare.strip_prefix("datetime64"))
        .or_else(|| bare.strip_prefix("timedelta64"))
        && unit.starts_with('[')
        && unit.ends_with(']')
    {
        ('M', 8)
    } else {
        let code = bare.chars().next().ok_or_else(cannot)?;
        let digits = &bare[code.len_utf8()..];
        if !matches!(code, 'U' | 'S' | 'V' | 'a')
            || digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(cannot());
        }
        let count: u64 = digits.parse().map_err(|_| cannot())?;
        let size = if code == 'U' {
            count.checked_mul(4).ok_or_else(cannot)?
        } else {
            count
        };
        (if code == 'a' { 'S' } else { code }, size)
    };
    let flexible = matches!(kind, 'U' | 'S' | 'V');
    let itemsize = match u64::try_from(elsize) {
        Ok(size) if flexible => size,
        _ => itemsize,
    };
    let object = kind == 'O' || (kind == 'V' && flags & NPY_ITEM_HASOBJECT != 0);
    Ok((itemsize, object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::{Quiet, parse};

    fn sized(spelling: &str, state: &str) -> Result<(String, u64, bool), JoblibError> {
        // numpy.dtype(spelling, False, True) with BUILD(state), protocol 0.
        let data = format!("cnumpy\ndtype\n(V{spelling}\nI00\nI01\ntR({state}tb.");
        let graph = parse(data.as_bytes(), &mut Quiet).unwrap();
        dtype_of(&graph, graph.streams[0].root)
    }

    #[test]
    fn every_spelling_is_sized_as_numpy_sizes_it() {
        assert_eq!(sized("float64", "").unwrap().1, 8);
        assert_eq!(sized("f8", "").unwrap().1, 8);
        assert_eq!(sized("<i4", "").unwrap().1, 4);
        assert_eq!(sized("U5", "").unwrap().1, 20);
        assert_eq!(sized("M8[ns]", "").unwrap().1, 8);
        // elsize in the state is honoured for flexible kinds only.
        assert_eq!(sized("f8", "I3\nV<\nNNNI64\nI-1\nI0\n").unwrap().1, 8);
        assert_eq!(sized("V8", "I3\nV|\nNNNI64\nI1\nI0\n").unwrap().1, 64);
        assert!(sized("V8", "I3\nV|\nNNNI8\nI1\nI1\n").unwrap().2);
        assert!(!sized("f8", "I3\nV<\nNNNI-1\nI-1\nI1\n").unwrap().2);
        assert!(sized("i4,f8", "").is_err());
        assert!(sized("float6", "").is_err());
    }
}
