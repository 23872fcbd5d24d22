//! serve-python: serves the functions of a directory of Python files over
//! HTTP. `POST /call/<module>:<function>` with the arguments as a JSON
//! array runs the function in a fresh instance of python.wasm's snapshot
//! (CPython started, numpy imported), with a scratch `/tmp` of its own, a
//! deadline and a memory cap, and answers its JSON result or a JSON error.
//! See README.md.

mod call;
mod http;
mod server;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use harness::{Engine, EngineOptions, GuestLayout, Python};

#[derive(Parser)]
#[command(about = "Serve the functions of a directory of Python files over HTTP, from python.wasm")]
struct Cli {
    /// The directory `cargo faasm-py build` fills (python.wasm, its
    /// snapshot, runtime/).
    #[arg(long, value_name = "DIR")]
    faasm_py: PathBuf,
    /// The Python files to serve, mounted read-only at /app.
    #[arg(long, value_name = "DIR")]
    app: PathBuf,
    /// Address to listen on (port 0: any free port; the address is
    /// printed).
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: String,
    /// Deadline of each call, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Memory cap of each call, in MiB (wasm32 addresses 4 GiB).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(16..=4096))]
    memory: u64,
    /// Calls running at once (default: the number of cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    workers: Option<u64>,
    /// Where compiled modules are kept between starts.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    if !cli.app.is_dir() {
        bail!("--app {} is not a directory", cli.app.display());
    }
    let app = fs_err::canonicalize(&cli.app)?;
    let cache = cli
        .cache
        .unwrap_or_else(|| std::env::temp_dir().join("faasm-py-example-modules"));
    let python = load(&cli.faasm_py, &cache)?;
    let listener = TcpListener::bind(&cli.listen)
        .with_context(|| format!("cannot listen on {}", cli.listen))?;
    let workers = match cli.workers {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    // The first line of stdout, for whoever started the server on port 0.
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let service = server::Service {
        python,
        app,
        limits: call::Limits {
            deadline: Duration::from_secs(cli.timeout),
            memory_bytes: (cli.memory as usize) << 20,
        },
        max_body: 1 << 20,
    };
    server::serve(listener, service, workers)
}

/// python.wasm's snapshot (python.wasm itself if there is none) with its
/// runtime tree, on an engine with deadlines, compiled once into `cache`.
fn load(dir: &Path, cache: &Path) -> Result<Python> {
    let runtime = dir.join("runtime");
    if !runtime.is_dir() {
        bail!(
            "--faasm-py {} holds no runtime/: run `cargo faasm-py build` and pass its target/faasm-py",
            dir.display()
        );
    }
    let guest = GuestLayout::of_runtime(&runtime)?;
    let snapshot = dir.join("python-snapshot.wasm");
    let wasm = if snapshot.exists() {
        snapshot
    } else {
        dir.join("python.wasm")
    };
    let engine = Engine::new(EngineOptions::default())?;
    eprintln!(
        "loading {} (compiled once into {})",
        wasm.display(),
        cache.display()
    );
    Python::new(engine, &wasm, &runtime, guest, cache)
}
