//! Benchmarks of connect-rs. Run them with `scripts/bench`; see `benches/` for what each measures.
