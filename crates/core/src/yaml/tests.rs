use std::collections::BTreeMap;

use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Doc {
    name: String,
    #[serde(default)]
    count: u32,
    #[serde(default)]
    items: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    maybe: Option<u16>,
    #[serde(default)]
    kind: Option<Kind2>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Kind2 {
    Plain,
    BlueGreen,
}

fn read(yaml: &str) -> Result<Doc, YamlError> {
    from_str::<Doc>(yaml).map(|(doc, _)| doc)
}

/// (line, path, message) of the error.
fn error(yaml: &str) -> (Option<usize>, String, String) {
    let error = read(yaml).expect_err("should be refused");
    (error.line, error.path.unwrap_or_default(), error.message)
}

#[test]
fn reads_block_and_flow_values() {
    let doc = read("name: web\ncount: 3\nitems: [a, \"b\"]\nenv: {A: '1', B: 2024}\nmaybe: 7\nkind: blue_green\n")
        .expect("valid");
    assert_eq!(doc.name, "web");
    assert_eq!(doc.count, 3);
    assert_eq!(doc.items, ["a", "b"]);
    // A plain number read into text keeps the digits it was written with.
    assert_eq!(doc.env["B"], "2024");
    assert_eq!(doc.maybe, Some(7));
    assert_eq!(doc.kind, Some(Kind2::BlueGreen));
    let doc = read("name: web\nitems:\nenv:\nmaybe: ~\n").expect("empty values");
    assert!(doc.items.is_empty() && doc.env.is_empty() && doc.maybe.is_none());
    let doc = read("---\nname: x\nkind: plain\n...\n").expect("explicit document");
    assert_eq!(doc.kind, Some(Kind2::Plain));
}

#[test]
fn duplicate_keys_name_both_lines_and_the_path() {
    assert_eq!(
        error("name: a\ncount: 1\nname: b\n"),
        (
            Some(3),
            "name".into(),
            "duplicate key `name` (first at line 1)".into()
        )
    );
    assert_eq!(
        error("name: a\nenv:\n  A: x\n  B: y\n  A: z\n"),
        (
            Some(5),
            "env.A".into(),
            "duplicate key `A` (first at line 3)".into()
        )
    );
    // Quoting does not make another key: both are the text `A`.
    let (line, path, _) = error("name: a\nenv: {A: x, \"A\": y}\n");
    assert_eq!((line, path.as_str()), (Some(2), "env.A"));
    // Inside a sequence item.
    let (line, path, message) = error("name: a\nitems:\n- {k: 1, k: 2}\n");
    assert_eq!((line, path.as_str()), (Some(3), "items[0].k"), "{message}");
}

#[test]
fn type_errors_are_placed_at_the_value() {
    let (line, path, message) = error("name: a\ncount: soon\n");
    assert_eq!((line, path.as_str()), (Some(2), "count"));
    assert_eq!(message, "invalid type: string \"soon\", expected u32");
    let (line, path, message) = error("name: a\ncount: \"3\"\n");
    assert_eq!((line, path.as_str()), (Some(2), "count"), "{message}");
    let (_, _, message) = error("name: a\ncount: -1\n");
    assert!(
        message.starts_with("invalid value: integer `-1`"),
        "{message}"
    );
    let (line, path, message) = error("name: a\nitems:\n- ok\n- [nested]\n");
    assert_eq!((line, path.as_str()), (Some(4), "items[1]"), "{message}");
    let (line, path, message) = error("name: a\nenv:\n  A: {x: 1}\n");
    assert_eq!((line, path.as_str()), (Some(3), "env.A"), "{message}");
    let (line, path, message) = error("name: ~\n");
    assert_eq!((line, path.as_str()), (Some(1), "name"));
    assert_eq!(message, "invalid type: null, expected a string");
    let (_, path, message) = error("name: a\nkind: canary\n");
    assert_eq!(path, "kind");
    assert!(message.starts_with("unknown variant `canary`"), "{message}");
}

#[test]
fn unknown_and_missing_fields_are_placed_at_the_mapping() {
    let (line, path, message) = error("name: a\nitems: []\ncolour: red\n");
    assert_eq!((line, path.as_str()), (Some(3), ""));
    assert!(message.starts_with("unknown field `colour`"), "{message}");
    let (line, path, message) = error("count: 1\n");
    assert_eq!((line, path.as_str()), (Some(1), ""));
    assert_eq!(message, "missing field `name`");
    let (_, _, message) = error("");
    assert_eq!(message, "missing field `name`");
    let (_, _, message) = error("# nothing\n");
    assert_eq!(message, "missing field `name`");
}

#[test]
fn syntax_errors_carry_the_parser_line() {
    let (line, path, message) = error("name: a\nitems: [unclosed\ncount: 1\n");
    assert!(line.is_some_and(|line| line >= 2), "{line:?} {message}");
    assert_eq!(path, "");
    assert!(!message.is_empty());
}

#[test]
fn anchors_and_aliases_are_copies() {
    let doc = read("name: &n web\nitems: [*n, *n]\n").expect("aliases");
    assert_eq!(doc.items, ["web", "web"]);
    let (line, _, message) = error("name: a\nitems: [*missing]\n");
    assert_eq!(line, Some(2));
    assert!(message.contains("anchor"), "{message}");
}

#[test]
fn alias_expansion_is_bounded() {
    // Each level holds ten aliases of the one before: 10^9 strings once expanded.
    let mut yaml = String::from("name: a\nenv:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..9 {
        let previous = format!("*l{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        yaml.push_str(&format!("  l{level}: &l{level} [{items}]\n"));
    }
    let (_, _, message) = error(&yaml);
    assert!(message.starts_with("expands to more than"), "{message}");
}

#[test]
fn depth_tags_documents_and_complex_keys_are_refused() {
    let deep = format!("name: a\nitems: {}{}\n", "[".repeat(200), "]".repeat(200));
    let (_, _, message) = error(&deep);
    assert!(message.starts_with("nests deeper than"), "{message}");
    let (line, _, message) = error("name: !!str a\n");
    assert_eq!(line, Some(1));
    assert!(message.contains("tags"), "{message}");
    let (line, _, message) = error("name: a\n---\nname: b\n");
    assert_eq!(line, Some(2));
    assert!(message.contains("more than one YAML document"), "{message}");
    let (_, _, message) = error("name: a\n? [x]\n: y\n");
    assert!(message.contains("key must be text"), "{message}");
}

#[test]
fn double_quoted_escapes_decode() {
    // What the fuzz targets' emitter writes for unprintable characters.
    let doc = read("name: \"a\\x00b\\u00E9\\U0001F6A2\\\"\\\\ \\uFEFF\\t\"\n").expect("escapes");
    assert_eq!(doc.name, "a\u{0}bé🚢\"\\ \u{feff}\t");
}

#[test]
fn long_keys_are_written_as_explicit_keys() {
    // YAML caps an implicit key at 1024 characters; `? key` has no cap.
    let long = "K".repeat(2000);
    let doc = read(&format!("name: a\nenv:\n  ? \"{long}\"\n  : x\n")).expect("explicit key");
    assert_eq!(doc.env[&long], "x");
    let (line, _, _) = error(&format!("name: a\nenv:\n  \"{long}\": x\n"));
    assert!(line.is_some());
}
