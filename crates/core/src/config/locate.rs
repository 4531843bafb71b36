//! Finds the line of a dotted path (`apps.backend.stages.staging.tags[1]`) in YAML text.
//!
//! serde_yaml keeps no positions once a value is deserialized, so validation errors would
//! otherwise have no line. This is a best-effort indentation walk over block-style YAML
//! (what people write in a stevedore.yaml); when a segment cannot be found, the line of the
//! deepest segment that was found is returned.

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// 1-based line of `path` in `yaml`, or of its deepest located ancestor.
pub(super) fn line_of_path(yaml: &str, path: &str) -> Option<usize> {
    let lines: Vec<(usize, &str)> = yaml
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let content = line.trim_start();
            !content.is_empty() && !content.starts_with('#') && !content.starts_with("---")
        })
        .collect();
    // Index into `lines` of the deepest located segment, and its indentation.
    let mut found: Option<usize> = None;
    let mut parent_indent: isize = -1;
    for segment in segments(path) {
        if let Some(at) = found {
            if holds_flow_collection(lines[at].1) {
                // `tags: ["a", "b"]` or `environment: {A: b}`: everything below is on this line.
                break;
            }
        }
        let start = found.map_or(0, |at| at + 1);
        let hit = match segment {
            Segment::Key(key) => find_key(&lines[start..], parent_indent, key),
            Segment::Index(index) => find_item(&lines[start..], parent_indent, index),
        };
        let Some(offset) = hit else {
            break;
        };
        let at = start + offset;
        found = Some(at);
        parent_indent = indent_of(lines[at].1) as isize;
    }
    found.map(|at| lines[at].0 + 1)
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

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Position in `lines` of the direct child key `key` of a mapping indented `parent_indent`.
fn find_key(lines: &[(usize, &str)], parent_indent: isize, key: &str) -> Option<usize> {
    let child_indent = lines.first().map(|(_, line)| indent_of(line))?;
    for (position, (_, line)) in lines.iter().enumerate() {
        let indent = indent_of(line);
        if indent as isize <= parent_indent {
            return None;
        }
        if indent == child_indent && starts_with_key(line.trim_start(), key) {
            return Some(position);
        }
    }
    None
}

/// Position in `lines` of item `index` of a block sequence under a key indented `parent_indent`.
fn find_item(lines: &[(usize, &str)], parent_indent: isize, index: usize) -> Option<usize> {
    let item_indent = lines.first().map(|(_, line)| indent_of(line))?;
    // YAML allows a sequence's dashes at the same indentation as its key.
    if (item_indent as isize) < parent_indent {
        return None;
    }
    lines
        .iter()
        .enumerate()
        .take_while(|(_, (_, line))| {
            let indent = indent_of(line) as isize;
            indent > parent_indent
                || (indent == parent_indent && line.trim_start().starts_with('-'))
        })
        .filter(|(_, (_, line))| {
            indent_of(line) == item_indent && line.trim_start().starts_with('-')
        })
        .nth(index)
        .map(|(position, _)| position)
}

fn starts_with_key(content: &str, key: &str) -> bool {
    let unquoted = [content.strip_prefix(key)];
    let quoted = ['"', '\''].map(|quote| {
        content
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_prefix(key))
            .and_then(|rest| rest.strip_prefix(quote))
    });
    unquoted.into_iter().chain(quoted).flatten().any(|rest| {
        rest.strip_prefix(':')
            .is_some_and(|value| value.is_empty() || value.starts_with(char::is_whitespace))
    })
}

/// Whether the line's value is a flow sequence or mapping (`key: [..]`, `key: {..}`).
fn holds_flow_collection(line: &str) -> bool {
    line.split_once(": ").is_some_and(|(_, value)| {
        let value = value.trim_start();
        value.starts_with('[') || value.starts_with('{')
    })
}

#[cfg(test)]
mod tests {
    use super::line_of_path;

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

    #[test]
    fn finds_keys_items_and_flow_values() {
        assert_eq!(line_of_path(YAML, "apps"), Some(2));
        assert_eq!(line_of_path(YAML, "apps.backend.repository"), Some(4));
        assert_eq!(
            line_of_path(YAML, "apps.backend.stages.staging.tags[1]"),
            Some(10)
        );
        assert_eq!(
            line_of_path(YAML, "apps.backend.stages.production.tags[1]"),
            Some(12)
        );
        assert_eq!(
            line_of_path(YAML, "apps.backend.stages.production.environment.A"),
            Some(14)
        );
    }

    #[test]
    fn falls_back_to_the_deepest_found_ancestor() {
        assert_eq!(
            line_of_path(YAML, "apps.backend.stages.staging.service"),
            Some(6)
        );
        assert_eq!(line_of_path(YAML, "apps.frontend"), Some(2));
        assert_eq!(line_of_path(YAML, "nothing"), None);
        assert_eq!(line_of_path("", "apps"), None);
    }
}
