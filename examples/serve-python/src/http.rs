//! Just enough HTTP/1.1 for the example: one request per connection, its
//! body by `Content-Length`, and a JSON response that closes the
//! connection.

use std::io::{BufRead, BufReader, Read, Write};

/// Longest request line or header line accepted.
const MAX_LINE: usize = 8 << 10;
/// Most header lines accepted.
const MAX_HEADERS: usize = 64;

/// A parsed request.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// A response: a status and a JSON body.
#[derive(Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Response {
    pub fn new(status: u16, body: serde_json::Value) -> Self {
        Self { status, body }
    }

    /// `{"error": kind, "message": message}` with `status`.
    pub fn error(status: u16, kind: &str, message: impl Into<String>) -> Self {
        Self::new(
            status,
            serde_json::json!({ "error": kind, "message": message.into() }),
        )
    }

    pub fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        let body = self.body.to_string();
        write!(
            out,
            "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.status,
            reason(self.status),
            body.len()
        )?;
        out.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        504 => "Gateway Timeout",
        507 => "Insufficient Storage",
        _ => "",
    }
}

/// Reads one request whose body is at most `max_body` bytes; a malformed
/// or oversized one is the error response to send.
pub fn read_request(stream: impl Read, max_body: usize) -> Result<Request, Response> {
    let bad = |message: &str| Response::error(400, "bad_request", message);
    let mut reader = BufReader::new(stream);
    let request_line = read_line(&mut reader)?.ok_or_else(|| bad("empty request"))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("only HTTP/1.x is spoken here"));
    }
    let mut length = 0;
    for _ in 0..=MAX_HEADERS {
        let line = read_line(&mut reader)?.ok_or_else(|| bad("the headers never end"))?;
        if line.is_empty() {
            let mut body = vec![0; length];
            reader
                .read_exact(&mut body)
                .map_err(|_| bad("the body is shorter than its Content-Length"))?;
            return Ok(Request {
                method: method.to_owned(),
                path: path.to_owned(),
                body,
            });
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("malformed header"))?;
        if name.eq_ignore_ascii_case("content-length") {
            length = value
                .trim()
                .parse()
                .map_err(|_| bad("Content-Length is not a number"))?;
            if length > max_body {
                return Err(Response::error(
                    413,
                    "too_large",
                    format!("the body may have at most {max_body} bytes"),
                ));
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(bad("send the body with a Content-Length"));
        }
    }
    Err(bad("too many headers"))
}

/// One line without its CRLF; `None` at the end of the stream.
fn read_line(reader: &mut impl BufRead) -> Result<Option<String>, Response> {
    let mut line = Vec::new();
    let read = reader
        .take(MAX_LINE as u64 + 2)
        .read_until(b'\n', &mut line)
        .map_err(|e| {
            Response::error(400, "bad_request", format!("cannot read the request: {e}"))
        })?;
    if read == 0 {
        return Ok(None);
    }
    if !line.ends_with(b"\n") {
        return Err(Response::error(
            400,
            "bad_request",
            "a line is too long or cut short",
        ));
    }
    let line = String::from_utf8(line)
        .map_err(|_| Response::error(400, "bad_request", "the request head is not UTF-8"))?;
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Request, Response> {
        read_request(raw.as_bytes(), 16)
    }

    #[test]
    fn a_request_with_a_body() {
        let req =
            parse("POST /call/m:f HTTP/1.1\r\nHost: x\r\ncontent-length: 4\r\n\r\n[1]\n").unwrap();
        assert_eq!(
            req,
            Request {
                method: "POST".into(),
                path: "/call/m:f".into(),
                body: b"[1]\n".to_vec()
            }
        );
    }

    #[test]
    fn bad_requests_are_responses_not_panics() {
        for (raw, status) in [
            ("", 400),
            ("GET\r\n\r\n", 400),
            ("GET / SPDY/3\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n", 413),
            ("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n[1]", 400),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nno colon\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x", 400),
        ] {
            assert_eq!(parse(raw).unwrap_err().status, status, "{raw:?}");
        }
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "x".repeat(MAX_LINE));
        assert_eq!(parse(&long).unwrap_err().status, 400);
    }

    #[test]
    fn a_response_says_its_length_and_closes() {
        let mut out = Vec::new();
        Response::new(200, serde_json::json!({"result": 1}))
            .write_to(&mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"result\":1}"
        );
    }
}
