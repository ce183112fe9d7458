//! The pickle memo: what PUT and MEMOIZE store and GET reads back.
//!
//! Protocol 4 memoizes every string, so a 1.3 M-term vocabulary puts 1.3 M values in the
//! memo and nothing ever leaves it: the memo is, with the dict entries, what the heap of a
//! text pipeline is made of. Its values are therefore kept in 8 bytes ([`Packed`]) instead
//! of the 16 of a [`Value`]: a tag in the top three bits and a 61-bit payload. What does not
//! fit (a float, an int or an offset beyond 61 bits: pickle memoizes neither ints nor
//! floats, so only a hand-made stream has them) goes whole to a side vector.

use std::collections::HashMap;

use super::graph::{VALUE_TAGS, Value};

/// The memo. MEMOIZE indices are dense from 0, so they live in a vector; explicit PUT
/// indices may be anything up to 2^32 and go to a map when they would leave a hole.
#[derive(Default)]
pub(super) struct Memo {
    dense: Vec<Packed>,
    /// The values [`Packed`] cannot hold, by the index a packed `WIDE` names.
    wide: Vec<Value>,
    sparse: HashMap<u64, Value>,
}

impl Memo {
    fn len(&self) -> u64 {
        (self.dense.len() + self.sparse.len()) as u64
    }

    pub(super) fn get(&self, index: u64) -> Option<Value> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.dense.get(i))
            .map(|packed| packed.unpack(&self.wide))
            .or_else(|| self.sparse.get(&index).copied())
    }

    /// MEMOIZE: stores at `len(memo)`, the hot path of every string in a vocabulary.
    #[inline]
    pub(super) fn memoize(&mut self, value: Value) {
        if self.sparse.is_empty() {
            self.push_dense(value);
        } else {
            let index = self.len();
            self.put(index, value);
        }
    }

    #[inline]
    fn push_dense(&mut self, value: Value) {
        let packed = Packed::pack(value, &mut self.wide);
        self.dense.push(packed);
    }

    /// Stores a value; returns whether a value was overwritten.
    pub(super) fn put(&mut self, index: u64, value: Value) -> bool {
        if let Some(i) = usize::try_from(index)
            .ok()
            .filter(|&i| i < self.dense.len())
        {
            // A slot written twice leaves its old wide value behind: a stream can only do
            // that once per PUT opcode, so the waste is bounded by the file's length.
            self.dense[i] = Packed::pack(value, &mut self.wide);
            return true;
        }
        // `is_empty` first: hashing the index on every MEMOIZE costs more than the rest
        // of the opcode.
        if index == self.dense.len() as u64
            && (self.sparse.is_empty() || !self.sparse.contains_key(&index))
        {
            self.push_dense(value);
            // Keep the invariant that sparse holds no index the dense part covers.
            while !self.sparse.is_empty()
                && let Some(next) = self.sparse.remove(&(self.dense.len() as u64))
            {
                self.push_dense(next);
            }
            return false;
        }
        self.sparse.insert(index, value).is_some()
    }
}

/// A [`Value`] in one word: a 3-bit tag above a 61-bit payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Packed(u64);

const TAG_SHIFT: u32 = 61;
const PAYLOAD: u64 = (1 << TAG_SHIFT) - 1;

/// The tag of a value kept in `Memo::wide`, above every tag of [`Value::to_parts`].
const WIDE: u64 = VALUE_TAGS;

impl Packed {
    fn tagged(tag: u64, payload: u64) -> Packed {
        Packed((tag << TAG_SHIFT) | (payload & PAYLOAD))
    }

    fn pack(value: Value, wide: &mut Vec<Value>) -> Packed {
        let (tag, payload) = value.to_parts();
        let fits = match value {
            Value::Int(v) => fits_61_bits(v),
            Value::Float(_) => false,
            _ => payload <= PAYLOAD,
        };
        if fits {
            return Packed::tagged(tag, payload);
        }
        let index = wide.len() as u64;
        wide.push(value);
        Packed::tagged(WIDE, index)
    }

    fn unpack(self, wide: &[Value]) -> Value {
        let payload = self.0 & PAYLOAD;
        match self.0 >> TAG_SHIFT {
            // Only `pack` makes a WIDE, with the index of the value it pushed.
            WIDE => wide
                .get(usize::try_from(payload).unwrap_or(usize::MAX))
                .copied()
                .unwrap_or(Value::None),
            tag => match Value::from_parts(tag, payload) {
                // Sign-extend the 61-bit payload.
                Value::Int(_) => Value::Int(((payload << 3) as i64) >> 3),
                other => other,
            },
        }
    }
}

fn fits_61_bits(v: i64) -> bool {
    let limit = 1i64 << (TAG_SHIFT - 1);
    (-limit..limit).contains(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::graph::tests::{same, value};
    use proptest::prelude::*;

    #[test]
    fn edges_of_the_payload_round_trip() {
        let limit = 1i64 << 60;
        let mut wide = Vec::new();
        for v in [
            Value::Int(limit - 1),
            Value::Int(-limit),
            Value::Int(limit),
            Value::Int(-limit - 1),
            Value::Int(i64::MIN),
            Value::Int(-1),
            Value::Str(PAYLOAD),
            Value::Str(PAYLOAD + 1),
            Value::Node(u32::MAX),
        ] {
            let packed = Packed::pack(v, &mut wide);
            assert_eq!(packed.unpack(&wide), v, "{v:?}");
        }
        // Four did not fit: 2^60, -2^60 - 1, i64::MIN and an offset of 2^61.
        assert_eq!(wide.len(), 4);
    }

    #[test]
    fn a_vocabulary_costs_eight_bytes_a_string() {
        let mut memo = Memo::default();
        for offset in 0..1000 {
            memo.memoize(Value::Str(offset * 10));
        }
        assert!(memo.wide.is_empty());
        assert_eq!(std::mem::size_of::<Packed>(), 8);
        assert_eq!(memo.get(999), Some(Value::Str(9990)));
    }

    proptest! {
        #[test]
        fn every_value_round_trips(values in proptest::collection::vec(value(), 0..64)) {
            let mut memo = Memo::default();
            for &v in &values {
                memo.memoize(v);
            }
            for (i, &v) in values.iter().enumerate() {
                let got = memo.get(i as u64);
                prop_assert!(got.is_some_and(|g| same(g, v)), "{:?} came back as {:?}", v, got);
            }
        }

        #[test]
        fn puts_in_any_order_read_back(puts in proptest::collection::vec((0u64..40, value()), 0..80)) {
            let mut memo = Memo::default();
            let mut model: HashMap<u64, Value> = HashMap::new();
            for &(index, v) in &puts {
                let overwrote = memo.put(index, v);
                prop_assert_eq!(overwrote, model.insert(index, v).is_some());
            }
            for index in 0..40 {
                let got = memo.get(index);
                let want = model.get(&index).copied();
                prop_assert_eq!(got.is_some(), want.is_some());
                if let (Some(g), Some(w)) = (got, want) {
                    prop_assert!(same(g, w), "slot {}: {:?} came back as {:?}", index, w, g);
                }
            }
        }
    }
}
