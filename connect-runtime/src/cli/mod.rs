//! The `connect` subcommands. Each returns an error whose message names the file and key at fault; `main`
//! prints it and exits non-zero.

pub mod distributed;
pub mod plugins;
pub mod standalone;

/// Sets up logging to stderr: `RUST_LOG` when set, `info` otherwise; levels can change at run time
/// ([`crate::logging`]).
pub fn init_logging() {
    crate::logging::init();
}
