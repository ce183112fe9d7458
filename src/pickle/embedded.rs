//! Pickle streams hidden inside bytes values: another loader (or code in the model) may
//! unpickle them, and scanners that do not look inside bytes miss them.

use super::error::PickleError;
use super::graph::{Graph, Node, Span, Value};
use super::machine::{Quiet, Reading, parse_reading};

/// How deep pickles inside bytes inside pickles are followed.
const MAX_DEPTH: usize = 4;

/// A pickle stream found inside a bytes value.
#[derive(Debug)]
pub struct Embedded<'a> {
    /// The bytes value's payload, in the outer data.
    pub span: Span,
    /// What `pickle.loads` of those bytes builds, up to where it would stop.
    pub graph: Graph<'a>,
    /// Where `pickle.loads` would fail, if it would (what ran before still ran).
    pub error: Option<PickleError>,
    /// How many bytes values deep it lies (1: directly in the file's stream).
    pub depth: usize,
}

/// Every bytes value (kept in the graph or popped) that `pickle.loads` would read as a
/// stream that does something: a complete protocol 2-5 stream, or a stream of any
/// protocol whose executable prefix calls a global or an extension (a payload must call
/// something to run; array bytes that happen to begin with an opcode or two, as one
/// float array in a few thousand does, call nothing). Streams inside those are followed.
pub fn find<'a>(graph: &Graph<'a>) -> Vec<Embedded<'a>> {
    let mut found = Vec::new();
    collect(graph, 0, 1, &mut found);
    found
}

fn collect<'a>(graph: &Graph<'a>, base: u64, depth: usize, found: &mut Vec<Embedded<'a>>) {
    if depth > MAX_DEPTH {
        return;
    }
    for &offset in &graph.bytes_ops {
        // The payload as it lies in the file (never STRING's escaped text).
        let Some((_, Some(span))) = graph.bytes_like_len(Value::Bytes(offset)) else {
            continue;
        };
        // Not fetched whole: the lexer fetched the payload's head, and the nested parse
        // fetches what it reads (an array's buffer stops it within a few bytes).
        let bytes = graph.bytes_unfetched(span);
        if bytes.is_empty() || super::Opcode::from_byte(bytes[0]).is_none() {
            continue;
        }
        let parsed = parse_reading(bytes, &mut Quiet, Reading::PickleLoad);
        let complete = parsed.error.is_none() && looks_like_pickle(bytes);
        let g = &parsed.graph;
        let calls = g.ids().any(|id| match g.node(id) {
            Node::Object(obj) => matches!(
                g.get(obj.callable),
                Some(Node::Global(_) | Node::Extension(_))
            ),
            _ => false,
        });
        if !(complete || calls) {
            continue;
        }
        let span = Span {
            offset: base + span.offset,
            len: span.len,
        };
        let mut inner = Vec::new();
        collect(&parsed.graph, span.offset, depth + 1, &mut inner);
        found.push(Embedded {
            span,
            graph: parsed.graph,
            error: parsed.error,
            depth,
        });
        found.extend(inner);
    }
}

/// PROTO 2-5 followed by an opcode.
fn looks_like_pickle(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::parse;

    #[test]
    fn finds_a_pickle_in_bytes_but_not_lookalikes() {
        // [b'\x80\x04N.' (a pickle of None), b'\x80\x04 not a pickle']
        // The first is popped at once: it must be found all the same.
        let mut data =
            b"\x80\x04(C\x04\x80\x04N.0C\x04\x80\x04N.C\x0e\x80\x04not a pickle".to_vec();
        data.extend_from_slice(b"l.");
        let graph = parse(&data, &mut Quiet).unwrap();
        let found: Vec<Span> = find(&graph).into_iter().map(|e| e.span).collect();
        assert_eq!(
            found,
            vec![Span { offset: 5, len: 4 }, Span { offset: 12, len: 4 }]
        );
    }

    #[test]
    fn protocol_0_payloads_without_stop_are_found() {
        // b"cos\nsystem\n(S'id'\ntR" (no STOP: it has run before loads fails) in BINBYTES.
        let payload = b"cos\nsystem\n(S'id'\ntR";
        let mut data = vec![0x80, 0x04, b'C', payload.len() as u8];
        data.extend_from_slice(payload);
        data.push(b'.');
        let graph = parse(&data, &mut Quiet).unwrap();
        let found = find(&graph);
        assert_eq!(found.len(), 1);
        assert!(found[0].error.is_some());
        let g = &found[0].graph;
        assert!(
            g.ids()
                .any(|id| g.global(Value::Node(id)) == Some(("os", "system")))
        );
    }
}
