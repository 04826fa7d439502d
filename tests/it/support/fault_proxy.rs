//! A tiny fault-injecting HTTP proxy on 127.0.0.1, for the faults the emulator cannot produce:
//! throttling, 5xx, AccessDenied, slow or endless bodies, a peer that never answers or hangs up.
//!
//! Requests are matched by what they are — an IAM action (`Action=` in the form body), an S3
//! GetObject, a response PUT — and each matching request takes the next fault of its rule; a
//! request with no fault left is forwarded unchanged to the upstream (the emulator). Every
//! request is logged with what was done to it, so a test counts attempts exactly.
//!
//! One thread per connection, `Connection: close` both ways, every wait bounded: by a read
//! timeout, by the proxy's lifetime (dropping it stops everything within ~50 ms), and by
//! [`MAX_HANG`].

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a hanging or trickling connection is kept, even if the proxy is never dropped.
pub const MAX_HANG: Duration = Duration::from_secs(60);
/// Largest request head or body the proxy reads.
const MAX_REQUEST: usize = 16 * 1024 * 1024;

/// What a request is, as far as matching goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// The IAM (awsQuery) action, when the body is a form with `Action=`.
    pub action: Option<String>,
    /// What the proxy did: `forwarded`, `status 503`, `hang`, `closed`, `slow body`, ….
    pub outcome: String,
}

impl Seen {
    /// `iam:CreateSAMLProvider`, `s3:GET /bucket/key`, `PUT /bucket/key`.
    pub fn label(&self) -> String {
        match &self.action {
            Some(action) => format!("iam:{action}"),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// Which requests a rule applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// An IAM call with this action.
    Iam(&'static str),
    /// Any GET of an S3 object (path `/bucket/key`).
    S3Get,
    /// Any PUT (the response to CloudFormation's presigned URL).
    Put,
}

impl Match {
    fn matches(&self, seen: &Seen) -> bool {
        match self {
            Match::Iam(action) => seen.action.as_deref() == Some(*action),
            Match::S3Get => seen.method == "GET" && seen.action.is_none() && seen.path.matches('/').count() >= 2,
            Match::Put => seen.method == "PUT",
        }
    }
}

/// What to do to a matching request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer it with this status, content type and body; never forwarded.
    Respond { status: u16, content_type: &'static str, body: String },
    /// Read it, then say nothing until the proxy is dropped (or [`MAX_HANG`]).
    Hang,
    /// Read it, then close the connection without an answer.
    Close,
    /// Forward it, then send the upstream's answer with its body trickled: `chunk` bytes every
    /// `every`.
    SlowBody { chunk: usize, every: Duration },
    /// Answer 200 with a body of `declared` bytes of `x` (Content-Length set when `declared` is
    /// `Some`, else chunked and endless), written as fast as the client reads, up to `cap` bytes.
    Flood { declared: Option<u64>, cap: u64 },
}

impl Fault {
    /// An IAM (awsQuery XML) error.
    pub fn iam_error(status: u16, code: &str, message: &str) -> Fault {
        Fault::Respond {
            status,
            content_type: "text/xml",
            body: format!(
                "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
            ),
        }
    }

    /// An S3 (REST XML) error.
    pub fn s3_error(status: u16, code: &str, message: &str) -> Fault {
        Fault::Respond {
            status,
            content_type: "application/xml",
            body: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
            ),
        }
    }

    /// A bare status with a short text body.
    pub fn status(status: u16) -> Fault {
        Fault::Respond { status, content_type: "text/plain", body: format!("fault-proxy says {status}") }
    }
}

struct Rule {
    matcher: Match,
    faults: VecDeque<Fault>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    log: Vec<Seen>,
    /// Body bytes written by [`Fault::Flood`] before the client stopped reading.
    flooded: u64,
}

pub struct FaultProxy {
    pub port: u16,
    upstream: Option<String>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// A proxy in front of `upstream` (`127.0.0.1:PORT`); `None` answers 502 to what it would forward.
    pub fn start(upstream: Option<&str>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.map(|u| u.trim_start_matches("http://").trim_end_matches('/').to_string());
        let (accept_state, accept_stop, accept_upstream) = (state.clone(), stop.clone(), upstream.clone());
        std::thread::spawn(move || {
            while !accept_stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (state, stop, upstream) =
                            (accept_state.clone(), accept_stop.clone(), accept_upstream.clone());
                        std::thread::spawn(move || serve(stream, upstream.as_deref(), &state, &stop));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(10)),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FaultProxy { port, upstream, state, stop }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The upstream this proxy forwards to.
    pub fn upstream(&self) -> Option<&str> {
        self.upstream.as_deref()
    }

    /// Adds a rule: the next requests matching `matcher` get `faults`, one each, in order.
    pub fn inject(&self, matcher: Match, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().expect("lock").rules.push(Rule { matcher, faults: faults.into_iter().collect() });
    }

    /// Every request seen so far, in order.
    pub fn log(&self) -> Vec<Seen> {
        self.state.lock().expect("lock").log.clone()
    }

    /// How many requests matched `matcher` (whatever was done to them).
    pub fn count(&self, matcher: &Match) -> usize {
        self.log().iter().filter(|s| matcher.matches(s)).count()
    }

    /// Body bytes [`Fault::Flood`] managed to write.
    pub fn flooded_bytes(&self) -> u64 {
        self.state.lock().expect("lock").flooded
    }

    pub fn clear_log(&self) {
        self.state.lock().expect("lock").log.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A port on 127.0.0.1 where nothing listens: connecting is refused.
pub fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    port
}

struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
    seen: Seen,
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_REQUEST {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = buffer[..head_end].to_vec();
    let text = String::from_utf8_lossy(&head).to_string();
    let length: usize = header(&text, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0).min(MAX_REQUEST);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let mut words = text.split_whitespace();
    let method = words.next().unwrap_or("").to_string();
    let target = words.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("").to_string();
    let form = String::from_utf8_lossy(&body);
    let action = if method == "POST" {
        form.split('&').find_map(|pair| pair.strip_prefix("Action=")).map(str::to_string)
    } else {
        None
    };
    Some(Request { head, body, seen: Seen { method, path, action, outcome: String::new() } })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The head with `Connection: close` instead of whatever it said.
fn with_connection_close(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
    lines.retain(|line| !line.to_ascii_lowercase().starts_with("connection:"));
    let mut out = lines.join("\r\n");
    out.push_str("\r\nConnection: close\r\n\r\n");
    out.into_bytes()
}

fn serve(mut client: TcpStream, upstream: Option<&str>, state: &Mutex<State>, stop: &AtomicBool) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = client.set_write_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_request(&mut client) else {
        return;
    };
    let fault = {
        let mut state = state.lock().expect("lock");
        state
            .rules
            .iter_mut()
            .find(|r| r.matcher.matches(&request.seen) && !r.faults.is_empty())
            .and_then(|r| r.faults.pop_front())
    };
    let outcome = match &fault {
        None => "forwarded".to_string(),
        Some(Fault::Respond { status, .. }) => format!("status {status}"),
        Some(Fault::Hang) => "hang".to_string(),
        Some(Fault::Close) => "closed".to_string(),
        Some(Fault::SlowBody { .. }) => "slow body".to_string(),
        Some(Fault::Flood { .. }) => "flood".to_string(),
    };
    state.lock().expect("lock").log.push(Seen { outcome, ..request.seen.clone() });
    match fault {
        None => {
            if let Some(response) = forward(upstream, &request) {
                let _ = client.write_all(&response);
            }
        }
        Some(Fault::Respond { status, content_type, body }) => {
            let reason = match status {
                400 => "Bad Request",
                403 => "Forbidden",
                404 => "Not Found",
                409 => "Conflict",
                429 => "Too Many Requests",
                500 => "Internal Server Error",
                503 => "Service Unavailable",
                _ => "Fault",
            };
            let response = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(response.as_bytes());
        }
        Some(Fault::Hang) => wait_until_stopped(stop, MAX_HANG),
        Some(Fault::Close) => {}
        Some(Fault::SlowBody { chunk, every }) => {
            let Some(response) = forward(upstream, &request) else {
                return;
            };
            let split = find(&response, b"\r\n\r\n").map(|i| i + 4).unwrap_or(response.len());
            if client.write_all(&response[..split]).is_err() {
                return;
            }
            let started = Instant::now();
            for piece in response[split..].chunks(chunk.max(1)) {
                if stop.load(Ordering::Relaxed) || started.elapsed() > MAX_HANG {
                    break;
                }
                wait_until_stopped(stop, every);
                if client.write_all(piece).is_err() || client.flush().is_err() {
                    break;
                }
            }
        }
        Some(Fault::Flood { declared, cap }) => {
            let head = match declared {
                Some(length) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/samlmetadata+xml\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
                ),
                None => "HTTP/1.1 200 OK\r\nContent-Type: application/samlmetadata+xml\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_string(),
            };
            if client.write_all(head.as_bytes()).is_err() {
                return;
            }
            let block = vec![b'x'; 64 * 1024];
            let framed = [format!("{:x}\r\n", block.len()).into_bytes(), block.clone(), b"\r\n".to_vec()].concat();
            let limit = declared.unwrap_or(u64::MAX).min(cap);
            let started = Instant::now();
            let mut written = 0u64;
            while written < limit && !stop.load(Ordering::Relaxed) && started.elapsed() < MAX_HANG {
                let result = if declared.is_some() {
                    let n = (limit - written).min(block.len() as u64) as usize;
                    client.write_all(&block[..n]).map(|_| n)
                } else {
                    client.write_all(&framed).map(|_| block.len())
                };
                match result {
                    Ok(n) => {
                        written += n as u64;
                        state.lock().expect("lock").flooded = written;
                    }
                    Err(_) => break,
                }
            }
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

fn wait_until_stopped(stop: &AtomicBool, at_most: Duration) {
    let until = Instant::now() + at_most;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20).min(at_most));
    }
}

/// Sends the request upstream with `Connection: close` and reads the whole answer.
fn forward(upstream: Option<&str>, request: &Request) -> Option<Vec<u8>> {
    let Some(upstream) = upstream else {
        return Some(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec());
    };
    let mut stream = TcpStream::connect(upstream).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    stream.write_all(&with_connection_close(&request.head)).ok()?;
    stream.write_all(&request.body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    Some(response)
}

/// SDK clients for `endpoint` (usually a [`FaultProxy`]), signing with `key`, with the Lambda's
/// own retry rules — the same mode and [`samlfed::aws::MAX_ATTEMPTS`] — but a 10 ms first
/// backoff instead of one second, so a retried fault costs milliseconds.
pub async fn clients_via(endpoint: &str, key: &str) -> samlfed::aws::AwsClients {
    use aws_config::retry::RetryConfig;
    use aws_sdk_iam::config::{Credentials, Region};
    let config = samlfed::aws::loader()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(samlfed::aws::MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, "test-secret", None, None, "tests"))
        .load()
        .await;
    samlfed::aws::AwsClients::new(&config, true)
}

/// A listener on 127.0.0.1 that only counts the connections made to it: proof that something
/// was *not* fetched. Stops when dropped.
pub struct ConnectionCounter {
    pub port: u16,
    count: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl ConnectionCounter {
    pub fn start() -> ConnectionCounter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let port = listener.local_addr().expect("address").port();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_count, thread_stop) = (count.clone(), stop.clone());
        std::thread::spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok(_) => {
                        thread_count.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        ConnectionCounter { port, count, stop }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

impl Drop for ConnectionCounter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
