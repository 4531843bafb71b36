//! Finds the line of a dotted path (`apps.backend.stages.staging.tags[1]`) in the parsed
//! YAML tree, so that a validation error (found on the deserialized model, which keeps no
//! positions) names the line to fix. When a segment is not in the tree, the line of the
//! deepest segment that is, is returned.

use crate::yaml::{Kind, Node};

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// 1-based line of `path` in `tree`: a key's line, or an item's; else its deepest located
/// ancestor's. `None` when not even the first segment is there.
pub(super) fn line_of_path(tree: &Node, path: &str) -> Option<usize> {
    let mut node = tree;
    let mut line = None;
    for segment in segments(path) {
        let found = match (segment, &node.kind) {
            (Segment::Key(key), Kind::Map(entries)) => entries
                .iter()
                .find(|entry| entry.key == key)
                .map(|entry| (entry.key_line, &entry.value)),
            (Segment::Index(index), Kind::Seq(items)) => {
                items.get(index).map(|item| (item.line, item))
            }
            _ => None,
        };
        let Some((found_line, child)) = found else {
            break;
        };
        line = Some(found_line);
        node = child;
    }
    line
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut segments = Vec::new();
    for piece in path.split('.') {
        let (key, indices) = piece.split_once('[').unwrap_or((piece, ""));
        if !key.is_empty() {
            segments.push(Segment::Key(key));
        }
        for index in indices.split('[') {
            if let Ok(index) = index.trim_end_matches(']').parse() {
                segments.push(Segment::Index(index));
            }
        }
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::line_of_path;
    use crate::yaml::parse_tree;

    const YAML: &str = "\
# comment
apps:
  backend:
    repository: backend
    stages:
      staging:
        cluster: demo
        tags:
        - develop-*
        - \"[\"
      production:
        tags: [\"v*\", \"[\"]
        environment:
          A: b
";

    fn line(path: &str) -> Option<usize> {
        let tree = parse_tree(YAML).expect("valid").expect("a document");
        line_of_path(&tree, path)
    }

    #[test]
    fn finds_keys_items_and_flow_values() {
        assert_eq!(line("apps"), Some(2));
        assert_eq!(line("apps.backend.repository"), Some(4));
        assert_eq!(line("apps.backend.stages.staging.tags[1]"), Some(10));
        assert_eq!(line("apps.backend.stages.production.tags[1]"), Some(12));
        assert_eq!(
            line("apps.backend.stages.production.environment.A"),
            Some(14)
        );
    }

    #[test]
    fn falls_back_to_the_deepest_found_ancestor() {
        assert_eq!(line("apps.backend.stages.staging.service"), Some(6));
        assert_eq!(line("apps.frontend"), Some(2));
        assert_eq!(line("nothing"), None);
        assert_eq!(parse_tree("# only a comment\n").expect("valid"), None);
    }
}
