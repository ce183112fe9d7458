//! Complete pickle streams hidden inside bytes values: another loader (or code in the
//! model) may unpickle them, and scanners that do not look inside bytes miss them.

use super::graph::{Graph, Span, Value};
use super::machine::{Quiet, parse};

/// Every bytes value (kept in the graph or popped) that holds a complete protocol 2-5
/// pickle stream, with the graph that stream builds.
pub fn find<'a>(graph: &Graph<'a>) -> Vec<(Span, Graph<'a>)> {
    graph
        .bytes_ops
        .iter()
        .filter_map(|&offset| {
            // The payload as it lies in the file (never STRING's escaped text).
            let (_, span) = graph.bytes_like_len(Value::Bytes(offset))?;
            let span = span?;
            let bytes = graph.bytes(span);
            if !looks_like_pickle(bytes) {
                return None;
            }
            parse(bytes, &mut Quiet).ok().map(|inner| (span, inner))
        })
        .collect()
}

/// PROTO 2-5 followed by an opcode: cheap enough to test every bytes value.
fn looks_like_pickle(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_pickle_in_bytes_but_not_lookalikes() {
        // [b'\x80\x04N.' (a pickle of None), b'\x80\x04 not a pickle']
        // The first is popped at once: it must be found all the same.
        let mut data =
            b"\x80\x04(C\x04\x80\x04N.0C\x04\x80\x04N.C\x0e\x80\x04not a pickle".to_vec();
        data.extend_from_slice(b"l.");
        let graph = parse(&data, &mut Quiet).unwrap();
        let found: Vec<Span> = find(&graph).into_iter().map(|(span, _)| span).collect();
        assert_eq!(
            found,
            vec![Span { offset: 5, len: 4 }, Span { offset: 12, len: 4 }]
        );
    }
}
