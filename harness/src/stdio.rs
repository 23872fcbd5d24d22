//! Where a guest's standard streams come from and go to.

use std::fs::OpenOptions;
use std::path::PathBuf;

use anyhow::{Context, Result};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::cli::OutputFile;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

/// Most output a captured stream keeps; a guest writing more gets an error
/// from its write (or a trap), not an unbounded host allocation.
pub const CAPTURE_LIMIT: usize = 64 << 20;

/// The guest's standard input.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Input {
    /// Closed: reads see end of file.
    #[default]
    Null,
    /// The host process's stdin.
    Inherit,
    /// These bytes, then end of file.
    Bytes(Vec<u8>),
}

/// Where a guest's stdout or stderr goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Output {
    /// Kept in memory (up to [`CAPTURE_LIMIT`]) and returned in the outcome.
    #[default]
    Capture,
    /// The host process's corresponding stream.
    Inherit,
    /// Appended to this host file, which is created if missing. Opened in
    /// append mode, so stdout and stderr may name the same file.
    File(PathBuf),
}

/// Handle for reading a captured stream after the run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Captured(Option<MemoryOutputPipe>);

impl Captured {
    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.0
            .as_ref()
            .map(|p| p.contents().to_vec())
            .unwrap_or_default()
    }
}

pub(crate) fn set_stdin(builder: &mut WasiCtxBuilder, input: Input) {
    match input {
        // The builder's default stdin is already closed.
        Input::Null => {}
        Input::Inherit => {
            builder.inherit_stdin();
        }
        Input::Bytes(bytes) => {
            builder.stdin(MemoryInputPipe::new(bytes));
        }
    }
}

/// Which standard stream an [`Output`] is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

pub(crate) fn set_output(
    builder: &mut WasiCtxBuilder,
    stream: Stream,
    output: &Output,
) -> Result<Captured> {
    match output {
        Output::Capture => {
            let pipe = MemoryOutputPipe::new(CAPTURE_LIMIT);
            match stream {
                Stream::Stdout => builder.stdout(pipe.clone()),
                Stream::Stderr => builder.stderr(pipe.clone()),
            };
            Ok(Captured(Some(pipe)))
        }
        Output::Inherit => {
            match stream {
                Stream::Stdout => builder.inherit_stdout(),
                Stream::Stderr => builder.inherit_stderr(),
            };
            Ok(Captured(None))
        }
        Output::File(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| {
                    format!("cannot open {} for the guest's {stream:?}", path.display())
                })?;
            let out = OutputFile::new(file);
            match stream {
                Stream::Stdout => builder.stdout(out),
                Stream::Stderr => builder.stderr(out),
            };
            Ok(Captured(None))
        }
    }
}
