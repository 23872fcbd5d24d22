//! Accepting connections and routing requests: a fixed pool of workers,
//! each serving one connection at a time, so at most that many instances
//! of python.wasm run at once and a burst waits in a bounded queue.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use harness::Python;

use crate::call::{self, Limits, Target};
use crate::http::{self, Response};

/// What every worker shares.
pub struct Service {
    pub python: Python,
    /// The served directory, mounted read-only in each call.
    pub app: PathBuf,
    pub limits: Limits,
    /// Largest request body accepted.
    pub max_body: usize,
}

/// How long a client may take to send its request: a slow one must not
/// hold a worker forever.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves connections from `listener` on `workers` threads; returns only if
/// accepting fails for good.
pub fn serve(listener: TcpListener, service: Service, workers: usize) -> anyhow::Result<()> {
    let service = Arc::new(service);
    let (queue, waiting) = mpsc::sync_channel::<TcpStream>(workers * 4);
    let waiting = Arc::new(Mutex::new(waiting));
    for n in 0..workers {
        let (service, waiting) = (Arc::clone(&service), Arc::clone(&waiting));
        thread::Builder::new()
            .name(format!("worker-{n}"))
            .spawn(move || {
                loop {
                    // The lock is held only while taking the next connection.
                    let next = waiting.lock().map(|rx| rx.recv());
                    let Ok(Ok(stream)) = next else { return };
                    handle(&service, stream);
                }
            })?;
    }
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => queue.send(stream)?,
            // A connection that failed before it was accepted is the
            // client's problem, not the server's.
            Err(e) => eprintln!("accept: {e}"),
        }
    }
    Ok(())
}

fn handle(service: &Service, mut stream: TcpStream) {
    let start = Instant::now();
    let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
    let (line, response) = match http::read_request(&stream, service.max_body) {
        Ok(request) => {
            let line = format!("{} {}", request.method, request.path);
            (line, route(service, &request))
        }
        Err(response) => ("(malformed request)".to_owned(), response),
    };
    if let Err(e) = response.write_to(&mut stream) {
        eprintln!("{line}: cannot answer: {e}");
        return;
    }
    eprintln!(
        "{line} {} {:.1}ms",
        response.status,
        start.elapsed().as_secs_f64() * 1000.0
    );
}

fn route(service: &Service, request: &http::Request) -> Response {
    let Some(spec) = request.path.strip_prefix("/call/") else {
        return Response::error(
            404,
            "not_found",
            "the only route is POST /call/<module>:<function>",
        );
    };
    if request.method != "POST" {
        return Response::error(405, "method_not_allowed", "call a function with POST");
    }
    // Some clients escape the colon.
    let spec = spec.replace("%3A", ":").replace("%3a", ":");
    match Target::parse(&spec, &service.app) {
        Ok(target) => call::call(
            &service.python,
            &service.app,
            &target,
            &request.body,
            service.limits,
        ),
        Err(response) => response,
    }
}
