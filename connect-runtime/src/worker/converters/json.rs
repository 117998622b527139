//! `JsonConverter`: byte-for-byte compatible with Kafka's `org.apache.kafka.connect.json.JsonConverter` (Jackson's
//! compact output, its string escaping, Java's number formatting, the `{"schema":..,"payload":..}` envelope) in both
//! directions, with its settings and error messages.
//! Writing is the hot path of every source task: it must never allocate per record beyond what it appends to `out`
//! (JSON goes straight into `out`; schema JSON comes from a bounded cache). Reading must never panic on any bytes.

use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use connect_api::data::java_float;
use connect_api::data::logical::Decimal;
use connect_api::{ConnectError, MapEntry, Result, Schema, SchemaBuilder, SchemaType, Struct, Value};

use super::{bool_setting, int_setting, java_class, logical_of, Converter, HeaderConverter, Logical, MILLIS_PER_DAY};

/// Whether keys and values carry their schema in an envelope.
pub const SCHEMAS_ENABLE_CONFIG: &str = "schemas.enable";
/// How many schemas the converter remembers, in each direction.
pub const SCHEMAS_CACHE_SIZE_CONFIG: &str = "schemas.cache.size";
/// How decimals are written: `BASE64` (default) or `NUMERIC`, case-insensitive.
pub const DECIMAL_FORMAT_CONFIG: &str = "decimal.format";
/// Whether a null value whose schema has a default is written and read as that default.
pub const REPLACE_NULL_WITH_DEFAULT_CONFIG: &str = "replace.null.with.default";
/// A schema (in the converter's JSON schema format) applied to every record read, which then holds the payload only.
pub const SCHEMA_CONTENT_CONFIG: &str = "schema.content";

/// Jackson's default maximum nesting depth of a document (`StreamReadConstraints` / `StreamWriteConstraints`).
const MAX_DEPTH: usize = 1000;
/// Jackson's default maximum length of a number literal.
const MAX_NUMBER_LENGTH: usize = 1000;
/// Jackson's default maximum length of a string value.
const MAX_STRING_LENGTH: usize = 20_000_000;
/// Recently written schemas remembered by identity in front of the main cache.
const RECENT: usize = 4;

const ENVELOPE_ERROR: &str =
    "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not \
     contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your \
     converter configuration.";
const NULL_ERROR: &str = "Conversion error: null value for field that is required and has no default value";
const READ_ERROR: &str = "Converting byte[] to Kafka Connect data failed due to serialization error: ";

/// How decimals are written (`decimal.format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DecimalFormat {
    /// The unscaled value's two's-complement bytes in Base64, in a JSON string (Kafka's default).
    #[default]
    Base64,
    /// A JSON number, as Java's `BigDecimal.toString`.
    Numeric,
}

/// The settings of a [`JsonConverter`], as Kafka's `JsonConverterConfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonConverterConfig {
    /// `schemas.enable` (default true).
    pub schemas_enable: bool,
    /// `schemas.cache.size` (default 1000; zero or less disables caching).
    pub schemas_cache_size: i32,
    /// `decimal.format` (default BASE64).
    pub decimal_format: DecimalFormat,
    /// `replace.null.with.default` (default true).
    pub replace_null_with_default: bool,
    /// `schema.content` (default none): when set and schemas are enabled, the schema of every record read.
    pub schema_content: Option<String>,
}

impl Default for JsonConverterConfig {
    fn default() -> Self {
        JsonConverterConfig {
            schemas_enable: true,
            schemas_cache_size: 1000,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
            schema_content: None,
        }
    }
}

impl JsonConverterConfig {
    /// Parses the converter's settings (keys without the `key.converter.` / `value.converter.` prefix) with Kafka's
    /// rules; unknown keys are ignored, as Kafka does.
    pub fn from_settings(settings: &BTreeMap<String, String>) -> Result<Self> {
        let decimal_format = match settings.get(DECIMAL_FORMAT_CONFIG).map(|v| v.trim()) {
            None => DecimalFormat::Base64,
            Some(v) if v.eq_ignore_ascii_case("BASE64") => DecimalFormat::Base64,
            Some(v) if v.eq_ignore_ascii_case("NUMERIC") => DecimalFormat::Numeric,
            Some(v) => {
                return Err(ConnectError::config(
                    DECIMAL_FORMAT_CONFIG,
                    format!("\"{v}\": String must be one of (case insensitive): BASE64, NUMERIC"),
                ))
            }
        };
        Ok(JsonConverterConfig {
            schemas_enable: bool_setting(settings, SCHEMAS_ENABLE_CONFIG, true)?,
            schemas_cache_size: int_setting(settings, SCHEMAS_CACHE_SIZE_CONFIG, 1000)?,
            decimal_format,
            replace_null_with_default: bool_setting(settings, REPLACE_NULL_WITH_DEFAULT_CONFIG, true)?,
            schema_content: settings.get(SCHEMA_CONTENT_CONFIG).filter(|s| !s.trim().is_empty()).cloned(),
        })
    }
}

/// What the conversions need from the settings, plus the stack position where the current call started.
#[derive(Clone, Copy, Debug)]
struct Opts {
    numeric_decimals: bool,
    replace_null: bool,
    stack_base: usize,
}

impl Opts {
    /// These options for a conversion starting here.
    fn starting_here(self) -> Opts {
        Opts { stack_base: stack_position(), ..self }
    }

    /// Refuses to recurse further once nested conversion has used [`STACK_BUDGET`]: nesting within Jackson's
    /// depth limit can still exhaust a small thread stack in an unoptimised build, and a stack overflow would
    /// abort the whole worker.
    fn check_stack(&self) -> Result<()> {
        if stack_position().abs_diff(self.stack_base) > STACK_BUDGET {
            return Err(ConnectError::data("Data nesting is too deep for the available stack"));
        }
        Ok(())
    }
}

/// The stack space nested conversion may use below the converter's entry point.
const STACK_BUDGET: usize = 1 << 20;

/// The address of a local of a fresh frame: where the stack currently is.
#[inline(never)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(std::ptr::addr_of!(marker)) as usize
}

/// Kafka Connect's `JsonConverter`, usable as key, value and header converter.
pub struct JsonConverter {
    schemas_enable: bool,
    opts: Opts,
    write_cache: SchemaJsonCache,
    read_cache: SchemaReadCache,
    fixed_schema: Option<Schema>,
}

impl JsonConverter {
    /// A converter with `config`; fails when `schema.content` is not a valid schema.
    pub fn new(config: JsonConverterConfig) -> Result<Self> {
        let capacity = usize::try_from(config.schemas_cache_size).unwrap_or(0);
        let mut converter = JsonConverter {
            schemas_enable: config.schemas_enable,
            opts: Opts {
                numeric_decimals: config.decimal_format == DecimalFormat::Numeric,
                replace_null: config.replace_null_with_default,
                stack_base: 0,
            },
            write_cache: SchemaJsonCache::new(capacity),
            read_cache: SchemaReadCache::new(capacity),
            fixed_schema: None,
        };
        if let (true, Some(content)) = (config.schemas_enable, &config.schema_content) {
            let node = parse_document(content.as_bytes(), stack_position())
                .map_err(|e| ConnectError::config(SCHEMA_CONTENT_CONFIG, format!("not valid JSON: {e}")))?;
            let opts = converter.opts.starting_here();
            converter.fixed_schema =
                parse_schema(&opts, &node, 0).map_err(|e| ConnectError::config(SCHEMA_CONTENT_CONFIG, e.message()))?;
        }
        Ok(converter)
    }

    /// Kafka's `fromConnectData` into `out` (which is left as it was on error).
    fn write_record(&mut self, schema: Option<&Schema>, value: &Value, out: &mut Vec<u8>) -> Result<bool> {
        if schema.is_none() && value.is_null() {
            return Ok(false);
        }
        let start = out.len();
        let opts = self.opts.starting_here();
        let result = if self.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                None => {
                    out.extend_from_slice(b"null");
                    Ok(())
                }
                Some(s) => self.write_cache.write(&opts, s, out),
            }
            .and_then(|()| {
                out.extend_from_slice(b",\"payload\":");
                write_value(&opts, schema, value, out, 1)
            })
            .map(|()| out.push(b'}'))
        } else {
            write_value(&opts, schema, value, out, 0)
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// Kafka's `toConnectData`.
    fn read_record(&mut self, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        let Some(bytes) = bytes else {
            return Ok((None, Value::Null));
        };
        let opts = self.opts.starting_here();
        let node =
            parse_document(bytes, opts.stack_base).map_err(|e| ConnectError::data(format!("{READ_ERROR}{e}")))?;
        if !self.schemas_enable {
            return Ok((None, to_connect(&opts, None, &node)?));
        }
        if let Some(schema) = &self.fixed_schema {
            return Ok((Some(schema.clone()), to_connect(&opts, Some(schema), &node)?));
        }
        let (schema_node, payload) = match &node {
            Json::Obj(obj) if obj.entries.len() == 2 => match (obj.get("schema", 0), obj.get("payload", 1)) {
                (Some(s), Some(p)) => (s, p),
                _ => return Err(ConnectError::data(ENVELOPE_ERROR)),
            },
            _ => return Err(ConnectError::data(ENVELOPE_ERROR)),
        };
        let schema = match schema_node {
            Json::Obj(obj) => {
                let raw = bytes.get(obj.start..obj.end).unwrap_or_default();
                match self.read_cache.get(raw) {
                    Some(s) => Some(s),
                    None => {
                        let parsed = parse_schema(&opts, schema_node, 1)?;
                        if let Some(s) = &parsed {
                            self.read_cache.put(raw, s.clone());
                        }
                        parsed
                    }
                }
            }
            other => parse_schema(&opts, other, 1)?,
        };
        let value = to_connect(&opts, schema.as_ref(), payload)?;
        Ok((schema, value))
    }
}

/// Kafka's `asConnectSchema`. The child schemas are parsed in this recursive frame; the builder work happens in
/// [`build_schema`].
fn parse_schema(opts: &Opts, node: &Json, depth: usize) -> Result<Option<Schema>> {
    if matches!(node, Json::Null) {
        return Ok(None);
    }
    if depth > MAX_DEPTH {
        return Err(ConnectError::data("Schema nesting is too deep"));
    }
    opts.check_stack()?;
    let Some(Json::Str(type_name)) = node.get("type") else {
        return Err(ConnectError::data("Schema must contain 'type' field"));
    };
    let child = |key: &str, missing: &str, null: &str| -> Result<Schema> {
        match node.get(key) {
            None | Some(Json::Null) if key == "items" => Err(ConnectError::data(missing)),
            None => Err(ConnectError::data(missing)),
            Some(n) => parse_schema(opts, n, depth + 1)?.ok_or_else(|| ConnectError::data(null)),
        }
    };
    let children = match type_name.as_ref() {
        "array" => vec![child("items", "Array schema did not specify the element type", "")?],
        "map" => vec![
            child("keys", "Map schema did not specify the key type", "keySchema cannot be null.")?,
            child("values", "Map schema did not specify the value type", "valueSchema cannot be null.")?,
        ],
        "struct" => {
            let Some(Json::Arr(fields)) = node.get("fields") else {
                return Err(ConnectError::data("Struct schema's \"fields\" argument is not an array."));
            };
            let mut schemas = Vec::with_capacity(fields.len());
            for field in fields {
                let Some(Json::Str(_)) = field.get("field") else {
                    return Err(ConnectError::data("Struct schema's field name not specified properly"));
                };
                let field_schema = parse_schema(opts, field, depth + 1)?
                    .ok_or_else(|| ConnectError::data("Struct schema's field name not specified properly"))?;
                schemas.push(field_schema);
            }
            schemas
        }
        _ => Vec::new(),
    };
    build_schema(opts, node, type_name, children).map(Some)
}

/// The non-recursive part of `asConnectSchema`: the builder for `type_name` with the already parsed `children`
/// (array element; map key and value; struct fields in order), then the schema attributes and default.
#[inline(never)]
fn build_schema(opts: &Opts, node: &Json, type_name: &str, children: Vec<Schema>) -> Result<Schema> {
    let mut children = children.into_iter();
    let mut next = || children.next().ok_or_else(|| ConnectError::data("Schema must contain 'type' field"));
    let mut builder = match type_name {
        "boolean" => SchemaBuilder::boolean(),
        "int8" => SchemaBuilder::int8(),
        "int16" => SchemaBuilder::int16(),
        "int32" => SchemaBuilder::int32(),
        "int64" => SchemaBuilder::int64(),
        "float" => SchemaBuilder::float32(),
        "double" => SchemaBuilder::float64(),
        "bytes" => SchemaBuilder::bytes(),
        "string" => SchemaBuilder::string(),
        "array" => SchemaBuilder::array(next()?),
        "map" => {
            let keys = next()?;
            SchemaBuilder::map(keys, next()?)
        }
        "struct" => {
            let mut b = SchemaBuilder::structure();
            if let Some(Json::Arr(fields)) = node.get("fields") {
                for field in fields {
                    if let Some(Json::Str(name)) = field.get("field") {
                        b = b.field(name.as_ref(), next()?);
                    }
                }
            }
            b
        }
        other => return Err(ConnectError::data(format!("Unknown schema type: {other}"))),
    };
    if let Some(Json::Bool(true)) = node.get("optional") {
        builder = builder.optional();
    }
    if let Some(Json::Str(name)) = node.get("name") {
        builder = builder.name(name.as_ref());
    }
    if let Some(Json::Num(n)) = node.get("version") {
        if is_integral(n) {
            builder = builder.version(java_long_value(n) as i32);
        }
    }
    if let Some(Json::Str(doc)) = node.get("doc") {
        builder = builder.doc(doc.as_ref());
    }
    if let Some(Json::Obj(params)) = node.get("parameters") {
        for (key, value) in &params.entries {
            let Json::Str(value) = value else {
                return Err(ConnectError::data("Schema parameters must have string values."));
            };
            builder = builder.parameter(key.as_ref(), value.as_ref());
        }
    }
    if let Some(default) = node.get("default") {
        let without_default = builder.clone().build()?;
        let value = to_connect(opts, Some(&without_default), default)?;
        if !value.is_null() {
            builder = builder.default_value(value);
        }
    }
    builder.build()
}

impl Converter for JsonConverter {
    fn from_connect(
        &mut self,
        _topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        self.write_record(schema, value, out)
    }

    fn to_connect(&mut self, _topic: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        self.read_record(bytes)
    }
}

impl HeaderConverter for JsonConverter {
    fn from_connect_header(
        &mut self,
        _topic: &str,
        _key: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        self.write_record(schema, value, out)
    }

    fn to_connect_header(&mut self, _topic: &str, _key: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        self.read_record(bytes)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing: Kafka's asJsonSchema / convertToJson, serialized as Jackson does.
// ---------------------------------------------------------------------------------------------------------------

/// The schema JSON of recently written schemas: a few entries found by identity (the hot path, no hashing), then a
/// bounded LRU keyed by a structural hash and schema equality.
struct SchemaJsonCache {
    capacity: usize,
    recent: Vec<(Schema, Arc<[u8]>)>,
    by_hash: HashMap<u64, Vec<CachedJson>>,
    len: usize,
    tick: u64,
}

struct CachedJson {
    schema: Schema,
    json: Arc<[u8]>,
    last_used: u64,
}

impl SchemaJsonCache {
    fn new(capacity: usize) -> Self {
        SchemaJsonCache { capacity, recent: Vec::with_capacity(RECENT + 1), by_hash: HashMap::new(), len: 0, tick: 0 }
    }

    fn write(&mut self, opts: &Opts, schema: &Schema, out: &mut Vec<u8>) -> Result<()> {
        if self.capacity == 0 {
            return write_schema(opts, schema, None, out, 1);
        }
        if let Some(pos) = self.recent.iter().position(|(s, _)| s.ptr_eq(schema)) {
            out.extend_from_slice(&self.recent[pos].1);
            self.recent[..=pos].rotate_right(1);
            return Ok(());
        }
        let hash = schema_hash(schema);
        self.tick += 1;
        let tick = self.tick;
        let found = self.by_hash.get_mut(&hash).and_then(|bucket| bucket.iter_mut().find(|e| e.schema == *schema));
        let json = match found {
            Some(entry) => {
                entry.last_used = tick;
                entry.json.clone()
            }
            None => {
                let mut buf = Vec::new();
                write_schema(opts, schema, None, &mut buf, 1)?;
                let json: Arc<[u8]> = buf.into();
                self.insert(hash, schema.clone(), json.clone());
                json
            }
        };
        out.extend_from_slice(&json);
        if self.recent.len() >= RECENT {
            self.recent.pop();
        }
        self.recent.insert(0, (schema.clone(), json));
        Ok(())
    }

    fn insert(&mut self, hash: u64, schema: Schema, json: Arc<[u8]>) {
        if self.len >= self.capacity {
            let oldest = self
                .by_hash
                .iter()
                .flat_map(|(h, bucket)| bucket.iter().enumerate().map(move |(i, e)| (e.last_used, *h, i)))
                .min();
            if let Some((_, h, i)) = oldest {
                if let Some(bucket) = self.by_hash.get_mut(&h) {
                    bucket.swap_remove(i);
                    if bucket.is_empty() {
                        self.by_hash.remove(&h);
                    }
                    self.len -= 1;
                }
            }
        }
        self.by_hash.entry(hash).or_default().push(CachedJson { schema, json, last_used: self.tick });
        self.len += 1;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }
}

/// Schemas read from envelopes, keyed by the exact bytes of their JSON (a bounded LRU), so records that repeat a
/// schema share one `Schema` object and skip parsing it.
struct SchemaReadCache {
    capacity: usize,
    map: HashMap<Box<[u8]>, (Schema, u64)>,
    tick: u64,
}

impl SchemaReadCache {
    fn new(capacity: usize) -> Self {
        SchemaReadCache { capacity, map: HashMap::new(), tick: 0 }
    }

    fn get(&mut self, raw: &[u8]) -> Option<Schema> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(raw).map(|(schema, used)| {
            *used = tick;
            schema.clone()
        })
    }

    fn put(&mut self, raw: &[u8], schema: Schema) {
        if self.capacity == 0 {
            return;
        }
        if self.map.len() >= self.capacity {
            let oldest = self.map.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.map.remove(&k);
            }
        }
        self.map.insert(raw.into(), (schema, self.tick));
    }
}

/// A hash consistent with `Schema`'s equality.
fn schema_hash(schema: &Schema) -> u64 {
    let mut h = DefaultHasher::new();
    hash_schema(schema, &mut h);
    h.finish()
}

fn hash_schema(s: &Schema, h: &mut DefaultHasher) {
    s.schema_type().hash(h);
    s.is_optional().hash(h);
    s.name().hash(h);
    s.version().hash(h);
    s.doc().hash(h);
    s.parameters().len().hash(h);
    for p in s.parameters() {
        p.key.as_str().hash(h);
        p.value.as_str().hash(h);
    }
    match s.default_value() {
        None => 0u8.hash(h),
        Some(v) => {
            1u8.hash(h);
            hash_value(v, h);
        }
    }
    for sub in [s.key_schema(), s.value_schema()] {
        match sub {
            None => 0u8.hash(h),
            Some(sub) => {
                1u8.hash(h);
                hash_schema(sub, h);
            }
        }
    }
    s.fields().len().hash(h);
    for f in s.fields() {
        f.name().hash(h);
        hash_schema(f.schema(), h);
    }
}

/// A hash consistent with `Value`'s equality (0.0 and -0.0 are equal).
fn hash_value(v: &Value, h: &mut DefaultHasher) {
    std::mem::discriminant(v).hash(h);
    match v {
        Value::Null => {}
        Value::Int8(x) => x.hash(h),
        Value::Int16(x) => x.hash(h),
        Value::Int32(x) => x.hash(h),
        Value::Int64(x) => x.hash(h),
        Value::Float32(x) => (if *x == 0.0 { 0 } else { x.to_bits() }).hash(h),
        Value::Float64(x) => (if *x == 0.0 { 0 } else { x.to_bits() }).hash(h),
        Value::Boolean(x) => x.hash(h),
        Value::String(x) => x.as_str().hash(h),
        Value::Bytes(x) => x.as_slice().hash(h),
        Value::Array(items) => {
            items.len().hash(h);
            items.iter().for_each(|i| hash_value(i, h));
        }
        Value::Map(entries) => {
            entries.len().hash(h);
            for e in entries.iter() {
                hash_value(&e.key, h);
                hash_value(&e.value, h);
            }
        }
        Value::Struct(s) => {
            hash_schema(s.schema(), h);
            s.values().iter().for_each(|i| hash_value(i, h));
        }
    }
}

fn depth_error() -> ConnectError {
    ConnectError::data(format!(
        "Converting Kafka Connect data to byte[] failed due to serialization error: Document nesting depth exceeds \
         the maximum allowed ({MAX_DEPTH})"
    ))
}

/// The type name of a schema in the JSON schema format.
fn json_type_name(ty: SchemaType) -> &'static str {
    match ty {
        SchemaType::Boolean => "boolean",
        SchemaType::Int8 => "int8",
        SchemaType::Int16 => "int16",
        SchemaType::Int32 => "int32",
        SchemaType::Int64 => "int64",
        SchemaType::Float32 => "float",
        SchemaType::Float64 => "double",
        SchemaType::Bytes => "bytes",
        SchemaType::String => "string",
        SchemaType::Array => "array",
        SchemaType::Map => "map",
        SchemaType::Struct => "struct",
    }
}

/// Kafka's `asJsonSchema` as Jackson writes it; `field` appends the struct field name entry, as Kafka adds it to
/// each field's schema. `depth` is the nesting depth of the object being written.
fn write_schema(opts: &Opts, s: &Schema, field: Option<&str>, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    opts.check_stack()?;
    if depth > MAX_DEPTH {
        return Err(depth_error());
    }
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(json_type_name(s.schema_type()).as_bytes());
    out.push(b'"');
    let sub = |key: &[u8], sub: Option<&Schema>, out: &mut Vec<u8>| -> Result<()> {
        out.extend_from_slice(key);
        match sub {
            Some(sub) => write_schema(opts, sub, None, out, depth + 1),
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
        }
    };
    match s.schema_type() {
        SchemaType::Array => sub(b",\"items\":", s.value_schema(), out)?,
        SchemaType::Map => {
            sub(b",\"keys\":", s.key_schema(), out)?;
            sub(b",\"values\":", s.value_schema(), out)?;
        }
        SchemaType::Struct => {
            if depth + 1 > MAX_DEPTH {
                return Err(depth_error());
            }
            out.extend_from_slice(b",\"fields\":[");
            for (i, f) in s.fields().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schema(opts, f.schema(), Some(f.name()), out, depth + 2)?;
            }
            out.push(b']');
        }
        _ => {}
    }
    out.extend_from_slice(if s.is_optional() { b",\"optional\":true" } else { b",\"optional\":false" });
    if let Some(name) = s.name() {
        out.extend_from_slice(b",\"name\":");
        write_str(out, name);
    }
    if let Some(version) = s.version() {
        out.extend_from_slice(b",\"version\":");
        write_int(out, i64::from(version));
    }
    if let Some(doc) = s.doc() {
        out.extend_from_slice(b",\"doc\":");
        write_str(out, doc);
    }
    if !s.parameters().is_empty() {
        if depth + 1 > MAX_DEPTH {
            return Err(depth_error());
        }
        out.extend_from_slice(b",\"parameters\":{");
        for (i, p) in s.parameters().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, &p.key);
            out.push(b':');
            write_str(out, &p.value);
        }
        out.push(b'}');
    }
    if let Some(default) = s.default_value().filter(|d| !d.is_null()) {
        out.extend_from_slice(b",\"default\":");
        write_value(opts, Some(s), default, out, depth)?;
    }
    if let Some(name) = field {
        out.extend_from_slice(b",\"field\":");
        write_str(out, name);
    }
    out.push(b'}');
    Ok(())
}

fn invalid_type(schema: &Schema, value: &Value) -> ConnectError {
    ConnectError::data(format!("Invalid type for {}: {}", schema.schema_type(), java_class(value)))
}

/// The schema type Kafka infers for a value written without a schema (`ConnectSchema.schemaType(class)`).
fn inferred_type(value: &Value) -> SchemaType {
    match value {
        Value::Int8(_) => SchemaType::Int8,
        Value::Int16(_) => SchemaType::Int16,
        Value::Int32(_) => SchemaType::Int32,
        Value::Int64(_) => SchemaType::Int64,
        Value::Float32(_) => SchemaType::Float32,
        Value::Float64(_) => SchemaType::Float64,
        Value::Boolean(_) => SchemaType::Boolean,
        Value::Bytes(_) => SchemaType::Bytes,
        Value::Array(_) => SchemaType::Array,
        Value::Map(_) => SchemaType::Map,
        Value::Struct(_) => SchemaType::Struct,
        Value::String(_) | Value::Null => SchemaType::String,
    }
}

/// Kafka's `convertToJson` written as Jackson serializes the node; `depth` is the nesting depth of the enclosing
/// containers. The recursion goes through small helper frames so deep values cannot exhaust a thread's stack
/// before the depth limit is reached.
fn write_value(opts: &Opts, schema: Option<&Schema>, value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    if value.is_null() {
        return write_null(opts, schema, out, depth);
    }
    if let Some(s) = schema {
        if let Some(logical) = logical_of(s) {
            return write_logical(opts, s, logical, value, out);
        }
    }
    let ty = match schema {
        Some(s) => s.schema_type(),
        None => inferred_type(value),
    };
    match (ty, value) {
        (SchemaType::Array, Value::Array(items)) => write_array(opts, schema, items, out, depth),
        (SchemaType::Map, Value::Map(entries)) => write_map(opts, schema, entries, out, depth),
        (SchemaType::Struct, Value::Struct(st)) => write_struct(opts, schema, st, out, depth),
        _ => write_scalar(schema, ty, value, out),
    }
}

#[inline(never)]
fn write_null(opts: &Opts, schema: Option<&Schema>, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    let Some(s) = schema else {
        out.extend_from_slice(b"null");
        return Ok(());
    };
    if opts.replace_null {
        if let Some(default) = s.default_value().filter(|d| !d.is_null()) {
            return write_value(opts, schema, default, out, depth);
        }
    }
    if s.is_optional() {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    Err(ConnectError::data(NULL_ERROR))
}

#[inline(never)]
fn write_scalar(schema: Option<&Schema>, ty: SchemaType, value: &Value, out: &mut Vec<u8>) -> Result<()> {
    match (ty, value) {
        (SchemaType::Int8, Value::Int8(v)) => write_int(out, i64::from(*v)),
        (SchemaType::Int16, Value::Int16(v)) => write_int(out, i64::from(*v)),
        (SchemaType::Int32, Value::Int32(v)) => write_int(out, i64::from(*v)),
        (SchemaType::Int64, Value::Int64(v)) => write_int(out, *v),
        (SchemaType::Float32, Value::Float32(v)) => write_json_float(out, Float::F32(*v)),
        (SchemaType::Float64, Value::Float64(v)) => write_json_float(out, Float::F64(*v)),
        (SchemaType::Boolean, Value::Boolean(v)) => out.extend_from_slice(if *v { b"true" } else { b"false" }),
        (SchemaType::String, Value::String(v)) => write_str(out, v),
        (SchemaType::Bytes, Value::Bytes(v)) => write_base64(out, v),
        (SchemaType::Bytes, other) => {
            return Err(ConnectError::data(format!("Invalid type for bytes type: {}", java_class(other))))
        }
        // Without a schema the type comes from the value, so only a struct (which needs one) gets here.
        _ => {
            return Err(match schema {
                Some(s) => invalid_type(s, value),
                None => ConnectError::data("Mismatching schema."),
            })
        }
    }
    Ok(())
}

#[inline(never)]
fn write_array(opts: &Opts, schema: Option<&Schema>, items: &[Value], out: &mut Vec<u8>, depth: usize) -> Result<()> {
    opts.check_stack()?;
    if depth + 1 > MAX_DEPTH {
        return Err(depth_error());
    }
    let element = schema.and_then(Schema::value_schema);
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(opts, element, item, out, depth + 1)?;
    }
    out.push(b']');
    Ok(())
}

#[inline(never)]
fn write_struct(opts: &Opts, schema: Option<&Schema>, st: &Struct, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    opts.check_stack()?;
    let Some(s) = schema.filter(|s| st.schema() == *s) else {
        return Err(ConnectError::data("Mismatching schema."));
    };
    if depth + 1 > MAX_DEPTH {
        return Err(depth_error());
    }
    out.push(b'{');
    for (i, field) in s.fields().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, field.name());
        out.push(b':');
        // Struct.getWithoutDefault: the field default is applied (or not) by the null handling.
        let raw = st.get_at(field.index()).unwrap_or(&Value::Null);
        write_value(opts, Some(field.schema()), raw, out, depth + 1)?;
    }
    out.push(b'}');
    Ok(())
}

#[inline(never)]
fn write_map(
    opts: &Opts,
    schema: Option<&Schema>,
    entries: &[MapEntry],
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<()> {
    opts.check_stack()?;
    if depth + 2 > MAX_DEPTH {
        return Err(depth_error());
    }
    let (key_schema, value_schema) = (schema.and_then(Schema::key_schema), schema.and_then(Schema::value_schema));
    let object_mode = match schema {
        None => entries.iter().all(|e| matches!(e.key, Value::String(_))),
        Some(_) => key_schema.is_some_and(|k| k.schema_type() == SchemaType::String),
    };
    if object_mode {
        out.push(b'{');
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Kafka uses `convertToJson(keySchema, key).asText()` as the field name.
            match &e.key {
                Value::String(k) => write_str(out, k),
                Value::Null => match key_schema {
                    Some(ks) => match ks.default_value().filter(|_| opts.replace_null) {
                        Some(Value::String(d)) => write_str(out, d),
                        _ if ks.is_optional() => write_str(out, "null"),
                        _ => return Err(ConnectError::data(NULL_ERROR)),
                    },
                    None => write_str(out, "null"),
                },
                other => {
                    return Err(ConnectError::data(format!("Invalid type for STRING: {}", java_class(other))));
                }
            }
            out.push(b':');
            write_value(opts, value_schema, &e.value, out, depth + 1)?;
        }
        out.push(b'}');
    } else {
        out.push(b'[');
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            write_value(opts, key_schema, &e.key, out, depth + 2)?;
            out.push(b',');
            write_value(opts, value_schema, &e.value, out, depth + 2)?;
            out.push(b']');
        }
        out.push(b']');
    }
    Ok(())
}

/// Kafka's logical type converters (`LogicalTypeConverter.toJson`).
fn write_logical(opts: &Opts, s: &Schema, logical: Logical, value: &Value, out: &mut Vec<u8>) -> Result<()> {
    let wrong = |expected: &str| {
        let name = match logical {
            Logical::Decimal => "Decimal",
            Logical::Date => "Date",
            Logical::Time => "Time",
            Logical::Timestamp => "Timestamp",
        };
        ConnectError::data(format!("Invalid type for {name}, expected {expected} but was {}", java_class(value)))
    };
    match (logical, value) {
        (Logical::Decimal, Value::Bytes(bytes)) => {
            let scale = Decimal::scale(s)?;
            let bytes = minimal_twos_complement(bytes);
            if bytes.is_empty() {
                return Err(ConnectError::data("Invalid Decimal value: the unscaled value has no bytes"));
            }
            if opts.numeric_decimals {
                write_java_decimal(out, bytes, scale);
            } else {
                write_base64(out, bytes);
            }
        }
        (Logical::Decimal, _) => return Err(wrong("BigDecimal")),
        (Logical::Date, Value::Int32(days)) => write_int(out, i64::from(*days)),
        (Logical::Time, Value::Int32(ms)) => {
            // Kafka's Time.fromLogical refuses a java.util.Date outside the epoch day.
            if !(0..MILLIS_PER_DAY).contains(&i64::from(*ms)) {
                return Err(ConnectError::data(
                    "Kafka Connect Time type should not have any date fields set to non-zero values.",
                ));
            }
            write_int(out, i64::from(*ms));
        }
        (Logical::Timestamp, Value::Int64(ms)) => write_int(out, *ms),
        _ => return Err(wrong("Date")),
    }
    Ok(())
}

/// The bytes Java's `BigInteger.toByteArray` would give for the same value: redundant sign bytes removed.
fn minimal_twos_complement(mut b: &[u8]) -> &[u8] {
    while b.len() > 1 && ((b[0] == 0x00 && b[1] & 0x80 == 0) || (b[0] == 0xff && b[1] & 0x80 != 0)) {
        b = &b[1..];
    }
    b
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    let _ = write!(Utf8Out(out), "{v}");
}

/// A JSON string as Jackson writes it: `"` and `\` escaped, the short escapes `\b \t \n \f \r`, other control
/// characters as `\u00XX` (upper-case hex), everything else (including non-ASCII) raw UTF-8.
fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let short: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Bytes as Jackson writes a binary node: standard Base64 with padding, in a JSON string.
fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    out.resize(start + base64::encoded_len(bytes.len(), true).unwrap_or(0), 0);
    let written = STANDARD.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

/// Lets `fmt` writers (number formatting in connect-api) append straight to the output bytes.
struct Utf8Out<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8Out<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Float {
    F32(f32),
    F64(f64),
}

/// A float as Jackson writes it: Java's `Float.toString` / `Double.toString`, and with its default
/// `QUOTE_NON_NUMERIC_NUMBERS` NaN and the infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn write_json_float(out: &mut Vec<u8>, v: Float) {
    let finite = match v {
        Float::F32(f) => f.is_finite(),
        Float::F64(f) => f.is_finite(),
    };
    if !finite {
        out.push(b'"');
    }
    // Writing into a Vec cannot fail.
    let _ = match v {
        Float::F32(f) => java_float::write_f32(&mut Utf8Out(out), f),
        Float::F64(f) => java_float::write_f64(&mut Utf8Out(out), f),
    };
    if !finite {
        out.push(b'"');
    }
}

/// A decimal as Java's `BigDecimal.toString` (what Jackson writes for a `DecimalNode`).
fn write_java_decimal(out: &mut Vec<u8>, bytes: &[u8], scale: i32) {
    let _ = Decimal::write_java_string(&mut Utf8Out(out), bytes, scale);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading: a JSON parser with Jackson's rules, then Kafka's convertToConnect.
// ---------------------------------------------------------------------------------------------------------------

/// A parsed JSON document; strings borrow from the input when they have no escapes, numbers keep their text.
#[derive(Debug)]
enum Json<'a> {
    /// No content at all (Jackson's `MissingNode` for empty input).
    Missing,
    Null,
    Bool(bool),
    Num(&'a str),
    Str(Cow<'a, str>),
    Arr(Vec<Json<'a>>),
    Obj(Obj<'a>),
}

/// A JSON object: entries in document order (a repeated key keeps its first position and its last value, as
/// Jackson's `ObjectNode`), and its byte range in the input.
#[derive(Debug)]
struct Obj<'a> {
    entries: Vec<(Cow<'a, str>, Json<'a>)>,
    start: usize,
    end: usize,
}

impl<'a> Obj<'a> {
    /// The value of `key`, searching from position `hint` first (fields usually come in schema order).
    fn get(&self, key: &str, hint: usize) -> Option<&Json<'a>> {
        let n = self.entries.len();
        (0..n).map(|i| (i + hint) % n).find(|&i| self.entries[i].0 == key).map(|i| &self.entries[i].1)
    }
}

impl<'a> Json<'a> {
    /// `JsonNode.get(fieldName)`: the member of an object, None for anything else.
    fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Obj(o) => o.get(key, 0),
            _ => None,
        }
    }

    /// Jackson's `JsonNodeType` name, used in Kafka's messages.
    fn node_type(&self) -> &'static str {
        match self {
            Json::Missing => "MISSING",
            Json::Null => "NULL",
            Json::Bool(_) => "BOOLEAN",
            Json::Num(_) => "NUMBER",
            Json::Str(_) => "STRING",
            Json::Arr(_) => "ARRAY",
            Json::Obj(_) => "OBJECT",
        }
    }
}

/// Parses the first JSON value of `bytes` as Kafka's `JsonDeserializer` (Jackson `readTree`) does: empty input is
/// `Missing`, a UTF-8 BOM is skipped, leading zeros in numbers are allowed, and content after the first value is
/// ignored (except that a root-level number must be followed by whitespace or the end).
fn parse_document(bytes: &[u8], stack_base: usize) -> std::result::Result<Json<'_>, String> {
    let mut p = Parser { src: bytes, pos: 0, stack_base };
    if bytes.starts_with(b"\xef\xbb\xbf") {
        p.pos = 3;
    }
    p.skip_ws();
    if p.pos >= bytes.len() {
        return Ok(Json::Missing);
    }
    let value = p.value(0)?;
    if matches!(value, Json::Num(_)) {
        if let Some(&c) = bytes.get(p.pos) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return Err(p.error_at(c, "Expected space separating root-level values"));
            }
        }
    }
    Ok(value)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    stack_base: usize,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
        }
    }

    fn error_at(&self, c: u8, expected: &str) -> String {
        if c.is_ascii_graphic() {
            format!("Unexpected character ('{}' (code {c})) at byte {}: {expected}", c as char, self.pos)
        } else {
            format!("Unexpected character (code {c}) at byte {}: {expected}", self.pos)
        }
    }

    fn eof(&self, expected: &str) -> String {
        format!("Unexpected end-of-input at byte {}: {expected}", self.pos)
    }

    fn value(&mut self, depth: usize) -> std::result::Result<Json<'a>, String> {
        let Some(&c) = self.src.get(self.pos) else {
            return Err(self.eof("expected a value"));
        };
        match c {
            b'{' | b'[' if depth + 1 > MAX_DEPTH => Err(format!(
                "Document nesting depth ({}) exceeds the maximum allowed ({MAX_DEPTH}) at byte {}",
                depth + 1,
                self.pos
            )),
            b'{' | b'[' if stack_position().abs_diff(self.stack_base) > STACK_BUDGET => {
                Err(format!("Document nesting depth ({}) is too deep for the available stack", depth + 1))
            }
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => Ok(Json::Str(self.string()?)),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'n' => self.literal("null", Json::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.error_at(c, "expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &str, value: Json<'a>) -> std::result::Result<Json<'a>, String> {
        let end = self.pos + word.len();
        let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
        if self.src.get(self.pos..end) != Some(word.as_bytes()) || self.src.get(end).is_some_and(|&c| ident(c)) {
            let mut stop = self.pos;
            while stop < self.src.len() && ident(self.src[stop]) && stop - self.pos < 256 {
                stop += 1;
            }
            let token = String::from_utf8_lossy(&self.src[self.pos..stop.max(self.pos + 1).min(self.src.len())]);
            return Err(format!(
                "Unrecognized token '{token}' at byte {}: was expecting (JSON String, Number, Array, Object or token \
                 'null', 'true' or 'false')",
                self.pos
            ));
        }
        self.pos = end;
        Ok(value)
    }

    fn number(&mut self) -> std::result::Result<Json<'a>, String> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.src.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - s
        };
        if self.src.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        if digits(self) == 0 {
            return Err(match self.src.get(self.pos) {
                Some(&c) => self.error_at(c, "expected digit (0-9) to follow minus sign, for valid numeric value"),
                None => self.eof("expected digit (0-9) for valid numeric value"),
            });
        }
        if self.src.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(match self.src.get(self.pos) {
                    Some(&c) => self.error_at(c, "Decimal point not followed by a digit"),
                    None => self.eof("Decimal point not followed by a digit"),
                });
            }
        }
        if let Some(b'e' | b'E') = self.src.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.src.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(match self.src.get(self.pos) {
                    Some(&c) => self.error_at(c, "Exponent indicator not followed by a digit"),
                    None => self.eof("Exponent indicator not followed by a digit"),
                });
            }
        }
        if self.pos - start > MAX_NUMBER_LENGTH {
            return Err(format!(
                "Number value length ({}) exceeds the maximum allowed ({MAX_NUMBER_LENGTH})",
                self.pos - start
            ));
        }
        // The slice is ASCII by construction.
        std::str::from_utf8(&self.src[start..self.pos]).map(Json::Num).map_err(|e| e.to_string())
    }

    fn string(&mut self) -> std::result::Result<Cow<'a, str>, String> {
        self.pos += 1; // opening quote
        let start = self.pos;
        // The plain run up to the closing quote, an escape or a control character: memchr finds the first two,
        // a branch-free pass (vectorised) checks the run for the third, which is rare.
        let rest = &self.src[start..];
        let mut run = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
        if rest[..run].iter().fold(false, |control, &c| control | (c < 0x20)) {
            run = rest[..run].iter().position(|&c| c < 0x20).unwrap_or(run);
        }
        self.pos += run;
        let utf8 = |bytes: &'a [u8], at: usize| {
            std::str::from_utf8(bytes)
                .map_err(|e| format!("Invalid UTF-8 in a string at byte {}", at + e.valid_up_to()))
        };
        match self.src.get(self.pos) {
            Some(b'"') => {
                let s = utf8(&self.src[start..self.pos], start)?;
                self.pos += 1;
                self.check_len(s.len())?;
                return Ok(Cow::Borrowed(s));
            }
            None => return Err(self.eof("in a String value")),
            _ => {}
        }
        let mut owned = String::from(utf8(&self.src[start..self.pos], start)?);
        loop {
            let Some(&c) = self.src.get(self.pos) else {
                return Err(self.eof("in a String value"));
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(Cow::Owned(owned));
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(&e) = self.src.get(self.pos) else {
                        return Err(self.eof("in a character escape sequence"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => owned.push('"'),
                        b'\\' => owned.push('\\'),
                        b'/' => owned.push('/'),
                        b'b' => owned.push('\u{8}'),
                        b'f' => owned.push('\u{c}'),
                        b'n' => owned.push('\n'),
                        b'r' => owned.push('\r'),
                        b't' => owned.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            if (0xd800..0xdc00).contains(&unit)
                                && self.src.get(self.pos..self.pos + 2) == Some(b"\\u".as_slice())
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let low = self.hex4()?;
                                if (0xdc00..0xe000).contains(&low) {
                                    let cp = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                                    owned.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                                    continue;
                                }
                                self.pos = save;
                            }
                            // A lone surrogate (valid in a Java string) cannot be held by a Rust string.
                            owned.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                        }
                        other => {
                            self.pos -= 1;
                            return Err(self.error_at(other, "Unrecognized character escape"));
                        }
                    }
                }
                c if c < 0x20 => {
                    return Err(format!(
                        "Illegal unquoted character (CTRL-CHAR, code {c}) at byte {}: has to be escaped using \
                         backslash to be included in string value",
                        self.pos
                    ));
                }
                _ => {
                    let run = self.pos;
                    while let Some(&c) = self.src.get(self.pos) {
                        if c == b'"' || c == b'\\' || c < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
                    owned.push_str(utf8(&self.src[run..self.pos], run)?);
                }
            }
            self.check_len(owned.len())?;
        }
    }

    fn check_len(&self, len: usize) -> std::result::Result<(), String> {
        if len > MAX_STRING_LENGTH {
            return Err(format!("String value length ({len}) exceeds the maximum allowed ({MAX_STRING_LENGTH})"));
        }
        Ok(())
    }

    fn hex4(&mut self) -> std::result::Result<u32, String> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(&c) = self.src.get(self.pos) else {
                return Err(self.eof("in a character escape sequence"));
            };
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.error_at(c, "expected a hex-digit for character escape sequence"))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    fn array(&mut self, depth: usize) -> std::result::Result<Json<'a>, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.src.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Json::Arr(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.src.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Arr(items));
                }
                Some(&c) => return Err(self.error_at(c, "was expecting comma to separate Array entries")),
                None => return Err(self.eof("expected close marker for Array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> std::result::Result<Json<'a>, String> {
        let start = self.pos;
        self.pos += 1;
        let mut entries: Vec<(Cow<'a, str>, Json<'a>)> = Vec::new();
        let mut index: Option<HashMap<Cow<'a, str>, usize>> = None;
        self.skip_ws();
        if self.src.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Json::Obj(Obj { entries, start, end: self.pos }));
        }
        loop {
            self.skip_ws();
            match self.src.get(self.pos) {
                Some(b'"') => {}
                Some(&c) => return Err(self.error_at(c, "was expecting double-quote to start field name")),
                None => return Err(self.eof("expected a field name")),
            }
            let key = self.string()?;
            self.skip_ws();
            match self.src.get(self.pos) {
                Some(b':') => self.pos += 1,
                Some(&c) => return Err(self.error_at(c, "was expecting a colon to separate field name and value")),
                None => return Err(self.eof("expected a colon")),
            }
            self.skip_ws();
            let value = self.value(depth)?;
            // A repeated key replaces the value in place, as Jackson's ObjectNode does.
            if entries.len() >= 32 && index.is_none() {
                index = Some(entries.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect());
            }
            let existing = match &index {
                Some(map) => map.get(&key).copied(),
                None => entries.iter().position(|(k, _)| *k == key),
            };
            match existing {
                Some(i) => entries[i].1 = value,
                None => {
                    if let Some(map) = &mut index {
                        map.insert(key.clone(), entries.len());
                    }
                    entries.push((key, value));
                }
            }
            self.skip_ws();
            match self.src.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Obj(Obj { entries, start, end: self.pos }));
                }
                Some(&c) => return Err(self.error_at(c, "was expecting comma to separate Object entries")),
                None => return Err(self.eof("expected close marker for Object")),
            }
        }
    }
}

/// Whether a JSON number literal is integral (Jackson's `isIntegralNumber`).
fn is_integral(n: &str) -> bool {
    !n.bytes().any(|c| matches!(c, b'.' | b'e' | b'E'))
}

/// `JsonNode.longValue()` of a number: integers wrap to their low 64 bits (`BigInteger.longValue`), fractions are
/// truncated toward zero first (`BigDecimal.longValue`).
fn java_long_value(n: &str) -> i64 {
    let (negative, rest) = match n.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, n),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => {
            let e = &rest[i + 1..];
            // An exponent beyond i64 is saturated: the result is 0 either way.
            (&rest[..i], e.parse::<i64>().unwrap_or(if e.starts_with('-') { i64::MIN } else { i64::MAX }))
        }
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut acc: u64 = 0;
    let mut push = |d: u8| acc = acc.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
    if exp >= 0 {
        int.bytes().for_each(&mut push);
        let from_frac = usize::try_from(exp).unwrap_or(usize::MAX).min(frac.len());
        frac.bytes().take(from_frac).for_each(&mut push);
        // 10^64 is a multiple of 2^64: further zeros leave nothing in the low 64 bits.
        let zeros = (exp - from_frac as i64).min(64);
        (0..zeros).for_each(|_| push(b'0'));
    } else {
        let keep = int.len().saturating_sub(usize::try_from(exp.unsigned_abs()).unwrap_or(usize::MAX));
        int.bytes().take(keep).for_each(&mut push);
    }
    let v = acc as i64;
    if negative {
        v.wrapping_neg()
    } else {
        v
    }
}

fn data_mismatch(expected: &str, schema: &Schema, node: &Json) -> ConnectError {
    ConnectError::data(format!(
        "Expected a JSON {expected} for a {} value but found {}",
        schema.schema_type(),
        node.node_type()
    ))
}

/// Jackson's default Base64 decoding (`MIME-NO-LINEFEEDS`): standard alphabet, padding required, surrounding
/// whitespace trimmed.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    ENGINE.decode(text.trim_matches(|c: char| c <= ' ')).ok()
}

/// Kafka's `convertToConnect`. Like the writer, the recursion goes through small helper frames.
fn to_connect(opts: &Opts, schema: Option<&Schema>, node: &Json) -> Result<Value> {
    let Some(s) = schema else {
        return Ok(schemaless(node));
    };
    if matches!(node, Json::Null | Json::Missing) {
        return null_to_connect(opts, s);
    }
    if let Some(logical) = logical_of(s) {
        return logical_to_connect(s, logical, node);
    }
    match (s.schema_type(), node) {
        (SchemaType::Array, Json::Arr(items)) => array_to_connect(opts, s, items),
        (SchemaType::Map, _) => map_to_connect(opts, s, node),
        (SchemaType::Struct, _) => struct_to_connect(opts, s, node),
        _ => scalar_to_connect(s, node),
    }
}

#[inline(never)]
fn null_to_connect(opts: &Opts, s: &Schema) -> Result<Value> {
    if opts.replace_null {
        if let Some(default) = s.default_value().filter(|d| !d.is_null()) {
            return Ok(default.clone());
        }
    }
    if s.is_optional() {
        return Ok(Value::Null);
    }
    Err(ConnectError::data(format!("Invalid null value for required {} field", s.schema_type())))
}

#[inline(never)]
fn scalar_to_connect(s: &Schema, node: &Json) -> Result<Value> {
    fn number<'j>(s: &Schema, node: &'j Json) -> Result<&'j str> {
        match node {
            Json::Num(n) => Ok(n),
            other => Err(data_mismatch("number", s, other)),
        }
    }
    Ok(match s.schema_type() {
        SchemaType::Boolean => match node {
            Json::Bool(b) => Value::Boolean(*b),
            other => return Err(data_mismatch("boolean", s, other)),
        },
        SchemaType::Int8 => Value::Int8(java_long_value(number(s, node)?) as i8),
        SchemaType::Int16 => Value::Int16(java_long_value(number(s, node)?) as i16),
        SchemaType::Int32 => Value::Int32(java_long_value(number(s, node)?) as i32),
        SchemaType::Int64 => Value::Int64(java_long_value(number(s, node)?)),
        SchemaType::Float32 => Value::Float32(number(s, node)?.parse().map_err(|_| data_mismatch("number", s, node))?),
        SchemaType::Float64 => Value::Float64(number(s, node)?.parse().map_err(|_| data_mismatch("number", s, node))?),
        SchemaType::String => match node {
            Json::Str(text) => Value::from(text.as_ref()),
            other => return Err(data_mismatch("string", s, other)),
        },
        SchemaType::Bytes => match node {
            Json::Str(text) => {
                Value::from(decode_base64(text).ok_or_else(|| ConnectError::data("Invalid bytes field"))?)
            }
            other => return Err(data_mismatch("string (Base64)", s, other)),
        },
        // Arrays reach here only when the JSON value is not an array.
        SchemaType::Array | SchemaType::Map | SchemaType::Struct => return Err(data_mismatch("array", s, node)),
    })
}

#[inline(never)]
fn array_to_connect(opts: &Opts, s: &Schema, items: &[Json]) -> Result<Value> {
    opts.check_stack()?;
    let element = s.value_schema();
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        values.push(to_connect(opts, element, item)?);
    }
    Ok(Value::Array(values.into()))
}

#[inline(never)]
fn struct_to_connect(opts: &Opts, s: &Schema, node: &Json) -> Result<Value> {
    opts.check_stack()?;
    let Json::Obj(obj) = node else {
        return Err(ConnectError::data(format!(
            "Structs should be encoded as JSON objects, but found {}",
            node.node_type()
        )));
    };
    let mut st = Struct::new(s.clone())?;
    for field in s.fields() {
        let member = obj.get(field.name(), field.index()).unwrap_or(&Json::Missing);
        st.put(field.name(), to_connect(opts, Some(field.schema()), member)?)?;
    }
    Ok(Value::Struct(st))
}

#[inline(never)]
fn map_to_connect(opts: &Opts, s: &Schema, node: &Json) -> Result<Value> {
    opts.check_stack()?;
    let (key_schema, value_schema) = (s.key_schema(), s.value_schema());
    if key_schema.is_none_or(|k| k.schema_type() == SchemaType::String) {
        let Json::Obj(obj) = node else {
            return Err(ConnectError::data(format!(
                "Maps with string fields should be encoded as JSON objects, but found {}",
                node.node_type()
            )));
        };
        let entries = obj
            .entries
            .iter()
            .map(|(k, v)| Ok(MapEntry { key: Value::from(k.as_ref()), value: to_connect(opts, value_schema, v)? }))
            .collect::<Result<_>>()?;
        return Ok(Value::Map(entries));
    }
    let Json::Arr(pairs) = node else {
        return Err(ConnectError::data(format!(
            "Maps with non-string fields should be encoded as JSON array of tuples, but found {}",
            node.node_type()
        )));
    };
    let mut entries: Vec<MapEntry> = Vec::with_capacity(pairs.len());
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
    for pair in pairs {
        let Json::Arr(kv) = pair else {
            return Err(ConnectError::data(format!(
                "Found invalid map entry instead of array tuple: {}",
                pair.node_type()
            )));
        };
        let [k, v] = kv.as_slice() else {
            return Err(ConnectError::data(format!(
                "Found invalid map entry, expected length 2 but found :{}",
                kv.len()
            )));
        };
        let key = to_connect(opts, key_schema, k)?;
        let value = to_connect(opts, value_schema, v)?;
        // Kafka collects the pairs into a HashMap: a repeated key keeps the last value.
        let mut h = DefaultHasher::new();
        hash_value(&key, &mut h);
        let bucket = seen.entry(h.finish()).or_default();
        match bucket.iter().copied().find(|&i| entries[i].key == key) {
            Some(i) => entries[i].value = value,
            None => {
                bucket.push(entries.len());
                entries.push(MapEntry { key, value });
            }
        }
    }
    Ok(Value::Map(entries.into()))
}

/// Kafka's logical type converters (`LogicalTypeConverter.toConnect`).
fn logical_to_connect(s: &Schema, logical: Logical, node: &Json) -> Result<Value> {
    let integer = |name: &str, what: &str| match node {
        Json::Num(n) if is_integral(n) && n.parse::<i32>().is_ok() => Ok(java_long_value(n) as i32),
        other => Err(ConnectError::data(format!(
            "Invalid type for {name}, underlying representation should be {what} but was {}",
            other.node_type()
        ))),
    };
    match logical {
        Logical::Decimal => match node {
            Json::Num(n) => {
                let scale = Decimal::scale(s)?;
                check_decimal_size(n, scale)?;
                Decimal::parse(n, scale)
            }
            Json::Str(text) => {
                let invalid = || ConnectError::data("Invalid bytes for Decimal field");
                let scale_ok = Decimal::scale(s).is_ok();
                let bytes = decode_base64(text).filter(|b| !b.is_empty() && scale_ok).ok_or_else(invalid)?;
                Ok(Value::from(minimal_twos_complement(&bytes)))
            }
            other => Err(ConnectError::data(format!(
                "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                other.node_type()
            ))),
        },
        Logical::Date => Ok(Value::Int32(integer("Date", "integer")?)),
        Logical::Time => {
            let ms = integer("Time", "integer")?;
            if ms < 0 || i64::from(ms) > MILLIS_PER_DAY {
                return Err(ConnectError::data(
                    "Time values must use number of milliseconds greater than 0 and less than 86400000",
                ));
            }
            Ok(Value::Int32(ms))
        }
        Logical::Timestamp => match node {
            Json::Num(n) if is_integral(n) => Ok(Value::Int64(java_long_value(n))),
            other => Err(ConnectError::data(format!(
                "Invalid type for Timestamp, underlying representation should be integral but was {}",
                other.node_type()
            ))),
        },
    }
}

/// Refuses numbers whose digits at `scale` would be absurdly many (Java keeps such a `BigDecimal` compact; here the
/// unscaled value is materialised), so a hostile exponent cannot exhaust memory.
fn check_decimal_size(n: &str, scale: i32) -> Result<()> {
    let rest = n.trim_start_matches('-');
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(i64::MAX)),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let padding = i64::from(scale).saturating_sub((frac.len() as i64).saturating_sub(exp));
    let digits = (int.len() + frac.len()) as i64 + padding.max(0);
    if exp.unsigned_abs() > 1_000_000 || digits > 5_000 {
        return Err(ConnectError::data(format!("Decimal value {n} is out of the supported range for scale {scale}")));
    }
    Ok(())
}

/// `convertToConnect` without a schema: integers are INT64, other numbers FLOAT64, objects maps with string keys
/// (in document order), arrays arrays.
fn schemaless(node: &Json) -> Value {
    match node {
        Json::Missing | Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Num(n) if is_integral(n) => Value::Int64(java_long_value(n)),
        Json::Num(n) => Value::Float64(n.parse().unwrap_or(f64::NAN)),
        Json::Str(s) => Value::from(s.as_ref()),
        Json::Arr(items) => Value::Array(items.iter().map(schemaless).collect()),
        Json::Obj(obj) => Value::Map(
            obj.entries.iter().map(|(k, v)| MapEntry { key: Value::from(k.as_ref()), value: schemaless(v) }).collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use connect_api::data::logical::{Date, Time, Timestamp};
    use connect_api::ErrorKind;

    use super::*;

    fn converter(pairs: &[(&str, &str)]) -> JsonConverter {
        let settings = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        JsonConverter::new(JsonConverterConfig::from_settings(&settings).unwrap()).unwrap()
    }

    fn write_with(c: &mut JsonConverter, schema: Option<&Schema>, value: &Value) -> String {
        let mut out = Vec::new();
        assert!(c.from_connect("topic", schema, value, &mut out).unwrap(), "unexpected null");
        String::from_utf8(out).unwrap()
    }

    fn write(schema: Option<&Schema>, value: &Value) -> String {
        write_with(&mut converter(&[]), schema, value)
    }

    fn write_err(c: &mut JsonConverter, schema: Option<&Schema>, value: &Value) -> ConnectError {
        let mut out = b"kept".to_vec();
        let err = c.from_connect("topic", schema, value, &mut out).unwrap_err();
        assert_eq!(out, b"kept", "output must be left untouched on error");
        assert_eq!(err.kind(), ErrorKind::Data, "{err}");
        err
    }

    fn read_with(c: &mut JsonConverter, text: &str) -> (Option<Schema>, Value) {
        c.to_connect("topic", Some(text.as_bytes())).unwrap()
    }

    fn read(text: &str) -> (Option<Schema>, Value) {
        read_with(&mut converter(&[]), text)
    }

    fn read_err(c: &mut JsonConverter, bytes: &[u8]) -> String {
        let err = c.to_connect("topic", Some(bytes)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data, "{err}");
        err.message().to_string()
    }

    fn record(schema: &Schema, fields: &[(&str, Value)]) -> Value {
        let mut s = Struct::new(schema.clone()).unwrap();
        for (name, value) in fields {
            s.put(name, value.clone()).unwrap();
        }
        Value::Struct(s)
    }

    // --- from_connect, byte for byte (values from Kafka's JsonConverterTest, in Jackson's field order) ---

    #[test]
    fn primitives_to_json() {
        let cases: Vec<(Schema, Value, &str)> = vec![
            (
                Schema::boolean(),
                Value::Boolean(true),
                r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#,
            ),
            (Schema::int8(), Value::Int8(12), r#"{"schema":{"type":"int8","optional":false},"payload":12}"#),
            (Schema::int16(), Value::Int16(12), r#"{"schema":{"type":"int16","optional":false},"payload":12}"#),
            (Schema::int32(), Value::Int32(12), r#"{"schema":{"type":"int32","optional":false},"payload":12}"#),
            (
                Schema::int64(),
                Value::Int64(4_398_046_511_104),
                r#"{"schema":{"type":"int64","optional":false},"payload":4398046511104}"#,
            ),
            (
                Schema::float32(),
                Value::Float32(12.34),
                r#"{"schema":{"type":"float","optional":false},"payload":12.34}"#,
            ),
            (
                Schema::float64(),
                Value::Float64(12.34),
                r#"{"schema":{"type":"double","optional":false},"payload":12.34}"#,
            ),
            (
                Schema::bytes(),
                Value::from(b"test-string".to_vec()),
                r#"{"schema":{"type":"bytes","optional":false},"payload":"dGVzdC1zdHJpbmc="}"#,
            ),
            (
                Schema::string(),
                Value::from("test-string"),
                r#"{"schema":{"type":"string","optional":false},"payload":"test-string"}"#,
            ),
        ];
        for (schema, value, expected) in cases {
            assert_eq!(write(Some(&schema), &value), expected);
        }
    }

    #[test]
    fn containers_to_json() {
        let array = SchemaBuilder::array(Schema::int32()).build().unwrap();
        assert_eq!(
            write(Some(&array), &Value::array([1i32, 2, 3].map(Value::Int32))),
            r#"{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1,2,3]}"#
        );
        let string_map = SchemaBuilder::map(Schema::string(), Schema::int32()).build().unwrap();
        let value = Value::map([(Value::from("key1"), Value::Int32(12)), (Value::from("key2"), Value::Int32(15))]);
        assert_eq!(
            write(Some(&string_map), &value),
            r#"{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":{"key1":12,"key2":15}}"#
        );
        let int_map = SchemaBuilder::map(Schema::int32(), Schema::int32()).build().unwrap();
        let value = Value::map([(Value::Int32(1), Value::Int32(12)), (Value::Int32(2), Value::Int32(15))]);
        assert_eq!(
            write(Some(&int_map), &value),
            r#"{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":[[1,12],[2,15]]}"#
        );
        let schema = SchemaBuilder::structure()
            .field("field1", Schema::boolean())
            .field("field2", Schema::string())
            .field("field3", Schema::string())
            .field("field4", Schema::boolean())
            .build()
            .unwrap();
        let value = record(
            &schema,
            &[
                ("field1", true.into()),
                ("field2", "string2".into()),
                ("field3", "string3".into()),
                ("field4", false.into()),
            ],
        );
        assert_eq!(
            write(Some(&schema), &value),
            r#"{"schema":{"type":"struct","fields":[{"type":"boolean","optional":false,"field":"field1"},{"type":"string","optional":false,"field":"field2"},{"type":"string","optional":false,"field":"field3"},{"type":"boolean","optional":false,"field":"field4"}],"optional":false},"payload":{"field1":true,"field2":"string2","field3":"string3","field4":false}}"#
        );
    }

    #[test]
    fn logical_types_to_json() {
        assert_eq!(
            write(Some(&Decimal::schema(2)), &Decimal::from_unscaled(156)),
            r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJw="}"#
        );
        let mut numeric = converter(&[("decimal.format", "numeric")]);
        assert_eq!(
            write_with(&mut numeric, Some(&Decimal::schema(2)), &Decimal::from_unscaled(156)),
            r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":1.56}"#
        );
        let mut plain = converter(&[("decimal.format", "NUMERIC"), ("schemas.enable", "false")]);
        assert_eq!(write_with(&mut plain, Some(&Decimal::schema(4)), &Decimal::from_unscaled(15600)), "1.5600");
        assert_eq!(write_with(&mut plain, Some(&Decimal::schema(10)), &Decimal::from_unscaled(-5)), "-5E-10");
        // Non-minimal two's complement bytes are written as Java's BigInteger.toByteArray would give them.
        let padded = Value::from(vec![0u8, 0, 0x9c]);
        assert_eq!(
            write_with(&mut converter(&[("schemas.enable", "false")]), Some(&Decimal::schema(2)), &padded),
            "\"AJw=\""
        );
        assert_eq!(
            write(Some(&Date::schema()), &Value::Int32(10_000)),
            r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10000}"#
        );
        assert_eq!(
            write(Some(&Time::schema()), &Value::Int32(14_400_000)),
            r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":14400000}"#
        );
        assert_eq!(
            write(Some(&Timestamp::schema()), &Value::Int64(4_000_000_000)),
            r#"{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":4000000000}"#
        );
    }

    #[test]
    fn logical_type_errors() {
        let mut c = converter(&[]);
        let err = write_err(&mut c, Some(&Decimal::schema(2)), &Value::from("1.5"));
        assert_eq!(err.message(), "Invalid type for Decimal, expected BigDecimal but was class java.lang.String");
        let err = write_err(&mut c, Some(&Date::schema()), &Value::Int64(1));
        assert_eq!(err.message(), "Invalid type for Date, expected Date but was class java.lang.Long");
        let err = write_err(&mut c, Some(&Time::schema()), &Value::Int32(86_400_000));
        assert_eq!(err.message(), "Kafka Connect Time type should not have any date fields set to non-zero values.");
        let no_scale = SchemaBuilder::bytes().name(Decimal::LOGICAL_NAME).build().unwrap();
        let err = write_err(&mut c, Some(&no_scale), &Decimal::from_unscaled(1));
        assert_eq!(err.message(), "Invalid Decimal schema: scale parameter not found.");
        write_err(&mut c, Some(&Decimal::schema(2)), &Value::from(Vec::<u8>::new()));
    }

    #[test]
    fn schemaless_values_to_json() {
        assert_eq!(write(None, &Value::Boolean(true)), r#"{"schema":null,"payload":true}"#);
        assert_eq!(
            write(None, &Value::array([Value::Int32(1), Value::from("string"), Value::Boolean(true)])),
            r#"{"schema":null,"payload":[1,"string",true]}"#
        );
        let map = Value::map([
            (Value::from("key1"), Value::Int32(12)),
            (Value::from("key2"), Value::from("string")),
            (Value::from("key3"), Value::Boolean(true)),
        ]);
        assert_eq!(write(None, &map), r#"{"schema":null,"payload":{"key1":12,"key2":"string","key3":true}}"#);
        let map = Value::map([
            (Value::from("string"), Value::Int32(12)),
            (Value::Int32(52), Value::from("string")),
            (Value::Boolean(false), Value::Boolean(true)),
        ]);
        assert_eq!(write(None, &map), r#"{"schema":null,"payload":[["string",12],[52,"string"],[false,true]]}"#);
        let mut plain = converter(&[("schemas.enable", "false")]);
        assert_eq!(write_with(&mut plain, None, &Value::Boolean(true)), "true");
        assert_eq!(write_with(&mut plain, None, &Value::array([Value::Null, Value::Int8(1)])), "[null,1]");
        // As in Kafka, a struct without a schema is refused.
        let schema = SchemaBuilder::structure().field("a", Schema::int8()).build().unwrap();
        let err = write_err(&mut plain, None, &record(&schema, &[("a", Value::Int8(1))]));
        assert_eq!(err.message(), "Mismatching schema.");
    }

    #[test]
    fn schema_metadata_to_json() {
        assert_eq!(
            write(Some(&Schema::optional_boolean()), &Value::Null),
            r#"{"schema":{"type":"boolean","optional":true},"payload":null}"#
        );
        let with_default = SchemaBuilder::boolean().default_value(Value::Boolean(true)).build().unwrap();
        assert_eq!(
            write(Some(&with_default), &Value::Boolean(true)),
            r#"{"schema":{"type":"boolean","optional":false,"default":true},"payload":true}"#
        );
        let full = SchemaBuilder::boolean()
            .name("bool")
            .version(3)
            .doc("the documentation")
            .parameter("foo", "bar")
            .build()
            .unwrap();
        assert_eq!(
            write(Some(&full), &Value::Boolean(true)),
            r#"{"schema":{"type":"boolean","optional":false,"name":"bool","version":3,"doc":"the documentation","parameters":{"foo":"bar"}},"payload":true}"#
        );
    }

    #[test]
    fn nulls_to_json() {
        let mut c = converter(&[]);
        let mut out = Vec::new();
        assert!(!c.from_connect("topic", None, &Value::Null, &mut out).unwrap());
        assert!(out.is_empty());
        let mut plain = converter(&[("schemas.enable", "false")]);
        assert!(!plain.from_connect("topic", None, &Value::Null, &mut out).unwrap());
        assert_eq!(write_with(&mut plain, Some(&Schema::optional_int32()), &Value::Null), "null");
        let err = write_err(&mut c, Some(&Schema::int32()), &Value::Null);
        assert_eq!(err.message(), "Conversion error: null value for field that is required and has no default value");

        let schema = SchemaBuilder::string().optional().default_value("default".into()).build().unwrap();
        assert_eq!(
            write(Some(&schema), &Value::Null),
            r#"{"schema":{"type":"string","optional":true,"default":"default"},"payload":"default"}"#
        );
        let mut keep_null = converter(&[("replace.null.with.default", "false")]);
        assert_eq!(
            write_with(&mut keep_null, Some(&schema), &Value::Null),
            r#"{"schema":{"type":"string","optional":true,"default":"default"},"payload":null}"#
        );
        let struct_schema = SchemaBuilder::structure().field("field1", schema).build().unwrap();
        let empty = record(&struct_schema, &[]);
        assert_eq!(
            write(Some(&struct_schema), &empty),
            r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":"default"}}"#
        );
        assert_eq!(
            write_with(&mut keep_null, Some(&struct_schema), &empty),
            r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":null}}"#
        );
    }

    #[test]
    fn type_mismatches_are_data_errors() {
        let mut c = converter(&[]);
        let err = write_err(&mut c, Some(&Schema::float64()), &Value::Boolean(true));
        assert_eq!(err.message(), "Invalid type for FLOAT64: class java.lang.Boolean");
        let err = write_err(&mut c, Some(&Schema::bytes()), &Value::from("x"));
        assert_eq!(err.message(), "Invalid type for bytes type: class java.lang.String");
        let a = SchemaBuilder::structure().field("a", Schema::int8()).build().unwrap();
        let b = SchemaBuilder::structure().field("b", Schema::int8()).build().unwrap();
        let err = write_err(&mut c, Some(&a), &record(&b, &[("b", Value::Int8(1))]));
        assert_eq!(err.message(), "Mismatching schema.");
        let array = SchemaBuilder::array(Schema::int32()).build().unwrap();
        let err = write_err(&mut c, Some(&array), &Value::array([Value::Int32(1), Value::Int64(2)]));
        assert_eq!(err.message(), "Invalid type for INT32: class java.lang.Long");
        let map = SchemaBuilder::map(Schema::string(), Schema::int32()).build().unwrap();
        let err = write_err(&mut c, Some(&map), &Value::map([(Value::Int8(1), Value::Int32(1))]));
        assert_eq!(err.message(), "Invalid type for STRING: class java.lang.Byte");
    }

    #[test]
    fn strings_are_escaped_as_jackson_does() {
        let mut plain = converter(&[("schemas.enable", "false")]);
        let text = "a\"b\\c\u{8}\t\n\u{c}\r\u{0}\u{1}\u{1f}/é€😀\u{7f}\u{2028}";
        assert_eq!(
            write_with(&mut plain, Some(&Schema::string()), &Value::from(text)),
            "\"a\\\"b\\\\c\\b\\t\\n\\f\\r\\u0000\\u0001\\u001F/é€😀\u{7f}\u{2028}\""
        );
        let map = Value::map([(Value::from("k\"\n"), Value::from("v"))]);
        assert_eq!(write_with(&mut plain, None, &map), "{\"k\\\"\\n\":\"v\"}");
        // And they read back unchanged.
        let json = write_with(&mut plain, None, &Value::from(text));
        assert_eq!(read_with(&mut plain, &json).1, Value::from(text));
    }

    #[test]
    fn floats_follow_java_and_jackson() {
        let mut plain = converter(&[("schemas.enable", "false")]);
        let mut w = |v: Value| write_with(&mut plain, None, &v);
        assert_eq!(w(Value::Float64(1e7)), "1.0E7");
        assert_eq!(w(Value::Float64(0.001)), "0.001");
        assert_eq!(w(Value::Float64(1e-4)), "1.0E-4");
        assert_eq!(w(Value::Float64(-0.0)), "-0.0");
        assert_eq!(w(Value::Float64(100.0)), "100.0");
        assert_eq!(w(Value::Float32(0.1)), "0.1");
        assert_eq!(w(Value::Float32(16_777_216.0)), "1.6777216E7");
        assert_eq!(w(Value::Float64(f64::NAN)), "\"NaN\"");
        assert_eq!(w(Value::Float64(f64::INFINITY)), "\"Infinity\"");
        assert_eq!(w(Value::Float32(f32::NEG_INFINITY)), "\"-Infinity\"");
        assert_eq!(w(Value::Float64(5e-324)), "4.9E-324");
    }

    /// A small deterministic generator for the conformance and robustness tests.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    // --- to_connect (inputs from Kafka's JsonConverterTest) ---

    #[test]
    fn schema_metadata_to_connect() {
        assert_eq!(
            read(r#"{ "schema": { "type": "boolean" }, "payload": true }"#),
            (Some(Schema::boolean()), true.into())
        );
        assert_eq!(
            read(r#"{ "schema": { "type": "boolean", "optional": true }, "payload": null }"#),
            (Some(Schema::optional_boolean()), Value::Null)
        );
        assert_eq!(
            read(r#"{ "schema": { "type": "boolean", "default": true }, "payload": null }"#),
            (Some(SchemaBuilder::boolean().default_value(true.into()).build().unwrap()), true.into())
        );
        let expected = SchemaBuilder::boolean()
            .name("bool")
            .version(2)
            .doc("the documentation")
            .parameter("foo", "bar")
            .build()
            .unwrap();
        assert_eq!(
            read(
                r#"{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }"#
            ),
            (Some(expected), true.into())
        );
    }

    #[test]
    fn primitives_to_connect() {
        let p = |t: &str, payload: &str| read(&format!(r#"{{ "schema": {{ "type": "{t}" }}, "payload": {payload} }}"#));
        assert_eq!(p("boolean", "false"), (Some(Schema::boolean()), false.into()));
        assert_eq!(p("int8", "12"), (Some(Schema::int8()), Value::Int8(12)));
        assert_eq!(p("int16", "12"), (Some(Schema::int16()), Value::Int16(12)));
        assert_eq!(p("int32", "12"), (Some(Schema::int32()), Value::Int32(12)));
        assert_eq!(p("int64", "12"), (Some(Schema::int64()), Value::Int64(12)));
        assert_eq!(p("int64", "4398046511104"), (Some(Schema::int64()), Value::Int64(4_398_046_511_104)));
        assert_eq!(p("float", "12.34"), (Some(Schema::float32()), Value::Float32(12.34)));
        assert_eq!(p("double", "12.34"), (Some(Schema::float64()), Value::Float64(12.34)));
        assert_eq!(p("bytes", "\"dGVzdC1zdHJpbmc=\""), (Some(Schema::bytes()), Value::from(b"test-string".to_vec())));
        assert_eq!(p("string", "\"foo-bar-baz\""), (Some(Schema::string()), "foo-bar-baz".into()));
        // Java's numeric conversions: truncation toward zero and wrapping.
        assert_eq!(p("int32", "12.9"), (Some(Schema::int32()), Value::Int32(12)));
        assert_eq!(p("int8", "300"), (Some(Schema::int8()), Value::Int8(44)));
        assert_eq!(p("int64", "1e3"), (Some(Schema::int64()), Value::Int64(1000)));
        assert_eq!(p("int32", "007"), (Some(Schema::int32()), Value::Int32(7)));
    }

    #[test]
    fn containers_to_connect() {
        let (schema, value) =
            read(r#"{ "schema": { "type": "array", "items": { "type" : "int32" } }, "payload": [1, 2, 3] }"#);
        assert_eq!(schema, Some(SchemaBuilder::array(Schema::int32()).build().unwrap()));
        assert_eq!(value, Value::array([1i32, 2, 3].map(Value::Int32)));
        let (schema, value) = read(
            r#"{ "schema": { "type": "map", "keys": { "type" : "string" }, "values": { "type" : "int32" } }, "payload": { "key1": 12, "key2": 15} }"#,
        );
        assert_eq!(schema, Some(SchemaBuilder::map(Schema::string(), Schema::int32()).build().unwrap()));
        assert_eq!(value, Value::map([("key1".into(), Value::Int32(12)), ("key2".into(), Value::Int32(15))]));
        let (schema, value) = read(
            r#"{ "schema": { "type": "map", "keys": { "type" : "int32" }, "values": { "type" : "int32" } }, "payload": [ [1, 12], [2, 15] ] }"#,
        );
        assert_eq!(schema, Some(SchemaBuilder::map(Schema::int32(), Schema::int32()).build().unwrap()));
        assert_eq!(value, Value::map([(Value::Int32(1), Value::Int32(12)), (Value::Int32(2), Value::Int32(15))]));
        // A repeated key keeps the last value, as Kafka's HashMap does.
        let (_, value) = read(
            r#"{ "schema": { "type": "map", "keys": { "type" : "int32" }, "values": { "type" : "int32" } }, "payload": [ [1, 12], [1, 15] ] }"#,
        );
        assert_eq!(value, Value::map([(Value::Int32(1), Value::Int32(15))]));
        let (schema, value) = read(
            r#"{ "schema": { "type": "struct", "fields": [{ "field": "field1", "type": "boolean" }, { "field": "field2", "type": "string" }] }, "payload": { "field1": true, "field2": "string" } }"#,
        );
        let expected =
            SchemaBuilder::structure().field("field1", Schema::boolean()).field("field2", Schema::string()).build();
        let expected = expected.unwrap();
        assert_eq!(value, record(&expected, &[("field1", true.into()), ("field2", "string".into())]));
        assert_eq!(schema, Some(expected));
    }

    #[test]
    fn logical_types_to_connect() {
        let (schema, value) = read(
            r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": "AJw=" }"#,
        );
        assert_eq!((schema, value), (Some(Decimal::schema(2)), Decimal::from_unscaled(156)));
        for payload in ["1.56", "1.560", "156e-2"] {
            let (_, value) = read(&format!(
                r#"{{ "schema": {{ "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": {{ "scale": "2" }} }}, "payload": {payload} }}"#
            ));
            assert_eq!(value, Decimal::from_unscaled(156), "{payload}");
        }
        let (schema, value) = read(
            r#"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1 }, "payload": 10000 }"#,
        );
        assert_eq!((schema, value), (Some(Date::schema()), Value::Int32(10_000)));
        let (schema, value) = read(
            r#"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Time", "version": 1 }, "payload": 14400000 }"#,
        );
        assert_eq!((schema, value), (Some(Time::schema()), Value::Int32(14_400_000)));
        let (schema, value) = read(
            r#"{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1 }, "payload": 4000000000 }"#,
        );
        assert_eq!((schema, value), (Some(Timestamp::schema()), Value::Int64(4_000_000_000)));
    }

    #[test]
    fn logical_type_read_errors() {
        let mut c = converter(&[]);
        let decimal = r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "parameters": { "scale": "2" } }, "payload": PAYLOAD }"#;
        let with = |payload: &str| decimal.replace("PAYLOAD", payload);
        assert_eq!(read_err(&mut c, with("\"!!\"").as_bytes()), "Invalid bytes for Decimal field");
        assert_eq!(read_err(&mut c, with("\"\"").as_bytes()), "Invalid bytes for Decimal field");
        assert_eq!(
            read_err(&mut c, with("true").as_bytes()),
            "Invalid type for Decimal, underlying representation should be numeric or bytes but was BOOLEAN"
        );
        assert!(read_err(&mut c, with("1.234").as_bytes()).contains("does not fit scale 2"));
        assert!(read_err(&mut c, with("1e999999999").as_bytes()).contains("out of the supported range"));
        let date = r#"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date" }, "payload": 1.5 }"#;
        assert_eq!(
            read_err(&mut c, date.as_bytes()),
            "Invalid type for Date, underlying representation should be integer but was NUMBER"
        );
        let time = r#"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Time" }, "payload": -1 }"#;
        assert_eq!(
            read_err(&mut c, time.as_bytes()),
            "Time values must use number of milliseconds greater than 0 and less than 86400000"
        );
        let ts =
            r#"{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp" }, "payload": "x" }"#;
        assert_eq!(
            read_err(&mut c, ts.as_bytes()),
            "Invalid type for Timestamp, underlying representation should be integral but was STRING"
        );
    }

    #[test]
    fn null_schema_to_connect() {
        assert_eq!(read(r#"{ "schema": null, "payload": null }"#), (None, Value::Null));
        assert_eq!(read(r#"{ "schema": null, "payload": true }"#), (None, true.into()));
        assert_eq!(read(r#"{ "schema": null, "payload": 12 }"#), (None, Value::Int64(12)));
        assert_eq!(read(r#"{ "schema": null, "payload": 12.24 }"#), (None, Value::Float64(12.24)));
        assert_eq!(read(r#"{ "schema": null, "payload": "a string" }"#), (None, "a string".into()));
        assert_eq!(
            read(r#"{ "schema": null, "payload": [1, "2", 3] }"#),
            (None, Value::array([Value::Int64(1), "2".into(), Value::Int64(3)]))
        );
        assert_eq!(
            read(r#"{ "schema": null, "payload": { "field1": 1, "field2": 2} }"#),
            (None, Value::map([("field1".into(), Value::Int64(1)), ("field2".into(), Value::Int64(2))]))
        );
    }

    #[test]
    fn schemaless_reading() {
        let mut plain = converter(&[("schemas.enable", "false")]);
        assert_eq!(read_with(&mut plain, "true"), (None, true.into()));
        assert_eq!(read_with(&mut plain, "  -12 "), (None, Value::Int64(-12)));
        assert_eq!(read_with(&mut plain, "1e2"), (None, Value::Float64(100.0)));
        assert_eq!(plain.to_connect("topic", Some(b"")).unwrap(), (None, Value::Null));
        assert_eq!(plain.to_connect("topic", Some(b" \n")).unwrap(), (None, Value::Null));
        assert_eq!(read_with(&mut plain, "\u{feff}[1]"), (None, Value::array([Value::Int64(1)])));
        // Objects keep document order; a repeated key keeps its first position and its last value (Jackson).
        assert_eq!(
            read_with(&mut plain, r#"{"b":1,"a":{"x":null},"b":2}"#),
            (None, Value::map([("b".into(), Value::Int64(2)), ("a".into(), Value::map([("x".into(), Value::Null)]))]))
        );
        // Integers beyond a long wrap, as Jackson's longValue() does.
        assert_eq!(read_with(&mut plain, "18446744073709551617"), (None, Value::Int64(1)));
        // Content after the first value is ignored, as Jackson's readTree does.
        assert_eq!(read_with(&mut plain, r#"{"a":1} trailing"#).1, Value::map([("a".into(), Value::Int64(1))]));
        // A stringified envelope is just a map when schemas are disabled.
        assert!(matches!(read_with(&mut plain, r#"{"schema":null,"payload":1}"#).1, Value::Map(_)));
    }

    #[test]
    fn null_bytes_and_null_payloads() {
        let mut c = converter(&[]);
        assert_eq!(c.to_connect("topic", None).unwrap(), (None, Value::Null));
        let schema = r#"{"type":"string","optional":true,"default":"default"}"#;
        let (s, v) = read(&format!(r#"{{"schema":{schema},"payload":null}}"#));
        assert_eq!(v, "default".into());
        assert_eq!(s.unwrap().default_value(), Some(&"default".into()));
        let mut keep_null = converter(&[("replace.null.with.default", "false")]);
        assert_eq!(read_with(&mut keep_null, &format!(r#"{{"schema":{schema},"payload":null}}"#)).1, Value::Null);
        let struct_json = r#"{"schema":{"type":"struct","fields":[{"field":"field1","type":"string","optional":true,"default":"default"}],"optional":false},"payload":{"field1":null}}"#;
        let (_, v) = read(struct_json);
        assert_eq!(v.as_struct().unwrap().get_at(0), Some(&"default".into()));
        let (_, v) = read_with(&mut keep_null, struct_json);
        assert_eq!(v.as_struct().unwrap().get_at(0), Some(&Value::Null));
        let required = r#"{"schema":{"type":"int32"},"payload":null}"#;
        assert_eq!(read_err(&mut c, required.as_bytes()), "Invalid null value for required INT32 field");
        let missing_field = r#"{"schema":{"type":"struct","fields":[{"field":"a","type":"int32"}]},"payload":{}}"#;
        assert_eq!(read_err(&mut c, missing_field.as_bytes()), "Invalid null value for required INT32 field");
    }

    #[test]
    fn envelope_is_required_with_schemas_enabled() {
        assert_eq!(
            ENVELOPE_ERROR,
            "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration."
        );
        let mut c = converter(&[]);
        for bad in [
            "true",
            "[]",
            "",
            r#"{"schema":null}"#,
            r#"{"payload":1}"#,
            r#"{"schema":null,"payload":1,"extra":2}"#,
            r#"{"schema":null,"extra":2}"#,
        ] {
            assert_eq!(read_err(&mut c, bad.as_bytes()), ENVELOPE_ERROR, "{bad}");
        }
    }

    #[test]
    fn malformed_json_is_an_error() {
        let mut c = converter(&[("schemas.enable", "false")]);
        for bad in [
            &b"{"[..],
            b"{\"a\":}",
            b"[1,]",
            b"[1 2]",
            b"{\"a\" 1}",
            b"{1:2}",
            b"\"unterminated",
            b"tru",
            b"truex",
            b"nul",
            b"NaN",
            b"+1",
            b".5",
            b"1.",
            b"1e",
            b"-",
            b"12abc",
            b"\"bad \\x escape\"",
            b"\"bad \\u12G4\"",
            b"\"raw\ncontrol\"",
            b"\"\xff\xfe\"",
            b"{\"a\":1,}",
            b"'single'",
        ] {
            let msg = read_err(&mut c, bad);
            assert!(msg.starts_with(READ_ERROR), "{}: {msg}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(100_000);
        assert!(read_err(&mut c, deep.as_bytes()).contains("nesting depth"));
        let ok = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert!(c.to_connect("topic", Some(ok.as_bytes())).is_ok());
        if !cfg!(debug_assertions) {
            // Jackson's limit; unoptimised builds stop earlier, at the stack budget.
            let ok = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
            assert!(c.to_connect("topic", Some(ok.as_bytes())).is_ok());
        }
        let too_deep = format!("{}{}", "[".repeat(1001), "]".repeat(1001));
        assert!(read_err(&mut c, too_deep.as_bytes()).contains("nesting depth"));
        let long_number = "1".repeat(1001);
        assert!(read_err(&mut c, long_number.as_bytes()).contains("Number value length"));
    }

    #[test]
    fn string_escapes_are_decoded() {
        let mut plain = converter(&[("schemas.enable", "false")]);
        let (_, v) = read_with(&mut plain, r#""a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x""#);
        assert_eq!(v, Value::from("a\"b\\c/\u{8}\u{c}\n\r\té😀\u{fffd}x"));
    }

    #[test]
    fn wrong_payload_types_are_errors() {
        let mut c = converter(&[]);
        let cases = [
            (r#"{"type":"int32"}"#, r#""12""#, "Expected a JSON number for a INT32 value but found STRING"),
            (r#"{"type":"boolean"}"#, "1", "Expected a JSON boolean for a BOOLEAN value but found NUMBER"),
            (r#"{"type":"string"}"#, "12", "Expected a JSON string for a STRING value but found NUMBER"),
            (r#"{"type":"bytes"}"#, r#""not base64!""#, "Invalid bytes field"),
            (r#"{"type":"bytes"}"#, r#""AJw""#, "Invalid bytes field"),
            (
                r#"{"type":"array","items":{"type":"int32"}}"#,
                "{}",
                "Expected a JSON array for a ARRAY value but found OBJECT",
            ),
            (
                r#"{"type":"map","keys":{"type":"string"},"values":{"type":"int32"}}"#,
                "[]",
                "Maps with string fields should be encoded as JSON objects, but found ARRAY",
            ),
            (
                r#"{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}}"#,
                "{}",
                "Maps with non-string fields should be encoded as JSON array of tuples, but found OBJECT",
            ),
            (
                r#"{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}}"#,
                "[1]",
                "Found invalid map entry instead of array tuple: NUMBER",
            ),
            (
                r#"{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}}"#,
                "[[1,2,3]]",
                "Found invalid map entry, expected length 2 but found :3",
            ),
            (r#"{"type":"struct","fields":[]}"#, "[]", "Structs should be encoded as JSON objects, but found ARRAY"),
        ];
        for (schema, payload, expected) in cases {
            let text = format!(r#"{{"schema":{schema},"payload":{payload}}}"#);
            assert_eq!(read_err(&mut c, text.as_bytes()), expected, "{text}");
        }
    }

    #[test]
    fn invalid_schemas_are_errors() {
        let mut c = converter(&[]);
        let cases = [
            (r#"{}"#, "Schema must contain 'type' field"),
            (r#"{"type":5}"#, "Schema must contain 'type' field"),
            (r#""int32""#, "Schema must contain 'type' field"),
            (r#"{"type":"uint8"}"#, "Unknown schema type: uint8"),
            (r#"{"type":"array"}"#, "Array schema did not specify the element type"),
            (r#"{"type":"array","items":null}"#, "Array schema did not specify the element type"),
            (r#"{"type":"map","values":{"type":"int32"}}"#, "Map schema did not specify the key type"),
            (r#"{"type":"map","keys":{"type":"int32"}}"#, "Map schema did not specify the value type"),
            (r#"{"type":"map","keys":null,"values":{"type":"int32"}}"#, "keySchema cannot be null."),
            (r#"{"type":"struct"}"#, "Struct schema's \"fields\" argument is not an array."),
            (r#"{"type":"struct","fields":[{"type":"int8"}]}"#, "Struct schema's field name not specified properly"),
            (r#"{"type":"struct","fields":[null]}"#, "Struct schema's field name not specified properly"),
            (r#"{"type":"int8","parameters":{"a":1}}"#, "Schema parameters must have string values."),
            (r#"{"type":"int8","default":"x"}"#, "Expected a JSON number for a INT8 value but found STRING"),
            (r#"{"type":"int8","default":null}"#, "Invalid null value for required INT8 field"),
        ];
        for (schema, expected) in cases {
            let text = format!(r#"{{"schema":{schema},"payload":null}}"#);
            assert_eq!(read_err(&mut c, text.as_bytes()), expected, "{text}");
        }
        let dup = r#"{"schema":{"type":"struct","fields":[{"field":"a","type":"int8"},{"field":"a","type":"int8"}]},"payload":null}"#;
        assert!(read_err(&mut c, dup.as_bytes()).contains("field name duplication a"));
    }

    #[test]
    fn all_types_round_trip() {
        let inner = SchemaBuilder::structure()
            .name("com.example.Inner")
            .field("x", Schema::int32())
            .field("label", Schema::optional_string())
            .build()
            .unwrap();
        let schema = SchemaBuilder::structure()
            .name("com.example.Everything")
            .version(7)
            .doc("every \"type\"")
            .parameter("p1", "v1")
            .parameter("a0", "v0")
            .field("int8", Schema::int8())
            .field("int16", Schema::int16())
            .field("int32", Schema::int32())
            .field("int64", Schema::int64())
            .field("float32", Schema::float32())
            .field("float64", Schema::float64())
            .field("boolean", Schema::boolean())
            .field("string", Schema::string())
            .field("bytes", Schema::bytes())
            .field("array", SchemaBuilder::array(Schema::optional_int64()).build().unwrap())
            .field("string_map", SchemaBuilder::map(Schema::string(), Schema::float64()).build().unwrap())
            .field("int_map", SchemaBuilder::map(Schema::int16(), inner.clone()).optional().build().unwrap())
            .field("inner", inner.clone())
            .field("decimal", Decimal::schema(3))
            .field("big_decimal", Decimal::builder(0).optional().build().unwrap())
            .field("date", Date::schema())
            .field("time", Time::schema())
            .field("timestamp", Timestamp::schema())
            .field("optional", Schema::optional_string())
            .field("with_default", SchemaBuilder::int32().default_value(Value::Int32(42)).build().unwrap())
            .build()
            .unwrap();
        let inner_value = |x: i32| record(&inner, &[("x", Value::Int32(x)), ("label", format!("#{x}").into())]);
        let big = Decimal::parse("-98765432109876543210987654321098765432109876543210", 0).unwrap();
        let value = record(
            &schema,
            &[
                ("int8", Value::Int8(-128)),
                ("int16", Value::Int16(32_767)),
                ("int32", Value::Int32(i32::MIN)),
                ("int64", Value::Int64(i64::MAX)),
                ("float32", Value::Float32(3.4e38)),
                ("float64", Value::Float64(-1.0e-300)),
                ("boolean", Value::Boolean(true)),
                ("string", Value::from("ünïcödé \"quotes\" \\ \n 😀")),
                ("bytes", Value::from(vec![0u8, 1, 2, 254, 255])),
                ("array", Value::array([Value::Int64(1), Value::Null, Value::Int64(-3)])),
                ("string_map", Value::map([("z".into(), Value::Float64(0.5)), ("a".into(), Value::Float64(1e21))])),
                ("int_map", Value::map([(Value::Int16(2), inner_value(2)), (Value::Int16(1), inner_value(1))])),
                ("inner", inner_value(0)),
                ("decimal", Decimal::from_unscaled(-1_234_567)),
                ("big_decimal", big),
                ("date", Value::Int32(-10_000)),
                ("time", Value::Int32(86_399_999)),
                ("timestamp", Value::Int64(-1)),
                ("with_default", Value::Int32(7)),
            ],
        );
        for format in ["BASE64", "NUMERIC"] {
            let mut c = converter(&[("decimal.format", format)]);
            let json = write_with(&mut c, Some(&schema), &value);
            serde_json::from_str::<serde_json::Value>(&json).expect("valid JSON");
            let (read_schema, read_value) = read_with(&mut c, &json);
            assert_eq!(read_schema.as_ref(), Some(&schema), "{format}");
            assert_eq!(read_value, value, "{format}");
            // Writing what was read gives the same bytes.
            assert_eq!(write_with(&mut c, read_schema.as_ref(), &read_value), json);
        }
        // Schemaless, the same record reads back as maps and longs.
        let mut plain = converter(&[("schemas.enable", "false")]);
        let json = write_with(&mut plain, Some(&schema), &value);
        let (none, map) = read_with(&mut plain, &json);
        assert!(none.is_none());
        assert_eq!(map.map_get("int32"), Some(&Value::Int64(i64::from(i32::MIN))));
        assert_eq!(map.map_get("time"), Some(&Value::Int64(86_399_999)));
    }

    #[test]
    fn headers_use_the_same_format() {
        let mut c = converter(&[]);
        let mut out = Vec::new();
        assert!(c.from_connect_header("topic", "h", Some(&Schema::string()), &"test-string".into(), &mut out).unwrap());
        assert_eq!(out, br#"{"schema":{"type":"string","optional":false},"payload":"test-string"}"#);
        let read = c
            .to_connect_header("topic", "h", Some(br#"{ "schema": { "type": "string" }, "payload": "foo-bar-baz" }"#))
            .unwrap();
        assert_eq!(read, (Some(Schema::string()), "foo-bar-baz".into()));
    }

    #[test]
    fn schema_json_is_cached_by_identity_and_equality_and_bounded() {
        let mut c = converter(&[("schemas.cache.size", "2")]);
        let s1 = SchemaBuilder::int32().name("one").build().unwrap();
        let s1_copy = SchemaBuilder::int32().name("one").build().unwrap();
        let s2 = SchemaBuilder::int32().name("two").build().unwrap();
        let s3 = SchemaBuilder::int32().name("three").build().unwrap();
        let v = Value::Int32(1);
        let first = write_with(&mut c, Some(&s1), &v);
        assert_eq!(write_with(&mut c, Some(&s1), &v), first);
        assert_eq!(write_with(&mut c, Some(&s1_copy), &v), first);
        assert_eq!(c.write_cache.len(), 1);
        write_with(&mut c, Some(&s2), &v);
        write_with(&mut c, Some(&s3), &v);
        assert_eq!(c.write_cache.len(), 2);
        assert_eq!(write_with(&mut c, Some(&s1), &v), first);
        let mut uncached = converter(&[("schemas.cache.size", "0")]);
        assert_eq!(write_with(&mut uncached, Some(&s1), &v), first);
        assert_eq!(uncached.write_cache.len(), 0);
    }

    #[test]
    fn schemas_read_are_shared_between_records() {
        let mut c = converter(&[]);
        let text = r#"{"schema":{"type":"struct","fields":[{"field":"a","type":"int8"}]},"payload":{"a":1}}"#;
        let (a, _) = read_with(&mut c, text);
        let (b, _) = read_with(&mut c, text);
        assert!(a.unwrap().ptr_eq(&b.unwrap()));
        let mut small = converter(&[("schemas.cache.size", "1")]);
        read_with(&mut small, text);
        read_with(&mut small, r#"{"schema":{"type":"int8"},"payload":1}"#);
        assert_eq!(small.read_cache.map.len(), 1);
    }

    #[test]
    fn schema_content_applies_to_every_record() {
        let content = r#"{"type":"struct","fields":[{"field":"id","type":"int64"},{"field":"name","type":"string","optional":true}]}"#;
        let mut c = converter(&[("schema.content", content)]);
        let (schema, value) = read_with(&mut c, r#"{"id":5,"name":"x","ignored":true}"#);
        let schema = schema.unwrap();
        assert_eq!(value, record(&schema, &[("id", Value::Int64(5)), ("name", "x".into())]));
        let err = JsonConverter::new(JsonConverterConfig {
            schema_content: Some("{\"type\":\"nope\"}".into()),
            ..JsonConverterConfig::default()
        })
        .err()
        .unwrap();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("schema.content"), "{err}");
        // Ignored when schemas are disabled, as in Kafka.
        let mut plain = converter(&[("schema.content", content), ("schemas.enable", "false")]);
        assert_eq!(read_with(&mut plain, "1"), (None, Value::Int64(1)));
    }

    #[test]
    fn deep_values_are_refused_not_overflowed() {
        let mut plain = converter(&[("schemas.enable", "false")]);
        let nested = |n: usize| (0..n).fold(Value::Int8(1), |v, _| Value::array([v]));
        assert!(write_with(&mut plain, None, &nested(300)).starts_with("[[[["));
        if !cfg!(debug_assertions) {
            assert!(write_with(&mut plain, None, &nested(1000)).starts_with("[[[["));
        }
        let err = write_err(&mut plain, None, &nested(1001));
        assert!(err.message().contains("nesting"), "{err}");
        // Deep schemas and values on a default-sized (2 MiB) thread stack fail cleanly instead of overflowing it.
        let deep = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let mut c = converter(&[]);
                let (mut schema, mut payload) = (String::from(r#"{"type":"int8"}"#), String::from("1"));
                for _ in 0..990 {
                    schema = format!(r#"{{"type":"array","items":{schema}}}"#);
                    payload = format!("[{payload}]");
                }
                let text = format!(r#"{{"schema":{schema},"payload":{payload}}}"#);
                if let Ok((s, v)) = c.to_connect("t", Some(text.as_bytes())) {
                    let mut out = Vec::new();
                    let _ = c.from_connect("t", s.as_ref(), &v, &mut out);
                }
                let _ = c.from_connect("t", None, &nested(999), &mut Vec::new());
            })
            .unwrap()
            .join();
        assert!(deep.is_ok());
    }

    #[test]
    fn random_input_never_panics() {
        let mut rng = XorShift(42);
        let seeds: Vec<Vec<u8>> = [
            r#"{"schema":{"type":"struct","fields":[{"field":"a","type":"array","items":{"type":"map","keys":{"type":"int32"},"values":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}}}]},"payload":{"a":[[[1,"AJw="]]]}}"#,
            r#"{"schema":{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp","default":5},"payload":"\u00e9\ud83d"}"#,
            r#"{"schema":null,"payload":[1.5e300,-0,{"k":[true,false,null]}]}"#,
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let alphabet = b"{}[]\":,0123456789.eE-+truefalsn\\u \x00\xff\xc3";
        let mut converters =
            [converter(&[]), converter(&[("schemas.enable", "false")]), converter(&[("decimal.format", "NUMERIC")])];
        for i in 0..30_000 {
            let mut doc = seeds[i % seeds.len()].clone();
            for _ in 0..(rng.next() % 4 + 1) {
                let at = (rng.next() as usize) % (doc.len() + 1);
                match rng.next() % 3 {
                    0 if at < doc.len() => {
                        doc.remove(at);
                    }
                    1 if at < doc.len() => doc[at] = alphabet[(rng.next() as usize) % alphabet.len()],
                    _ => doc.insert(at, alphabet[(rng.next() as usize) % alphabet.len()]),
                }
            }
            for c in &mut converters {
                if let Ok((schema, value)) = c.to_connect("t", Some(&doc)) {
                    let mut out = Vec::new();
                    let _ = c.from_connect("t", schema.as_ref(), &value, &mut out);
                }
            }
        }
    }

    /// Counts heap allocations made by the current thread (other test threads do not interfere).
    mod allocations {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static COUNT: Cell<usize> = const { Cell::new(0) };
        }

        struct Counting;

        // SAFETY: defers every operation to the system allocator; only counts calls.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                COUNT.with(|c| c.set(c.get() + 1));
                // SAFETY: same contract as the caller's.
                unsafe { System.alloc(layout) }
            }

            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                // SAFETY: same contract as the caller's.
                unsafe { System.dealloc(ptr, layout) }
            }

            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                COUNT.with(|c| c.set(c.get() + 1));
                // SAFETY: same contract as the caller's.
                unsafe { System.realloc(ptr, layout, new_size) }
            }
        }

        #[global_allocator]
        static ALLOCATOR: Counting = Counting;

        pub fn count() -> usize {
            COUNT.with(Cell::get)
        }
    }

    #[test]
    fn writing_does_not_allocate_per_record() {
        let schema = SchemaBuilder::structure()
            .field("id", Schema::int64())
            .field("name", Schema::string())
            .field("score", Schema::float64())
            .field("ratio", Schema::float32())
            .field("price", Decimal::schema(2))
            .field("at", Timestamp::schema())
            .field("tags", SchemaBuilder::map(Schema::string(), Schema::optional_string()).build().unwrap())
            .field("raw", Schema::optional_bytes())
            .field("missing", SchemaBuilder::string().optional().default_value("d".into()).build().unwrap())
            .build()
            .unwrap();
        let value = record(
            &schema,
            &[
                ("id", Value::Int64(123_456_789)),
                ("name", "a \"name\"\n".into()),
                ("score", Value::Float64(0.1 + 0.2)),
                ("ratio", Value::Float32(1e-7)),
                ("price", Decimal::from_unscaled(-99_999)),
                ("at", Value::Int64(1_705_321_845_123)),
                ("tags", Value::map([("k".into(), Value::Null)])),
                ("raw", Value::from(vec![1u8, 2, 3])),
            ],
        );
        let before = allocations::count();
        std::hint::black_box(vec![1u8; 16]);
        assert!(allocations::count() > before, "the counting allocator is installed");
        for format in ["BASE64", "NUMERIC"] {
            for envelope in ["true", "false"] {
                let mut c = converter(&[("decimal.format", format), ("schemas.enable", envelope)]);
                let mut out = Vec::with_capacity(1 << 16);
                c.from_connect("t", Some(&schema), &value, &mut out).unwrap(); // fills the schema cache
                let before = allocations::count();
                for _ in 0..100 {
                    out.clear();
                    c.from_connect("t", Some(&schema), &value, &mut out).unwrap();
                }
                assert_eq!(allocations::count() - before, 0, "{format} envelope={envelope}");
            }
        }
    }
}
