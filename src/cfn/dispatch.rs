//! Dispatch: a request to its resource type, under the "always answer" guard.
//!
//! The protocol side of the resource types: which type a request names (a [`Registered`] entry of
//! [`crate::registry`]), its properties parsed into the type's own, the id to answer with when an
//! operation fails or is cut short (the planned id of a Create, so that the rollback Delete can
//! clean up; the old id of an Update), and the undo of a failed replacement. Nothing here names a
//! resource type; nothing in [`crate::resources`] names the wire format.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use tokio::time::Instant;

use super::guard::guarded;
use super::request::{Request, RequestKind};
use super::response::Answer;
use crate::resources::{CustomResource, IamAction, OpContext, ResourceError};

/// PhysicalResourceId returned when a Create failed before anything was made: it is not an ARN,
/// so CloudFormation's rollback Delete recognises it and touches nothing.
pub const NOTHING_CREATED_PREFIX: &str = "samlfed:nothing-created:";

/// Runs one request through a registered type.
pub type RunFn =
    for<'a> fn(&'a Request, &'a OpContext<'a>, Option<Instant>) -> Pin<Box<dyn Future<Output = Answer> + 'a>>;

/// One resource type as the protocol sees it: its `Type` and how to run a request of it.
#[derive(Clone, Copy)]
pub struct Registered {
    /// The `Type` templates use, e.g. `Custom::SAMLProvider`.
    pub resource_type: &'static str,
    /// The IAM actions the type calls ([`CustomResource::IAM_ACTIONS`]).
    pub iam_actions: &'static [IamAction],
    /// Runs a request of that type: parse, validate, operate under the guard, answer.
    pub run: RunFn,
}

impl Registered {
    /// The entry of resource type `R`.
    pub const fn of<R: CustomResource + 'static>() -> Registered {
        Registered { resource_type: R::RESOURCE_TYPE, iam_actions: R::IAM_ACTIONS, run: run_boxed::<R> }
    }
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.resource_type)
    }
}

fn run_boxed<'a, R: CustomResource + 'static>(
    request: &'a Request,
    ctx: &'a OpContext<'a>,
    give_up_at: Option<Instant>,
) -> Pin<Box<dyn Future<Output = Answer> + 'a>> {
    Box::pin(run::<R>(request, ctx, give_up_at))
}

/// Runs `request` against its type in `registry` and turns every ending — result, error, panic,
/// deadline — into one [`Answer`].
pub async fn answer(
    registry: &[Registered],
    request: &Request,
    ctx: &OpContext<'_>,
    give_up_at: Option<Instant>,
) -> Answer {
    match registry.iter().find(|r| r.resource_type == request.resource_type) {
        Some(registered) => (registered.run)(request, ctx, give_up_at).await,
        None => {
            let served: Vec<&str> = registry.iter().map(|r| r.resource_type).collect();
            Answer::Failed {
                physical_resource_id: fallback_id(request),
                reason: format!(
                    "unknown ResourceType {:?}: this function serves {}; fix the resource's Type in the template",
                    request.resource_type,
                    served.join(", ")
                ),
            }
        }
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
        R::validate(&props, ctx.scope)?;
        Ok(props)
    };
    let (result, interrupted_id) = match &request.kind {
        RequestKind::Create => match parse() {
            Err(e) => (Ok(Err(e)), unchanged_id.clone()),
            Ok(props) => {
                let planned = R::planned_physical_id(&props, ctx.scope);
                (guarded(R::create(props, ctx), give_up_at).await, planned)
            }
        },
        RequestKind::Update { physical_resource_id, old_properties } => match parse() {
            Err(e) => (Ok(Err(e)), unchanged_id.clone()),
            Ok(props) => {
                let planned = R::planned_physical_id(&props, ctx.scope);
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
    use crate::arn::AccountScope;
    use crate::aws::AwsClients;
    use crate::cfn::request::Echo;
    use crate::metadata::Fetchers;
    use crate::resources::{Outcome, Owner};
    use crate::settings::Settings;
    use serde::Deserialize;
    use serde_json::Map;

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
        const IAM_ACTIONS: &'static [IamAction] = &[];
        type Properties = FaultyProps;
        fn validate(_: &FaultyProps, _: &AccountScope) -> Result<(), ResourceError> {
            Ok(())
        }
        fn planned_physical_id(_: &FaultyProps, _: &AccountScope) -> String {
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
