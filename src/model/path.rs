//! Raw object paths (`steps[0][1].n_jobs`) stored as a parent-pointer tree, so that a
//! walk over millions of values does not copy a path per value.

use crate::pickle::{Graph, Value};

pub type PathId = u32;

#[derive(Clone, Copy, Debug)]
pub enum Segment {
    /// `.name`: a key of an object's state dict.
    Attr(Value),
    /// `['key']` or `[key]`: a dict key or an object's SETITEMS key.
    Key(Value),
    /// `[i]`: a list or tuple position.
    Index(u32),
    /// A step into data outside the object graph: joblib's nested stream, a blob.
    Label(&'static str),
}

#[derive(Default)]
pub struct Paths {
    nodes: Vec<(Option<PathId>, Segment)>,
}

impl Paths {
    /// The empty path (the root object).
    pub const ROOT: Option<PathId> = None;

    pub fn push(&mut self, parent: Option<PathId>, segment: Segment) -> PathId {
        self.nodes.push((parent, segment));
        (self.nodes.len() - 1) as PathId
    }

    /// Renders a path: attributes joined by dots, indices and keys in brackets.
    pub fn render(&self, graph: &Graph<'_>, id: Option<PathId>) -> String {
        let mut segments = Vec::new();
        let mut cursor = id;
        while let Some(i) = cursor {
            let (parent, segment) = self.nodes[i as usize];
            segments.push(segment);
            cursor = parent;
        }
        let mut out = String::new();
        for segment in segments.iter().rev() {
            match *segment {
                Segment::Attr(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&key_text(graph, key));
                }
                Segment::Key(key) => {
                    out.push('[');
                    match graph.text(key) {
                        Some(text) => out.push_str(&format!("'{text}'")),
                        None => out.push_str(&key_text(graph, key)),
                    }
                    out.push(']');
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
                Segment::Label(label) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(label);
                }
            }
        }
        out
    }
}

/// A key as text: the string itself, or a short description of a non-string key.
pub fn key_text(graph: &Graph<'_>, key: Value) -> String {
    match graph.text(key) {
        Some(text) => text.into_owned(),
        None => match key {
            Value::None => "None".into(),
            Value::Bool(b) => if b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(_) => "<str>".into(),
            Value::Bytes(_) => "<bytes>".into(),
            Value::Node(id) => format!("<{}>", graph.node(id).kind_name()),
        },
    }
}
