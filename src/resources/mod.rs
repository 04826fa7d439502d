//! The resource types this function serves, one file each, behind one small trait.
//!
//! The protocol layer ([`crate::cfn`]) knows nothing about IAM and names no resource type; a
//! resource type knows nothing about CloudFormation's wire format. Adding a type is one file
//! implementing [`CustomResource`] plus one line in [`crate::registry`] (docs/architecture.md).

use std::collections::BTreeMap;
use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::arn::AccountScope;
use crate::aws::AwsClients;
use crate::metadata::Fetchers;
use crate::settings::Settings;

pub mod adopt;
mod iam;
mod lenient;
pub mod owned;
pub mod saml_provider;
pub mod saml_role;
pub mod tags;

pub use iam::IamFailure;
pub use tags::Owner;

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
    pub fn changed_nothing(&self) -> bool {
        matches!(self, ResourceError::Invalid(_) | ResourceError::Foreign(_))
    }
}

/// An IAM action a resource type calls, for the function's execution role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IamAction {
    /// The action as a policy names it, e.g. `iam:CreateSAMLProvider`.
    pub action: &'static str,
    /// The property whose use alone needs it: least privilege leaves the action out of the
    /// execution role of a template that never sets that property on this type.
    pub only_for_property: Option<&'static str>,
}

impl IamAction {
    /// Needed by every template that uses the type.
    pub const fn always(action: &'static str) -> IamAction {
        IamAction { action, only_for_property: None }
    }

    /// Needed only when a template sets `property` on the type.
    pub const fn only_for(action: &'static str, property: &'static str) -> IamAction {
        IamAction { action, only_for_property: Some(property) }
    }
}

/// One custom resource type: create, update in place or replace, and delete only what is ours.
pub trait CustomResource {
    /// The `Type` used in templates, e.g. `Custom::SAMLProvider`.
    const RESOURCE_TYPE: &'static str;
    /// Every IAM action the type's own code calls. `tools/check_iam_actions.py` reads this list
    /// (written as `IamAction::always("…")` / `IamAction::only_for("…", "Property")` entries),
    /// holds it equal to the SDK calls in the type's files, and holds the template's execution
    /// role equal to what the registered types declare plus what shared code calls.
    const IAM_ACTIONS: &'static [IamAction];
    /// The typed, validated properties.
    type Properties: DeserializeOwned;

    /// Checks what serde cannot (patterns, lengths, exclusivity) before any AWS call.
    /// Pure: no client, no I/O — the CLI's `render` runs it as the Lambda does.
    fn validate(props: &Self::Properties, scope: &AccountScope) -> Result<(), ResourceError>;

    /// The id a Create of `props` will return, so a Create that is stopped half-way still answers
    /// with an id whose Delete can clean up (ownership-checked).
    fn planned_physical_id(props: &Self::Properties, scope: &AccountScope) -> String;

    fn create(props: Self::Properties, ctx: &OpContext<'_>) -> impl Future<Output = Result<Outcome, ResourceError>>;

    fn update(
        physical_resource_id: &str,
        props: Self::Properties,
        old_properties: &Map<String, Value>,
        ctx: &OpContext<'_>,
    ) -> impl Future<Output = Result<Outcome, ResourceError>>;

    fn delete(physical_resource_id: &str, ctx: &OpContext<'_>) -> impl Future<Output = Result<Outcome, ResourceError>>;
}
