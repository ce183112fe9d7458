//! Patch round trip: parse, edit every setting, write, parse again; the output must
//! parse, keep its memo opcodes, and read the new values back.
#![no_main]

use artifact::model::{Location, ModelView, SettingValue};
use artifact::patch::{self, Edit, Layout, Recorder, Splice};
use artifact::pickle::{Op, Opcode, Visitor, parse};
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Memo(Vec<Opcode>);
impl Visitor for Memo {
    fn op(&mut self, _: usize, _: bool, op: &Op<'_>) {
        if matches!(
            op.code,
            Opcode::Memoize | Opcode::BinPut | Opcode::LongBinPut | Opcode::Put
        ) {
            self.0.push(op.code);
        }
    }
}

/// Applies splices in memory (the file writer does the same with kernel copies).
fn apply(data: &[u8], splices: &[Splice]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for s in splices {
        out.extend_from_slice(&data[at..s.start as usize]);
        for p in &s.pieces {
            match p {
                patch::Piece::Bytes(b) => out.extend_from_slice(b),
                patch::Piece::Copy(a, b) => out.extend_from_slice(&data[*a as usize..*b as usize]),
            }
        }
        at = s.end as usize;
    }
    out.extend_from_slice(&data[at..]);
    out
}

fuzz_target!(|data: &[u8]| {
    let mut recorder = Recorder::default();
    let Ok(graph) = parse(data, &mut recorder) else {
        return;
    };
    let layout: Layout = recorder.0.from_streams(&graph.streams);
    let view = ModelView::build(&graph);
    let edits: Vec<Edit> = view
        .settings
        .iter()
        .filter(|s| matches!(s.location, Location::Attribute | Location::ParamsDict))
        .map(|s| Edit {
            setting: s.clone(),
            new: SettingValue::None,
        })
        .collect();
    let Ok(splices) = patch::splices(data, &layout, &edits) else {
        return;
    };
    let output = apply(data, &splices);
    let mut before = Memo::default();
    let _ = parse(data, &mut before);
    let mut after = Memo::default();
    let reparsed = parse(&output, &mut after).expect("a patched stream parses");
    assert_eq!(before.0, after.0, "memo opcodes changed");
    let view_after = ModelView::build(&reparsed);
    for e in &edits {
        let found = view_after
            .settings
            .iter()
            .find(|s| s.raw_path == e.setting.raw_path && s.name == e.setting.name);
        assert_eq!(
            found.map(|s| &s.value),
            Some(&SettingValue::None),
            "{}",
            e.setting.raw_path
        );
    }
});
