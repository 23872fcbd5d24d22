//! hello-rust's extension module: a few functions and a class in Rust, one
//! that panics on purpose (a panic must reach Python as PyO3's
//! `PanicException`, not end the interpreter).

use std::collections::HashMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The n-th Fibonacci number; a ValueError when it does not fit 64 bits.
#[pyfunction]
fn fibonacci(n: i64) -> PyResult<u64> {
    if !(0..=93).contains(&n) {
        return Err(PyValueError::new_err(format!(
            "fibonacci({n}) does not fit in 64 bits"
        )));
    }
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    Ok(a)
}

/// How often each word occurs in `text`.
#[pyfunction]
fn word_counts(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

/// Calls `f` on each item and sums the results: Python's exceptions pass
/// through Rust unchanged.
#[pyfunction]
fn sum_of(f: &Bound<'_, PyAny>, items: Vec<i64>) -> PyResult<i64> {
    let mut total = 0;
    for item in items {
        total += f.call1((item,))?.extract::<i64>()?;
    }
    Ok(total)
}

/// Panics with `message` when `n` is positive, after unwinding through a
/// value whose destructor runs.
#[pyfunction]
fn panic_if_positive(n: i64, message: &str) -> i64 {
    let _guard = Noisy;
    if n > 0 {
        panic!("{message} ({n})");
    }
    n
}

static DROPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct Noisy;

impl Drop for Noisy {
    fn drop(&mut self) {
        DROPS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How many guards were dropped, unwinding included.
#[pyfunction]
fn drops() -> usize {
    DROPS.load(std::sync::atomic::Ordering::SeqCst)
}

/// A running mean.
#[pyclass]
struct Mean {
    total: f64,
    count: u64,
}

#[pymethods]
impl Mean {
    #[new]
    fn new() -> Self {
        Mean {
            total: 0.0,
            count: 0,
        }
    }

    fn add(&mut self, value: f64) {
        self.total += value;
        self.count += 1;
    }

    #[getter]
    fn value(&self) -> PyResult<f64> {
        if self.count == 0 {
            return Err(PyValueError::new_err("the mean of nothing"));
        }
        Ok(self.total / self.count as f64)
    }

    fn __len__(&self) -> usize {
        self.count as usize
    }

    fn __repr__(&self) -> String {
        format!("Mean(count={})", self.count)
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fibonacci, m)?)?;
    m.add_function(wrap_pyfunction!(word_counts, m)?)?;
    m.add_function(wrap_pyfunction!(sum_of, m)?)?;
    m.add_function(wrap_pyfunction!(panic_if_positive, m)?)?;
    m.add_function(wrap_pyfunction!(drops, m)?)?;
    m.add_class::<Mean>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
