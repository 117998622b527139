//! `ReplaceField$Key` / `ReplaceField$Value`: drops (`exclude`), keeps (`include`) and renames (`renames`) fields
//! of a Struct (schema rebuilt and cached) or entries of a Map. The legacy `blacklist` / `whitelist` keys are
//! read when `exclude` / `include` are absent, as Kafka 3.x's `ConfigUtils.translateDeprecatedConfigs` does.

use std::collections::{HashMap, HashSet};

use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, Result, SchemaBuilder, Struct, TransformRecord,
    Transformation, Value,
};

use super::common::{
    config_error, copy_schema_basics, java_list, map_put, replace_null_with_default_key, require_map_entries,
    require_struct, struct_value, target, SchemaCache, REPLACE_NULL_WITH_DEFAULT,
};

const EXCLUDE: &str = "exclude";
const INCLUDE: &str = "include";
const BLACKLIST: &str = "blacklist";
const WHITELIST: &str = "whitelist";
const RENAMES: &str = "renames";
const PURPOSE: &str = "field replacement";

/// Java's `String.split(":")`: trailing empty strings are dropped (but splitting "" gives [""]).
pub(crate) fn java_split_colon(text: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = text.split(':').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() && !text.is_empty() {
        // ":" alone: every part is empty and Java drops them all.
        parts.clear();
    }
    parts
}

/// Kafka's `ReplaceField`: `ReplaceField<true>` is `$Key`, `ReplaceField<false>` is `$Value`.
#[derive(Default)]
pub struct ReplaceField<const KEY: bool> {
    exclude: HashSet<String>,
    include: HashSet<String>,
    renames: HashMap<String, String>,
    reverse_renames: HashMap<String, String>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

fn parse_renames(mappings: &[String]) -> Result<HashMap<String, String>> {
    let mut renames = HashMap::new();
    for mapping in mappings {
        match java_split_colon(mapping).as_slice() {
            [from, to] => {
                renames.insert(from.to_string(), to.to_string());
            }
            _ => return Err(config_error(RENAMES, java_list(mappings), format!("Invalid rename mapping: {mapping}"))),
        }
    }
    Ok(renames)
}

impl<const KEY: bool> ReplaceField<KEY> {
    fn keeps(&self, name: &str) -> bool {
        !self.exclude.contains(name) && (self.include.is_empty() || self.include.contains(name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map_or(name, String::as_str)
    }

    fn reverse_renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.reverse_renames.get(name).map_or(name, String::as_str)
    }
}

impl<const KEY: bool> Transformation for ReplaceField<KEY> {
    fn config_def(&self) -> ConfigDef {
        let list = |name: &str, doc: &str| {
            ConfigKey::new(name, ConfigType::List).default_value("").importance(Importance::Medium).documentation(doc)
        };
        let deprecated = |name: &str, doc: &str| {
            ConfigKey::new(name, ConfigType::List).optional().importance(Importance::Low).documentation(doc)
        };
        ConfigDef::new()
            .define(list(EXCLUDE, "Fields to exclude. This takes precedence over the fields to include."))
            .define(deprecated(BLACKLIST, "Deprecated. Use exclude instead."))
            .define(list(INCLUDE, "Fields to include. If specified, only these fields will be used."))
            .define(deprecated(WHITELIST, "Deprecated. Use include instead."))
            .define(list(RENAMES, "Field rename mappings."))
            .define(replace_null_with_default_key())
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let pick = |key: &str, alias: &str| -> Result<HashSet<String>> {
            let chosen = if config.contains_key(key) || !config.contains_key(alias) { key } else { alias };
            Ok(parsed.list(chosen)?.iter().cloned().collect())
        };
        self.exclude = pick(EXCLUDE, BLACKLIST)?;
        self.include = pick(INCLUDE, WHITELIST)?;
        self.renames = parse_renames(parsed.list(RENAMES)?)?;
        self.reverse_renames = self.renames.iter().map(|(k, v)| (v.clone(), k.clone())).collect();
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let target = target(KEY);
        if target.get(&record).1.is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = target.take(&mut record);
        match schema {
            None => {
                let mut updated = Value::map([]);
                for entry in require_map_entries(value, PURPOSE)? {
                    let name = entry.key.as_str();
                    if name.is_some_and(|n| !self.keeps(n)) || (name.is_none() && !self.include.is_empty()) {
                        continue;
                    }
                    match name {
                        Some(n) if !self.renames.is_empty() => map_put(&mut updated, self.renamed(n), entry.value),
                        _ => {
                            if let Value::Map(out) = &mut updated {
                                out.push(entry);
                            }
                        }
                    }
                }
                target.set(&mut record, None, updated);
            }
            Some(_) => {
                let value = require_struct(value, PURPOSE)?;
                let mut cache = std::mem::take(&mut self.cache);
                let updated_schema = cache.get_or_build(value.schema(), |schema| {
                    let mut builder = copy_schema_basics(schema, SchemaBuilder::structure());
                    for field in schema.fields().iter().filter(|f| self.keeps(f.name())) {
                        builder = builder.field(self.renamed(field.name()), field.schema().clone());
                    }
                    builder.build()
                });
                self.cache = cache;
                let updated_schema = updated_schema?;
                let mut updated = Struct::new(updated_schema.clone())?;
                for field in updated_schema.fields() {
                    let original = self.reverse_renamed(field.name());
                    let source = value
                        .schema()
                        .field(original)
                        .ok_or_else(|| ConnectError::data(format!("{original} is not a valid field name")))?;
                    updated.put(field.name(), struct_value(&value, source, self.replace_null_with_default))?;
                }
                target.set(&mut record, Some(updated_schema), Value::Struct(updated));
            }
        }
        Ok(Some(record))
    }

    fn close(&mut self) {
        self.cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::common::testing::{apply, config_err, configured, data_err};
    use connect_api::Schema;

    type Val = ReplaceField<false>;

    fn map() -> Value {
        Value::map([
            (Value::from("dont"), Value::from("whatever")),
            (Value::from("abc"), Value::from(42i32)),
            (Value::from("foo"), Value::from(true)),
            (Value::from("etc"), Value::from("etc")),
        ])
    }

    fn schemaless(t: &mut Val) -> String {
        apply(t, TransformRecord::new("t").with_value(None, map())).value.to_string()
    }

    #[test]
    fn schemaless_exclude_include_rename() {
        let mut t: Val = configured(&[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")]);
        assert_eq!(schemaless(&mut t), "{xyz=42, bar=true, etc=etc}");
        let mut t: Val = configured(&[("include", "abc,foo")]);
        assert_eq!(schemaless(&mut t), "{abc=42, foo=true}");
        let mut t: Val = configured(&[("include", "abc,foo"), ("exclude", "abc")]);
        assert_eq!(schemaless(&mut t), "{foo=true}");
    }

    #[test]
    fn legacy_keys() {
        let mut t: Val = configured(&[("blacklist", "dont,etc")]);
        assert_eq!(schemaless(&mut t), "{abc=42, foo=true}");
        let mut t: Val = configured(&[("whitelist", "abc")]);
        assert_eq!(schemaless(&mut t), "{abc=42}");
        // The new key wins over its legacy alias.
        let mut t: Val = configured(&[("exclude", "dont"), ("blacklist", "abc")]);
        assert_eq!(schemaless(&mut t), "{abc=42, foo=true, etc=etc}");
        let mut t: Val = configured(&[("include", "foo"), ("whitelist", "abc")]);
        assert_eq!(schemaless(&mut t), "{foo=true}");
    }

    #[test]
    fn with_schema() {
        let schema = SchemaBuilder::structure()
            .name("s")
            .field("dont", Schema::string())
            .field("abc", Schema::int32())
            .field("foo", Schema::boolean())
            .field("etc", Schema::string())
            .build()
            .unwrap();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("dont", "whatever")
            .unwrap()
            .with("abc", 42i32)
            .unwrap()
            .with("foo", true)
            .unwrap()
            .with("etc", "etc")
            .unwrap();
        let mut t: Val = configured(&[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(schema), value.into()));
        let s = out.value_schema().unwrap();
        assert_eq!(s.name(), Some("s"));
        let names: Vec<_> = s.fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["xyz", "bar"]);
        assert_eq!(s.field("xyz").unwrap().schema(), &Schema::int32());
        assert_eq!(out.value.to_string(), "Struct{xyz=42,bar=true}");
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(Some(Schema::int32()), Value::Int32(1))),
            "Only Struct objects supported for [field replacement], found: java.lang.Integer"
        );
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(None, Value::from("x"))),
            "Only Map objects supported in absence of schema for [field replacement], found: java.lang.String"
        );
        // A null value passes through.
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(Schema::optional_string()), Value::Null));
        assert_eq!(out.value, Value::Null);
    }

    #[test]
    fn replace_null_with_default() {
        let field = SchemaBuilder::string().optional().default_value(Value::from("d")).build().unwrap();
        let schema = SchemaBuilder::structure().field("a", field).build().unwrap();
        let record = TransformRecord::new("t").with_value(Some(schema.clone()), Struct::new(schema).unwrap().into());
        let mut t: Val = configured(&[("renames", "a:b")]);
        assert_eq!(apply(&mut t, record.clone()).value.as_struct().unwrap().get_at(0), Some(&Value::from("d")));
        let mut t: Val = configured(&[("renames", "a:b"), ("replace.null.with.default", "false")]);
        assert_eq!(apply(&mut t, record).value.as_struct().unwrap().get_at(0), Some(&Value::Null));
    }

    #[test]
    fn invalid_renames() {
        assert_eq!(
            config_err::<Val>(&[("renames", "a:b,c")]).message(),
            "Invalid value [a:b, c] for configuration renames: Invalid rename mapping: c"
        );
        assert_eq!(
            config_err::<Val>(&[("renames", "a:b:c")]).message(),
            "Invalid value [a:b:c] for configuration renames: Invalid rename mapping: a:b:c"
        );
        assert_eq!(
            config_err::<Val>(&[("replace.null.with.default", "no")]).message(),
            "Invalid value no for configuration replace.null.with.default: Expected value to be either true or false"
        );
        // Java's split drops trailing empty parts: "a:b:" is the pair (a, b).
        let t: Val = configured(&[("renames", "a:b:")]);
        assert_eq!(t.renames.get("a").map(String::as_str), Some("b"));
        assert_eq!(java_split_colon(":"), Vec::<&str>::new());
        assert_eq!(java_split_colon(""), [""]);
    }
}
