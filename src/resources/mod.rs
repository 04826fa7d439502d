//! The resource types this function serves, one file each, behind one small trait.
//!
//! The protocol layer ([`crate::cfn`]) knows nothing about IAM; a resource type knows nothing about
//! CloudFormation's wire format. Adding a type is one file plus one line in [`answer`].

use std::collections::BTreeMap;
use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use thiserror::Error;
use tokio::time::Instant;

use crate::arn::AccountScope;
use crate::aws::AwsClients;
use crate::cfn::guard::guarded;
use crate::cfn::request::{Request, RequestKind};
use crate::cfn::response::Answer;
use crate::metadata::Fetchers;
use crate::settings::Settings;

pub mod adopt;
mod iam;
mod lenient;
pub mod saml_provider;
pub mod saml_role;
pub mod tags;

pub use tags::Owner;

/// PhysicalResourceId returned when a Create failed before anything was made: it is not an ARN,
/// so CloudFormation's rollback Delete recognises it and touches nothing.
pub const NOTHING_CREATED_PREFIX: &str = "samlfed:nothing-created:";

/// Everything an operation may use: clients built at cold start, where it runs, who asked.
#[derive(Debug, Clone, Copy)]
pub struct OpContext<'a> {
    pub clients: &'a AwsClients,
    pub fetchers: Fetchers<'a>,
    pub scope: &'a AccountScope,
    pub settings: &'a Settings,
    pub owner: &'a Owner,
}

/// A finished operation: the resource's id and its `Fn::GetAtt` attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
}

/// Why an operation failed. Every message names what is wrong and how to fix it.
#[derive(Debug, Error, PartialEq)]
pub enum ResourceError {
    /// Bad properties or metadata: found before any change was made.
    #[error("{0}")]
    Invalid(String),
    /// The resource exists and belongs to someone else; it was left untouched.
    #[error("{0}")]
    Foreign(String),
    /// An AWS call failed after the SDK's retries; a change may or may not have been made.
    #[error("{0}")]
    Aws(String),
}

impl ResourceError {
    /// True when the failure is known to have changed nothing.
    fn changed_nothing(&self) -> bool {
        matches!(self, ResourceError::Invalid(_) | ResourceError::Foreign(_))
    }
}

/// One custom resource type: create, update in place or replace, and delete only what is ours.
pub trait CustomResource {
    /// The `Type` used in templates, e.g. `Custom::SAMLProvider`.
    const RESOURCE_TYPE: &'static str;
    /// The typed, validated properties.
    type Properties: DeserializeOwned;

    /// Checks what serde cannot (patterns, lengths, exclusivity) before any AWS call.
    fn validate(props: &Self::Properties, ctx: &OpContext<'_>) -> Result<(), ResourceError>;

    /// The id a Create of `props` will return, so a Create that is stopped half-way still answers
    /// with an id whose Delete can clean up (ownership-checked).
    fn planned_physical_id(props: &Self::Properties, ctx: &OpContext<'_>) -> String;

    fn create(props: Self::Properties, ctx: &OpContext<'_>) -> impl Future<Output = Result<Outcome, ResourceError>>;

    fn update(
        physical_resource_id: &str,
        props: Self::Properties,
        old_properties: &Map<String, Value>,
        ctx: &OpContext<'_>,
    ) -> impl Future<Output = Result<Outcome, ResourceError>>;

    fn delete(physical_resource_id: &str, ctx: &OpContext<'_>) -> impl Future<Output = Result<Outcome, ResourceError>>;
}

/// Runs `request` against its resource type and turns every ending — result, error, panic,
/// deadline — into one [`Answer`].
pub async fn answer(request: &Request, ctx: &OpContext<'_>, give_up_at: Option<Instant>) -> Answer {
    match request.resource_type.as_str() {
        saml_provider::SamlProvider::RESOURCE_TYPE => {
            run::<saml_provider::SamlProvider>(request, ctx, give_up_at).await
        }
        saml_role::SamlRole::RESOURCE_TYPE => run::<saml_role::SamlRole>(request, ctx, give_up_at).await,
        other => Answer::Failed {
            physical_resource_id: fallback_id(request),
            reason: format!(
                "unknown ResourceType {other:?}: this function serves {} and {}; fix the resource's Type in the template",
                saml_provider::SamlProvider::RESOURCE_TYPE,
                saml_role::SamlRole::RESOURCE_TYPE
            ),
        },
    }
}

/// The event's own PhysicalResourceId, or the nothing-created id for a Create.
fn fallback_id(request: &Request) -> String {
    match &request.kind {
        RequestKind::Create => format!("{NOTHING_CREATED_PREFIX}{}", request.echo.request_id),
        RequestKind::Update { physical_resource_id, .. } | RequestKind::Delete { physical_resource_id } => {
            physical_resource_id.clone()
        }
    }
}

async fn run<R: CustomResource>(request: &Request, ctx: &OpContext<'_>, give_up_at: Option<Instant>) -> Answer {
    let unchanged_id = fallback_id(request);
    let parse = || -> Result<R::Properties, ResourceError> {
        // serde_path_to_error names the offending property (`Tags[2]`, `MaxSessionDuration`).
        let props: R::Properties = serde_path_to_error::deserialize(Value::Object(request.properties.clone()))
            .map_err(|e| {
                let at = match e.path().to_string() {
                    path if path == "." => String::new(),
                    path => format!("{path}: "),
                };
                ResourceError::Invalid(format!(
                    "invalid properties for {}: {at}{}; fix the resource's Properties in the template",
                    R::RESOURCE_TYPE,
                    e.inner()
                ))
            })?;
        R::validate(&props, ctx)?;
        Ok(props)
    };
    let (result, interrupted_id) = match &request.kind {
        RequestKind::Create => match parse() {
            Err(e) => (Ok(Err(e)), unchanged_id.clone()),
            Ok(props) => {
                let planned = R::planned_physical_id(&props, ctx);
                (guarded(R::create(props, ctx), give_up_at).await, planned)
            }
        },
        RequestKind::Update { physical_resource_id, old_properties } => match parse() {
            Err(e) => (Ok(Err(e)), unchanged_id.clone()),
            Ok(props) => {
                let planned = R::planned_physical_id(&props, ctx);
                let result = guarded(R::update(physical_resource_id, props, old_properties, ctx), give_up_at).await;
                if planned != *physical_resource_id {
                    if let Ok(Err(error)) = &result {
                        undo_failed_replacement::<R>(&planned, error, ctx, give_up_at).await;
                    }
                }
                (result, unchanged_id.clone())
            }
        },
        RequestKind::Delete { physical_resource_id } => {
            (guarded(R::delete(physical_resource_id, ctx), give_up_at).await, unchanged_id.clone())
        }
    };
    match result {
        Ok(Ok(outcome)) => {
            Answer::Success { physical_resource_id: outcome.physical_resource_id, data: outcome.data, no_echo: false }
        }
        Ok(Err(error)) => Answer::Failed {
            physical_resource_id: if error.changed_nothing() { unchanged_id } else { interrupted_id },
            reason: error.to_string(),
        },
        Err(interrupted) => Answer::Failed { physical_resource_id: interrupted_id, reason: interrupted.to_string() },
    }
}

/// A replacement Update that failed after IAM may have made the new resource: delete that new
/// resource again (only if it is ours, as every Delete checks). CloudFormation keeps the old
/// physical id when an Update fails, so no later Delete would ever name the new one and it would
/// be left behind. Best effort: a failure here is logged, and the answer stays the update's.
async fn undo_failed_replacement<R: CustomResource>(
    new_id: &str,
    error: &ResourceError,
    ctx: &OpContext<'_>,
    give_up_at: Option<Instant>,
) {
    if error.changed_nothing() {
        return;
    }
    match guarded(R::delete(new_id, ctx), give_up_at).await {
        Ok(Ok(_)) => tracing::info!(new_id, "the replacement failed; removed what it had made, if anything"),
        Ok(Err(e)) => {
            tracing::warn!(new_id, error = %e, "the replacement failed and what it made could not be removed")
        }
        Err(e) => tracing::warn!(new_id, error = %e, "the replacement failed and its clean-up was cut short"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::request::Echo;
    use serde::Deserialize;

    /// A resource type whose operations panic or hang: stands in for a bug in a real one.
    struct Faulty;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FaultyProps {
        #[serde(rename = "Mode")]
        mode: String,
    }

    impl CustomResource for Faulty {
        const RESOURCE_TYPE: &'static str = "Custom::Faulty";
        type Properties = FaultyProps;
        fn validate(_: &FaultyProps, _: &OpContext<'_>) -> Result<(), ResourceError> {
            Ok(())
        }
        fn planned_physical_id(_: &FaultyProps, _: &OpContext<'_>) -> String {
            "planned-id".into()
        }
        async fn create(props: FaultyProps, _: &OpContext<'_>) -> Result<Outcome, ResourceError> {
            match props.mode.as_str() {
                "panic" => panic!("index out of bounds"),
                _ => std::future::pending().await,
            }
        }
        async fn update(
            _: &str,
            _: FaultyProps,
            _: &Map<String, Value>,
            _: &OpContext<'_>,
        ) -> Result<Outcome, ResourceError> {
            panic!("update bug")
        }
        async fn delete(_: &str, _: &OpContext<'_>) -> Result<Outcome, ResourceError> {
            Err(ResourceError::Aws("throttled".into()))
        }
    }

    fn request(kind: RequestKind, mode: &str) -> Request {
        Request {
            kind,
            echo: Echo {
                stack_id: "s".into(),
                request_id: "r1".into(),
                logical_resource_id: "L".into(),
                physical_resource_id: None,
            },
            resource_type: Faulty::RESOURCE_TYPE.into(),
            properties: serde_json::json!({"Mode": mode}).as_object().cloned().unwrap_or_default(),
        }
    }

    async fn run_faulty(request: Request, give_up_at: Option<Instant>) -> Answer {
        let config = aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
        let clients = AwsClients::new(&config, false);
        let scope = AccountScope { partition: "aws".into(), account_id: "123456789012".into() };
        let settings = Settings::default();
        let owner = Owner { stack_id: "s".into(), logical_resource_id: "L".into() };
        let http = crate::tls::reqwest_builder().build().unwrap();
        let fetchers =
            Fetchers { s3: &clients.s3, https: &http, timeout: settings.metadata_timeout, allow_loopback: false };
        let ctx = OpContext { clients: &clients, fetchers, scope: &scope, settings: &settings, owner: &owner };
        run::<Faulty>(&request, &ctx, give_up_at).await
    }

    #[tokio::test]
    async fn a_panicking_create_is_answered_failed_with_the_planned_id() {
        let answer = run_faulty(request(RequestKind::Create, "panic"), None).await;
        match answer {
            Answer::Failed { physical_resource_id, reason } => {
                assert_eq!(physical_resource_id, "planned-id", "so the rollback Delete can clean up");
                assert!(reason.contains("panicked") && reason.contains("index out of bounds"), "{reason}");
            }
            other => panic!("expected FAILED, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_panicking_update_keeps_the_existing_physical_id() {
        let kind = RequestKind::Update { physical_resource_id: "existing".into(), old_properties: Map::new() };
        let answer = run_faulty(request(kind, "panic"), None).await;
        assert!(
            matches!(answer, Answer::Failed { ref physical_resource_id, .. } if physical_resource_id == "existing"),
            "{answer:?}"
        );
    }

    #[tokio::test]
    async fn a_hanging_create_is_stopped_at_the_deadline() {
        let give_up_at = Instant::now() + std::time::Duration::from_millis(30);
        let answer = run_faulty(request(RequestKind::Create, "hang"), Some(give_up_at)).await;
        assert!(matches!(answer, Answer::Failed { ref reason, .. } if reason.contains("deadline")), "{answer:?}");
    }

    #[tokio::test]
    async fn bad_properties_on_create_answer_with_the_nothing_created_id() {
        let mut req = request(RequestKind::Create, "panic");
        req.properties.insert("Extra".into(), Value::Bool(true));
        let answer = run_faulty(req, None).await;
        match answer {
            Answer::Failed { physical_resource_id, reason } => {
                assert_eq!(physical_resource_id, format!("{NOTHING_CREATED_PREFIX}r1"));
                assert!(reason.contains("unknown field `Extra`") && reason.contains("Custom::Faulty"), "{reason}");
            }
            other => panic!("expected FAILED, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_failed_delete_is_failed_with_its_own_id() {
        let answer = run_faulty(request(RequestKind::Delete { physical_resource_id: "p".into() }, "x"), None).await;
        assert_eq!(answer, Answer::Failed { physical_resource_id: "p".into(), reason: "throttled".into() });
    }
}
