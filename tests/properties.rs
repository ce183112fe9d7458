//! Property tests: the reader never panics, whatever the bytes, and every error points
//! inside the data. Mutated real artifacts reach much deeper into the machine than
//! random bytes do.

mod common;

use artifact::model::ModelView;
use artifact::pickle::{Quiet, parse};
use proptest::prelude::*;

fn check(data: &[u8]) {
    match parse(data, &mut Quiet) {
        Ok(graph) => {
            // The model view must cope with whatever graph a valid stream builds.
            let _ = ModelView::build(&graph);
        }
        Err(e) => assert!(
            e.offset <= data.len() as u64,
            "offset {} past {}",
            e.offset,
            data.len()
        ),
    }
}

fn fixtures() -> Vec<Vec<u8>> {
    [
        "kmeans.p5.pkl",
        "ct_logreg.p0.pkl",
        "ct_logreg.p2.pkl",
        "ct_logreg.joblib",
        "lgbm.joblib",
        "credit_ct_xgb.p5.pkl",
    ]
    .iter()
    .map(|n| std::fs::read(common::fixture(n)).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&data);
    }

    #[test]
    fn random_opcode_soup_never_panics(
        ops in proptest::collection::vec(
            prop::sample::select(b"()]}.NKJMhqjrg\x94\x93\x81RbsuaeltIFSV\x85\x86\x87\x88\x89\x8c\x95\x960".to_vec()),
            0..256,
        ),
        tail in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut data = b"\x80\x04".to_vec();
        data.extend(ops);
        data.extend(tail);
        check(&data);
    }

    #[test]
    fn mutated_artifacts_never_panic(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut data = fixtures()[which].clone();
        for (index, byte) in edits {
            let i = index.index(data.len());
            data[i] = byte;
        }
        check(&data);
    }
}
