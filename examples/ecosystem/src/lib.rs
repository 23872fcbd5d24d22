//! Nothing: this crate only carries the ecosystem project's faasm-py
//! configuration (`Cargo.toml`).
