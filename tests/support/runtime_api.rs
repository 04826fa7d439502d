//! A minimal Lambda Runtime API (2018-06-01) on 127.0.0.1, enough to drive the real `bootstrap`
//! binary: it hands out queued events on `/next` and collects what the function posts back.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// What the function posted for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error(String),
}

struct Shared {
    events: Mutex<Receiver<(String, Value, u64)>>,
    outcomes: Mutex<Sender<(String, Outcome)>>,
    function_arn: String,
}

pub struct RuntimeApi {
    pub address: String,
    events: Sender<(String, Value, u64)>,
    outcomes: Receiver<(String, Outcome)>,
    next_id: u64,
}

impl RuntimeApi {
    pub fn start(function_arn: &str) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("address").to_string();
        let (event_tx, event_rx) = channel();
        let (outcome_tx, outcome_rx) = channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(event_rx),
            outcomes: Mutex::new(outcome_tx),
            function_arn: function_arn.to_string(),
        });
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        RuntimeApi { address, events: event_tx, outcomes: outcome_rx, next_id: 1 }
    }

    /// Queues `event` with `remaining` before its deadline and waits (bounded) for the outcome.
    pub fn invoke(&mut self, event: &Value, remaining: Duration) -> Outcome {
        let id = format!("invocation-{}", self.next_id);
        self.next_id += 1;
        let deadline = (SystemTime::now() + remaining).duration_since(UNIX_EPOCH).expect("epoch").as_millis() as u64;
        self.events.send((id.clone(), event.clone(), deadline)).expect("queue event");
        let (got, outcome) =
            self.outcomes.recv_timeout(remaining + Duration::from_secs(10)).expect("the function answered");
        assert_eq!(got, id, "outcomes arrive in order");
        outcome
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    // One request after another on a kept-alive connection, until the client closes it.
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
        let reply = if path == "/2018-06-01/runtime/invocation/next" {
            // Long-poll; gives up after a while so an idle function does not pin a thread forever.
            let next = shared.events.lock().expect("lock").recv_timeout(Duration::from_secs(120));
            match next {
                Ok((id, event, deadline)) => {
                    let body = event.to_string();
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: {}\r\nLambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n{body}",
                        shared.function_arn,
                        body.len()
                    )
                }
                Err(_) => return,
            }
        } else if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/") {
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let text = String::from_utf8_lossy(&body).to_string();
            let outcome = match kind {
                "response" => Outcome::Response(serde_json::from_str(&text).unwrap_or(Value::String(text))),
                _ => Outcome::Error(text),
            };
            let _ = shared.outcomes.lock().expect("lock").send((id.to_string(), outcome));
            accepted()
        } else if path == "/2018-06-01/runtime/init/error" {
            let _ = shared
                .outcomes
                .lock()
                .expect("lock")
                .send(("init".into(), Outcome::Error(String::from_utf8_lossy(&body).into())));
            accepted()
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
        };
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn accepted() -> String {
    let body = r#"{"status":"OK"}"#;
    format!("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}
