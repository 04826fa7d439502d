//! The real `bootstrap` binary as a Lambda function in the emulator's Lambda (tools/emulator.py,
//! tools/lambda_local.py: the project's one Lambda Runtime API), invoked through the Lambda API
//! as CloudFormation invokes it, its output read back from the emulator.
//!
//! The deployment package is a two-line `bootstrap` script that `exec`s this build's binary: an
//! OS-only runtime starts whatever executable `bootstrap` is (runtimes-custom.html), and `exec`
//! keeps the process, its environment and its PID the binary's own. A debug build is ~450 MB,
//! too large to zip and unpack per test; `tests/it/cfn_engine.rs` deploys the real zip instead.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{ApplicationLogLevel, Environment, FunctionCode, LogFormat, LoggingConfig, Runtime};
use serde_json::Value;

use super::emulator::Emulator;
use super::harness::{clients_for, sdk_config, INSPECTOR_KEY};

/// The secret key the function is given; no log line may contain it.
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEYzz";
/// The session token the function is given; no log line may contain it.
pub const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENzz";
/// tools/lambda_local.py: a variable named so sets the rest of its name in the function's
/// process even where Lambda reserves it (test-only; empty removes it).
const OVERRIDE_PREFIX: &str = "LOCAL_LAMBDA_SET_";

static FUNCTIONS: AtomicU64 = AtomicU64::new(1);

/// What the invocation returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler's return value.
    Response(Value),
    /// A function error (`X-Amz-Function-Error`) and its payload.
    Error(String),
}

pub struct Function {
    lambda: aws_sdk_lambda::Client,
    endpoint: String,
    pub arn: String,
}

/// `executable` zipped as Lambda wants it, by `tools/lambda_local.py package` (the emulator's own
/// Lambda kit).
pub fn package(executable: &std::path::Path) -> Vec<u8> {
    let out = std::env::temp_dir().join(format!(
        "samlfed-package-{}-{}.zip",
        std::process::id(),
        FUNCTIONS.fetch_add(1, Ordering::Relaxed)
    ));
    let status = std::process::Command::new(Emulator::tool_python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/lambda_local.py"))
        .arg("package")
        .arg(executable)
        .arg(&out)
        .status()
        .expect("run tools/lambda_local.py package");
    assert!(status.success(), "tools/lambda_local.py package failed: {status}");
    let zip = std::fs::read(&out).expect("read the deployment package");
    let _ = std::fs::remove_file(&out);
    zip
}

/// The deployment package: a `bootstrap` script that execs this build's binary, once per test run.
fn deployment_package() -> &'static [u8] {
    static ZIP: OnceLock<Vec<u8>> = OnceLock::new();
    ZIP.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("samlfed-function-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let script = dir.join("bootstrap");
        std::fs::write(&script, format!("#!/bin/sh\nexec '{}' \"$@\"\n", env!("CARGO_BIN_EXE_bootstrap")))
            .expect("write the bootstrap script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let zip = package(&script);
        let _ = std::fs::remove_dir_all(&dir);
        zip
    })
}

impl Function {
    /// Deploys the function into `emulator`'s Lambda with JSON logs, the test's own credentials
    /// and fast knobs, `timeout` seconds; `extra_env` adds or overrides variables
    /// (`AWS_LAMBDA_LOG_LEVEL` becomes the LoggingConfig's ApplicationLogLevel, as in Lambda;
    /// other `AWS_*` names, which Lambda reserves, go through the emulator's test-only override).
    pub async fn start(emulator: &Emulator, timeout: u64, extra_env: &[(&str, &str)]) -> Function {
        let endpoint = emulator.endpoint();
        let mut variables = vec![
            (format!("{OVERRIDE_PREFIX}AWS_SECRET_ACCESS_KEY"), SECRET_KEY.to_string()),
            (format!("{OVERRIDE_PREFIX}AWS_SESSION_TOKEN"), SESSION_TOKEN.to_string()),
            ("SAMLFED_DEADLINE_MARGIN_MS".to_string(), "1500".to_string()),
            ("SAMLFED_RESPONSE_BACKOFF_MS".to_string(), "20".to_string()),
        ];
        let mut log_level = ApplicationLogLevel::Info;
        for (key, value) in extra_env {
            if *key == "AWS_LAMBDA_LOG_LEVEL" {
                log_level = ApplicationLogLevel::from(*value);
                continue;
            }
            let key = if key.starts_with("AWS_") { format!("{OVERRIDE_PREFIX}{key}") } else { key.to_string() };
            variables.retain(|(k, _)| *k != key);
            variables.push((key, value.to_string()));
        }

        let clients = clients_for(&endpoint, INSPECTOR_KEY).await;
        let n = FUNCTIONS.fetch_add(1, Ordering::Relaxed);
        let name = format!("samlfed-{n}");
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let role = clients
            .iam
            .create_role()
            .role_name(format!("{name}-role"))
            .assume_role_policy_document(trust)
            .send()
            .await
            .expect("CreateRole for the function");
        let config = sdk_config(&endpoint, INSPECTOR_KEY).await;
        let lambda = aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&config)
                .retry_config(aws_sdk_lambda::config::retry::RetryConfig::standard().with_max_attempts(1))
                .timeout_config(
                    aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                        .operation_attempt_timeout(Duration::from_secs(timeout + 30))
                        .operation_timeout(Duration::from_secs(timeout + 30))
                        .build(),
                )
                .build(),
        );
        let mut environment = Environment::builder();
        for (key, value) in variables {
            environment = environment.variables(key, value);
        }
        let created = lambda
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Providedal2)
            .handler("bootstrap")
            .role(role.role().map(|r| r.arn()).unwrap_or_default())
            .code(FunctionCode::builder().zip_file(Blob::new(deployment_package())).build())
            .timeout(timeout as i32)
            .memory_size(128)
            .logging_config(
                LoggingConfig::builder().log_format(LogFormat::Json).application_log_level(log_level).build(),
            )
            .environment(environment.build())
            .send()
            .await
            .expect("CreateFunction");
        Function { lambda, endpoint, arn: created.function_arn().unwrap_or_default().to_string() }
    }

    /// Sends `event` as CloudFormation does — its operation recorded in `emulator`'s CloudFormation
    /// first, so that the origin check lets it through — and requires the function to have
    /// answered `status` and delivered it; the function's output is shown when it did not.
    pub async fn serve(&self, emulator: &Emulator, event: &Value, status: &str) {
        emulator.record_operation(event).await;
        let outcome = self.invoke(event).await;
        assert_eq!(
            outcome,
            Outcome::Response(serde_json::json!({"Status": status, "Delivered": true})),
            "{}",
            self.output().await
        );
    }

    /// Invokes the function synchronously with `event`, as CloudFormation does.
    pub async fn invoke(&self, event: &Value) -> Outcome {
        let out = self
            .lambda
            .invoke()
            .function_name(&self.arn)
            .payload(Blob::new(event.to_string()))
            .send()
            .await
            .expect("Invoke");
        let payload = out.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default();
        let text = String::from_utf8_lossy(&payload).to_string();
        match out.function_error() {
            Some(_) => Outcome::Error(text),
            None => Outcome::Response(serde_json::from_str(&text).unwrap_or(Value::String(text))),
        }
    }

    async fn read_output(&self, stop: bool) -> String {
        let url = format!("{}/_samlfed/lambda-output?FunctionArn={}&stop={stop}", self.endpoint, self.arn);
        samlfed::cfn::handler::http_client()
            .expect("http client")
            .get(url)
            .send()
            .await
            .expect("the function's output")
            .text()
            .await
            .expect("output text")
    }

    /// Everything the function's process wrote so far.
    pub async fn output(&self) -> String {
        self.read_output(false).await
    }

    /// Stops the function's process and returns all it wrote.
    pub async fn stop(self) -> String {
        self.read_output(true).await
    }
}
