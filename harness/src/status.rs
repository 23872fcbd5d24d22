//! How a guest run ended, and turning wasmtime's errors into that.

use std::fmt;
use std::time::Duration;

use wasmtime::{FrameInfo, Trap, WasmBacktrace};
use wasmtime_wasi::I32Exit;

/// Frames kept in a timeout's backtrace.
const TIMEOUT_FRAMES: usize = 15;
/// Frames named in a trap's one-line reason.
const TRAP_FRAMES: usize = 6;

/// How a guest run ended. Guest failures are values of this type, never
/// host errors or panics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// `proc_exit(code)`, or `_start` returned (code 0).
    Exited(i32),
    /// The guest trapped (or a host call failed fatally). `reason` is one
    /// line naming the trap and the innermost guest functions.
    Trapped {
        /// What trapped, and where.
        reason: String,
    },
    /// The deadline passed. `backtrace` names the innermost guest functions
    /// (innermost first, joined by " <- ") at the moment it was stopped.
    TimedOut {
        /// How long the guest ran.
        after: Duration,
        /// Where it was when stopped.
        backtrace: String,
    },
    /// The guest failed after being refused linear memory beyond `limit`
    /// bytes.
    OutOfMemory {
        /// The cap, in bytes.
        limit: usize,
    },
}

impl Status {
    /// True for `Exited(0)`.
    pub fn success(&self) -> bool {
        matches!(self, Status::Exited(0))
    }

    /// The exit code, if the guest exited.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Status::Exited(code) => Some(*code),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Exited(code) => write!(f, "exited with code {code}"),
            Status::Trapped { reason } => write!(f, "trapped: {reason}"),
            Status::TimedOut { after, backtrace } => {
                write!(f, "timed out after {:.1} s", after.as_secs_f64())?;
                if !backtrace.is_empty() {
                    write!(f, " (guest was in: {backtrace})")?;
                }
                Ok(())
            }
            Status::OutOfMemory { limit } => {
                write!(f, "ran out of memory (limit {})", human_bytes(*limit))
            }
        }
    }
}

/// The result of one guest run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// How the guest ended.
    pub status: Status,
    /// Captured stdout; empty unless stdout was [`crate::Output::Capture`].
    pub stdout: Vec<u8>,
    /// Captured stderr; empty unless stderr was [`crate::Output::Capture`].
    pub stderr: Vec<u8>,
    /// Wall time from instantiation to the end of the run.
    pub elapsed: Duration,
    /// WebAssembly operators executed, instantiation included, when the
    /// engine counts them ([`crate::EngineOptions::count_operations`]).
    pub operations: Option<u64>,
}

fn human_bytes(n: usize) -> String {
    const MIB: usize = 1 << 20;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// What an indirect call type mismatch means in python.wasm. CPython
/// tolerates one in the methods, getters, setters and type slots it calls
/// (patch cpython/0004), so one that still traps came through another
/// pointer.
const BAD_SIGNATURE: &str = "indirect call type mismatch: a C function was called through a pointer of another type, which native code tolerates but WebAssembly does not (python.wasm tolerates it where CPython calls an extension's methods, getters, setters and type slots; this call was made elsewhere, by the innermost frame)";

/// Turns the error that ended a guest's `_start` into a [`Status`].
/// `deadline_set` says whether an epoch interrupt means a timeout.
pub(crate) fn classify(err: &wasmtime::Error, elapsed: Duration, deadline_set: bool) -> Status {
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        return Status::Exited(exit.0);
    }
    let frames = err
        .downcast_ref::<WasmBacktrace>()
        .map(WasmBacktrace::frames)
        .unwrap_or_default();
    if err.downcast_ref::<wasmtime::ThrownException>().is_some() {
        // A wasm `throw` no handler caught: a C++ exception (or a longjmp
        // without its setjmp) that left the program.
        return Status::Trapped {
            reason: with_frames(
                "uncaught exception (a C++ exception nothing caught)",
                frames,
            ),
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) if deadline_set => Status::TimedOut {
            after: elapsed,
            backtrace: frame_chain(frames, TIMEOUT_FRAMES),
        },
        Some(Trap::BadSignature) => Status::Trapped {
            reason: with_frames(BAD_SIGNATURE, frames),
        },
        Some(trap) => {
            let text = trap.to_string();
            let what = text.strip_prefix("wasm trap: ").unwrap_or(&text);
            Status::Trapped {
                reason: with_frames(what, frames),
            }
        }
        None => {
            // A host call failed in a way that ends the guest, e.g. a
            // captured stream exceeded its limit.
            let text = one_line(&err.root_cause().to_string());
            Status::Trapped {
                reason: with_frames(&text, frames),
            }
        }
    }
}

fn with_frames(what: &str, frames: &[FrameInfo]) -> String {
    let chain = frame_chain(frames, TRAP_FRAMES);
    if chain.is_empty() {
        what.to_owned()
    } else {
        format!("{what} in {chain}")
    }
}

/// "f <- g (x3) <- h": the innermost `max` frames' function names, with
/// runs of one function (recursion) collapsed.
fn frame_chain(frames: &[FrameInfo], max: usize) -> String {
    let names: Vec<String> = frames.iter().take(max).map(frame_name).collect();
    let mut parts = collapse_runs(&names);
    if frames.len() > max {
        parts.push("...".into());
    }
    parts.join(" <- ")
}

fn collapse_runs(names: &[String]) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(name) = names.get(i) {
        let run = names[i..].iter().take_while(|n| *n == name).count();
        parts.push(if run > 1 {
            format!("{name} (x{run})")
        } else {
            name.clone()
        });
        i += run;
    }
    parts
}

fn frame_name(frame: &FrameInfo) -> String {
    match frame.func_name() {
        Some(name) => name.to_owned(),
        None => format!("wasm-function[{}]", frame.func_index()),
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_a_sentence() {
        assert_eq!(Status::Exited(1).to_string(), "exited with code 1");
        assert_eq!(
            Status::OutOfMemory { limit: 512 << 20 }.to_string(),
            "ran out of memory (limit 512 MiB)"
        );
        assert_eq!(
            Status::TimedOut {
                after: Duration::from_millis(5004),
                backtrace: "f <- g <- h".into()
            }
            .to_string(),
            "timed out after 5.0 s (guest was in: f <- g <- h)"
        );
        assert_eq!(
            Status::Trapped {
                reason: "unreachable in f".into()
            }
            .to_string(),
            "trapped: unreachable in f"
        );
    }

    #[test]
    fn recursion_is_collapsed() {
        let names: Vec<String> = ["f", "g", "g", "g", "h", "f"].map(String::from).into();
        assert_eq!(collapse_runs(&names), ["f", "g (x3)", "h", "f"]);
    }

    #[test]
    fn one_line_joins_lines() {
        assert_eq!(one_line("a\n  b\n\nc"), "a; b; c");
    }
}
