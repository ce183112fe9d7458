//! Property tests: the reader never panics, whatever the bytes, and every error points
//! inside the data. Mutated real artifacts reach much deeper into the machine than
//! random bytes do.

mod common;

use artifact::model::ModelView;
use artifact::pickle::{Quiet, parse};
use proptest::prelude::*;

/// A visitor that wants every opcode, so the machine takes its general path only.
struct EveryOp(u64);
impl artifact::pickle::Visitor for EveryOp {
    fn op(&mut self, _: usize, _: bool, _: &artifact::pickle::Op<'_>) {
        self.0 += 1;
    }
}

fn check(data: &[u8]) {
    // The fast path (Quiet) and the general path build the same graph, or fail alike.
    let fast = parse(data, &mut Quiet);
    let general = parse(data, &mut EveryOp(0));
    // Compared through Debug: a mutated BINFLOAT may be NaN, which is not equal to itself.
    let (a, b) = (format!("{fast:?}"), format!("{general:?}"));
    if a != b {
        let at = a
            .bytes()
            .zip(b.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        let from = at.saturating_sub(200);
        panic!(
            "fast and general paths disagree:\n{}\n---\n{}",
            &a[from..(at + 200).min(a.len())],
            &b[from..(at + 200).min(b.len())]
        );
    }
    match fast {
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

#[test]
fn fast_and_general_paths_agree_on_every_fixture() {
    for entry in common::manifest() {
        let path = common::fixture(entry["file"].as_str().unwrap());
        let artifact = artifact::container::open(&path, &mut |_| {}).unwrap();
        check(artifact.bytes());
    }
}
