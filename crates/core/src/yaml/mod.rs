//! YAML for stevedore.yaml: parsed by saphyr-parser into a tree of nodes that keep their
//! lines, then deserialized with serde from that tree. Every error carries the line and the
//! dotted path (`apps.backend.stages.staging.tags[1]`) of the value at fault, and a key given
//! twice in one mapping is an error naming both lines (the YAML spec requires unique keys:
//! <https://yaml.org/spec/1.2.2/#mapping>), where a plain serde map would keep the last one.

mod de;
mod node;
mod scalar;

#[cfg(test)]
mod tests;

use serde::de::DeserializeOwned;

#[cfg(test)]
pub(crate) use node::parse as parse_tree;
pub(crate) use node::{Kind, Node};

/// A YAML problem: syntax, a duplicate key, or a value that does not fit the target type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct YamlError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted path of the value at fault; `None` until the deserializer places the error.
    pub path: Option<String>,
    pub message: String,
}

impl YamlError {
    fn at_line(line: usize, message: impl Into<String>) -> Self {
        YamlError {
            line: Some(line),
            path: Some(String::new()),
            message: message.into(),
        }
    }

    /// Places an error raised without a position (serde's own messages) at `path` and `line`;
    /// an error already placed by a deeper value keeps its place.
    fn placed(mut self, path: &str, line: usize) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_string());
            self.line = Some(line);
        }
        self
    }
}

impl serde::de::Error for YamlError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        YamlError {
            line: None,
            path: None,
            message: message.to_string(),
        }
    }
}

/// A parsed YAML document: its tree (for locating paths) and the value read from it.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<(T, Option<Node>), YamlError> {
    let root = node::parse(text)?;
    let empty = Node {
        line: 1,
        kind: Kind::Scalar {
            text: String::new(),
            plain: true,
        },
    };
    let value = T::deserialize(de::NodeDeserializer::new(
        root.as_ref().unwrap_or(&empty),
        String::new(),
        1,
    ))
    .map_err(|error| error.placed("", root.as_ref().map_or(1, |root| root.line)))?;
    Ok((value, root))
}
