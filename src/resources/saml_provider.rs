//! `Custom::SAMLProvider`: an IAM SAML provider whose metadata comes from S3 or the template.
//!
//! AWS calls per operation (each the minimum for what it must know):
//! - Create: S3 GetObject, CreateSAMLProvider (tags included), GetSAMLProvider (for `Uuid`).
//!   Over an existing provider of the name: GetSAMLProvider (ownership); when it is nobody's and
//!   `AdoptExisting` is `"true"`, TagSAMLProvider (ours + `samlfed:adopted`), then what an Update
//!   does ([`super::adopt`]).
//! - Update, same Name: S3 GetObject, GetSAMLProvider (ownership, current document and tags,
//!   `Uuid`), UpdateSAMLProvider only when the document differs, Tag/UntagSAMLProvider only when
//!   tags differ. Never delete + re-create: federation keeps working throughout.
//! - Update, new Name: a Create of the new provider; CloudFormation then deletes the old one. If
//!   it fails after IAM made the new provider, that one is deleted again (`cfn::dispatch`).
//! - Delete: GetSAMLProvider (ownership), DeleteSAMLProvider only when it is ours and was not
//!   adopted.

use std::collections::BTreeMap;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::operation::get_saml_provider::GetSamlProviderOutput;
use aws_sdk_iam::Client;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::adopt::{self, Existing};
use super::iam::{iam_error, iam_tags, is_no_such_entity, IamFailure};
use super::lenient;
use super::owned::{self, Found, IamEntity};
use super::tags::{self, Tag};
use super::{CustomResource, IamAction, OpContext, Outcome, ResourceError};
use crate::arn::AccountScope;
use crate::datetime::format_timestamp;
use crate::metadata::source::MetadataSource;
use crate::metadata::validate::ValidatedMetadata;
use crate::metadata::{self, pins, Pins};

/// The `Custom::SAMLProvider` resource type.
pub struct SamlProvider;

/// The properties of a `Custom::SAMLProvider`, as in DESIGN.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Properties {
    pub name: String,
    #[serde(default)]
    pub metadata_url: Option<String>,
    #[serde(default)]
    pub metadata_document: Option<String>,
    #[serde(default)]
    pub metadata_sha256: Option<String>,
    #[serde(default)]
    pub trusted_certificate_sha256: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// `"true"`: a Create may take over a provider of this Name that carries no samlfed tags
    /// ([`super::adopt`]). Read on Create only.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub adopt_existing: bool,
}

impl Properties {
    fn source(&self) -> Result<MetadataSource, ResourceError> {
        MetadataSource::from_properties(self.metadata_url.as_deref(), self.metadata_document.as_deref())
            .map_err(|e| ResourceError::Invalid(e.to_string()))
    }

    fn pins(&self) -> Pins<'_> {
        Pins {
            document_sha256: self.metadata_sha256.as_deref(),
            trusted_certificates: &self.trusted_certificate_sha256,
        }
    }
}

/// The IAM ARN kind of a SAML provider.
const ARN_KIND: &str = "saml-provider";

impl AccountScope {
    /// The ARN of the SAML provider called `name` in this account.
    pub fn saml_provider_arn(&self, name: &str) -> String {
        self.iam_arn(ARN_KIND, "/", name)
    }

    /// The provider name, when `arn` is a SAML provider ARN of this very account and partition
    /// (providers have no path); anything else is not ours to touch.
    pub fn saml_provider_name<'a>(&self, arn: &'a str) -> Option<&'a str> {
        self.iam_path_and_name(ARN_KIND, arn).filter(|name| !name.is_empty() && !name.contains('/'))
    }
}

/// The SAML provider at an ARN, as [`owned`] reads and tags it.
pub struct ProviderAt<'a>(pub &'a str);

impl IamEntity for ProviderAt<'_> {
    type State = GetSamlProviderOutput;

    async fn get(&self, iam: &Client) -> Result<Option<GetSamlProviderOutput>, IamFailure> {
        match iam.get_saml_provider().saml_provider_arn(self.0).send().await {
            Ok(current) => Ok(Some(current)),
            Err(err) if is_no_such_entity(&err) => Ok(None),
            Err(err) => Err(IamFailure::of("GetSAMLProvider", self.0, &err)),
        }
    }

    fn tags(state: &GetSamlProviderOutput) -> &[aws_sdk_iam::types::Tag] {
        state.tags()
    }

    async fn tag(&self, iam: &Client, tags: Vec<aws_sdk_iam::types::Tag>) -> Result<(), IamFailure> {
        iam.tag_saml_provider()
            .saml_provider_arn(self.0)
            .set_tags(Some(tags))
            .send()
            .await
            .map(|_| ())
            .map_err(|err| IamFailure::of("TagSAMLProvider", self.0, &err))
    }

    async fn untag(&self, iam: &Client, keys: Vec<String>) -> Result<(), IamFailure> {
        iam.untag_saml_provider()
            .saml_provider_arn(self.0)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map(|_| ())
            .map_err(|err| IamFailure::of("UntagSAMLProvider", self.0, &err))
    }
}

/// How Reasons name the provider called `name` at `arn`.
fn existing<'a>(name: &'a str, arn: &'a str) -> Existing<'a> {
    Existing { kind: "SAML provider", name_property: "Name", name, arn }
}

impl CustomResource for SamlProvider {
    const RESOURCE_TYPE: &'static str = "Custom::SAMLProvider";
    const IAM_ACTIONS: &'static [IamAction] = &[
        IamAction::always("iam:CreateSAMLProvider"),
        IamAction::always("iam:GetSAMLProvider"),
        IamAction::always("iam:UpdateSAMLProvider"),
        IamAction::always("iam:DeleteSAMLProvider"),
        // Creating with tags, and claiming an adopted provider.
        IamAction::always("iam:TagSAMLProvider"),
        // Only an Update that drops a key the previous Tags set removes one.
        IamAction::only_for("iam:UntagSAMLProvider", "Tags"),
    ];
    type Properties = Properties;

    fn validate(props: &Properties, _scope: &AccountScope) -> Result<(), ResourceError> {
        validate_name(&props.name)?;
        props.source()?;
        tags::validate_user_tags(&props.tags)?;
        let invalid = |e: pins::PinError| ResourceError::Invalid(e.to_string());
        if let Some(pin) = &props.metadata_sha256 {
            pins::normalise("MetadataSha256", pin).map_err(invalid)?;
        }
        for pin in &props.trusted_certificate_sha256 {
            pins::normalise("TrustedCertificateSha256", pin).map_err(invalid)?;
        }
        Ok(())
    }

    fn planned_physical_id(props: &Properties, scope: &AccountScope) -> String {
        scope.saml_provider_arn(&props.name)
    }

    async fn create(props: Properties, ctx: &OpContext<'_>) -> Result<Outcome, ResourceError> {
        let metadata = load(&props, ctx).await?;
        create_provider(&props, &metadata, ctx).await
    }

    async fn update(
        physical_resource_id: &str,
        props: Properties,
        old: &Map<String, Value>,
        ctx: &OpContext<'_>,
    ) -> Result<Outcome, ResourceError> {
        let metadata = load(&props, ctx).await?;
        if ctx.scope.saml_provider_name(physical_resource_id) != Some(props.name.as_str()) {
            // A new Name is a replacement: CloudFormation's cleanup Delete removes the old one.
            return create_provider(&props, &metadata, ctx).await;
        }
        let arn = physical_resource_id;
        let Some(current) = owned::find(&ProviderAt(arn), &ctx.clients.iam).await? else {
            tracing::warn!(arn, "the provider no longer exists in IAM; creating it again");
            return create_provider(&props, &metadata, ctx).await;
        };
        converge(arn, &current, &props, &metadata, &old_user_tags(old), ctx).await
    }

    async fn delete(physical_resource_id: &str, ctx: &OpContext<'_>) -> Result<Outcome, ResourceError> {
        let done = Outcome { physical_resource_id: physical_resource_id.to_string(), data: BTreeMap::new() };
        if ctx.scope.saml_provider_name(physical_resource_id).is_none() {
            tracing::info!(
                physical_resource_id,
                "not a SAML provider ARN of this account: nothing was created, nothing to delete"
            );
            return Ok(done);
        }
        let arn = physical_resource_id;
        let Some(current) = owned::find(&ProviderAt(arn), &ctx.clients.iam).await? else {
            tracing::info!(arn, "the provider is already gone");
            return Ok(done);
        };
        if !owned::may_delete(ctx.owner, &current.tags, "SAML provider", arn) {
            return Ok(done);
        }
        match ctx.clients.iam.delete_saml_provider().saml_provider_arn(arn).send().await {
            Ok(_) => tracing::info!(arn, "deleted the provider"),
            Err(err) if is_no_such_entity(&err) => tracing::info!(arn, "the provider is already gone"),
            Err(err) => return Err(iam_error("DeleteSAMLProvider", arn, &err)),
        }
        Ok(done)
    }
}

/// IAM's pattern for SAML provider names: `[\w._-]{1,128}`.
fn validate_name(name: &str) -> Result<(), ResourceError> {
    let valid_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if (1..=128).contains(&name.len()) && valid_chars {
        Ok(())
    } else {
        Err(ResourceError::Invalid(format!(
            "Name {name:?} is not a valid SAML provider name: IAM allows 1 to 128 characters from letters, digits and _ . -"
        )))
    }
}

async fn load(props: &Properties, ctx: &OpContext<'_>) -> Result<ValidatedMetadata, ResourceError> {
    let source = props.source()?;
    metadata::load(&source, props.pins(), &ctx.fetchers, time::OffsetDateTime::now_utc())
        .await
        .map_err(|e| ResourceError::Invalid(e.to_string()))
}

/// Creates the provider called `props.name`; if it exists already and is ours (a replayed
/// Create), or nobody's and `AdoptExisting` is `"true"`, brings it to `props` instead.
async fn create_provider(
    props: &Properties,
    metadata: &ValidatedMetadata,
    ctx: &OpContext<'_>,
) -> Result<Outcome, ResourceError> {
    let arn = ctx.scope.saml_provider_arn(&props.name);
    let user_tags = tags::validate_user_tags(&props.tags)?;
    let entity = ProviderAt(&arn);
    let created = ctx
        .clients
        .iam
        .create_saml_provider()
        .name(&props.name)
        .saml_metadata_document(&metadata.document)
        .set_tags(Some(iam_tags(&owned::with_ownership(&user_tags, ctx.owner))?))
        .send()
        .await;
    match created {
        Ok(output) => tracing::info!(arn = output.saml_provider_arn().unwrap_or(&arn), "created the provider"),
        Err(err) if err.code() == Some("EntityAlreadyExists") => {
            let Some(mut current) = owned::find(&entity, &ctx.clients.iam).await? else {
                return Err(iam_error("CreateSAMLProvider", &arn, &err));
            };
            let existing = existing(&props.name, &arn);
            owned::take_over(
                &entity,
                &ctx.clients.iam,
                ctx.owner,
                &mut current,
                &user_tags,
                props.adopt_existing,
                &existing,
            )
            .await?;
            return converge(&arn, &current, props, metadata, &BTreeMap::new(), ctx).await;
        }
        Err(err) if err.code() == Some("LimitExceeded") => {
            // IAM's quota: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
            return Err(ResourceError::Aws(format!(
                "IAM CreateSAMLProvider for {arn} failed: the account has reached IAM's quota of 100 SAML providers ({}); delete providers that are no longer used, then retry",
                crate::aws::describe_error(&err)
            )));
        }
        Err(err) => return Err(iam_error("CreateSAMLProvider", &arn, &err)),
    }
    let Some(current) = owned::find(&entity, &ctx.clients.iam).await? else {
        return Err(ResourceError::Aws(format!(
            "IAM GetSAMLProvider for {arn} found no provider right after creating it; retry the stack operation"
        )));
    };
    Ok(outcome(&arn, &props.name, current.state.saml_provider_uuid(), metadata, &current.tags))
}

/// Brings an existing provider of ours to `props`: the document when it differs, then the tags
/// that differ (removing only keys `previous_tags` had set). `current.tags` are its tags now
/// (plus any just set by an adoption).
async fn converge(
    arn: &str,
    current: &Found<GetSamlProviderOutput>,
    props: &Properties,
    metadata: &ValidatedMetadata,
    previous_tags: &BTreeMap<String, String>,
    ctx: &OpContext<'_>,
) -> Result<Outcome, ResourceError> {
    owned::require_owned(ctx.owner, &current.tags, &existing(&props.name, arn))?;
    if current.state.saml_metadata_document() != Some(metadata.document.as_str()) {
        ctx.clients
            .iam
            .update_saml_provider()
            .saml_provider_arn(arn)
            .saml_metadata_document(&metadata.document)
            .send()
            .await
            .map_err(|err| iam_error("UpdateSAMLProvider", arn, &err))?;
        tracing::info!(arn, sha256 = %metadata.sha256_hex, "updated the provider's metadata");
    }
    let user_tags = tags::validate_user_tags(&props.tags)?;
    owned::converge_tags(&ProviderAt(arn), &ctx.clients.iam, ctx.owner, &current.tags, &user_tags, previous_tags)
        .await?;
    Ok(outcome(arn, &props.name, current.state.saml_provider_uuid(), metadata, &current.tags))
}

/// The tags the previous properties set, read leniently: old properties that no longer parse
/// only mean fewer tags are removed, never a failed Update.
fn old_user_tags(old: &Map<String, Value>) -> BTreeMap<String, String> {
    old.get("Tags")
        .and_then(|v| serde_json::from_value::<Vec<Tag>>(v.clone()).ok())
        .map(|tags| tags.into_iter().map(|t| (t.key, t.value)).collect())
        .unwrap_or_default()
}

/// The resource's Data (`Adopted` when `tags` mark an adopted provider); also reports how long
/// the IdP's certificates stay current (metric, and a warning under 30 days), as every Create
/// and Update should.
fn outcome(
    arn: &str,
    name: &str,
    uuid: Option<&str>,
    metadata: &ValidatedMetadata,
    tags: &BTreeMap<String, String>,
) -> Outcome {
    let mut data = BTreeMap::from([
        ("Arn".to_string(), arn.to_string()),
        ("Name".to_string(), name.to_string()),
        ("EntityId".to_string(), metadata.entity_id.clone()),
        ("MetadataSha256".to_string(), metadata.sha256_hex.clone()),
    ]);
    if let Some(uuid) = uuid {
        data.insert("Uuid".to_string(), uuid.to_string());
    }
    let not_after = metadata.signing_certificate_not_after();
    if let Some(not_after) = not_after {
        data.insert("SigningCertificateNotAfter".to_string(), format_timestamp(not_after));
    }
    adopt::report(tags, &mut data);
    crate::metrics::certificate_expiry(name, not_after, time::OffsetDateTime::now_utc());
    Outcome { physical_resource_id: arn.to_string(), data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_arns_are_built_and_read_only_in_our_own_account_and_partition() {
        let scope =
            AccountScope::from_function_arn("arn:aws-cn:lambda:cn-north-1:123456789012:function:f:live").unwrap();
        assert_eq!(scope.saml_provider_arn("Okta"), "arn:aws-cn:iam::123456789012:saml-provider/Okta");
        let scope = AccountScope::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:f").unwrap();
        assert_eq!(scope.saml_provider_name("arn:aws:iam::123456789012:saml-provider/Okta"), Some("Okta"));
        assert_eq!(scope.saml_provider_name("arn:aws:iam::210987654321:saml-provider/Okta"), None);
        assert_eq!(scope.saml_provider_name("arn:aws-us-gov:iam::123456789012:saml-provider/Okta"), None);
        assert_eq!(scope.saml_provider_name("arn:aws:iam::123456789012:saml-provider/a/b"), None);
        assert_eq!(scope.saml_provider_name("samlfed:failed-create:abc"), None);
    }

    #[test]
    fn names_follow_iams_pattern() {
        assert!(validate_name("Okta_prod-2.eu").is_ok());
        for bad in ["", "has space", "slash/name", &"x".repeat(129), "ünï"] {
            let err = validate_name(bad).unwrap_err().to_string();
            assert!(err.starts_with("Name ") && err.contains("1 to 128"), "{err}");
        }
    }

    #[test]
    fn unparseable_old_tags_only_mean_nothing_is_removed() {
        let old: Map<String, Value> = serde_json::from_str(r#"{"Tags": "not a list"}"#).unwrap();
        assert!(old_user_tags(&old).is_empty());
        let old: Map<String, Value> = serde_json::from_str(r#"{"Tags": [{"Key": "a", "Value": "1"}]}"#).unwrap();
        assert_eq!(old_user_tags(&old).get("a").map(String::as_str), Some("1"));
    }
}
