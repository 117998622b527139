//! What the transformations share: which part of a record a `$Key` / `$Value` variant works on.

use connect_api::{Schema, TransformRecord, Value};

/// The part of a record a `$Key` or `$Value` variant operates on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// The key (`$Key`).
    Key,
    /// The value (`$Value`).
    Value,
}

impl Target {
    /// The schema and value of this part.
    pub(crate) fn get(self, record: &TransformRecord) -> (Option<&Schema>, &Value) {
        match self {
            Target::Key => (record.key_schema(), &record.key),
            Target::Value => (record.value_schema(), &record.value),
        }
    }

    /// Takes the schema and value of this part out of the record, leaving no schema and `Null`.
    pub(crate) fn take(self, record: &mut TransformRecord) -> (Option<Schema>, Value) {
        match self {
            Target::Key => (record.key_schema.take().into_option(), std::mem::take(&mut record.key)),
            Target::Value => (record.value_schema.take().into_option(), std::mem::take(&mut record.value)),
        }
    }

    /// Sets the schema and value of this part.
    pub(crate) fn set(self, record: &mut TransformRecord, schema: Option<Schema>, value: Value) {
        match self {
            Target::Key => {
                record.key_schema = schema.into();
                record.key = value;
            }
            Target::Value => {
                record.value_schema = schema.into();
                record.value = value;
            }
        }
    }

    /// `Key` or `Value`, as the Java class name suffix and Kafka's messages say it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Key => "Key",
            Target::Value => "Value",
        }
    }
}
