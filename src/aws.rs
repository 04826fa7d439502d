//! SDK configuration and clients, built once per cold start and shared by every invocation.
//!
//! `AWS_ENDPOINT_URL` is honoured by aws-config itself; when it is set we also switch S3 to
//! path-style addressing, which local emulators need (`http://127.0.0.1:PORT/bucket/key`).
//!
//! Every client also waits out IAM's eventual consistency: AccessDenied is retried, a few times
//! over a few seconds, at this one seam ([`ACCESS_DENIED_RETRY`]), so no call site needs to.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, Error as OperationError, InterceptorContext,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::ErrorKind;

use crate::timing::{AwsCallTimer, AwsTime};

/// The AWS clients the function uses.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    /// For the origin check ([`crate::cfn::origin`]): reads of the event's own stack.
    pub cloudformation: aws_sdk_cloudformation::Client,
    /// The time the clients' operations took since it was last taken (see [`crate::timing`]).
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
        let iam_config = iam_config(config).interceptor(timer.clone()).build();
        let s3_config = s3_config(config).force_path_style(path_style).interceptor(timer.clone()).build();
        let cloudformation_config = cloudformation_config(config).interceptor(timer).build();
        AwsClients {
            iam: aws_sdk_iam::Client::from_conf(iam_config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            cloudformation: aws_sdk_cloudformation::Client::from_conf(cloudformation_config),
            aws_time,
        }
    }
}

/// The IAM client configuration of every samlfed IAM client: `config` and the AccessDenied
/// retry. Tests add their mocks to it and so run with the same retry rules.
pub fn iam_config(config: &SdkConfig) -> aws_sdk_iam::config::Builder {
    iam_config_with(config, ACCESS_DENIED_RETRY)
}

/// The S3 client configuration of every samlfed S3 client, as [`iam_config`].
pub fn s3_config(config: &SdkConfig) -> aws_sdk_s3::config::Builder {
    s3_config_with(config, ACCESS_DENIED_RETRY)
}

fn iam_config_with(config: &SdkConfig, retry: PropagationRetry) -> aws_sdk_iam::config::Builder {
    aws_sdk_iam::config::Builder::from(config).interceptor(AttemptStamp).retry_classifier(AccessDeniedRetry(retry))
}

fn s3_config_with(config: &SdkConfig, retry: PropagationRetry) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::from(config).interceptor(AttemptStamp).retry_classifier(AccessDeniedRetry(retry))
}

/// The CloudFormation client configuration, as [`iam_config`]: the origin check is a fresh
/// function's first call, the one most likely to meet a role IAM has not yet put into effect.
pub fn cloudformation_config(config: &SdkConfig) -> aws_sdk_cloudformation::config::Builder {
    aws_sdk_cloudformation::config::Builder::from(config)
        .interceptor(AttemptStamp)
        .retry_classifier(AccessDeniedRetry(ACCESS_DENIED_RETRY))
}

/// The error codes with which IAM (`AccessDenied`), S3 (`AccessDenied`) and AWS's JSON-protocol
/// services (`AccessDeniedException`) refuse a call the caller's policies do not allow.
pub const ACCESS_DENIED_CODES: [&str; 2] = ["AccessDenied", "AccessDeniedException"];

/// True when `code` is one of [`ACCESS_DENIED_CODES`].
pub fn is_access_denied(code: Option<&str>) -> bool {
    code.is_some_and(|code| ACCESS_DENIED_CODES.contains(&code))
}

/// How long a call refused with AccessDenied is tried again.
///
/// IAM is eventually consistent: "Any change that you make in IAM (or other AWS services) takes
/// time to become visible from all possible endpoints", creating roles and policies included
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
/// CloudFormation creates the function's execution role moments before the first custom
/// resource invokes the function, so its first calls may be refused although the role allows
/// them. The pacing is the trust-policy retry's (`resources::saml_role`, MalformedPolicyDocument
/// from a just-created provider): first wait [`Settings::consistency_backoff`]'s default, doubling,
/// at most 8 s. It is fixed rather than a setting so that a Reason can say how long the function
/// waited.
///
/// Bounded twice over: within the SDK's own [`MAX_ATTEMPTS`] and operation timeout, and inside
/// the deadline guard (`cfn::guard`), which drops the whole operation — a wait included — at its
/// give-up time, so the retry never outlives it.
///
/// [`Settings::consistency_backoff`]: crate::settings::Settings::consistency_backoff
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropagationRetry {
    /// The wait after the first refusal; it doubles after each further one, up to 8 s.
    pub first_backoff: Duration,
    /// Attempts in all, the first included; never more than [`MAX_ATTEMPTS`].
    pub attempts: u32,
}

/// The AccessDenied retry of every client: 4 attempts, waiting 1 s, 2 s and 4 s — 7 s in all.
pub const ACCESS_DENIED_RETRY: PropagationRetry =
    PropagationRetry { first_backoff: Duration::from_secs(1), attempts: MAX_ATTEMPTS };

impl PropagationRetry {
    /// The wait after refused attempt `attempt` (1 is the first), or `None` after the last.
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        let doublings = attempt.checked_sub(1)?;
        (attempt < self.attempts.min(MAX_ATTEMPTS))
            .then(|| self.first_backoff.saturating_mul(2u32.saturating_pow(doublings)).min(Duration::from_secs(8)))
    }

    /// All the waiting between the first attempt and the last.
    pub fn total_wait(&self) -> Duration {
        (1..self.attempts).filter_map(|attempt| self.delay_after(attempt)).sum()
    }

    /// The attempts actually made, within the SDK's bound.
    pub fn attempts_made(&self) -> u32 {
        self.attempts.clamp(1, MAX_ATTEMPTS)
    }
}

/// Which attempt of which operation an HTTP response answers (`iam:CreateSAMLProvider`, 2):
/// stamped on each response by [`AttemptStamp`] for [`AccessDeniedRetry`], which sees the
/// response but not the operation's state.
#[derive(Debug, Clone)]
struct Attempt {
    number: u32,
    action: String,
}

/// Stamps each response with its [`Attempt`]. With [`AccessDeniedRetry`], it gives any SDK
/// client the AccessDenied retry:
/// `builder.interceptor(AttemptStamp).retry_classifier(AccessDeniedRetry::default())`.
#[derive(Debug, Clone, Copy)]
pub struct AttemptStamp;

impl Intercept for AttemptStamp {
    fn name(&self) -> &'static str {
        "samlfed::aws::AttemptStamp"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let number = cfg.load::<RequestAttempts>().map_or(1, RequestAttempts::attempts);
        let action = cfg
            .load::<Metadata>()
            .map(|m| format!("{}:{}", m.service().to_ascii_lowercase(), m.name()))
            .unwrap_or_default();
        context.response_mut().add_extension(Attempt { number, action });
        Ok(())
    }
}

/// Classifies an operation error with an AccessDenied code as retryable, after the explicit
/// wait of its [`PropagationRetry`]; anything else is left to the SDK's own classifiers. Needs
/// [`AttemptStamp`] on the same client (without it, nothing is retried).
#[derive(Debug, Clone, Copy)]
pub struct AccessDeniedRetry(PropagationRetry);

impl Default for AccessDeniedRetry {
    /// The production pacing, [`ACCESS_DENIED_RETRY`].
    fn default() -> Self {
        AccessDeniedRetry(ACCESS_DENIED_RETRY)
    }
}

impl ClassifyRetry for AccessDeniedRetry {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else { return RetryAction::NoActionIndicated };
        let code = error.as_operation_error().and_then(error_code);
        if !is_access_denied(code) {
            return RetryAction::NoActionIndicated;
        }
        let Some(attempt) = ctx.response().and_then(|r| r.extension::<Attempt>()) else {
            return RetryAction::NoActionIndicated;
        };
        match self.0.delay_after(attempt.number) {
            Some(delay) => {
                tracing::warn!(
                    action = attempt.action,
                    attempt = attempt.number,
                    retry_in_ms = delay.as_millis() as u64,
                    "AWS refused {} with {}; a new execution role can take a few seconds to take effect (IAM is eventually consistent), retrying",
                    attempt.action,
                    code.unwrap_or_default()
                );
                RetryAction::retryable_error_with_explicit_delay(ErrorKind::ClientError, delay)
            }
            None => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "samlfed::aws::AccessDeniedRetry"
    }
}

/// The service's error code of a type-erased operation error. Errors a service does not model
/// for the operation — AccessDenied among them — keep their code in an [`ErrorMetadata`], the
/// error's source.
fn error_code(error: &OperationError) -> Option<&str> {
    std::error::Error::source(error)?.downcast_ref::<ErrorMetadata>()?.code()
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
    use aws_sdk_iam::operation::create_saml_provider::{CreateSAMLProviderError, CreateSamlProviderOutput};
    use aws_sdk_iam::operation::get_saml_provider::GetSAMLProviderError;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_types::body::SdkBody;
    use std::time::Instant;

    /// Short waits: these tests are about what is retried, not how long.
    const QUICK: PropagationRetry =
        PropagationRetry { first_backoff: Duration::from_millis(10), attempts: MAX_ATTEMPTS };

    async fn sdk_config() -> SdkConfig {
        loader()
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_iam::config::Credentials::new("AKID", "secret", None, None, "test"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .load()
            .await
    }

    async fn iam_with(rule: &Rule) -> aws_sdk_iam::Client {
        let mocks = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny).with_rule(rule);
        aws_sdk_iam::Client::from_conf(iam_config_with(&sdk_config().await, QUICK).interceptor(mocks).build())
    }

    /// AccessDenied as IAM sends it: HTTP 403 with an awsQuery error document.
    fn iam_access_denied() -> HttpResponse {
        let body = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/samlfed/fn is not authorized to perform: iam:CreateSAMLProvider</Message></Error><RequestId>4a7e6d1c-0000-4000-8000-000000000001</RequestId></ErrorResponse>"#;
        HttpResponse::new(403u16.try_into().unwrap(), SdkBody::from(body))
    }

    async fn create(
        iam: &aws_sdk_iam::Client,
    ) -> Result<CreateSamlProviderOutput, SdkError<CreateSAMLProviderError, HttpResponse>> {
        iam.create_saml_provider().name("Okta").saml_metadata_document("<x/>").send().await
    }

    #[test]
    fn the_production_retry_waits_1_2_and_4_seconds() {
        let delays: Vec<_> = (1..=4).map(|a| ACCESS_DENIED_RETRY.delay_after(a)).collect();
        assert_eq!(
            delays,
            [Some(Duration::from_secs(1)), Some(Duration::from_secs(2)), Some(Duration::from_secs(4)), None]
        );
        assert_eq!(ACCESS_DENIED_RETRY.total_wait(), Duration::from_secs(7));
        assert_eq!(ACCESS_DENIED_RETRY.attempts_made(), 4);
        assert_eq!(ACCESS_DENIED_RETRY.delay_after(0), None);
        let long = PropagationRetry { first_backoff: Duration::from_secs(5), attempts: 10 };
        assert_eq!(long.delay_after(2), Some(Duration::from_secs(8)), "capped");
        assert_eq!(long.attempts_made(), MAX_ATTEMPTS, "never beyond the SDK's bound");
    }

    #[tokio::test]
    async fn access_denied_as_iam_sends_it_is_retried_until_the_call_succeeds() {
        let rule = mock!(aws_sdk_iam::Client::create_saml_provider)
            .sequence()
            .http_response(iam_access_denied)
            .times(2)
            .output(|| {
                CreateSamlProviderOutput::builder()
                    .saml_provider_arn("arn:aws:iam::123456789012:saml-provider/Okta")
                    .build()
            })
            .build();
        let iam = iam_with(&rule).await;
        let started = Instant::now();
        let created = create(&iam).await.expect("the third attempt succeeds");
        assert_eq!(created.saml_provider_arn(), Some("arn:aws:iam::123456789012:saml-provider/Okta"));
        assert_eq!(rule.num_calls(), 3);
        assert!(started.elapsed() >= Duration::from_millis(30), "waited 10 + 20 ms: {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn access_denied_on_every_attempt_ends_after_the_last_with_the_refusal() {
        let rule = mock!(aws_sdk_iam::Client::create_saml_provider).then_http_response(iam_access_denied);
        let iam = iam_with(&rule).await;
        let err = create(&iam).await.expect_err("denied");
        assert_eq!(err.code(), Some("AccessDenied"));
        assert!(err.message().is_some_and(|m| m.contains("iam:CreateSAMLProvider")), "{err:?}");
        assert_eq!(rule.num_calls(), MAX_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn a_modeled_access_denied_exception_is_retried_too() {
        let denied = || {
            CreateSAMLProviderError::generic(
                ErrorMetadata::builder().code("AccessDeniedException").message("no").build(),
            )
        };
        let rule = mock!(aws_sdk_iam::Client::create_saml_provider)
            .sequence()
            .error(denied)
            .output(|| CreateSamlProviderOutput::builder().build())
            .build();
        let iam = iam_with(&rule).await;
        create(&iam).await.expect("the second attempt succeeds");
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn other_refusals_are_not_retried() {
        let rule = mock!(aws_sdk_iam::Client::get_saml_provider).then_error(|| {
            GetSAMLProviderError::generic(ErrorMetadata::builder().code("NoSuchEntity").message("gone").build())
        });
        let iam = iam_with(&rule).await;
        let err =
            iam.get_saml_provider().saml_provider_arn("arn:aws:iam::123456789012:saml-provider/Okta").send().await;
        assert_eq!(err.expect_err("refused").code(), Some("NoSuchEntity"));
        assert_eq!(rule.num_calls(), 1);
    }

    /// S3 refuses a GetObject the role (or the bucket policy) does not allow with HTTP 403 and
    /// `AccessDenied` — for a new role, too, until IAM has caught up.
    #[tokio::test]
    async fn s3_access_denied_is_retried_until_the_read_succeeds() {
        let denied = || {
            let body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R</RequestId><HostId>H</HostId></Error>";
            HttpResponse::new(403u16.try_into().unwrap(), SdkBody::from(body))
        };
        let rule = mock!(aws_sdk_s3::Client::get_object)
            .sequence()
            .http_response(denied)
            .output(|| aws_sdk_s3::operation::get_object::GetObjectOutput::builder().build())
            .build();
        let mocks = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny).with_rule(&rule);
        let config = s3_config_with(&sdk_config().await, QUICK).interceptor(mocks).build();
        let s3 = aws_sdk_s3::Client::from_conf(config);
        s3.get_object().bucket("org-idp-metadata").key("idp.xml").send().await.expect("the second attempt succeeds");
        assert_eq!(rule.num_calls(), 2);
    }
}
