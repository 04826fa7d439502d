//! SDK configuration and clients, built once per cold start and shared by every invocation.
//!
//! `AWS_ENDPOINT_URL` is honoured by aws-config itself; when it is set we also switch S3 to
//! path-style addressing, which local emulators need (`http://127.0.0.1:PORT/bucket/key`).

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

use crate::timing::{AwsCallTimer, AwsTime};

/// The AWS clients the resource types use.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    /// The time both clients' operations took since it was last taken (see [`crate::timing`]).
    pub aws_time: Arc<AwsTime>,
}

/// Attempts per AWS call (the SDK's standard retry mode: throttling and 5xx are retried with
/// jittered backoff). Bounded, so a broken dependency ends in a FAILED answer, not a hang.
pub const MAX_ATTEMPTS: u32 = 4;

/// The SDK configuration the Lambda runs with: the HTTP client of [`crate::tls`], the standard
/// credential chain, standard retries with [`MAX_ATTEMPTS`], and timeouts that keep one slow call
/// from eating the deadline. Tests add their endpoint and credentials to the same loader, so they
/// run with the same retry rules.
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(crate::tls::sdk_http_client())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
}

impl AwsClients {
    /// Builds the clients from one configuration; `path_style` is for local emulators.
    pub fn new(config: &SdkConfig, path_style: bool) -> AwsClients {
        let aws_time = Arc::<AwsTime>::default();
        let timer = AwsCallTimer(aws_time.clone());
        let iam_config = aws_sdk_iam::config::Builder::from(config).interceptor(timer.clone()).build();
        let s3_config =
            aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).interceptor(timer).build();
        AwsClients {
            iam: aws_sdk_iam::Client::from_conf(iam_config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            aws_time,
        }
    }
}

/// One line for a Reason from any SDK error: the service's error code and message when there is
/// one, else the SDK's own description (timeouts, connection failures).
pub fn describe_error<E, R>(err: &aws_sdk_iam::error::SdkError<E, R>) -> String
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_iam::error::ProvideErrorMetadata;
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => aws_sdk_iam::error::DisplayErrorContext(err).to_string(),
    }
}
