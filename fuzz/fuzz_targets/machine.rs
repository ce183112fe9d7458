//! The machine (joblib arrays included), both loaders' readings, the load facts and the
//! model view over arbitrary bytes: never a panic; the fast path and the general path
//! build the same graph.
#![no_main]

use artifact::model::{ModelView, load_facts};
use artifact::pickle::{Op, Quiet, Reading, Visitor, parse, parse_reading};
use libfuzzer_sys::fuzz_target;

struct EveryOp;
impl Visitor for EveryOp {
    fn op(&mut self, _: usize, _: bool, _: &Op<'_>) {}
}

fuzz_target!(|data: &[u8]| {
    let fast = parse(data, &mut Quiet);
    let general = parse(data, &mut EveryOp);
    assert_eq!(format!("{fast:?}"), format!("{general:?}"));
    if let Ok(graph) = fast {
        let _ = ModelView::build(&graph);
        let _ = artifact::pickle::embedded::find(&graph);
    }
    for reading in [Reading::PickleLoad, Reading::JoblibLoad] {
        let parsed = parse_reading(data, &mut Quiet, reading);
        let _ = load_facts(&parsed.graph);
    }
});
