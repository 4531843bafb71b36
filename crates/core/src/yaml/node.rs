//! YAML text to a tree of nodes that remember their lines.
//!
//! Built from saphyr-parser's event stream without recursion (a deeply nested input cannot
//! exhaust the stack), refusing what a stevedore.yaml cannot mean: a key given twice in one
//! mapping, a key that is not text, a tag, an alias to an unknown anchor, several documents.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::YamlError;

/// Deeper than any stevedore.yaml; bounds the tree's depth (and so its drop's recursion).
const MAX_DEPTH: usize = 64;
/// Aliases copy their anchor's nodes; this bounds the copies (the "billion laughs").
const MAX_NODES: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// 1-based line where the node starts.
    pub line: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `plain` is false for quoted and block scalars, which are always text.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_line: usize,
    pub value: Node,
}

/// A collection being built: its line, anchor id (0 when none) and content so far.
enum Frame {
    Seq {
        line: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<Entry>,
        /// Key → line of its first occurrence.
        seen: HashMap<String, usize>,
        /// The key whose value comes next.
        pending: Option<(String, usize)>,
    },
}

struct Builder {
    stack: Vec<Frame>,
    /// Anchor id → the node and how many nodes it holds.
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    root: Option<Node>,
}

/// Parses one YAML document. `None` when the text holds no document (empty or comments).
pub(crate) fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
    };
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|error| YamlError {
            line: Some(error.marker().line()),
            path: None,
            message: error.info().to_string(),
        })?;
        let line = span.start.line();
        let is_seq = matches!(event, Event::SequenceStart(..));
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError::at_line(
                        line,
                        "holds more than one YAML document; keep one (no second `---`)",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                reject_tag(tag.is_some(), span)?;
                let node = Node {
                    line,
                    kind: Kind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                };
                builder.complete(node, anchor, 1)?;
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                reject_tag(tag.is_some(), span)?;
                if builder.stack.len() >= MAX_DEPTH {
                    return Err(YamlError::at_line(
                        line,
                        format!("nests deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let frame = if is_seq {
                    Frame::Seq {
                        line,
                        anchor,
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        line,
                        anchor,
                        entries: Vec::new(),
                        seen: HashMap::new(),
                        pending: None,
                    }
                };
                builder.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close()?,
            Event::Alias(anchor) => {
                let Some((node, size)) = builder.anchors.get(&anchor).cloned() else {
                    return Err(YamlError::at_line(
                        line,
                        "alias to an anchor that is not defined before it",
                    ));
                };
                builder.complete(node, 0, size)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
    Ok(builder.root)
}

fn reject_tag(tagged: bool, span: Span) -> Result<(), YamlError> {
    if tagged {
        return Err(YamlError::at_line(
            span.start.line(),
            "YAML tags (`!…`) are not supported in stevedore.yaml; quote the value instead",
        ));
    }
    Ok(())
}

impl Builder {
    /// Ends the innermost collection and hands it to its parent.
    fn close(&mut self) -> Result<(), YamlError> {
        let (node, anchor) = match self.stack.pop() {
            Some(Frame::Seq {
                line,
                anchor,
                items,
            }) => (
                Node {
                    line,
                    kind: Kind::Seq(items),
                },
                anchor,
            ),
            Some(Frame::Map {
                line,
                anchor,
                entries,
                ..
            }) => (
                Node {
                    line,
                    kind: Kind::Map(entries),
                },
                anchor,
            ),
            // The parser never ends a collection it did not start.
            None => return Ok(()),
        };
        // Its children were counted as they completed.
        self.complete(node, anchor, 1)
    }

    /// Adds a finished node to its parent (an item, a key, or a value); `added` is how many
    /// nodes it brings that were not counted yet.
    fn complete(&mut self, node: Node, anchor: usize, added: usize) -> Result<(), YamlError> {
        self.nodes += added;
        if self.nodes > MAX_NODES {
            return Err(YamlError::at_line(
                node.line,
                format!("expands to more than {MAX_NODES} values (anchors and aliases)"),
            ));
        }
        if anchor != 0 {
            let size = 1 + count_nodes(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let Some(frame) = self.stack.last() else {
            self.root = Some(node);
            return Ok(());
        };
        // A key: check it before the frame is borrowed to add it.
        if let Frame::Map {
            pending: None,
            seen,
            ..
        } = frame
        {
            let Kind::Scalar { text: key, .. } = &node.kind else {
                return Err(YamlError {
                    line: Some(node.line),
                    path: Some(self.path()),
                    message: "a mapping key must be text, not a list or mapping".into(),
                });
            };
            if let Some(first) = seen.get(key) {
                return Err(YamlError {
                    line: Some(node.line),
                    path: Some(join_key(&self.path(), key)),
                    message: format!("duplicate key `{key}` (first at line {first})"),
                });
            }
        }
        match self.stack.last_mut() {
            None => {}
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                seen,
                pending,
                ..
            }) => match (pending.take(), node.kind) {
                (Some((key, key_line)), kind) => entries.push(Entry {
                    key,
                    key_line,
                    value: Node {
                        line: node.line,
                        kind,
                    },
                }),
                (None, Kind::Scalar { text: key, .. }) => {
                    seen.insert(key.clone(), node.line);
                    *pending = Some((key, node.line));
                }
                // Checked above: keys are scalars.
                (None, _) => {}
            },
        }
        Ok(())
    }

    /// The dotted path of the position being filled: `apps.backend.stages`, `tags[1]`.
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => path.push_str(&format!("[{}]", items.len())),
                Frame::Map {
                    pending: Some((key, _)),
                    ..
                } => path = join_key(&path, key),
                Frame::Map { pending: None, .. } => {}
            }
        }
        path
    }
}

pub(crate) fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Nodes below `node` (not counting itself), without recursion.
fn count_nodes(node: &Node) -> usize {
    let mut count = 0;
    let mut pending = vec![node];
    while let Some(node) = pending.pop() {
        match &node.kind {
            Kind::Scalar { .. } => {}
            Kind::Seq(items) => {
                count += items.len();
                pending.extend(items);
            }
            Kind::Map(entries) => {
                count += entries.len() * 2;
                pending.extend(entries.iter().map(|entry| &entry.value));
            }
        }
    }
    count
}
