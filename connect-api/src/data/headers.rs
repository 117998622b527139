//! Record headers: an ordered list of (key, schema, value), duplicates allowed, as Kafka Connect's `ConnectHeaders`.

use abi_stable::std_types::{ROption, RString, RVec};
use abi_stable::StableAbi;

use crate::data::{Schema, Value};

/// One header of a record.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Header {
    /// The header key.
    pub key: RString,
    /// The schema of the value, when known.
    pub schema: ROption<Schema>,
    /// The header value.
    pub value: Value,
}

impl Header {
    /// The header's schema, when known.
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref().into()
    }
}

/// The headers of a record, in order.
///
/// ```
/// use connect_api::{Headers, Schema, Value};
///
/// let mut headers = Headers::new();
/// headers.add("trace-id", Some(Schema::string()), Value::from("abc"));
/// headers.add("trace-id", Some(Schema::string()), Value::from("def"));
/// assert_eq!(headers.len(), 2);
/// assert_eq!(headers.last_with_name("trace-id").unwrap().value, Value::from("def"));
/// headers.remove("trace-id");
/// assert!(headers.is_empty());
/// ```
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Default)]
pub struct Headers {
    entries: RVec<Header>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers { entries: RVec::new() }
    }

    /// Appends a header.
    pub fn add(&mut self, key: impl Into<String>, schema: Option<Schema>, value: Value) -> &mut Self {
        self.entries.push(Header { key: RString::from(key.into()), schema: schema.into(), value });
        self
    }

    /// Appends a header with a string value (schema `STRING`).
    pub fn add_string(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.add(key, Some(Schema::string()), Value::String(RString::from(value.into())))
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.entries.iter()
    }

    /// The headers with key `key`, in order.
    pub fn all_with_name<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Header> {
        self.entries.iter().filter(move |h| h.key == key)
    }

    /// The last header with key `key`.
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.entries.iter().rev().find(|h| h.key == key)
    }

    /// Removes every header with key `key`.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.entries.retain(|h| h.key != key);
        self
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}
