//! The local AWS emulator (`tools/emulator.py`: moto with IAM's real SAML-provider behaviour),
//! one per test, on 127.0.0.1 and a free port, stopped by PID when the test ends.
//!
//! Its stderr (its own log and every log line of the functions it runs) goes to a file under
//! `target/tmp`, not into the test output: when a test fails, the last [`LOG_TAIL`] lines are
//! printed with the failure and the file is kept; otherwise it is removed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

/// How many of the emulator's last stderr lines a failed test shows.
const LOG_TAIL: usize = 200;

static EMULATORS: AtomicU64 = AtomicU64::new(1);

pub struct Emulator {
    child: Child,
    pub port: u16,
    /// The file the emulator's stderr goes to.
    log: PathBuf,
}

impl Emulator {
    /// The venv's Python (made by `make test`), or `SAMLFED_PYTHON`.
    fn python() -> PathBuf {
        if let Ok(p) = std::env::var("SAMLFED_PYTHON") {
            return PathBuf::from(p);
        }
        let venv = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python"));
        assert!(
            venv.exists(),
            "the tests need the local AWS emulator: run `make test` (it creates .venv with moto), or set SAMLFED_PYTHON"
        );
        venv
    }

    pub fn start() -> Emulator {
        Self::start_with(&[])
    }

    /// Starts the emulator with command-line `args` (e.g. `--function PATH`).
    pub fn start_with(args: &[&str]) -> Emulator {
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "emulator-{}-{}.log",
            std::process::id(),
            EMULATORS.fetch_add(1, Ordering::Relaxed)
        ));
        let stderr = std::fs::File::create(&log).expect("create the emulator's log file");
        let mut child = Command::new(Self::python())
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/emulator.py"))
            .args(args)
            .stdin(Stdio::piped()) // the emulator exits when this pipe closes, even if we crash
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start tools/emulator.py");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let Some(port) = line.trim().strip_prefix("PORT=").and_then(|p| p.parse().ok()) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the emulator did not report its port (got {line:?}); {}", log_tail(&log));
        };
        Emulator { child, port, log }
    }

    /// The Python that runs the emulator, for the other `tools/` scripts a test runs
    /// (`tools/lambda_local.py package`, …).
    pub fn tool_python() -> PathBuf {
        Self::python()
    }

    /// Stops the emulator the way its contract offers (stdin closed: it kills the Lambda
    /// processes it started and removes their unpacked code), waiting at most `timeout`; kills it
    /// by PID if it is still running then.
    pub fn stop_gracefully(&mut self, timeout: Duration) {
        drop(self.child.stdin.take());
        let end = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The calls signed with `access_key` since the last [`Emulator::clear_calls`], as
    /// `service:Action` strings, in order.
    pub async fn calls(&self, access_key: &str) -> Vec<String> {
        let body = samlfed::cfn::handler::http_client()
            .expect("http client")
            .get(format!("{}/_samlfed/calls", self.endpoint()))
            .send()
            .await
            .expect("call log")
            .bytes()
            .await
            .expect("call log body");
        let log: Value = serde_json::from_slice(&body).expect("call log JSON");
        log.as_array()
            .expect("a list")
            .iter()
            .filter(|c| c["access_key"] == access_key)
            .map(|c| format!("{}:{}", c["service"].as_str().unwrap_or(""), c["action"].as_str().unwrap_or("")))
            .collect()
    }

    /// Tells the emulator that CloudFormation is running the operation `event` stands for: its
    /// DescribeStackResource / DescribeStacks then answer as AWS's would during that request, and
    /// the function's origin check lets the event through (tools/emulator.py, "CloudFormation's
    /// record of operations run outside the engine"). A test that plays CloudFormation calls it
    /// before each event; a forged event is sent without it.
    pub async fn record_operation(&self, event: &Value) {
        self.record(&serde_json::json!({ "Event": event })).await;
    }

    /// Sets CloudFormation's record of one resource and its stack exactly (for cleanup phases and
    /// rollbacks, which an event alone does not tell): `StackId`, `StackStatus`,
    /// `LogicalResourceId`, `ResourceType`, `ResourceStatus` (null: no such resource),
    /// `PhysicalResourceId`.
    pub async fn record(&self, record: &Value) {
        let response = samlfed::cfn::handler::http_client()
            .expect("http client")
            .post(format!("{}/_samlfed/cfn-operations", self.endpoint()))
            .body(record.to_string())
            .send()
            .await
            .expect("record the operation");
        assert_eq!(response.status().as_u16(), 204, "the emulator took the record {record}");
    }

    pub async fn clear_calls(&self) {
        samlfed::cfn::handler::http_client()
            .expect("http client")
            .delete(format!("{}/_samlfed/calls", self.endpoint()))
            .send()
            .await
            .expect("clear calls");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{}", log_tail(&self.log));
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// The last [`LOG_TAIL`] lines of the emulator's stderr, headed by where the whole of it is.
fn log_tail(log: &Path) -> String {
    let text = match std::fs::read(log) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => return format!("the emulator's stderr ({}) could not be read: {e}", log.display()),
    };
    let lines: Vec<&str> = text.lines().collect();
    let shown = &lines[lines.len().saturating_sub(LOG_TAIL)..];
    format!(
        "--- the emulator's stderr ({}), its last {} of {} lines ---\n{}\n--- end of the emulator's stderr ---",
        log.display(),
        shown.len(),
        lines.len(),
        shown.join("\n")
    )
}

/// The `samlfed` CLI with a clean environment that talks to the emulator at `endpoint`, signing as
/// the default account, as the CLI tests run it.
#[cfg(feature = "cli")]
pub fn samlfed_cli(endpoint: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_samlfed"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", super::harness::ACCOUNT)
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_REGION", "us-east-1")
        .kill_on_drop(true);
    command
}
