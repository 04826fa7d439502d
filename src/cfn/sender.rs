//! PUTs the response to CloudFormation's presigned URL.
//!
//! Retries are bounded by count and by the Lambda deadline: a 5xx, a 429 or a network error is
//! tried again after an exponential backoff; any other 4xx is final (a 403 means the presigned URL
//! expired or was tampered with, and will not heal). The body goes with an empty `Content-Type`,
//! the header S3 signed the URL for.

use std::time::Duration;

use thiserror::Error;
use tokio::time::Instant;

use super::response_url::ResponseUrl;

/// How the PUT is paced.
#[derive(Debug, Clone, Copy)]
pub struct SendPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub attempt_timeout: Duration,
    /// No attempt starts after this instant (the Lambda deadline).
    pub give_up_at: Option<Instant>,
}

/// The response could not be delivered; the message says why, without the URL's query string.
#[derive(Debug, Error, PartialEq)]
pub enum SendError {
    #[error("PUT {url} was refused with HTTP {status}; not retried")]
    Refused { url: String, status: u16 },
    #[error("PUT {url} failed after {attempts} attempt(s): {last}")]
    Exhausted { url: String, attempts: u32, last: String },
}

/// PUTs `body` to `url` under `policy`; returns the number of attempts it took.
pub async fn send(
    client: &reqwest::Client,
    url: &ResponseUrl,
    body: &[u8],
    policy: SendPolicy,
) -> Result<u32, SendError> {
    let mut backoff = policy.first_backoff;
    let mut last = String::from("no attempt was made before the deadline");
    for attempt in 1..=policy.attempts.max(1) {
        if policy.give_up_at.is_some_and(|t| Instant::now() >= t) {
            return Err(SendError::Exhausted { url: url.to_string(), attempts: attempt - 1, last });
        }
        // An attempt never outlives the deadline, however long its own timeout.
        let attempt_timeout = match policy.give_up_at {
            Some(t) => policy.attempt_timeout.min(t.saturating_duration_since(Instant::now())),
            None => policy.attempt_timeout,
        };
        if attempt_timeout.is_zero() {
            return Err(SendError::Exhausted { url: url.to_string(), attempts: attempt - 1, last });
        }
        let result = client
            .put(url.as_url().clone())
            .header(reqwest::header::CONTENT_TYPE, "")
            .body(body.to_vec())
            .timeout(attempt_timeout)
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => return Ok(attempt),
            Ok(response) => {
                let status = response.status();
                if !(status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS) {
                    return Err(SendError::Refused { url: url.to_string(), status: status.as_u16() });
                }
                last = format!("HTTP {}", status.as_u16());
            }
            // reqwest's error text names the URL with its query; describe the failure ourselves.
            Err(err) => last = describe_transport_error(&err),
        }
        tracing::warn!(attempt, url = %url, error = %last, "response PUT failed; retrying");
        if attempt < policy.attempts {
            let sleep_until = Instant::now() + backoff;
            if policy.give_up_at.is_some_and(|t| sleep_until >= t) {
                return Err(SendError::Exhausted { url: url.to_string(), attempts: attempt, last });
            }
            tokio::time::sleep_until(sleep_until).await;
            backoff = backoff.saturating_mul(2);
        }
    }
    Err(SendError::Exhausted { url: url.to_string(), attempts: policy.attempts.max(1), last })
}

fn describe_transport_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        "could not connect".to_string()
    } else {
        "transport error".to_string()
    }
}
