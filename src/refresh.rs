//! The scheduled refresh: follows the IdP's certificate rotation without a stack update.
//!
//! An EventBridge schedule invokes the function with
//! `{"Refresh": {"ProviderArn", "MetadataUrl", "MetadataSha256"?, "TrustedCertificateSha256"?}}`
//! (the template writes it from the same values it gives the custom resource). A refresh lists
//! nothing and never creates or deletes: one conditional fetch, and only changed content is
//! validated, pinned, compared by SHA-256 with what IAM holds and sent with UpdateSAMLProvider —
//! to a provider carrying samlfed's ownership tags. A warm function remembers the validators of
//! what it last applied, so unchanged metadata costs one 304 and no IAM call at all; a cold one
//! reads the document and IAM's copy (GetSAMLProvider) and still writes nothing if they match.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_iam::error::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::arn::AccountScope;
use crate::metadata::source::MetadataSource;
use crate::metadata::validate::format_timestamp;
use crate::metadata::{self, Fetched, Fetchers, Pins, Validators};
use crate::metrics;
use crate::resources::tags::{LOGICAL_ID_TAG, STACK_TAG};

/// The refresh event's payload (the value of its `Refresh` key). This shape is a contract with
/// the template.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct RefreshRequest {
    pub provider_arn: String,
    pub metadata_url: String,
    #[serde(default)]
    pub metadata_sha256: Option<String>,
    #[serde(default)]
    pub trusted_certificate_sha256: Vec<String>,
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
    #[error("the refresh event is malformed ({0}); it must be {{\"Refresh\": {{\"ProviderArn\", \"MetadataUrl\", \"MetadataSha256\"?, \"TrustedCertificateSha256\"?}}}}")]
    Malformed(String),
    #[error("ProviderArn {0:?} is not a SAML provider ARN of this account")]
    NotThisAccount(String),
    #[error("refresh of {0}: MetadataDocument sources cannot be refreshed; give an s3:// or https:// MetadataUrl")]
    Inline(String),
    #[error("refresh of {arn}: the new metadata was refused and the provider left unchanged: {source}")]
    Metadata { arn: String, source: metadata::LoadError },
    #[error("refresh of {0}: the provider does not exist; a refresh never creates one (deploy the stack first)")]
    NoSuchProvider(String),
    #[error("refresh of {0}: the provider does not carry samlfed's ownership tags, so it was left untouched")]
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

/// Runs one refresh.
pub async fn refresh(
    payload: serde_json::Value,
    iam: &aws_sdk_iam::Client,
    fetchers: &Fetchers<'_>,
    scope: &AccountScope,
    cache: &RefreshCache,
) -> Result<RefreshOutcome, RefreshError> {
    let request: RefreshRequest =
        serde_json::from_value(payload).map_err(|e| RefreshError::Malformed(e.to_string()))?;
    let arn = request.provider_arn.clone();
    let Some(name) = scope.saml_provider_name(&arn).map(str::to_string) else {
        return Err(RefreshError::NotThisAccount(arn));
    };
    let source = MetadataSource::from_properties(Some(&request.metadata_url), None)
        .map_err(|e| RefreshError::Malformed(e.to_string()))?;
    if matches!(source, MetadataSource::Inline(_)) {
        return Err(RefreshError::Inline(arn));
    }
    let key = (arn.clone(), request.metadata_url.clone());
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
        document_sha256: request.metadata_sha256.as_deref(),
        trusted_certificates: &request.trusted_certificate_sha256,
    };
    let metadata = metadata::check(&source, &bytes, pins, now).map_err(failed)?;
    let current = iam.get_saml_provider().saml_provider_arn(&arn).send().await.map_err(|err| match err.code() {
        Some("NoSuchEntity") => RefreshError::NoSuchProvider(arn.clone()),
        _ => RefreshError::Aws {
            arn: arn.clone(),
            operation: "GetSAMLProvider",
            detail: crate::aws::describe_error(&err),
        },
    })?;
    let ours = [STACK_TAG, LOGICAL_ID_TAG].iter().all(|k| current.tags().iter().any(|t| t.key() == *k));
    if !ours {
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
