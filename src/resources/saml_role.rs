//! `Custom::SAMLRole`: an IAM role that trusts a SAML provider — and the exact attribute value IAM
//! Identity Center's "External AWS Account" application needs to sign people into it.
//!
//! AWS calls per operation:
//! - Create: CreateRole (trust policy, description, session length, boundary and tags in one
//!   call), one AttachRolePolicy per managed policy, one PutRolePolicy per inline policy.
//!   Over an existing role of the name: GetRole (ownership, path); when it is nobody's and
//!   `AdoptExisting` is `"true"`, TagRole (ours + `samlfed:adopted`), then what an Update does
//!   with no previous properties: nothing the properties do not name is removed
//!   ([`super::adopt`]).
//! - Update, same RoleName and Path: GetRole and ListAttachedRolePolicies / ListRolePolicies, then
//!   only the calls for what differs (UpdateAssumeRolePolicy, UpdateRole, Put/Delete boundary,
//!   Attach/Detach, Put/DeleteRolePolicy, Tag/UntagRole). Never delete + re-create.
//! - Update, new RoleName or Path: a Create; CloudFormation's cleanup Delete removes the old role.
//! - Delete: GetRole (ownership), then detach and delete what the role carries, then DeleteRole;
//!   an adopted role is left in place.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Role;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::arn::AccountScope;

mod entity;
mod iam_reads;
mod trust;

pub use trust::{identity_center_role_attribute, trust_policy};

use entity::RoleNamed;
use iam_reads::{attached_policies, inline_policy_names, with_consistency_retry, CONSISTENCY_ATTEMPTS};

use super::adopt::{self, Existing, Takeover};
use super::iam::{iam_error, iam_tags, is_no_such_entity};
use super::lenient;
use super::owned::{self, Found};
use super::tags::{self, Tag};
use super::{CustomResource, IamAction, OpContext, Outcome, ResourceError};

/// The `Custom::SAMLRole` resource type.
pub struct SamlRole;

/// The IAM ARN kind of a role.
const ARN_KIND: &str = "role";

impl AccountScope {
    /// The ARN of the role `name` under `path` (which starts and ends with `/`).
    pub fn role_arn(&self, path: &str, name: &str) -> String {
        self.iam_arn(ARN_KIND, path, name)
    }

    /// The role name, when `arn` is a role ARN of this account and partition.
    pub fn role_name<'a>(&self, arn: &'a str) -> Option<&'a str> {
        self.iam_path_and_name(ARN_KIND, arn).and_then(|rest| rest.rsplit('/').next()).filter(|name| !name.is_empty())
    }
}

/// An inline policy as written in the template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    /// A JSON object, or a string holding one (both are common in templates).
    pub policy_document: Value,
}

/// The properties of a `Custom::SAMLRole`, as in DESIGN.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Properties {
    pub role_name: String,
    pub provider_arn: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub managed_policy_arns: Vec<String>,
    #[serde(default)]
    pub policies: Vec<InlinePolicy>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_u32")]
    pub max_session_duration: Option<u32>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub audiences: Vec<String>,
    /// `"true"`: a Create may take over a role of this RoleName (and Path) that carries no
    /// samlfed tags ([`super::adopt`]). Read on Create only.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub adopt_existing: bool,
}

impl Properties {
    /// The audiences the trust policy names: `Audiences`, or else the partition's sign-in
    /// audience. The CLI's `render` shows the same.
    pub fn audiences_or_default(&self, scope: &AccountScope) -> Vec<String> {
        if self.audiences.is_empty() {
            vec![scope.signin_saml_audience().to_string()]
        } else {
            self.audiences.clone()
        }
    }
}

/// IAM's default and bounds for MaxSessionDuration, in seconds.
const DEFAULT_SESSION: u32 = 3600;
const SESSION_RANGE: std::ops::RangeInclusive<u32> = 3600..=43200;

/// The properties with defaults applied and policy documents parsed: what the role should be.
#[derive(Debug, Clone, PartialEq)]
struct Wanted {
    name: String,
    path: String,
    trust_policy: Value,
    description: String,
    max_session_duration: u32,
    permissions_boundary: Option<String>,
    managed_policy_arns: BTreeSet<String>,
    inline_policies: BTreeMap<String, Value>,
    tags: BTreeMap<String, String>,
}

impl Wanted {
    fn from(props: &Properties, scope: &AccountScope) -> Result<Wanted, ResourceError> {
        let invalid = |message: String| Err(ResourceError::Invalid(message));
        let name = &props.role_name;
        if !(1..=64).contains(&name.len())
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
        {
            return invalid(format!("RoleName {name:?} is not a valid role name: IAM allows 1 to 64 characters from letters, digits and _ + = , . @ -"));
        }
        let path = props.path.clone().unwrap_or_else(|| "/".to_string());
        if !(1..=512).contains(&path.len())
            || !path.starts_with('/')
            || !path.ends_with('/')
            || path.contains("//")
            || !path.bytes().all(|b| (0x21..=0x7e).contains(&b))
        {
            return invalid(format!("Path {path:?} is not a valid IAM path: it must begin and end with / (e.g. / or /sso/), up to 512 printable ASCII characters without spaces"));
        }
        if scope.saml_provider_name(&props.provider_arn).is_none() {
            return invalid(format!(
                "ProviderArn {:?} is not a SAML provider ARN of this account ({}); use the provider's ARN, e.g. !Ref of its Custom::SAMLProvider",
                props.provider_arn,
                scope.saml_provider_arn("NAME")
            ));
        }
        let description = props.description.clone().unwrap_or_default();
        if description.chars().count() > 1000 {
            return invalid(format!(
                "Description has {} characters; IAM allows at most 1000",
                description.chars().count()
            ));
        }
        let max_session_duration = props.max_session_duration.unwrap_or(DEFAULT_SESSION);
        if !SESSION_RANGE.contains(&max_session_duration) {
            return invalid(format!(
                "MaxSessionDuration {max_session_duration} is out of range: give 3600 to 43200 seconds (1 to 12 hours)"
            ));
        }
        for arn in props.managed_policy_arns.iter().chain(props.permissions_boundary.iter()) {
            if !scope.is_policy_arn(arn) {
                let property = if Some(arn) == props.permissions_boundary.as_ref() {
                    "PermissionsBoundary"
                } else {
                    "ManagedPolicyArns"
                };
                return invalid(format!(
                    "{property}: {arn:?} is not a managed policy ARN in partition {} (arn:{}:iam::aws:policy/NAME or arn:{}:iam::ACCOUNT:policy/NAME)",
                    scope.partition, scope.partition, scope.partition
                ));
            }
        }
        let managed_policy_arns: BTreeSet<String> = props.managed_policy_arns.iter().cloned().collect();
        if managed_policy_arns.len() != props.managed_policy_arns.len() {
            return invalid("ManagedPolicyArns: a policy ARN appears twice; list each once".to_string());
        }
        let mut inline_policies = BTreeMap::new();
        for policy in &props.policies {
            let policy_name = &policy.policy_name;
            if !(1..=128).contains(&policy_name.len())
                || !policy_name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
            {
                return invalid(format!("Policies: PolicyName {policy_name:?} is not valid: IAM allows 1 to 128 characters from letters, digits and _ + = , . @ -"));
            }
            let document = match &policy.policy_document {
                Value::Object(_) => policy.policy_document.clone(),
                Value::String(text) => match serde_json::from_str::<Value>(text) {
                    Ok(parsed @ Value::Object(_)) => parsed,
                    _ => return invalid(format!("Policies: the PolicyDocument of {policy_name:?} is a string that is not a JSON object; give the policy as a JSON object")),
                },
                _ => return invalid(format!("Policies: the PolicyDocument of {policy_name:?} is not a JSON object; give the policy as a JSON object")),
            };
            if inline_policies.insert(policy_name.clone(), document).is_some() {
                return invalid(format!(
                    "Policies: PolicyName {policy_name:?} appears twice; give each inline policy a unique name"
                ));
            }
        }
        let audiences = props.audiences_or_default(scope);
        if audiences.iter().any(|a| a.trim().is_empty()) {
            return invalid(
                "Audiences: an audience is empty; list SAML audience URLs such as https://signin.aws.amazon.com/saml"
                    .to_string(),
            );
        }
        Ok(Wanted {
            name: name.clone(),
            path,
            trust_policy: trust_policy(&props.provider_arn, &audiences),
            description,
            max_session_duration,
            permissions_boundary: props.permissions_boundary.clone(),
            managed_policy_arns,
            inline_policies,
            tags: tags::validate_user_tags(&props.tags)?,
        })
    }

    fn arn(&self, ctx: &OpContext<'_>) -> String {
        ctx.scope.role_arn(&self.path, &self.name)
    }
}

impl CustomResource for SamlRole {
    const RESOURCE_TYPE: &'static str = "Custom::SAMLRole";
    const IAM_ACTIONS: &'static [IamAction] = &[
        IamAction::always("iam:CreateRole"),
        IamAction::always("iam:GetRole"),
        IamAction::always("iam:UpdateRole"),
        IamAction::always("iam:UpdateAssumeRolePolicy"),
        IamAction::always("iam:DeleteRole"),
        IamAction::always("iam:AttachRolePolicy"),
        IamAction::always("iam:DetachRolePolicy"),
        IamAction::always("iam:ListAttachedRolePolicies"),
        IamAction::always("iam:ListRolePolicies"),
        IamAction::always("iam:PutRolePermissionsBoundary"),
        IamAction::always("iam:DeleteRolePermissionsBoundary"),
        // Creating with tags, and claiming an adopted role.
        IamAction::always("iam:TagRole"),
        IamAction::only_for("iam:UntagRole", "Tags"),
        IamAction::only_for("iam:PutRolePolicy", "Policies"),
        // Also called on Delete for an inline policy someone added to the role by hand: without
        // the permission that Delete fails with a Reason, and nothing that is not ours is deleted.
        IamAction::only_for("iam:DeleteRolePolicy", "Policies"),
    ];
    type Properties = Properties;

    fn validate(props: &Properties, scope: &AccountScope) -> Result<(), ResourceError> {
        Wanted::from(props, scope).map(|_| ())
    }

    fn planned_physical_id(props: &Properties, scope: &AccountScope) -> String {
        scope.role_arn(props.path.as_deref().unwrap_or("/"), &props.role_name)
    }

    async fn create(props: Properties, ctx: &OpContext<'_>) -> Result<Outcome, ResourceError> {
        create_role(&props, &Wanted::from(&props, ctx.scope)?, ctx).await
    }

    async fn update(
        physical_resource_id: &str,
        props: Properties,
        old: &Map<String, Value>,
        ctx: &OpContext<'_>,
    ) -> Result<Outcome, ResourceError> {
        let wanted = Wanted::from(&props, ctx.scope)?;
        if wanted.arn(ctx) != physical_resource_id {
            // A new RoleName or Path is a replacement: CloudFormation's cleanup Delete removes the old role.
            return create_role(&props, &wanted, ctx).await;
        }
        let Some(role) = owned::find(&RoleNamed(&wanted.name), &ctx.clients.iam).await? else {
            tracing::warn!(role = %wanted.name, "the role no longer exists in IAM; creating it again");
            return create_role(&props, &wanted, ctx).await;
        };
        // What the previous properties set; unreadable old properties only mean less is removed.
        let previous = serde_json::from_value::<Properties>(Value::Object(old.clone()))
            .ok()
            .and_then(|old| Wanted::from(&old, ctx.scope).ok());
        converge(&props, &wanted, &role, previous.as_ref(), false, ctx).await
    }

    async fn delete(physical_resource_id: &str, ctx: &OpContext<'_>) -> Result<Outcome, ResourceError> {
        let done = Outcome { physical_resource_id: physical_resource_id.to_string(), data: BTreeMap::new() };
        let Some(name) = ctx.scope.role_name(physical_resource_id) else {
            tracing::info!(
                physical_resource_id,
                "not a role ARN of this account: nothing was created, nothing to delete"
            );
            return Ok(done);
        };
        let Some(role) = owned::find(&RoleNamed(name), &ctx.clients.iam).await? else {
            tracing::info!(role = name, "the role is already gone");
            return Ok(done);
        };
        if role.state.arn() != physical_resource_id {
            tracing::warn!(
                role = name,
                path = role.state.path(),
                "the role has another path than the one this stack created; left untouched"
            );
            return Ok(done);
        }
        if !owned::may_delete(ctx.owner, &role.tags, "role", name) {
            return Ok(done);
        }
        let iam = &ctx.clients.iam;
        for arn in attached_policies(name, ctx).await? {
            match iam.detach_role_policy().role_name(name).policy_arn(&arn).send().await {
                Ok(_) => {}
                Err(err) if is_no_such_entity(&err) => {}
                Err(err) => return Err(iam_error("DetachRolePolicy", name, &err)),
            }
        }
        for policy_name in inline_policy_names(name, ctx).await? {
            match iam.delete_role_policy().role_name(name).policy_name(&policy_name).send().await {
                Ok(_) => {}
                Err(err) if is_no_such_entity(&err) => {}
                Err(err) => return Err(iam_error("DeleteRolePolicy", name, &err)),
            }
        }
        match iam.delete_role().role_name(name).send().await {
            Ok(_) => tracing::info!(role = name, "deleted the role"),
            Err(err) if is_no_such_entity(&err) => tracing::info!(role = name, "the role is already gone"),
            Err(err) if err.code() == Some("DeleteConflict") => {
                return Err(ResourceError::Aws(format!(
                    "IAM DeleteRole for {name} failed: something outside this stack still uses the role ({}); remove it from its instance profiles, then retry the delete",
                    crate::aws::describe_error(&err)
                )))
            }
            Err(err) => return Err(iam_error("DeleteRole", name, &err)),
        }
        Ok(done)
    }
}

/// Creates the role with everything it carries; a role of that name that is ours (a replayed
/// Create), or nobody's with `AdoptExisting` `"true"`, is brought to `wanted` instead; any other
/// is refused.
async fn create_role(props: &Properties, wanted: &Wanted, ctx: &OpContext<'_>) -> Result<Outcome, ResourceError> {
    let iam = &ctx.clients.iam;
    let all_tags = iam_tags(&owned::with_ownership(&wanted.tags, ctx.owner))?;
    let trust = wanted.trust_policy.to_string();
    let created = with_consistency_retry(ctx, || {
        iam.create_role()
            .role_name(&wanted.name)
            .path(&wanted.path)
            .assume_role_policy_document(&trust)
            .description(&wanted.description)
            .max_session_duration(wanted.max_session_duration as i32)
            .set_permissions_boundary(wanted.permissions_boundary.clone())
            .set_tags(Some(all_tags.clone()))
            .send()
    })
    .await;
    let role = match created {
        Ok(output) => match output.role {
            Some(role) => role,
            None => return Err(ResourceError::Aws(format!("IAM CreateRole for {} returned no role", wanted.name))),
        },
        Err(err) if err.code() == Some("EntityAlreadyExists") => {
            let entity = RoleNamed(&wanted.name);
            let Some(mut role) = owned::find(&entity, iam).await? else {
                return Err(iam_error("CreateRole", &wanted.name, &err));
            };
            let arn = role.state.arn().to_string();
            let existing = Existing { kind: "role", name_property: "RoleName", name: &wanted.name, arn: &arn };
            if arn != wanted.arn(ctx) {
                // IAM role names are unique across paths, and a role's path cannot change. Another
                // stack's role is refused with that Reason; for the rest, the path is the problem.
                let takeover = adopt::decide(ctx.owner, &role.tags, true, &existing)?;
                let adopt_hint = if takeover == Takeover::Adopt {
                    format!(
                        ", or set Path to {:?} and AdoptExisting to \"true\" to adopt it where it is",
                        role.state.path()
                    )
                } else {
                    String::new()
                };
                return Err(ResourceError::Foreign(format!(
                    "RoleName: a role named {:?} already exists in this account with path {:?} ({arn}), not Path {:?}; IAM role names are unique across paths and a role cannot be moved, so it was left untouched. Choose another RoleName{adopt_hint}",
                    wanted.name,
                    role.state.path(),
                    wanted.path
                )));
            }
            let takeover =
                owned::take_over(&entity, iam, ctx.owner, &mut role, &wanted.tags, props.adopt_existing, &existing)
                    .await?;
            return converge(props, wanted, &role, None, takeover == Takeover::Adopt, ctx).await;
        }
        Err(err) => return Err(role_error("CreateRole", wanted, props, &err)),
    };
    tracing::info!(role = %wanted.name, "created the role");
    for arn in &wanted.managed_policy_arns {
        iam.attach_role_policy()
            .role_name(&wanted.name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|err| role_error("AttachRolePolicy", wanted, props, &err))?;
    }
    for (policy_name, document) in &wanted.inline_policies {
        put_inline_policy(wanted, props, policy_name, document, ctx).await?;
    }
    Ok(outcome(props, &role, &BTreeMap::new()))
}

/// Brings an existing role of ours to `wanted`, changing only what differs. `previous` is what
/// the last properties set: only those managed policies, inline policies, tags and boundary are
/// ever removed, so what others added to the role stays. `found.tags` are the role's tags now
/// (plus any an adoption just set); `adopting` logs what the role keeps that the properties do
/// not name.
async fn converge(
    props: &Properties,
    wanted: &Wanted,
    found: &Found<Role>,
    previous: Option<&Wanted>,
    adopting: bool,
    ctx: &OpContext<'_>,
) -> Result<Outcome, ResourceError> {
    let iam = &ctx.clients.iam;
    let name = wanted.name.as_str();
    let role = &found.state;
    let existing = Existing { kind: "role", name_property: "RoleName", name, arn: role.arn() };
    owned::require_owned(ctx.owner, &found.tags, &existing)?;
    let current_trust = role
        .assume_role_policy_document()
        .map(|d| percent_encoding::percent_decode_str(d).decode_utf8_lossy().to_string())
        .and_then(|d| serde_json::from_str::<Value>(&d).ok());
    if current_trust.as_ref() != Some(&wanted.trust_policy) {
        let trust = wanted.trust_policy.to_string();
        with_consistency_retry(ctx, || iam.update_assume_role_policy().role_name(name).policy_document(&trust).send())
            .await
            .map_err(|err| role_error("UpdateAssumeRolePolicy", wanted, props, &err))?;
    }
    if role.description().unwrap_or_default() != wanted.description
        || role.max_session_duration() != Some(wanted.max_session_duration as i32)
    {
        // Both fields always: IAM resets an omitted MaxSessionDuration to 3600.
        iam.update_role()
            .role_name(name)
            .description(&wanted.description)
            .max_session_duration(wanted.max_session_duration as i32)
            .send()
            .await
            .map_err(|err| role_error("UpdateRole", wanted, props, &err))?;
    }
    let current_boundary = role.permissions_boundary().and_then(|b| b.permissions_boundary_arn());
    match (&wanted.permissions_boundary, current_boundary) {
        (Some(boundary), current) if current != Some(boundary.as_str()) => {
            iam.put_role_permissions_boundary()
                .role_name(name)
                .permissions_boundary(boundary)
                .send()
                .await
                .map_err(|err| role_error("PutRolePermissionsBoundary", wanted, props, &err))?;
        }
        (None, Some(current)) if previous.and_then(|p| p.permissions_boundary.as_deref()) == Some(current) => {
            iam.delete_role_permissions_boundary()
                .role_name(name)
                .send()
                .await
                .map_err(|err| role_error("DeleteRolePermissionsBoundary", wanted, props, &err))?;
        }
        _ => {}
    }
    let attached: BTreeSet<String> = attached_policies(name, ctx).await?.into_iter().collect();
    for arn in wanted.managed_policy_arns.difference(&attached) {
        iam.attach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|err| role_error("AttachRolePolicy", wanted, props, &err))?;
    }
    let previously_managed = previous.map(|p| p.managed_policy_arns.clone()).unwrap_or_default();
    for arn in previously_managed.difference(&wanted.managed_policy_arns).filter(|arn| attached.contains(*arn)) {
        iam.detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|err| role_error("DetachRolePolicy", wanted, props, &err))?;
    }
    let present: BTreeSet<String> = inline_policy_names(name, ctx).await?.into_iter().collect();
    let previous_inline = previous.map(|p| p.inline_policies.clone()).unwrap_or_default();
    for (policy_name, document) in &wanted.inline_policies {
        if !present.contains(policy_name) || previous_inline.get(policy_name) != Some(document) {
            put_inline_policy(wanted, props, policy_name, document, ctx).await?;
        }
    }
    for policy_name in
        previous_inline.keys().filter(|n| !wanted.inline_policies.contains_key(*n) && present.contains(*n))
    {
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(|err| role_error("DeleteRolePolicy", wanted, props, &err))?;
    }
    let previous_tags = previous.map(|p| p.tags.clone()).unwrap_or_default();
    owned::converge_tags(&RoleNamed(name), iam, ctx.owner, &found.tags, &wanted.tags, &previous_tags).await?;
    if adopting {
        let kept_managed: Vec<&String> = attached.difference(&wanted.managed_policy_arns).collect();
        let kept_inline: Vec<&String> = present.iter().filter(|n| !wanted.inline_policies.contains_key(*n)).collect();
        let kept_boundary = current_boundary.filter(|_| wanted.permissions_boundary.is_none());
        if !kept_managed.is_empty() || !kept_inline.is_empty() || kept_boundary.is_some() {
            tracing::warn!(
                role = name,
                managed_policies = ?kept_managed,
                inline_policies = ?kept_inline,
                permissions_boundary = kept_boundary,
                "the adopted role keeps what it had beyond its properties (adoption removes nothing); review it and detach or delete what it should not grant"
            );
        }
    }
    Ok(outcome(props, role, &found.tags))
}

async fn put_inline_policy(
    wanted: &Wanted,
    props: &Properties,
    policy_name: &str,
    document: &Value,
    ctx: &OpContext<'_>,
) -> Result<(), ResourceError> {
    ctx.clients
        .iam
        .put_role_policy()
        .role_name(&wanted.name)
        .policy_name(policy_name)
        .policy_document(document.to_string())
        .send()
        .await
        .map(|_| ())
        .map_err(|err| match err.code() {
            Some("MalformedPolicyDocument") => ResourceError::Invalid(format!(
                "Policies: IAM refused the PolicyDocument of {policy_name:?} ({}); fix the policy",
                crate::aws::describe_error(&err)
            )),
            _ => role_error("PutRolePolicy", wanted, props, &err),
        })
}

/// A failed role call as a Reason; a trust policy refused after all retries names ProviderArn.
fn role_error<E, R>(operation: &'static str, wanted: &Wanted, props: &Properties, err: &SdkError<E, R>) -> ResourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if err.code() == Some("MalformedPolicyDocument") && matches!(operation, "CreateRole" | "UpdateAssumeRolePolicy") {
        return ResourceError::Aws(format!(
            "IAM {operation} for role {} refused the trust policy after {CONSISTENCY_ATTEMPTS} attempts ({}); check that ProviderArn {} exists in this account",
            wanted.name,
            crate::aws::describe_error(err),
            props.provider_arn
        ));
    }
    iam_error(operation, &format!("role {}", wanted.name), err)
}

/// The resource's Data (`Adopted` when `tags` mark an adopted role).
fn outcome(props: &Properties, role: &Role, tags: &BTreeMap<String, String>) -> Outcome {
    let arn = role.arn().to_string();
    let mut data = BTreeMap::from([
        ("Arn".to_string(), arn.clone()),
        ("RoleName".to_string(), role.role_name().to_string()),
        ("RoleId".to_string(), role.role_id().to_string()),
        ("IdentityCenterRoleAttribute".to_string(), identity_center_role_attribute(&props.provider_arn, &arn)),
    ]);
    adopt::report(tags, &mut data);
    Outcome { physical_resource_id: arn, data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_arns_are_built_and_read_only_in_our_own_account_and_partition() {
        let scope = AccountScope::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:f").unwrap();
        assert_eq!(scope.role_arn("/sso/", "ReadOnly"), "arn:aws:iam::123456789012:role/sso/ReadOnly");
        assert_eq!(scope.role_name("arn:aws:iam::123456789012:role/sso/ReadOnly"), Some("ReadOnly"));
        assert_eq!(scope.role_name("arn:aws:iam::210987654321:role/ReadOnly"), None);
    }

    #[test]
    fn the_trust_policy_is_pinned_byte_for_byte() {
        let policy = trust_policy(
            "arn:aws:iam::123456789012:saml-provider/CorpIdP",
            &["https://signin.aws.amazon.com/saml".to_string()],
        );
        assert_eq!(
            policy.to_string(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/CorpIdP"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}"#
        );
        let two = trust_policy("p", &["a".to_string(), "b".to_string()]);
        assert_eq!(two["Statement"][0]["Condition"]["StringEquals"]["SAML:aud"], json!(["a", "b"]));
    }

    #[test]
    fn the_identity_center_attribute_is_provider_then_role() {
        assert_eq!(
            identity_center_role_attribute(
                "arn:aws:iam::123456789012:saml-provider/CorpIdP",
                "arn:aws:iam::123456789012:role/CorpReadOnly"
            ),
            "arn:aws:iam::123456789012:saml-provider/CorpIdP,arn:aws:iam::123456789012:role/CorpReadOnly"
        );
    }
}
