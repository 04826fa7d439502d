//! Federation metadata: fetched from its source, validated, checked against the pins — all before
//! IAM is called, so a bad document never changes anything.

pub mod pins;
pub mod s3;
pub mod source;
pub mod validate;

use thiserror::Error;

use crate::aws::AwsClients;
use crate::settings::Settings;
use source::MetadataSource;
use validate::ValidatedMetadata;

/// A metadata problem, prefixed with the property (and S3 URL) it came from.
#[derive(Debug, Error, PartialEq)]
pub enum LoadError {
    #[error("{property}: {source}")]
    Fetch { property: String, source: s3::FetchError },
    #[error("{property}: {source}")]
    Invalid { property: String, source: validate::MetadataError },
    #[error(transparent)]
    Pin(#[from] pins::PinError),
}

/// The pins a document must satisfy (both optional).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pins<'a> {
    pub document_sha256: Option<&'a str>,
    pub trusted_certificates: &'a [String],
}

/// Fetches, validates and pin-checks the document from `source`, judging dates against `now`.
pub async fn load(
    source: &MetadataSource,
    pins: Pins<'_>,
    clients: &AwsClients,
    settings: &Settings,
    now: time::OffsetDateTime,
) -> Result<ValidatedMetadata, LoadError> {
    let property = source.property();
    let bytes = match source {
        MetadataSource::Inline(document) => document.as_bytes().to_vec(),
        MetadataSource::S3(location) => s3::fetch(&clients.s3, location, settings.metadata_timeout)
            .await
            .map_err(|source| LoadError::Fetch { property: property.clone(), source })?,
    };
    let metadata = validate::validate(&bytes, now).map_err(|source| LoadError::Invalid { property, source })?;
    pins::check(&metadata, pins.document_sha256, pins.trusted_certificates)?;
    for warning in &metadata.warnings {
        tracing::warn!(entity_id = %metadata.entity_id, "{warning}");
    }
    Ok(metadata)
}
