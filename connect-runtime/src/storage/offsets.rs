//! Kafka Connect's offset encoding: source partitions and offsets as schemaless JSON maps of primitives.

use connect_api::{SourceMap, Value};
use serde_json::{Map, Number, Value as Json};

/// A parsed offset key: the connector and its source partition in canonical form (keys sorted).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OffsetKey {
    /// The connector name.
    pub connector: String,
    /// The partition map serialized with sorted keys.
    pub canonical_partition: String,
}

/// A source map as a JSON object (insertion order kept); only primitive values are allowed, as Kafka's
/// `OffsetUtils.validateFormat` demands.
pub fn source_map_to_json(map: &SourceMap) -> Result<Json, String> {
    let mut out = Map::new();
    for entry in map.iter() {
        let json = match &entry.value {
            Value::Null => Json::Null,
            Value::Boolean(b) => Json::Bool(*b),
            Value::String(s) => Json::String(s.to_string()),
            Value::Float32(f) => Number::from_f64(f64::from(*f)).map(Json::Number).unwrap_or(Json::Null),
            Value::Float64(f) => Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
            v => match v.as_i64() {
                Some(i) => Json::Number(i.into()),
                None => {
                    return Err(format!(
                        "source partition and offset values must be primitive, but key \"{}\" holds {}",
                        entry.key,
                        v.type_name()
                    ))
                }
            },
        };
        out.insert(entry.key.to_string(), json);
    }
    Ok(Json::Object(out))
}

/// A JSON object read from an offset store back into a source map (integers as `Int64`, other numbers as
/// `Float64`, as Kafka Connect reads them).
pub fn source_map_from_json(json: &Json) -> Result<SourceMap, String> {
    let Json::Object(object) = json else {
        return Err(format!("expected a JSON object, found {json}"));
    };
    let mut map = SourceMap::new();
    for (key, value) in object {
        let value = match value {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Boolean(*b),
            Json::String(s) => Value::from(s.as_str()),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int64(i),
                None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
            },
            other => return Err(format!("offset value for \"{key}\" is not primitive: {other}")),
        };
        map.insert(key.clone(), value);
    }
    Ok(map)
}

fn canonical(json: &Json) -> String {
    match json {
        Json::Object(object) => {
            let mut entries: Vec<_> = object.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let sorted: Map<String, Json> = entries.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            Json::Object(sorted).to_string()
        }
        other => other.to_string(),
    }
}

/// The stored key of a connector's source partition: the JSON array `["<connector>",{partition}]` and its
/// parsed form for lookups.
pub fn offset_key(connector: &str, partition: &SourceMap) -> Result<(Json, OffsetKey), String> {
    let partition = source_map_to_json(partition)?;
    let key = OffsetKey { connector: connector.to_string(), canonical_partition: canonical(&partition) };
    Ok((Json::Array(vec![Json::String(connector.to_string()), partition]), key))
}

/// Parses a stored key `["<connector>",{partition}]`.
pub fn parse_offset_key(json: &Json) -> Result<(OffsetKey, SourceMap), String> {
    match json {
        Json::Array(items) if items.len() == 2 => {
            let Json::String(connector) = &items[0] else {
                return Err(format!("offset key must start with the connector name: {json}"));
            };
            let partition = source_map_from_json(&items[1])?;
            Ok((OffsetKey { connector: connector.clone(), canonical_partition: canonical(&items[1]) }, partition))
        }
        _ => Err(format!("offset key must be a two-element array: {json}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_whatever_the_field_order() {
        let a = SourceMap::new().with("b", 1i64).with("a", "x");
        let b = SourceMap::new().with("a", "x").with("b", 1i32);
        let (json_a, key_a) = offset_key("c", &a).unwrap();
        let (_, key_b) = offset_key("c", &b).unwrap();
        assert_eq!(key_a, key_b);
        assert_eq!(json_a.to_string(), r#"["c",{"b":1,"a":"x"}]"#);
        let (parsed, map) = parse_offset_key(&serde_json::from_str(r#"["c",{"a":"x","b":1}]"#).unwrap()).unwrap();
        assert_eq!(parsed, key_a);
        assert_eq!(map.get("b"), Some(&Value::Int64(1)));
    }

    #[test]
    fn complex_values_are_refused() {
        let bad = SourceMap::new().with("a", Value::array([Value::Int32(1)]));
        assert!(source_map_to_json(&bad).unwrap_err().contains("must be primitive"));
    }
}
