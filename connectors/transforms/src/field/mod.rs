//! Kafka's transformations of a key's or value's fields and schema, each with a `$Key` and a `$Value` variant
//! (`Cast`, `ExtractField`, `Flatten`, `HoistField`, `InsertField`, `MaskField`, `ReplaceField`,
//! `SetSchemaMetadata`) plus `ValueToKey`. They handle records with a schema (Struct values, the schema is
//! rebuilt and cached) and without one (Map values), with Kafka's configuration keys and error messages.

use connect_api::abi::{transformation_descriptor, PluginDescriptor};
use connect_api::ConnectError;

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

/// The descriptors of this module's transformations, one per Java class name.
pub fn descriptors() -> Vec<Result<PluginDescriptor, ConnectError>> {
    let class = |name: &str| format!("{}.{name}", crate::PACKAGE);
    vec![
        transformation_descriptor::<Cast<true>>(&class("Cast$Key")),
        transformation_descriptor::<Cast<false>>(&class("Cast$Value")),
        transformation_descriptor::<ExtractField<true>>(&class("ExtractField$Key")),
        transformation_descriptor::<ExtractField<false>>(&class("ExtractField$Value")),
        transformation_descriptor::<Flatten<true>>(&class("Flatten$Key")),
        transformation_descriptor::<Flatten<false>>(&class("Flatten$Value")),
        transformation_descriptor::<HoistField<true>>(&class("HoistField$Key")),
        transformation_descriptor::<HoistField<false>>(&class("HoistField$Value")),
        transformation_descriptor::<InsertField<true>>(&class("InsertField$Key")),
        transformation_descriptor::<InsertField<false>>(&class("InsertField$Value")),
        transformation_descriptor::<MaskField<true>>(&class("MaskField$Key")),
        transformation_descriptor::<MaskField<false>>(&class("MaskField$Value")),
        transformation_descriptor::<ReplaceField<true>>(&class("ReplaceField$Key")),
        transformation_descriptor::<ReplaceField<false>>(&class("ReplaceField$Value")),
        transformation_descriptor::<SetSchemaMetadata<true>>(&class("SetSchemaMetadata$Key")),
        transformation_descriptor::<SetSchemaMetadata<false>>(&class("SetSchemaMetadata$Value")),
        transformation_descriptor::<ValueToKey>(&class("ValueToKey")),
    ]
}
