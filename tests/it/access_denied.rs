//! A just-created execution role may be refused for a few seconds: IAM is eventually consistent
//! ("Any change that you make in IAM (or other AWS services) takes time to become visible from
//! all possible endpoints", creating roles and policies included —
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
//! CloudFormation invokes the function moments after it created the function's role, so every
//! AWS call retries AccessDenied (`samlfed::aws::ACCESS_DENIED_RETRY`: 4 attempts, 1 + 2 + 4 s),
//! bounded, under the deadline guard, and a refusal that outlasts it fails the resource with a
//! Reason naming the action, the wait and the fix.
//!
//! IAM is mocked at the SDK's seam (aws-smithy-mocks) on a client built exactly as the function
//! builds its own (`samlfed::aws::iam_config`); the event, its presigned ResponseURL and the
//! response PUT are the emulator's, through the real handler.

use std::time::{Duration, Instant};

use aws_sdk_iam::config::{Credentials, Region};
use aws_sdk_iam::error::ErrorMetadata;
use aws_sdk_iam::operation::create_saml_provider::{CreateSAMLProviderError, CreateSamlProviderOutput};
use aws_sdk_iam::operation::get_saml_provider::GetSamlProviderOutput;
use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
use samlfed::cfn::handler::Deps;
use serde_json::{json, Value};

use crate::support::harness::Harness;
use crate::support::idp_metadata;

const LOGICAL_ID: &str = "IdentityProvider";

fn denied() -> CreateSAMLProviderError {
    CreateSAMLProviderError::generic(
        ErrorMetadata::builder()
            .code("AccessDenied")
            .message("User: arn:aws:sts::123456789012:assumed-role/samlfed-FunctionRole/samlfed is not authorized to perform: iam:CreateSAMLProvider on resource: arn:aws:iam::123456789012:saml-provider/Okta because no identity-based policy allows the iam:CreateSAMLProvider action")
            .build(),
    )
}

fn created() -> CreateSamlProviderOutput {
    CreateSamlProviderOutput::builder().saml_provider_arn(Harness::provider_arn("Okta")).build()
}

/// The provider as IAM describes it once created.
fn described() -> Rule {
    mock!(aws_sdk_iam::Client::get_saml_provider).then_output(|| {
        GetSamlProviderOutput::builder().saml_provider_uuid("a1b2c3d4-0000-4000-8000-000000000001").build()
    })
}

/// The function's dependencies with an IAM client built as the function builds it — the same
/// configuration, retries and AccessDenied retry — answering from `rules`.
async fn deps_with_iam(h: &Harness, rules: &[&Rule]) -> Deps {
    let config = samlfed::aws::loader()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "tests"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .load()
        .await;
    let mocks = rules.iter().fold(MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny), |m, r| m.with_rule(r));
    let mut deps = h.deps.clone();
    deps.clients.iam = aws_sdk_iam::Client::from_conf(samlfed::aws::iam_config(&config).interceptor(mocks).build());
    deps
}

/// Runs `event` with `remaining` before the Lambda deadline; returns the response PUT and the
/// time the handler took.
async fn answer(h: &Harness, deps: &Deps, event: &Value, remaining: Duration) -> (Value, Duration) {
    let started = Instant::now();
    let summary = h.invoke_with(deps, event, remaining).await;
    let took = started.elapsed();
    assert_eq!(summary["Delivered"], true, "{summary}");
    (h.response(event).await.expect("answered"), took)
}

async fn create_event(h: &Harness) -> Value {
    h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_twice_then_allowed_creates_the_provider() {
    let h = Harness::start().await;
    let create =
        mock!(aws_sdk_iam::Client::create_saml_provider).sequence().error(denied).times(2).output(created).build();
    let describe = described();
    let deps = deps_with_iam(&h, &[&create, &describe]).await;
    let (response, took) = answer(&h, &deps, &create_event(&h).await, Duration::from_secs(60)).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"));
    assert_eq!(create.num_calls(), 3, "refused twice, allowed the third time");
    assert!(took >= Duration::from_secs(3), "waited 1 s and 2 s for IAM to catch up: {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_on_every_attempt_fails_naming_the_action_after_bounded_retries_before_the_deadline() {
    let h = Harness::start().await;
    let create = mock!(aws_sdk_iam::Client::create_saml_provider).then_error(denied);
    let describe = described();
    let deps = deps_with_iam(&h, &[&create, &describe]).await;
    let remaining = Duration::from_secs(20);
    let (response, took) = answer(&h, &deps, &create_event(&h).await, remaining).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().expect("a Reason");
    for phrase in [
        "IAM CreateSAMLProvider for arn:aws:iam::123456789012:saml-provider/Okta was denied",
        "on all 4 attempts over 7 s",
        "not authorized to perform: iam:CreateSAMLProvider",
        "execution role may not call iam:CreateSAMLProvider",
        "grant it in the role's policy",
    ] {
        assert!(reason.contains(phrase), "{phrase:?} missing from the Reason: {reason}");
    }
    assert_eq!(create.num_calls(), 4, "bounded: the SDK's 4 attempts");
    assert_eq!(describe.num_calls(), 0);
    assert!(took >= Duration::from_secs(7), "waited 1 + 2 + 4 s: {took:?}");
    assert!(took < remaining, "answered before the Lambda deadline: {took:?}");
    // Nothing is known to have been made, but the planned id lets a rollback Delete check.
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_access_denied_retry_never_outlives_the_deadline_guard() {
    let h = Harness::start().await;
    let create = mock!(aws_sdk_iam::Client::create_saml_provider).then_error(denied);
    let deps = deps_with_iam(&h, &[&create]).await;
    // Less time than the retry's 7 s: the guard stops the operation, waits included, and
    // CloudFormation still gets its answer before the deadline.
    let remaining = Duration::from_secs(4);
    let (response, took) = answer(&h, &deps, &create_event(&h).await, remaining).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    assert!(response["Reason"].as_str().is_some_and(|r| r.contains("Lambda deadline")), "{response}");
    assert!(took < remaining, "answered before the Lambda deadline: {took:?}");
    assert!(create.num_calls() < 4, "cut short by the guard: {} attempts", create.num_calls());
}
