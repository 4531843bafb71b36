//! Writes a serializable value as block-style YAML, every string double-quoted and escaped,
//! so the config target can round-trip generated configs through parse_file (the main
//! workspace only reads YAML; it has no emitter).

use serde::Serialize;
use serde_json::Value;

/// YAML limits an implicit key to 1024 characters
/// (<https://yaml.org/spec/1.2.2/#example-invalid-implicit-keys>); longer ones are written
/// as explicit `? key` entries. Kept well below the limit.
const MAX_SIMPLE_KEY: usize = 512;

/// `value` as a YAML document.
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    let value = serde_json::to_value(value).expect("serializes to a JSON value");
    let mut out = String::new();
    match &value {
        Value::Object(map) if !map.is_empty() => write_block(&mut out, &value, 0),
        Value::Array(items) if !items.is_empty() => write_block(&mut out, &value, 0),
        _ => {
            out.push_str(&inline(&value));
            out.push('\n');
        }
    }
    out
}

/// A non-empty mapping or sequence, one entry per line at `indent`.
fn write_block(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    let nested = |out: &mut String, head: String, child: &Value| match child {
        Value::Object(map) if !map.is_empty() => {
            out.push_str(&format!("{head}\n"));
            write_block(out, child, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(&format!("{head}\n"));
            write_block(out, child, indent + 2);
        }
        _ => out.push_str(&format!("{head} {}\n", inline(child))),
    };
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let key = quoted(key);
                if key.chars().count() > MAX_SIMPLE_KEY {
                    out.push_str(&format!("{pad}? {key}\n"));
                    nested(out, format!("{pad}:"), child);
                } else {
                    nested(out, format!("{pad}{key}:"), child);
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                nested(out, format!("{pad}-"), child);
            }
        }
        _ => out.push_str(&format!("{pad}{}\n", inline(value))),
    }
}

/// A scalar, or an empty collection, on one line.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "~".into(),
        Value::Bool(value) => value.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => quoted(text),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A double-quoted YAML scalar: printable characters as they are, the rest escaped.
pub fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        let code = u32::from(c);
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ if code >= 0xA0 && c != '\u{feff}' && !(0xFFFE..=0xFFFF).contains(&code) => {
                out.push(c)
            }
            _ if code < 0x100 => out.push_str(&format!("\\x{code:02X}")),
            _ if code < 0x10000 => out.push_str(&format!("\\u{code:04X}")),
            _ => out.push_str(&format!("\\U{code:08X}")),
        }
    }
    out.push('"');
    out
}
