//! Herders decide what runs: they turn connector configurations into running connectors and tasks.
//!
//! The standalone herder runs everything given on the command line in one process; the distributed herder
//! (later) shares the work among the workers of a group. Both validate configurations the same way
//! ([`validation`]).

pub mod api;
pub mod standalone;
pub mod validation;
