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

use super::graph::{Graph, Value};

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

/// Whether an object is a joblib `NumpyArrayWrapper`.
pub fn is_array_wrapper(graph: &Graph<'_>, value: Value) -> bool {
    graph.class_of(value).is_some_and(|(module, name)| {
        name == "NumpyArrayWrapper" && module.ends_with("numpy_pickle")
    })
}

/// Reads the layout from a wrapper's BUILD state.
pub fn layout(graph: &Graph<'_>, wrapper: Value) -> Result<ArrayLayout, String> {
    let state = graph
        .state_dict(wrapper)
        .ok_or("NumpyArrayWrapper state is not a dict")?;
    let field = |key: &str| {
        graph
            .dict_get(state, key)
            .map(|e| e.value)
            .ok_or(format!("NumpyArrayWrapper state has no '{key}'"))
    };
    let shape = graph
        .sequence(field("shape")?)
        .ok_or("NumpyArrayWrapper 'shape' is not a tuple")?
        .iter()
        .map(|v| match v {
            Value::Int(n) if *n >= 0 => Ok(*n as u64),
            _ => Err(String::from(
                "NumpyArrayWrapper 'shape' holds a non-integer or negative dimension",
            )),
        })
        .collect::<Result<Vec<u64>, String>>()?;
    let (dtype, itemsize, object) = dtype_of(graph, field("dtype")?)?;
    let alignment = match graph.dict_get(state, "numpy_array_alignment_bytes") {
        None => None,
        Some(e) => match e.value {
            Value::None => None,
            Value::Int(n) if n > 0 => Some(n as u64),
            _ => {
                return Err(
                    "NumpyArrayWrapper 'numpy_array_alignment_bytes' is not a positive integer"
                        .into(),
                );
            }
        },
    };
    let count = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or("NumpyArrayWrapper shape overflows 64 bits")?;
    let nbytes = count
        .checked_mul(itemsize)
        .ok_or("NumpyArrayWrapper size overflows 64 bits")?;
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
/// `elsize` is -1 for fixed-size types, whose size is the number in the type string.
/// Returns the type string, the item size and whether the dtype holds Python objects.
pub fn dtype_of(graph: &Graph<'_>, dtype: Value) -> Result<(String, u64, bool), String> {
    let obj = graph
        .object(dtype)
        .ok_or("dtype is not a numpy.dtype object")?;
    let callee = graph.global(obj.callable).map(|(_, name)| name);
    if callee != Some("dtype") {
        return Err("dtype is not a numpy.dtype object".into());
    }
    let args = graph
        .sequence(obj.args)
        .ok_or("numpy.dtype arguments are not a tuple")?;
    let type_str = args
        .first()
        .and_then(|&v| graph.text(v))
        .ok_or("numpy.dtype has no type string")?
        .into_owned();
    let state = obj.state.and_then(|s| graph.sequence(s));
    let int_at = |i: usize| match state.and_then(|s| s.get(i)) {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    };
    let elsize = int_at(5).unwrap_or(-1);
    let flags = int_at(7).unwrap_or(0);
    let object = type_str.starts_with('O') || flags & NPY_ITEM_HASOBJECT != 0;
    let itemsize = if elsize > 0 {
        elsize as u64
    } else {
        let digits: String = type_str.chars().filter(char::is_ascii_digit).collect();
        digits
            .parse::<u64>()
            .map_err(|_| format!("cannot size numpy dtype '{type_str}'"))?
    };
    Ok((type_str, itemsize, object))
}
