//! The real `bootstrap` binary as a child process, with its stdout and stderr captured (for the
//! log checks) and killed by PID when the test ends.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::harness::ACCOUNT;
use super::runtime_api::RuntimeApi;

/// The secret key the function is given; no log line may contain it.
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEYzz";
/// The session token the function is given; no log line may contain it.
pub const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENzz";

pub struct Function {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Function {
    /// Starts `bootstrap` against `api` and the emulator at `endpoint`, JSON logs, fast knobs;
    /// `extra_env` adds or overrides variables.
    pub fn start(api: &RuntimeApi, endpoint: &str, extra_env: &[(&str, &str)]) -> Function {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "samlfed")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", ACCOUNT)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("SAMLFED_DEADLINE_MARGIN_MS", "1500")
            .env("SAMLFED_RESPONSE_BACKOFF_MS", "20")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start bootstrap");
        let output = Arc::new(Mutex::new(Vec::new()));
        for mut pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")) as Box<dyn Read + Send>,
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    output.lock().expect("lock").extend_from_slice(&buffer[..n]);
                }
            });
        }
        Function { child, output }
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("lock")).to_string()
    }

    /// Stops the process and returns all it wrote (the reader threads get up to a second to drain).
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut last = 0;
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.output.lock().expect("lock").len();
            if now == last {
                break;
            }
            last = now;
        }
        self.output()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
