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
use crate::settings::Settings;

pub mod saml_provider;
pub mod tags;

pub use tags::Owner;

/// PhysicalResourceId returned when a Create failed before anything was made: it is not an ARN,
/// so CloudFormation's rollback Delete recognises it and touches nothing.
pub const NOTHING_CREATED_PREFIX: &str = "samlfed:nothing-created:";

/// Everything an operation may use: clients built at cold start, where it runs, who asked.
#[derive(Debug, Clone, Copy)]
pub struct OpContext<'a> {
    pub clients: &'a AwsClients,
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
        other => Answer::Failed {
            physical_resource_id: fallback_id(request),
            reason: format!(
                "unknown ResourceType {other:?}: this function serves {}; fix the resource's Type in the template",
                saml_provider::SamlProvider::RESOURCE_TYPE
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
        let props: R::Properties = serde_json::from_value(Value::Object(request.properties.clone())).map_err(|e| {
            ResourceError::Invalid(format!(
                "invalid properties for {}: {e}; fix the resource's Properties in the template",
                R::RESOURCE_TYPE
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
            Ok(props) => (
                guarded(R::update(physical_resource_id, props, old_properties, ctx), give_up_at).await,
                unchanged_id.clone(),
            ),
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
