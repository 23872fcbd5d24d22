//! One function call in a fresh instance of python.wasm's snapshot: which
//! function (`module:function`, from the served directory only), the run
//! that calls it, and its end as an HTTP response.

use std::path::Path;
use std::time::Duration;

use harness::{Input, Python, PythonRun, RunOutput, Status};
use serde_json::json;

use crate::http::Response;

/// The guest side: imports the module, calls the function, prints JSON.
const DRIVER: &str = include_str!("driver.py");

/// Where the served directory is mounted (read-only) in the guest.
pub const GUEST_APP: &str = "/app";

/// Most of a failing call's stderr returned with its error.
const STDERR_TAIL: usize = 4 << 10;

/// Limits every call gets.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub deadline: Duration,
    pub memory_bytes: usize,
}

/// A function of a module of the served directory.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub module: String,
    pub function: String,
}

impl Target {
    /// `module:function`, where the module is a dotted name whose file is
    /// in `app` (never the standard library's or a package's) and the
    /// function a public name.
    pub fn parse(spec: &str, app: &Path) -> Result<Self, Response> {
        let not_found = |message: String| Response::error(404, "not_found", message);
        let Some((module, function)) = spec.split_once(':') else {
            return Err(Response::error(
                400,
                "bad_request",
                "call a function as /call/<module>:<function>",
            ));
        };
        let parts: Vec<&str> = module.split('.').collect();
        if !parts.iter().all(|p| is_identifier(p)) || !is_identifier(function) {
            return Err(Response::error(
                400,
                "bad_request",
                format!("`{spec}` is not <dotted.module>:<function>"),
            ));
        }
        if function.starts_with('_') {
            return Err(not_found(format!("{function} is private")));
        }
        let base = parts.iter().fold(app.to_owned(), |dir, p| dir.join(p));
        if !base.with_extension("py").is_file() && !base.join("__init__.py").is_file() {
            return Err(not_found(format!("no module {module} is served")));
        }
        Ok(Self {
            module: module.to_owned(),
            function: function.to_owned(),
        })
    }

    /// The run that calls the function with `args` (a JSON array), with
    /// `scratch` as its `/tmp` and `app` mounted read-only.
    pub fn run(&self, args: &[u8], app: &Path, scratch: &Path, limits: Limits) -> PythonRun {
        let mut run = PythonRun::new(
            ["-c", DRIVER, self.module.as_str(), self.function.as_str()],
            scratch,
        );
        run.stdin = Input::Bytes(args.to_vec());
        run.extra_preopens = vec![harness::Preopen::read_only(app, GUEST_APP)];
        run.extra_env = vec![("PYTHONPATH".into(), GUEST_APP.into())];
        run.deadline = Some(limits.deadline);
        run.memory_limit_bytes = Some(limits.memory_bytes);
        run
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Calls `target` with the JSON array `body` in a fresh instance, with a
/// scratch directory of its own that is removed afterwards.
pub fn call(python: &Python, app: &Path, target: &Target, body: &[u8], limits: Limits) -> Response {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(_)) => {}
        _ => {
            return Response::error(
                400,
                "bad_request",
                "the body must be the function's arguments as a JSON array",
            );
        }
    }
    let scratch = match tempfile::Builder::new().prefix("serve-python-").tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            return Response::error(500, "host", format!("cannot make a scratch directory: {e}"));
        }
    };
    match python.run(target.run(body, app, scratch.path(), limits)) {
        Ok(out) => respond(&out),
        Err(e) => Response::error(500, "host", format!("{e:#}")),
    }
}

/// How a call's end reads over HTTP: the driver's answer when the guest
/// exited 0, else the status (trap 502, timeout 504, out of memory 507,
/// any other exit 500), with the end of its stderr.
pub fn respond(out: &RunOutput) -> Response {
    let stderr = tail(&out.stderr);
    let (status, kind) = match &out.status {
        Status::Exited(0) => return answer(out),
        Status::Exited(_) => (500, "exit"),
        Status::Trapped { .. } => (502, "trap"),
        Status::TimedOut { .. } => (504, "timeout"),
        Status::OutOfMemory { .. } => (507, "out_of_memory"),
    };
    Response::new(
        status,
        json!({ "error": kind, "message": out.status.to_string(), "stderr": stderr }),
    )
}

/// The driver's answer: `{"result": …}` (200) or `{"error": …}` (404 for
/// not found, 500 for an exception, with the traceback).
fn answer(out: &RunOutput) -> Response {
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return Response::error(500, "host", "the call printed no answer");
    };
    let status = match body.get("error").and_then(|e| e.as_str()) {
        None if body.get("result").is_some() => 200,
        Some("not_found") => 404,
        Some(_) => {
            body["stderr"] = tail(&out.stderr).into();
            500
        }
        None => return Response::error(500, "host", "the call printed no answer"),
    };
    Response::new(status, body)
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_functions_of_served_modules() {
        let app = tempfile::tempdir().unwrap();
        std::fs::write(app.path().join("m.py"), "").unwrap();
        std::fs::create_dir_all(app.path().join("pkg/sub")).unwrap();
        std::fs::write(app.path().join("pkg/sub/__init__.py"), "").unwrap();
        let parse = |spec: &str| Target::parse(spec, app.path()).map_err(|r| r.status);
        assert_eq!(
            parse("m:f"),
            Ok(Target {
                module: "m".into(),
                function: "f".into()
            })
        );
        assert!(parse("pkg.sub:f").is_ok());
        assert_eq!(parse("os:system"), Err(404));
        assert_eq!(parse("m:_secret"), Err(404));
        assert_eq!(parse("../m:f"), Err(400));
        assert_eq!(parse("m"), Err(400));
        assert_eq!(parse("m:f()"), Err(400));
        assert_eq!(parse(":f"), Err(400));
    }

    fn ended(status: Status, stdout: &str) -> Response {
        respond(&RunOutput {
            status,
            stdout: stdout.into(),
            stderr: b"Traceback ...".to_vec(),
            elapsed: Duration::ZERO,
            operations: None,
        })
    }

    #[test]
    fn each_end_has_its_status() {
        assert_eq!(ended(Status::Exited(0), r#"{"result": [1]}"#).status, 200);
        assert_eq!(
            ended(Status::Exited(0), r#"{"error": "not_found"}"#).status,
            404
        );
        let exception = ended(Status::Exited(0), r#"{"error": "exception", "type": "E"}"#);
        assert_eq!(
            (exception.status, &exception.body["stderr"]),
            (500, &json!("Traceback ..."))
        );
        assert_eq!(ended(Status::Exited(0), "").status, 500);
        assert_eq!(ended(Status::Exited(3), "").status, 500);
        let trap = ended(
            Status::Trapped {
                reason: "unreachable".into(),
            },
            "",
        );
        assert_eq!((trap.status, &trap.body["error"]), (502, &json!("trap")));
        let timeout = Status::TimedOut {
            after: Duration::from_secs(1),
            backtrace: String::new(),
        };
        assert_eq!(ended(timeout, "").status, 504);
        assert_eq!(
            ended(Status::OutOfMemory { limit: 1 << 20 }, "").status,
            507
        );
    }
}
