//! Field paths of KIP-821 (Kafka's `FieldSyntaxVersion` and `SingleFieldPath`): with `field.syntax.version=V1` a
//! path names one top-level field; with `V2` it is a dotted path into nested structs or maps, where a step holding
//! dots is wrapped in backticks (`` `a.b`.c ``) and a backtick before a dot is escaped with a backslash.

use connect_api::{ConfigKey, ConfigType, ConnectError, Field, Importance, Schema, Struct, Validator, Value};

use super::common::{config_message, java_class_name, struct_value};

/// The key of the `field.syntax.version` setting.
pub(crate) const FIELD_SYNTAX_VERSION: &str = "field.syntax.version";

/// The version of the syntax of field paths (Kafka's `FieldSyntaxVersion`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum FieldSyntaxVersion {
    /// A path is one top-level field name (before KIP-821).
    #[default]
    V1,
    /// A path is dotted, with backticks around steps that contain dots.
    V2,
}

impl FieldSyntaxVersion {
    /// The definition of `field.syntax.version` (Kafka's `FieldSyntaxVersion.appendConfigTo`).
    pub(crate) fn config_key() -> ConfigKey {
        ConfigKey::new(FIELD_SYNTAX_VERSION, ConfigType::String)
            .default_value("V1")
            .validator(Validator::CaseInsensitiveOneOf(vec!["V1".into(), "V2".into()]))
            .importance(Importance::High)
            .documentation(
                "Defines the version of the syntax to access fields. If set to <code>V1</code>, then the field paths \
                 are limited to access the elements at the root level of the struct or map. If set to <code>V2</code>, \
                 the syntax will support accessing nested elements. To access nested elements, dotted notation is \
                 used. If dots are already included in the field name, then backtick pairs can be used to wrap field \
                 names containing dots. E.g. to access the subfield <code>baz</code> from a field named \"foo.bar\" in \
                 a struct/map the following format can be used to access its elements: \"<code>foo.bar</code>.baz\".",
            )
    }

    /// The version a (validated) setting names, case-insensitively.
    pub(crate) fn parse(text: &str) -> Result<Self, ConnectError> {
        if text.eq_ignore_ascii_case("V1") {
            Ok(FieldSyntaxVersion::V1)
        } else if text.eq_ignore_ascii_case("V2") {
            Ok(FieldSyntaxVersion::V2)
        } else {
            Err(super::common::config_error(FIELD_SYNTAX_VERSION, text, "Unrecognized field syntax version"))
        }
    }
}

/// A path of one or more field names into a struct or a map (Kafka's `SingleFieldPath`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct SingleFieldPath {
    steps: Vec<String>,
}

impl SingleFieldPath {
    /// Parses `text` with the rules of `version`; an unclosed backtick is a configuration error.
    pub(crate) fn parse(text: &str, version: FieldSyntaxVersion) -> Result<Self, ConnectError> {
        let steps = match version {
            FieldSyntaxVersion::V1 => vec![text.to_string()],
            FieldSyntaxVersion::V2 => parse_v2(text)?,
        };
        Ok(SingleFieldPath { steps })
    }

    /// The steps of the path.
    #[cfg(test)]
    pub(crate) fn steps(&self) -> &[String] {
        &self.steps
    }

    fn split(&self) -> Option<(&[String], &str)> {
        self.steps.split_last().map(|(last, init)| (init, last.as_str()))
    }

    /// The field the path names in `schema`, if every step exists (Kafka's `fieldFrom`).
    pub(crate) fn field_from<'a>(&self, schema: &'a Schema) -> Option<&'a Field> {
        let (init, last) = self.split()?;
        let mut current = schema;
        for step in init {
            current = current.field(step)?.schema();
        }
        current.field(last)
    }

    /// The value the path names in `value`: `None` when a step is missing or null; an intermediate value that is
    /// not a struct is an error (Kafka's `valueFrom(Struct, withDefault)`).
    pub(crate) fn value_from_struct(&self, value: &Struct, with_default: bool) -> Result<Option<Value>, ConnectError> {
        let Some((init, last)) = self.split() else { return Ok(None) };
        let mut current = value;
        let mut owned;
        for step in init {
            let Some(field) = current.schema().field(step) else { return Ok(None) };
            match struct_value(current, field, with_default) {
                Value::Null => return Ok(None),
                Value::Struct(s) => {
                    owned = s;
                    current = &owned;
                }
                other => {
                    return Err(ConnectError::data(format!(
                        "Only Struct objects supported for [nested field access], found: {}",
                        java_class_name(&other)
                    )))
                }
            }
        }
        Ok(current.schema().field(last).map(|f| struct_value(current, f, with_default)))
    }

    /// Moves the value the path names out of a `Map` value: `None` when a step is missing or null; an intermediate
    /// value that is not a map is an error (Kafka's `valueFrom(Map)`).
    pub(crate) fn take_from_map(&self, map: Value) -> Result<Option<Value>, ConnectError> {
        let Some((init, last)) = self.split() else { return Ok(None) };
        let mut current = map;
        for step in init {
            match take_entry(current, step) {
                None | Some(Value::Null) => return Ok(None),
                Some(next @ Value::Map(_)) => current = next,
                Some(other) => {
                    return Err(ConnectError::data(format!(
                        "Only Map objects supported in absence of schema for [nested field access], found: {}",
                        java_class_name(&other)
                    )))
                }
            }
        }
        Ok(take_entry(current, last))
    }
}

/// The value under string key `key` of a map value, moved out.
fn take_entry(map: Value, key: &str) -> Option<Value> {
    match map {
        Value::Map(entries) => entries.into_iter().find(|e| e.key.as_str() == Some(key)).map(|e| e.value),
        _ => None,
    }
}

fn incomplete_backtick(path: &str, at: usize) -> ConnectError {
    config_message(format!(
        "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to \
         escape it"
    ))
}

/// Kafka's `SingleFieldPath.buildFieldPathV2`, step for step.
fn parse_v2(path: &str) -> Result<Vec<String>, ConnectError> {
    let bytes = path.as_bytes();
    let len = bytes.len();
    let find =
        |from: usize, c: u8| bytes.get(from..).and_then(|rest| rest.iter().position(|b| *b == c)).map(|i| i + from);
    let mut steps = Vec::new();
    let mut idx = 0;
    while idx < len {
        if bytes[idx] != b'`' {
            let start = idx;
            match find(idx, b'.') {
                Some(dot) => {
                    steps.push(path[start..dot].to_string());
                    idx = dot + 1;
                }
                None => {
                    steps.push(path[start..].to_string());
                    break;
                }
            }
        } else {
            let backtick_at = idx;
            idx += 1;
            let mut field = String::new();
            let mut start = idx;
            loop {
                idx = find(idx, b'`').ok_or_else(|| incomplete_backtick(path, backtick_at))?;
                let escaped = bytes[idx - 1] == b'\\';
                if idx >= len - 1 {
                    if escaped {
                        return Err(incomplete_backtick(path, backtick_at));
                    }
                    field.push_str(&path[start..idx]);
                    steps.push(field);
                    idx += 1;
                    break;
                }
                if bytes[idx + 1] != b'.' {
                    idx += 1;
                    continue;
                }
                if escaped {
                    field.push_str(&path[start..idx - 1]);
                    field.push('`');
                    idx += 1;
                    start = idx;
                    continue;
                }
                field.push_str(&path[start..idx]);
                steps.push(field);
                idx += 2;
                break;
            }
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::{ErrorKind, SchemaBuilder};

    fn v2(text: &str) -> Vec<String> {
        SingleFieldPath::parse(text, FieldSyntaxVersion::V2).unwrap().steps().to_vec()
    }

    #[test]
    fn v1_is_one_step() {
        assert_eq!(SingleFieldPath::parse("a.b", FieldSyntaxVersion::V1).unwrap().steps(), ["a.b"]);
    }

    #[test]
    fn v2_steps_as_kafka_splits_them() {
        // Cases of Kafka's SingleFieldPathTest.
        assert_eq!(v2("foo"), ["foo"]);
        assert_eq!(v2("foo.bar.baz"), ["foo", "bar", "baz"]);
        assert_eq!(v2("`foo.bar`.baz"), ["foo.bar", "baz"]);
        assert_eq!(v2("foo.`bar.baz`"), ["foo", "bar.baz"]);
        assert_eq!(v2("`foo`bar`.baz"), ["foo`bar", "baz"]);
        assert_eq!(v2("`foo\\`.bar`.baz"), ["foo`.bar", "baz"]);
        assert_eq!(v2("foo."), ["foo", ""]);
        assert_eq!(v2(".foo"), ["", "foo"]);
        assert_eq!(v2("foo..bar"), ["foo", "", "bar"]);
        assert_eq!(v2("`a`"), ["a"]);
        assert!(v2("").is_empty());
    }

    #[test]
    fn v2_unclosed_backticks_are_config_errors() {
        for (path, at) in [("`foo.bar", 0), ("foo.`bar", 4), ("`foo\\`", 0)] {
            let err = SingleFieldPath::parse(path, FieldSyntaxVersion::V2).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert_eq!(
                err.message(),
                format!(
                    "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at \
                     position {at} to escape it"
                )
            );
        }
    }

    #[test]
    fn versions_parse_case_insensitively() {
        assert_eq!(FieldSyntaxVersion::parse("v2").unwrap(), FieldSyntaxVersion::V2);
        assert_eq!(FieldSyntaxVersion::parse("V1").unwrap(), FieldSyntaxVersion::V1);
        assert_eq!(
            FieldSyntaxVersion::parse("V3").unwrap_err().message(),
            "Invalid value V3 for configuration field.syntax.version: Unrecognized field syntax version"
        );
    }

    #[test]
    fn nested_access_in_structs_and_maps() {
        let inner = SchemaBuilder::structure().field("x", Schema::optional_int32()).build().unwrap();
        let outer = SchemaBuilder::structure().field("in", inner.clone()).field("s", Schema::string()).build().unwrap();
        let value = Struct::new(outer.clone())
            .unwrap()
            .with("in", Struct::new(inner).unwrap().with("x", 5i32).unwrap())
            .unwrap()
            .with("s", "t")
            .unwrap();
        let path = SingleFieldPath::parse("in.x", FieldSyntaxVersion::V2).unwrap();
        assert_eq!(path.field_from(&outer).unwrap().schema(), &Schema::optional_int32());
        assert_eq!(path.value_from_struct(&value, true).unwrap(), Some(Value::Int32(5)));
        let missing = SingleFieldPath::parse("in.y", FieldSyntaxVersion::V2).unwrap();
        assert!(missing.field_from(&outer).is_none());
        assert_eq!(missing.value_from_struct(&value, true).unwrap(), None);
        let through_string = SingleFieldPath::parse("s.x", FieldSyntaxVersion::V2).unwrap();
        assert_eq!(
            through_string.value_from_struct(&value, true).unwrap_err().message(),
            "Only Struct objects supported for [nested field access], found: java.lang.String"
        );

        let map = Value::map([(Value::from("in"), Value::map([(Value::from("x"), Value::from(7i64))]))]);
        assert_eq!(path.take_from_map(map.clone()).unwrap(), Some(Value::Int64(7)));
        assert_eq!(missing.take_from_map(map).unwrap(), None);
        let bad = Value::map([(Value::from("in"), Value::from(1i32))]);
        assert_eq!(
            path.take_from_map(bad).unwrap_err().message(),
            "Only Map objects supported in absence of schema for [nested field access], found: java.lang.Integer"
        );
    }
}
