//! The per-run cap on linear memory.
//!
//! `StoreLimits` would refuse the growth too, but it does not tell whether it
//! did. A guest that fails to allocate usually dies some other way (abort,
//! `MemoryError`, exit code 1), so the runner needs that fact to report the
//! run as out of memory rather than as a generic failure.

use wasmtime::ResourceLimiter;

/// Refuses linear-memory growth beyond `limit` bytes and remembers refusals.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryLimiter {
    limit: Option<usize>,
    refused: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(limit: Option<usize>) -> Self {
        Self {
            limit,
            refused: false,
        }
    }

    /// True once a memory growth (or an initial memory) was refused.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let over_limit = self.limit.is_some_and(|limit| desired > limit);
        let over_max = maximum.is_some_and(|max| desired > max);
        if over_limit {
            self.refused = true;
        }
        Ok(!over_limit && !over_max)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // The host could not provide the memory (e.g. mmap failed): for the
        // guest that is the same as hitting the limit.
        self.refused = true;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|max| desired <= max))
    }
}
