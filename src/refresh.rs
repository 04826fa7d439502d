//! The scheduled refresh: follows the IdP's certificate rotation without a stack update.
//!
//! An EventBridge schedule invokes the function with `{"Refresh": {}}`. The event only triggers:
//! which provider, which source and which pins come from the function's environment
//! ([`RefreshConfig`], `SAMLFED_REFRESH_*`), which the template sets from the same parameters it
//! gives the custom resource — never from the event, which anyone holding `lambda:InvokeFunction`
//! can send. An event that names a provider, source or pins (the shape older templates wrote) is
//! accepted only when they are exactly the configured ones. A refresh lists
//! nothing and never creates or deletes: one conditional fetch, and only changed content is
//! validated, pinned, compared by SHA-256 with what IAM holds and sent with UpdateSAMLProvider —
//! to a provider carrying samlfed's ownership tags. A warm function remembers the validators of
//! what it last applied, so unchanged metadata costs one 304 and no IAM call at all; a cold one
//! reads the document and IAM's copy (GetSAMLProvider) and still writes nothing if they match.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::arn::AccountScope;
use crate::datetime::format_timestamp;
use crate::metadata::source::MetadataSource;
use crate::metadata::{self, Fetched, Fetchers, Pins, Validators};
use crate::metrics;
use crate::resources::owned::{self, Found};
use crate::resources::saml_provider::ProviderAt;
use crate::resources::Owner;

/// What the function refreshes, from its environment (the template's `Function` sets it when a
/// `RefreshSchedule` is given).
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshConfig {
    /// `SAMLFED_REFRESH_PROVIDER_NAME`: the provider, in the function's own account.
    pub provider_name: String,
    /// `SAMLFED_REFRESH_METADATA_URL`: `s3://BUCKET/KEY` (the latest version) or `https://…`.
    pub metadata_url: String,
    /// `SAMLFED_REFRESH_METADATA_SHA256`: optional document pin.
    pub metadata_sha256: Option<String>,
    /// `SAMLFED_REFRESH_TRUSTED_CERTIFICATE_SHA256`: certificate pins, comma-separated.
    pub trusted_certificate_sha256: Vec<String>,
    /// `SAMLFED_REFRESH_STACK_ID` and `SAMLFED_REFRESH_LOGICAL_ID`: the ownership tags' values the
    /// provider must carry — the stack and resource that made it.
    pub stack_id: String,
    pub logical_id: String,
}

impl RefreshConfig {
    /// The configuration in `lookup`'s environment; `None` when no refresh is configured. A
    /// configuration with a variable missing is an error naming it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<RefreshConfig>, &'static str> {
        let value = |name: &'static str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let Some(provider_name) = value("SAMLFED_REFRESH_PROVIDER_NAME") else { return Ok(None) };
        let required = |name: &'static str| value(name).ok_or(name);
        Ok(Some(RefreshConfig {
            provider_name,
            metadata_url: required("SAMLFED_REFRESH_METADATA_URL")?,
            metadata_sha256: value("SAMLFED_REFRESH_METADATA_SHA256"),
            trusted_certificate_sha256: value("SAMLFED_REFRESH_TRUSTED_CERTIFICATE_SHA256")
                .map(|pins| pins.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
                .unwrap_or_default(),
            stack_id: required("SAMLFED_REFRESH_STACK_ID")?,
            logical_id: required("SAMLFED_REFRESH_LOGICAL_ID")?,
        }))
    }
}

/// What a refresh event may say: nothing (it only triggers), or — as older templates wrote it —
/// exactly what the function is configured with.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Trigger {
    provider_arn: Option<String>,
    metadata_url: Option<String>,
    metadata_sha256: Option<String>,
    trusted_certificate_sha256: Option<Vec<String>>,
}

/// What a refresh returns to its invoker.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RefreshOutcome {
    pub provider_arn: String,
    pub changed: bool,
    pub metadata_sha256: String,
    pub signing_certificate_not_after: Option<String>,
}

/// A refresh that could not be applied; the provider is left as it was. Returned as a function
/// error, so Lambda's `Errors` metric and its alarms see it.
#[derive(Debug, Error, PartialEq)]
pub enum RefreshError {
    #[error("the refresh event is malformed ({0}); it is {{\"Refresh\": {{}}}}: the provider, source and pins come from the function's configuration")]
    Malformed(String),
    #[error("no refresh is configured for this function (SAMLFED_REFRESH_PROVIDER_NAME is not set; the template sets it when RefreshSchedule is given); nothing was changed")]
    NotConfigured,
    #[error("the refresh event names {0}, which is not this function's configuration; a refresh event only triggers the configured refresh, so nothing was changed")]
    Foreign(String),
    #[error("refresh of {0}: MetadataDocument sources cannot be refreshed; give an s3:// or https:// MetadataUrl")]
    Inline(String),
    #[error("refresh of {arn}: the new metadata was refused and the provider left unchanged: {source}")]
    Metadata { arn: String, source: metadata::LoadError },
    #[error("refresh of {0}: the provider does not exist; a refresh never creates one (deploy the stack first)")]
    NoSuchProvider(String),
    #[error("refresh of {0}: the provider does not carry samlfed's ownership tags of this stack's provider, so it was left untouched")]
    NotOurs(String),
    #[error("refresh of {arn}: IAM {operation} failed: {detail}")]
    Aws { arn: String, operation: &'static str, detail: String },
}

/// What the warm function last applied per provider and URL.
#[derive(Debug, Default)]
pub struct RefreshCache(Mutex<HashMap<(String, String), Applied>>);

#[derive(Debug, Clone)]
struct Applied {
    validators: Validators,
    sha256: String,
    not_after: Option<String>,
}

impl RefreshCache {
    fn get(&self, key: &(String, String)) -> Option<Applied> {
        self.0.lock().ok().and_then(|map| map.get(key).cloned())
    }

    fn put(&self, key: (String, String), applied: Applied) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key, applied);
        }
    }
}

/// Refuses a refresh event that names anything but `config` (at `arn`).
fn check_trigger(payload: serde_json::Value, config: &RefreshConfig, arn: &str) -> Result<(), RefreshError> {
    let trigger: Trigger = match payload {
        serde_json::Value::Null | serde_json::Value::Bool(true) => Trigger::default(),
        other => serde_json::from_value(other).map_err(|e| RefreshError::Malformed(e.to_string()))?,
    };
    let foreign =
        |what: &str, named: &str| Err(RefreshError::Foreign(format!("{what} {}", crate::redact::url_str(named))));
    if let Some(named) = trigger.provider_arn.filter(|named| named != arn) {
        return foreign("ProviderArn", &named);
    }
    if let Some(named) = trigger.metadata_url.filter(|named| *named != config.metadata_url) {
        return foreign("MetadataUrl", &named);
    }
    if let Some(named) = trigger.metadata_sha256.filter(|named| Some(named) != config.metadata_sha256.as_ref()) {
        return foreign("MetadataSha256", &named);
    }
    if let Some(named) = trigger.trusted_certificate_sha256.filter(|named| *named != config.trusted_certificate_sha256)
    {
        return foreign("TrustedCertificateSha256", &named.join(","));
    }
    Ok(())
}

/// Runs one refresh of the configured provider; `payload` (the event's `Refresh` value) only
/// triggers it.
pub async fn refresh(
    payload: serde_json::Value,
    config: Option<&RefreshConfig>,
    iam: &aws_sdk_iam::Client,
    fetchers: &Fetchers<'_>,
    scope: &AccountScope,
    cache: &RefreshCache,
) -> Result<RefreshOutcome, RefreshError> {
    let config = config.ok_or(RefreshError::NotConfigured)?;
    let name = config.provider_name.clone();
    let arn = scope.saml_provider_arn(&name);
    check_trigger(payload, config, &arn)?;
    let source = MetadataSource::from_properties(Some(&config.metadata_url), None)
        .map_err(|e| RefreshError::Malformed(e.to_string()))?;
    if matches!(source, MetadataSource::Inline(_)) {
        return Err(RefreshError::Inline(arn));
    }
    let key = (arn.clone(), config.metadata_url.clone());
    let cached = cache.get(&key);
    let failed = |source: metadata::LoadError| {
        metrics::emit(&name, metrics::REFRESH_FAILURES, 1.0, "Count");
        let error = RefreshError::Metadata { arn: arn.clone(), source };
        tracing::error!(provider = %arn, error = %error, "refresh refused new metadata; the provider keeps its current metadata");
        error
    };
    let (bytes, validators) =
        match metadata::fetch(&source, fetchers, cached.as_ref().map(|c| &c.validators)).await.map_err(failed)? {
            Fetched::NotModified => match cached {
                Some(applied) => return Ok(unchanged(&arn, &applied)),
                // Only a conditional request can be answered 304; without a cache none was sent.
                None => {
                    return Err(failed(metadata::LoadError::S3 {
                        property: source.property(),
                        source: metadata::s3::FetchError::Other("an unconditional GET was answered 304".into()),
                    }))
                }
            },
            Fetched::Document { bytes, validators } => (bytes, validators),
        };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if let Some(applied) = cached.filter(|c| c.sha256 == sha256) {
        // The server ignored the condition but the content is what we applied last time.
        cache.put(key, Applied { validators, ..applied.clone() });
        return Ok(unchanged(&arn, &applied));
    }
    let now = time::OffsetDateTime::now_utc();
    let pins = Pins {
        document_sha256: config.metadata_sha256.as_deref(),
        trusted_certificates: &config.trusted_certificate_sha256,
    };
    let metadata = metadata::check(&source, &bytes, pins, now).map_err(failed)?;
    let found = owned::find(&ProviderAt(&arn), iam).await.map_err(|failure| RefreshError::Aws {
        arn: arn.clone(),
        operation: failure.operation,
        detail: failure.detail,
    })?;
    let Some(Found { state: current, tags }) = found else {
        return Err(RefreshError::NoSuchProvider(arn));
    };
    // Made by this very stack's provider resource: the ownership tags' keys and values, checked
    // as every Update and Delete checks them.
    let owner = Owner { stack_id: config.stack_id.clone(), logical_resource_id: config.logical_id.clone() };
    if !owner.owns(&tags) {
        tracing::warn!(provider = %arn, "refresh: not created by samlfed; left untouched");
        return Err(RefreshError::NotOurs(arn));
    }
    // IAM holds the document without a byte-order mark: compare with exactly what we would send.
    let changed = current.saml_metadata_document() != Some(metadata.document.as_str());
    if changed {
        iam.update_saml_provider()
            .saml_provider_arn(&arn)
            .saml_metadata_document(&metadata.document)
            .send()
            .await
            .map_err(|err| RefreshError::Aws {
                arn: arn.clone(),
                operation: "UpdateSAMLProvider",
                detail: crate::aws::describe_error(&err),
            })?;
        tracing::info!(provider = %arn, sha256 = %sha256, entity_id = %metadata.entity_id, "refresh applied new metadata");
    } else {
        tracing::info!(provider = %arn, "refresh: IAM already holds this metadata");
    }
    let not_after = metadata.signing_certificate_not_after();
    metrics::certificate_expiry(&name, not_after, now);
    let applied = Applied { validators, sha256: sha256.clone(), not_after: not_after.map(format_timestamp) };
    cache.put(key, applied.clone());
    Ok(RefreshOutcome {
        provider_arn: arn,
        changed,
        metadata_sha256: sha256,
        signing_certificate_not_after: applied.not_after,
    })
}

fn unchanged(arn: &str, applied: &Applied) -> RefreshOutcome {
    tracing::info!(provider = arn, "refresh: metadata unchanged since last applied");
    RefreshOutcome {
        provider_arn: arn.to_string(),
        changed: false,
        metadata_sha256: applied.sha256.clone(),
        signing_certificate_not_after: applied.not_after.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:iam::123456789012:saml-provider/Okta";

    fn config() -> RefreshConfig {
        RefreshConfig {
            provider_name: "Okta".into(),
            metadata_url: "s3://org-idp-metadata/metadata/idp.xml".into(),
            metadata_sha256: None,
            trusted_certificate_sha256: vec!["ab".repeat(32)],
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/federation/guid".into(),
            logical_id: "SAMLProvider".into(),
        }
    }

    #[test]
    fn the_configuration_comes_from_the_environment_whole_or_not_at_all() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert_eq!(RefreshConfig::from_lookup(env(&[])), Ok(None));
        let full = env(&[
            ("SAMLFED_REFRESH_PROVIDER_NAME", "Okta"),
            ("SAMLFED_REFRESH_METADATA_URL", "s3://org-idp-metadata/metadata/idp.xml"),
            ("SAMLFED_REFRESH_METADATA_SHA256", ""),
            ("SAMLFED_REFRESH_TRUSTED_CERTIFICATE_SHA256", ""),
            ("SAMLFED_REFRESH_STACK_ID", "arn:aws:cloudformation:us-east-1:123456789012:stack/federation/guid"),
            ("SAMLFED_REFRESH_LOGICAL_ID", "SAMLProvider"),
        ]);
        let read = RefreshConfig::from_lookup(full).unwrap().unwrap();
        assert_eq!(read, RefreshConfig { trusted_certificate_sha256: vec![], ..config() });
        let partial = env(&[("SAMLFED_REFRESH_PROVIDER_NAME", "Okta")]);
        assert_eq!(RefreshConfig::from_lookup(partial), Err("SAMLFED_REFRESH_METADATA_URL"));
    }

    #[test]
    fn an_event_only_triggers_and_may_not_name_anything_else() {
        let c = config();
        assert_eq!(check_trigger(json!({}), &c, ARN), Ok(()));
        assert_eq!(check_trigger(json!(null), &c, ARN), Ok(()));
        // What older templates wrote, naming exactly the configuration, still triggers.
        let same = json!({"ProviderArn": ARN, "MetadataUrl": c.metadata_url, "TrustedCertificateSha256": c.trusted_certificate_sha256});
        assert_eq!(check_trigger(same, &c, ARN), Ok(()));
        for forged in [
            json!({"ProviderArn": "arn:aws:iam::123456789012:saml-provider/Other"}),
            json!({"MetadataUrl": "https://user:secret@evil.example.com/idp.xml?token=t"}),
            json!({"MetadataUrl": "s3://org-idp-metadata/metadata/attacker.xml"}),
            json!({"MetadataSha256": "00".repeat(32)}),
            json!({"TrustedCertificateSha256": []}),
        ] {
            let err = check_trigger(forged.clone(), &c, ARN).unwrap_err();
            assert!(matches!(err, RefreshError::Foreign(_)), "{forged}: {err}");
            let text = err.to_string();
            assert!(!text.contains("secret") && !text.contains("token=t"), "no secret in the error: {text}");
        }
        assert!(matches!(check_trigger(json!({"Colour": "blue"}), &c, ARN), Err(RefreshError::Malformed(_))));
        assert!(matches!(check_trigger(json!("refresh"), &c, ARN), Err(RefreshError::Malformed(_))));
    }
}
