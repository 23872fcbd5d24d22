//! Nothing: this crate only carries the scientific project's faasm-py
//! configuration (`Cargo.toml`).
