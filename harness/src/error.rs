//! Bridging `wasmtime::Error` into `anyhow::Error`.
//!
//! wasmtime 48 has its own error type, and `From<wasmtime::Error> for
//! anyhow::Error` only exists behind wasmtime's `anyhow` feature. Turning that
//! feature on would rebuild all of wasmtime for every crate in the workspace,
//! so the conversion goes through the boxed `std::error::Error` that wasmtime
//! can always produce (which keeps the `source()` chain).

/// Converts a wasmtime error into an anyhow error, keeping its cause chain.
pub(crate) fn from_wasmtime(err: wasmtime::Error) -> anyhow::Error {
    anyhow::Error::from_boxed(err.into_boxed_dyn_error())
}

/// `.wt()` on a `wasmtime::Result` gives an `anyhow::Result`, so `?` and
/// `.with_context()` work as usual.
pub(crate) trait WasmtimeResultExt<T> {
    fn wt(self) -> anyhow::Result<T>;
}

impl<T> WasmtimeResultExt<T> for wasmtime::Result<T> {
    fn wt(self) -> anyhow::Result<T> {
        self.map_err(from_wasmtime)
    }
}
