//! The Lambda handler: refuse, parse, run under the guard, answer — in that order, once.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use tokio::time::Instant;
use tracing::Instrument;

use super::dispatch::{self, Registered, NOTHING_CREATED_PREFIX};
use super::origin::{self, Refusal};
use super::request::{self, Echo, Request};
use super::response::{self, Answer};
use super::response_url::ResponseUrl;
use super::sender::{self, SendPolicy};
use crate::arn::AccountScope;
use crate::aws::{self, AwsClients};
use crate::metadata::{self, Fetchers};
use crate::metrics;
use crate::refresh::{self, RefreshCache, RefreshError};
use crate::resources::{OpContext, Owner};
use crate::settings::Settings;
use crate::timing::Split;

/// What every invocation shares: built once per cold start.
#[derive(Debug, Clone)]
pub struct Deps {
    pub clients: AwsClients,
    /// For response PUTs to CloudFormation.
    pub http: reqwest::Client,
    /// For HTTPS metadata: guarded addresses, validated certificates, https only.
    pub metadata_http: reqwest::Client,
    pub settings: Settings,
    /// What the scheduled refresh last applied, per provider: survives across warm invocations.
    pub refresh_cache: Arc<RefreshCache>,
    /// Set when initialisation went wrong: every event is then answered FAILED with this reason,
    /// rather than left for CloudFormation to wait out.
    pub init_error: Option<String>,
    /// The resource types served: [`crate::registry::RESOURCE_TYPES`] (tests add their own).
    pub resource_types: &'static [Registered],
}

/// Time kept for the response PUT itself after the operation's own give-up point.
const SEND_MARGIN: Duration = Duration::from_millis(250);

impl Deps {
    /// Reads the settings and builds the clients. Only a failure to build an HTTP client at all
    /// is returned as an error (nothing could be answered); anything else is kept in
    /// [`Deps::init_error`] and reported to CloudFormation.
    pub async fn init() -> Result<Deps, reqwest::Error> {
        let (settings, init_error) = match Settings::from_env() {
            Ok(settings) => (settings, None),
            Err(e) => {
                let endpoint_url = crate::settings::endpoint_url(|name| std::env::var(name).ok()).ok().flatten();
                (Settings { endpoint_url, ..Settings::default() }, Some(e.to_string()))
            }
        };
        let config = aws::loader().load().await;
        let clients = AwsClients::new(&config, settings.endpoint_url.is_some());
        let (metadata_http, init_error) = match metadata::https::client(&settings) {
            Ok(client) => (client, init_error),
            Err(e) => (crate::tls::reqwest_builder().build()?, init_error.or(Some(e))),
        };
        Ok(Deps {
            clients,
            http: http_client()?,
            metadata_http,
            settings,
            refresh_cache: Arc::default(),
            init_error,
            resource_types: crate::registry::RESOURCE_TYPES,
        })
    }
}

impl Deps {
    /// The metadata fetchers over this invocation's clients.
    pub fn fetchers(&self) -> Fetchers<'_> {
        Fetchers {
            s3: &self.clients.s3,
            https: &self.metadata_http,
            timeout: self.settings.metadata_timeout,
            allow_loopback: self.settings.test_allow_loopback,
        }
    }
}

/// The client for response PUTs: no redirects (a presigned URL never redirects, and following
/// one would defeat the ResponseURL allow-list), a short connect timeout.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    crate::tls::reqwest_builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .build()
}

/// Handles one invocation: a custom-resource event, or a scheduled refresh (`{"Refresh": …}`).
/// A custom-resource event never ends in an error — a returned error would make Lambda replay an
/// event that has already been answered — only a small summary; a refresh that could not be
/// applied is an error, so Lambda's `Errors` metric sees it.
pub async fn handle(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, RefreshError> {
    let (payload, context) = event.into_parts();
    if let Some(refresh) = payload.get("Refresh") {
        let span = tracing::info_span!("refresh", request_id = %context.request_id);
        return run_refresh(deps, refresh.clone(), &context).instrument(span).await;
    }
    let arrived = Instant::now();
    deps.clients.aws_time.take();
    let raw_echo = request::echo_of(&payload);
    // One span for the whole invocation, from whatever identifiers the event carries.
    let span = tracing::info_span!(
        "request",
        request_id = %raw_echo.request_id,
        stack_id = %raw_echo.stack_id,
        logical_resource_id = %raw_echo.logical_resource_id,
        request_type = payload.get("RequestType").and_then(serde_json::Value::as_str).unwrap_or(""),
        resource_type = payload.get("ResourceType").and_then(serde_json::Value::as_str).unwrap_or(""),
    );
    Ok(handle_in_span(deps, payload, context, raw_echo, arrived).instrument(span).await)
}

async fn run_refresh(deps: &Deps, payload: Value, context: &Context) -> Result<Value, RefreshError> {
    if let Some(init_error) = &deps.init_error {
        return Err(RefreshError::Malformed(format!("the function failed to initialise: {init_error}")));
    }
    let scope = AccountScope::from_function_arn(&context.invoked_function_arn)
        .map_err(|e| RefreshError::Malformed(e.to_string()))?;
    let config = deps.settings.refresh.as_ref();
    let outcome =
        refresh::refresh(payload, config, &deps.clients.iam, &deps.fetchers(), &scope, &deps.refresh_cache).await?;
    Ok(serde_json::to_value(outcome).unwrap_or_default())
}

async fn handle_in_span(deps: &Deps, payload: Value, context: Context, raw_echo: Echo, arrived: Instant) -> Value {
    let url = match request::response_url(&payload, deps.settings.endpoint_url.as_ref()) {
        Ok(url) => url,
        Err(refusal) => {
            tracing::error!(error = %refusal, "refused the event: no AWS call made, nothing fetched, nothing sent");
            return json!({ "Status": "REFUSED", "Reason": refusal.to_string() });
        }
    };
    let deadline = lambda_deadline(&context);
    let delete_of_nothing = payload.get("RequestType").and_then(Value::as_str) == Some("Delete")
        && raw_echo.physical_resource_id.as_deref().is_some_and(|id| id.starts_with(NOTHING_CREATED_PREFIX));
    let (echo, answer) = match (&deps.init_error, request::parse(payload)) {
        // The rollback Delete of a Create that made nothing (bad properties, an unknown type, a
        // broken configuration): nothing to do, whatever else is wrong — a FAILED here would
        // leave the stack in ROLLBACK_FAILED.
        _ if delete_of_nothing => {
            let physical_resource_id = raw_echo.physical_resource_id.clone().unwrap_or_default();
            tracing::info!(physical_resource_id, "Delete of a resource that was never created: nothing to do");
            (raw_echo.clone(), Answer::Success { physical_resource_id, data: Default::default(), no_echo: false })
        }
        (Some(init_error), _) => {
            let reason = format!("the function failed to initialise: {init_error}; fix the function's configuration");
            (raw_echo.clone(), failed(&raw_echo, reason))
        }
        (None, Err(malformed)) => (raw_echo.clone(), failed(&raw_echo, malformed.to_string())),
        (None, Ok(request)) => {
            let answer = match AccountScope::from_function_arn(&context.invoked_function_arn) {
                Err(e) => failed(&request.echo, e.to_string()),
                Ok(scope) if stack_account(&request.echo.stack_id) != Some(scope.account_id.as_str()) => failed(
                    &request.echo,
                    format!(
                        "the stack {} is not in this function's account {}; only stacks of the function's own account are served — deploy samlfed in that account",
                        request.echo.stack_id, scope.account_id
                    ),
                ),
                Ok(scope) => {
                    let give_up_at = deadline.map(|d| give_up_before(d, deps.settings.deadline_margin));
                    if let Err(refusal) = verify_origin(deps, &request, give_up_at).await {
                        return send_answer(deps, &url, request.echo.clone(), failed(&request.echo, refusal), deadline, arrived).await;
                    }
                    let owner = Owner {
                        stack_id: request.echo.stack_id.clone(),
                        logical_resource_id: request.echo.logical_resource_id.clone(),
                    };
                    let ctx = OpContext {
                        clients: &deps.clients,
                        fetchers: deps.fetchers(),
                        scope: &scope,
                        settings: &deps.settings,
                        owner: &owner,
                    };
                    dispatch::answer(deps.resource_types, &request, &ctx, give_up_at).await
                }
            };
            (request.echo, answer)
        }
    };
    send_answer(deps, &url, echo, answer, deadline, arrived).await
}

/// Asks CloudFormation whether it is running this very operation ([`super::origin`]), within the
/// operation's time; `Err` is the Reason of the refusal. With the check turned off, says so.
async fn verify_origin(deps: &Deps, request: &Request, give_up_at: Option<Instant>) -> Result<(), String> {
    if !deps.settings.origin_check {
        tracing::warn!("the origin check is off (SAMLFED_ORIGIN_CHECK=off): this event is acted on without asking CloudFormation whether it sent it");
        return Ok(());
    }
    let check = origin::check(
        &deps.clients.cloudformation,
        &request.echo.stack_id,
        &request.echo.logical_resource_id,
        &request.resource_type,
        &request.kind,
    );
    let verdict = match give_up_at {
        Some(at) => tokio::time::timeout_at(at, check).await.unwrap_or_else(|_| {
            Err(Refusal::Unverifiable {
                logical_id: request.echo.logical_resource_id.clone(),
                error: "CloudFormation did not answer before the function's deadline".into(),
            })
        }),
        None => check.await,
    };
    verdict.map_err(|refusal| {
        tracing::error!(error = %refusal, "refused the event: the origin check did not find a CloudFormation operation on this resource in progress; nothing was changed");
        metrics::origin_check_refused();
        refusal.to_string()
    })
}

/// PUTs `answer` to the ResponseURL (bounded, before the deadline) and logs the outcome.
async fn send_answer(
    deps: &Deps,
    url: &ResponseUrl,
    echo: Echo,
    answer: Answer,
    deadline: Option<Instant>,
    arrived: Instant,
) -> Value {
    let body = response::body(&echo, &answer);
    let policy = SendPolicy {
        attempts: deps.settings.response_attempts,
        first_backoff: deps.settings.response_backoff,
        attempt_timeout: deps.settings.response_timeout,
        give_up_at: deadline.map(|d| d.checked_sub(SEND_MARGIN).unwrap_or_else(Instant::now)),
    };
    let reason = match &answer {
        Answer::Failed { reason, .. } => Some(reason.as_str()),
        Answer::Success { .. } => None,
    };
    let put_started = Instant::now();
    let sent = sender::send(&deps.http, url, &body, policy).await;
    // The response PUT is an AWS call too (to S3); everything else since `arrived` is our own.
    let split = Split::of(arrived.elapsed(), deps.clients.aws_time.take() + put_started.elapsed());
    let (aws_ms, own_ms) = (Split::ms(split.aws), Split::ms(split.own));
    let delivered = match sent {
        Ok(attempts) => {
            tracing::info!(status = answer.status(), reason, attempts, aws_ms, own_ms, "answered CloudFormation");
            true
        }
        Err(e) => {
            tracing::error!(status = answer.status(), reason, error = %e, aws_ms, own_ms, "could not deliver the answer to CloudFormation");
            false
        }
    };
    json!({ "Status": answer.status(), "Delivered": delivered })
}

/// The account in `arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID`.
fn stack_account(stack_id: &str) -> Option<&str> {
    let mut parts = stack_id.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("cloudformation"), Some(_), Some(account)) => Some(account),
        _ => None,
    }
}

/// When to stop the operation: `margin` before the deadline, but never more than a third of the
/// time left, so a function with a short Timeout still gets to work (and still answers).
fn give_up_before(deadline: Instant, margin: Duration) -> Instant {
    let left = deadline.saturating_duration_since(Instant::now());
    deadline.checked_sub(margin.min(left / 3)).unwrap_or_else(Instant::now)
}

fn failed(echo: &Echo, reason: String) -> Answer {
    let physical_resource_id =
        echo.physical_resource_id.clone().unwrap_or_else(|| format!("{NOTHING_CREATED_PREFIX}{}", echo.request_id));
    Answer::Failed { physical_resource_id, reason }
}

/// The invocation's deadline as a monotonic instant; `None` when the context has none (0).
fn lambda_deadline(context: &Context) -> Option<Instant> {
    if context.deadline == 0 {
        return None;
    }
    let deadline = UNIX_EPOCH + Duration::from_millis(context.deadline);
    let remaining = deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
    Some(Instant::now() + remaining)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_never_takes_more_than_a_third_of_the_time_left() {
        let now = Instant::now();
        let deadline = now + Duration::from_secs(60);
        let give_up = give_up_before(deadline, Duration::from_secs(10));
        assert!(give_up <= deadline - Duration::from_secs(10) && give_up > now + Duration::from_secs(49));
        // A 3-second Timeout: the operation gets about two seconds, not none.
        let deadline = Instant::now() + Duration::from_secs(3);
        let give_up = give_up_before(deadline, Duration::from_secs(10));
        let budget = give_up.saturating_duration_since(Instant::now());
        assert!(budget > Duration::from_millis(1900) && budget <= Duration::from_secs(2), "{budget:?}");
    }

    #[test]
    fn the_stack_account_is_read_from_the_stack_id() {
        assert_eq!(stack_account("arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid"), Some("123456789012"));
        assert_eq!(
            stack_account("arn:aws-cn:cloudformation:cn-north-1:210987654321:stack/s/guid"),
            Some("210987654321")
        );
        assert_eq!(stack_account("not-an-arn"), None);
    }
}
