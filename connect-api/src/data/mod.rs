//! Kafka Connect's data model: [`Schema`], [`Value`], [`Struct`], [`Headers`] and the logical types.
//!
//! Every type here is `StableAbi`, so records built by a plugin reach the runtime without any conversion or
//! serialization.

mod headers;
pub mod java_float;
pub mod logical;
mod schema;
mod structs;
mod value;

pub use headers::{Header, Headers};
pub use schema::{Field, Parameter, Schema, SchemaBuilder, SchemaType};
pub use structs::Struct;
pub use value::{MapEntry, Value};
