//! serde over the node tree. Each value is read with its dotted path and line, and an error
//! raised while reading it (a wrong type, an unknown field, a value its type refuses) is
//! placed there.

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};

use super::node::{join_key, Entry, Kind, Node};
use super::scalar::{resolve, Scalar};
use super::YamlError;

type Result<T> = std::result::Result<T, YamlError>;

pub(super) struct NodeDeserializer<'de> {
    node: &'de Node,
    path: String,
    /// Where errors about this value point: its key's line for a collection under a key.
    line: usize,
}

impl<'de> NodeDeserializer<'de> {
    pub(super) fn new(node: &'de Node, path: String, line: usize) -> Self {
        NodeDeserializer { node, path, line }
    }

    fn scalar(&self) -> Option<Scalar<'de>> {
        match &self.node.kind {
            Kind::Scalar { text, plain } => Some(resolve(text, *plain)),
            _ => None,
        }
    }

    fn unexpected(&self) -> Unexpected<'de> {
        match (&self.node.kind, self.scalar()) {
            (Kind::Seq(_), _) => Unexpected::Seq,
            (Kind::Map(_), _) => Unexpected::Map,
            (_, Some(Scalar::Bool(value))) => Unexpected::Bool(value),
            (_, Some(Scalar::Unsigned(value))) => Unexpected::Unsigned(value),
            (_, Some(Scalar::Signed(value))) => Unexpected::Signed(value),
            (_, Some(Scalar::Float(value))) => Unexpected::Float(value),
            (_, Some(Scalar::Text(text))) => Unexpected::Str(text),
            (_, Some(Scalar::Empty | Scalar::Null) | None) => Unexpected::Other("null"),
        }
    }

    fn invalid_type<V: Visitor<'de>>(&self, visitor: &V) -> YamlError {
        de::Error::invalid_type(self.unexpected(), visitor)
    }

    /// Runs `read` and places any error it raised at this value.
    fn placed<T>(self, read: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        read(&self).map_err(|error| error.placed(&self.path, self.line))
    }

    fn visit_number<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.placed(|de| match de.scalar() {
            Some(Scalar::Unsigned(value)) => visitor.visit_u64(value),
            Some(Scalar::Signed(value)) => visitor.visit_i64(value),
            Some(Scalar::Float(value)) => visitor.visit_f64(value),
            _ => Err(de.invalid_type(&visitor)),
        })
    }
}

/// Number targets read plain numbers only; the visitor checks the range (`-1` is no `u64`).
macro_rules! numbers {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.visit_number(visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = YamlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.placed(|de| match (&de.node.kind, de.scalar()) {
            (Kind::Seq(items), _) => visitor.visit_seq(Items::new(items, &de.path)),
            (Kind::Map(entries), _) => visitor.visit_map(Entries::new(entries, &de.path)),
            (_, Some(Scalar::Empty | Scalar::Null)) => visitor.visit_unit(),
            (_, Some(Scalar::Bool(value))) => visitor.visit_bool(value),
            (_, Some(Scalar::Unsigned(value))) => visitor.visit_u64(value),
            (_, Some(Scalar::Signed(value))) => visitor.visit_i64(value),
            (_, Some(Scalar::Float(value))) => visitor.visit_f64(value),
            (_, Some(Scalar::Text(text))) => visitor.visit_borrowed_str(text),
            (_, None) => Err(de.invalid_type(&visitor)),
        })
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.placed(|de| match de.scalar() {
            Some(Scalar::Bool(value)) => visitor.visit_bool(value),
            _ => Err(de.invalid_type(&visitor)),
        })
    }

    numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    serde::forward_to_deserialize_any! {
        char bytes byte_buf tuple tuple_struct
    }

    /// Any scalar reads as the text it was written as (`2024`, `1.10`), except null (`~`);
    /// an empty value reads as the empty string.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.placed(|de| match (&de.node.kind, de.scalar()) {
            (Kind::Scalar { text, .. }, Some(scalar)) if scalar != Scalar::Null => {
                visitor.visit_borrowed_str(text)
            }
            _ => Err(de.invalid_type(&visitor)),
        })
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.scalar() {
            Some(Scalar::Empty | Scalar::Null) => self.placed(|_| visitor.visit_none()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.placed(|de| match de.scalar() {
            Some(Scalar::Empty | Scalar::Null) => visitor.visit_unit(),
            _ => Err(de.invalid_type(&visitor)),
        })
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    /// A sequence; an empty value (`tags:`) reads as an empty one.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.placed(|de| match (&de.node.kind, de.scalar()) {
            (Kind::Seq(items), _) => visitor.visit_seq(Items::new(items, &de.path)),
            (_, Some(Scalar::Empty)) => visitor.visit_seq(Items::new(&[], &de.path)),
            _ => Err(de.invalid_type(&visitor)),
        })
    }

    /// A mapping; an empty value (`secrets:` with every entry commented out) reads as an
    /// empty one.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.placed(|de| match (&de.node.kind, de.scalar()) {
            (Kind::Map(entries), _) => visitor.visit_map(Entries::new(entries, &de.path)),
            (_, Some(Scalar::Empty)) => visitor.visit_map(Entries::new(&[], &de.path)),
            _ => Err(de.invalid_type(&visitor)),
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    /// Unit variants only, written as their name (`strategy: blue_green`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.placed(|de| match (&de.node.kind, de.scalar()) {
            (Kind::Scalar { text, .. }, Some(Scalar::Text(_))) => {
                let variant: StrDeserializer<'_, YamlError> = text.as_str().into_deserializer();
                visitor.visit_enum(variant)
            }
            _ => Err(de.invalid_type(&visitor)),
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

/// A sequence's items, each read with its index in the path.
struct Items<'de, 'p> {
    items: std::slice::Iter<'de, Node>,
    index: usize,
    path: &'p str,
}

impl<'de, 'p> Items<'de, 'p> {
    fn new(items: &'de [Node], path: &'p str) -> Self {
        Items {
            items: items.iter(),
            index: 0,
            path,
        }
    }
}

impl<'de> de::SeqAccess<'de> for Items<'de, '_> {
    type Error = YamlError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let path = format!("{}[{}]", self.path, self.index);
        self.index += 1;
        seed.deserialize(NodeDeserializer::new(item, path.clone(), item.line))
            .map(Some)
            .map_err(|error| error.placed(&path, item.line))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// A mapping's entries. A key that its target refuses (an unknown field) is placed at the
/// mapping's path and the key's line; a value at the key's path.
struct Entries<'de, 'p> {
    entries: std::slice::Iter<'de, Entry>,
    current: Option<&'de Entry>,
    path: &'p str,
}

impl<'de, 'p> Entries<'de, 'p> {
    fn new(entries: &'de [Entry], path: &'p str) -> Self {
        Entries {
            entries: entries.iter(),
            current: None,
            path,
        }
    }
}

impl<'de> de::MapAccess<'de> for Entries<'de, '_> {
    type Error = YamlError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        let key: BorrowedStrDeserializer<'de, YamlError> = BorrowedStrDeserializer::new(&entry.key);
        seed.deserialize(key)
            .map(Some)
            .map_err(|error| error.placed(self.path, entry.key_line))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let Some(entry) = self.current.take() else {
            return Err(de::Error::custom("a mapping value was read before its key"));
        };
        let path = join_key(self.path, &entry.key);
        let line = match entry.value.kind {
            Kind::Scalar { .. } => entry.value.line,
            Kind::Seq(_) | Kind::Map(_) => entry.key_line,
        };
        seed.deserialize(NodeDeserializer::new(&entry.value, path.clone(), line))
            .map_err(|error| error.placed(&path, line))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
