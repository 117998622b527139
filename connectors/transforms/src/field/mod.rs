//! Kafka's transformations of a key's or value's fields and schema, each with a `$Key` and a `$Value` variant
//! (`Cast`, `ExtractField`, `Flatten`, `HoistField`, `InsertField`, `MaskField`, `ReplaceField`,
//! `SetSchemaMetadata`) plus `ValueToKey`. They handle records with a schema (Struct values, the schema is
//! rebuilt and cached) and without one (Map values), with Kafka's configuration keys and error messages.

use connect_api::abi::{transformation_descriptor, PluginDescriptor};
use connect_api::{ConnectError, Transformation};

mod cast;
mod common;
mod extract_field;
mod flatten;
mod hoist_field;
mod insert_field;
mod mask_field;
mod path;
mod replace_field;
mod set_schema_metadata;
mod value_to_key;

pub use cast::Cast;
pub use extract_field::ExtractField;
pub use flatten::Flatten;
pub use hoist_field::HoistField;
pub use insert_field::InsertField;
pub use mask_field::MaskField;
pub use replace_field::ReplaceField;
pub use set_schema_metadata::SetSchemaMetadata;
pub use value_to_key::ValueToKey;

/// The Java class name of a `$Key` (`key` true) or `$Value` variant of transformation `name`.
fn class(name: &str, key: bool) -> String {
    format!("{}.{name}${}", crate::PACKAGE, common::target(key).name())
}

/// The descriptors of both variants of a transformation.
fn pair<K, V>(name: &str) -> [Result<PluginDescriptor, ConnectError>; 2]
where
    K: Transformation + Default,
    V: Transformation + Default,
{
    [transformation_descriptor::<K>(&class(name, true)), transformation_descriptor::<V>(&class(name, false))]
}

/// The descriptors of this module's transformations, one per Java class name.
pub fn descriptors() -> Vec<Result<PluginDescriptor, ConnectError>> {
    let mut all = Vec::with_capacity(17);
    all.extend(pair::<Cast<true>, Cast<false>>("Cast"));
    all.extend(pair::<ExtractField<true>, ExtractField<false>>("ExtractField"));
    all.extend(pair::<Flatten<true>, Flatten<false>>("Flatten"));
    all.extend(pair::<HoistField<true>, HoistField<false>>("HoistField"));
    all.extend(pair::<InsertField<true>, InsertField<false>>("InsertField"));
    all.extend(pair::<MaskField<true>, MaskField<false>>("MaskField"));
    all.extend(pair::<ReplaceField<true>, ReplaceField<false>>("ReplaceField"));
    all.extend(pair::<SetSchemaMetadata<true>, SetSchemaMetadata<false>>("SetSchemaMetadata"));
    all.push(transformation_descriptor::<ValueToKey>(&format!("{}.ValueToKey", crate::PACKAGE)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_descriptor_per_class() {
        let all = descriptors();
        assert_eq!(all.len(), 17);
        let classes: Vec<String> = all.into_iter().map(|d| d.unwrap().class.to_string()).collect();
        assert_eq!(classes[0], "org.apache.kafka.connect.transforms.Cast$Key");
        assert_eq!(classes[15], "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value");
        assert_eq!(classes[16], "org.apache.kafka.connect.transforms.ValueToKey");
        assert_eq!(class("Cast", true), "org.apache.kafka.connect.transforms.Cast$Key");
        assert_eq!(class("Flatten", false), "org.apache.kafka.connect.transforms.Flatten$Value");
    }
}
