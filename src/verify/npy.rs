//! Reading the `.npy` files the harness writes: a hash over dtype, shape and bytes, and,
//! when two outputs differ, how many rows differ and by how much.

use sha2::{Digest, Sha256};

#[derive(Debug, PartialEq)]
pub struct Array {
    /// numpy's dtype string (`<f8`, `<i8`, `|b1`, `<U5`).
    pub descr: String,
    pub shape: Vec<u64>,
    pub data: Vec<u8>,
}

/// Why an output the harness wrote is not an array this reader compares.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
    #[error("not a .npy file numpy would read: {0}")]
    Header(#[from] crate::container::npy::NpyError),
    #[error("Fortran-ordered .npy output")]
    FortranOrder,
}

/// Reads an output with the container layer's exact header reader.
pub fn read(bytes: Vec<u8>) -> Result<Array, NpyError> {
    let header = crate::container::npy::read_header(&bytes)?;
    if header.fortran_order {
        return Err(NpyError::FortranOrder);
    }
    let start = usize::try_from(header.data_offset).unwrap_or(bytes.len());
    let data = bytes.get(start..).unwrap_or_default().to_vec();
    Ok(Array {
        descr: header.descr,
        shape: header.shape,
        data,
    })
}

impl Array {
    /// SHA-256 over dtype, shape and bytes: equal hashes mean identical outputs.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.descr.as_bytes());
        h.update(b"|");
        for d in &self.shape {
            h.update(d.to_le_bytes());
        }
        h.update(b"|");
        h.update(&self.data);
        crate::units::hex(&h.finalize())
    }

    fn rows(&self) -> u64 {
        self.shape.first().copied().unwrap_or(1).max(1)
    }

    fn floats(&self) -> Option<Vec<f64>> {
        match self.descr.as_str() {
            "<f8" => Some(
                self.data
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
            "<f4" => Some(
                self.data
                    .chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// How two outputs of one method differ (as `verify --format json` reports it).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    /// Different dtype or shape: nothing else is comparable.
    pub incompatible: Option<String>,
    pub rows: u64,
    pub rows_differing: u64,
    pub max_abs: Option<f64>,
    pub max_rel: Option<f64>,
    /// Whether all differences are within the tolerance (floats only).
    pub within_tolerance: bool,
}

pub fn compare(a: &Array, b: &Array, tolerance: Option<f64>) -> Difference {
    // Float outputs of different widths (f4 from one library, f8 from another) are still
    // compared value by value; any other dtype or shape change is not comparable.
    let both_float = a.floats().is_some() && b.floats().is_some();
    if a.shape != b.shape || (a.descr != b.descr && !both_float) {
        return Difference {
            incompatible: Some(format!(
                "{} {:?} vs {} {:?}",
                a.descr, a.shape, b.descr, b.shape
            )),
            ..Difference::default()
        };
    }
    let rows = a.rows();
    let row_bytes = (a.data.len() as u64 / rows).max(1) as usize;
    let mut diff = Difference {
        rows,
        ..Difference::default()
    };
    if a.descr != b.descr {
        diff.incompatible = Some(format!("dtype {} vs {}", a.descr, b.descr));
    }
    match (a.floats(), b.floats()) {
        (Some(x), Some(y)) => {
            let per_row = (x.len() as u64 / rows).max(1) as usize;
            let (mut max_abs, mut max_rel) = (0f64, 0f64);
            let mut within = true;
            for (r, (xs, ys)) in x.chunks(per_row).zip(y.chunks(per_row)).enumerate() {
                let mut differs = false;
                for (p, q) in xs.iter().zip(ys) {
                    if p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()) {
                        continue;
                    }
                    differs = true;
                    let abs = (p - q).abs();
                    let rel = abs / p.abs().max(q.abs()).max(f64::MIN_POSITIVE);
                    max_abs = max_abs.max(abs);
                    max_rel = max_rel.max(rel);
                    if tolerance.is_none_or(|t| abs > t && rel > t) {
                        within = false;
                    }
                }
                let _ = r;
                diff.rows_differing += u64::from(differs);
            }
            diff.max_abs = Some(max_abs);
            diff.max_rel = Some(max_rel);
            diff.within_tolerance = tolerance.is_some() && within && a.descr == b.descr;
        }
        _ => {
            // Labels, integers, strings: exact, whatever the tolerance.
            diff.rows_differing = a
                .data
                .chunks(row_bytes)
                .zip(b.data.chunks(row_bytes))
                .filter(|(p, q)| p != q)
                .count() as u64;
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_and_compares() {
        let a = read(npy(
            "<f8",
            "(2, 1)",
            &[1f64.to_le_bytes(), 2f64.to_le_bytes()].concat(),
        ))
        .unwrap();
        let b = read(npy(
            "<f8",
            "(2, 1)",
            &[1f64.to_le_bytes(), 2.5f64.to_le_bytes()].concat(),
        ))
        .unwrap();
        assert_eq!(a.shape, vec![2, 1]);
        assert_ne!(a.sha256(), b.sha256());
        let d = compare(&a, &b, None);
        assert_eq!((d.rows, d.rows_differing), (2, 1));
        assert_eq!(d.max_abs, Some(0.5));
        assert!(!d.within_tolerance);
        assert!(compare(&a, &b, Some(0.6)).within_tolerance);
        let labels = read(npy(
            "<i8",
            "(2,)",
            &[1i64.to_le_bytes(), 2i64.to_le_bytes()].concat(),
        ))
        .unwrap();
        let other = read(npy(
            "<i8",
            "(2,)",
            &[1i64.to_le_bytes(), 3i64.to_le_bytes()].concat(),
        ))
        .unwrap();
        let d = compare(&labels, &other, Some(10.0));
        assert_eq!(d.rows_differing, 1);
        assert!(!d.within_tolerance, "labels never pass on tolerance");
        assert!(compare(&a, &labels, None).incompatible.is_some());
    }
}
