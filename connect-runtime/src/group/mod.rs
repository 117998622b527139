//! Kafka Connect group membership: the "connect" protocol type's wire format (`protocol`) and the leader-side
//! assignors (`assignor`).
//!
//! Nothing here does I/O or talks to the coordinator; the distributed herder drives JoinGroup/SyncGroup and calls in.

pub mod assignor;
pub mod client;
pub mod protocol;
