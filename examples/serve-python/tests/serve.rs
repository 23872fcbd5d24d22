//! The server end to end: started on a free loopback port over the built
//! python.wasm (`cargo faasm-py build` first) and app/, asked for results,
//! concurrently too, and for each kind of failure, after which it still
//! answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// The running server, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layout =
        cargo_faasm_py::layout::Layout::discover(Some(&root.join("../../Cargo.toml")), None, None)
            .expect("cannot read the workspace");
    assert!(
        layout.python_snapshot_wasm().exists(),
        "no {}: run `cargo faasm-py build` first",
        layout.python_snapshot_wasm().display()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_serve-python"))
        .arg("--faasm-py")
        .arg(layout.out())
        .arg("--app")
        .arg(root.join("app"))
        // The compiled modules `cargo faasm-py` keeps: no compiling here.
        .arg("--cache")
        .arg(layout.compiled_modules())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--timeout",
            "2",
            "--memory",
            "128",
            "--workers",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start serve-python");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("the server said {first:?}"))
        .to_owned();
    Server { child, addr }
}

/// Sends `method path` with `body`; the status and the JSON answer.
fn request(server: &Server, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a whole response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, serde_json::from_str(body).expect("a JSON body"))
}

fn call(server: &Server, function: &str, args: Value) -> (u16, Value) {
    request(
        server,
        "POST",
        &format!("/call/demo:{function}"),
        &args.to_string(),
    )
}

#[test]
fn serves_results_errors_and_failures_and_keeps_serving() {
    let server = start();
    assert_eq!(
        call(&server, "mean", json!([[1, 2, 3, 4]])),
        (200, json!({"result": 2.5}))
    );
    assert_eq!(
        call(&server, "shout", json!(["hi"])),
        (200, json!({"result": "HI"})),
        "what the function prints is not the answer"
    );

    // At once, from more clients than workers: each gets its own answer.
    std::thread::scope(|s| {
        for n in 1..=6 {
            let server = &server;
            s.spawn(move || {
                let xs: Vec<i64> = (1..=n).collect();
                let (status, body) = call(server, "stats", json!([xs]));
                let sum = (n * (n + 1) / 2) as f64;
                assert_eq!(status, 200, "{body}");
                assert_eq!(
                    body["result"],
                    json!({"n": n, "sum": sum, "min": 1.0, "max": n as f64})
                );
            });
        }
    });

    // Every call is a fresh instance: module globals and /tmp start empty.
    for _ in 0..2 {
        assert_eq!(
            call(&server, "visit", json!([])),
            (200, json!({"result": {"calls": 1, "tmp_before": []}}))
        );
    }

    let (status, body) = call(&server, "divide", json!([1, 0]));
    assert_eq!(
        (status, &body["error"], &body["type"]),
        (500, &json!("exception"), &json!("ZeroDivisionError"))
    );
    assert!(
        body["stderr"].as_str().unwrap().contains("Traceback"),
        "{body}"
    );
    let (status, body) = call(&server, "crash", json!([]));
    assert_eq!((status, &body["error"]), (502, &json!("trap")), "{body}");
    let (status, body) = call(&server, "spin", json!([]));
    assert_eq!((status, &body["error"]), (504, &json!("timeout")), "{body}");
    let (status, body) = call(&server, "hoard", json!([]));
    assert_eq!(
        (status, &body["error"]),
        (507, &json!("out_of_memory")),
        "{body}"
    );

    // Bad requests.
    assert_eq!(call(&server, "nosuch", json!([])).0, 404);
    assert_eq!(
        request(&server, "POST", "/call/os:system", "[\"ls\"]").0,
        404
    );
    assert_eq!(
        request(&server, "POST", "/call/demo:mean", "not json").0,
        400
    );
    assert_eq!(request(&server, "POST", "/call/demo:mean", "{}").0, 400);
    assert_eq!(request(&server, "GET", "/call/demo:mean", "").0, 405);
    assert_eq!(request(&server, "POST", "/elsewhere", "").0, 404);

    // And it still answers.
    assert_eq!(
        call(&server, "mean", json!([[2, 4]])),
        (200, json!({"result": 3.0}))
    );
}
