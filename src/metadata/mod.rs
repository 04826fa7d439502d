//! Federation metadata: fetched from its source, validated, checked against the pins — all before
//! IAM is called, so a bad document never changes anything.

pub mod body;
pub mod https;
pub mod pins;
pub mod s3;
pub mod source;
pub mod validate;

use std::time::Duration;

use thiserror::Error;

use source::MetadataSource;
use validate::ValidatedMetadata;

/// The fetch cap: IAM's limit of 10,000,000 characters ([`validate::MAX_DOCUMENT_CHARS`]),
/// enforced on the raw bytes read (S3 and HTTPS alike, by [`body::read_capped`]), so that no
/// source can make the function hold more than this, whatever the bytes are.
///
/// A character is at least one byte, so every document of up to this many bytes is within IAM's
/// limit; one of up to 10,000,000 characters that takes more bytes (mostly multi-byte text) is
/// refused. No IdP's metadata comes near: real ones are a few to a few dozen kilobytes.
pub const MAX_DOCUMENT_BYTES: u64 = validate::MAX_DOCUMENT_CHARS as u64;

/// What identifies a version of a document for a conditional request (HTTP `ETag` /
/// `Last-Modified`), so an unchanged document costs a 304 and nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The outcome of a (possibly conditional) fetch.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Document {
        bytes: Vec<u8>,
        validators: Validators,
    },
    /// Only ever the answer to a conditional fetch (one given validators).
    NotModified,
}

/// The clients and limits a fetch uses; built once at cold start.
#[derive(Debug, Clone, Copy)]
pub struct Fetchers<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub https: &'a reqwest::Client,
    pub timeout: Duration,
    /// Test-only: let HTTPS fetches reach 127.0.0.1 (never link-local addresses).
    pub allow_loopback: bool,
}

/// A metadata problem, prefixed with the property (and URL) it came from.
#[derive(Debug, Error, PartialEq)]
pub enum LoadError {
    #[error("{property}: {source}")]
    S3 { property: String, source: s3::FetchError },
    #[error("{property}: {source}")]
    Https { property: String, source: https::HttpsError },
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

/// Fetches the document from `source`; conditionally when `validators` are given.
pub async fn fetch(
    source: &MetadataSource,
    fetchers: &Fetchers<'_>,
    validators: Option<&Validators>,
) -> Result<Fetched, LoadError> {
    let property = || source.property();
    match source {
        MetadataSource::Inline(document) => {
            Ok(Fetched::Document { bytes: document.as_bytes().to_vec(), validators: Validators::default() })
        }
        MetadataSource::S3(location) => s3::fetch(fetchers.s3, location, fetchers.timeout, validators)
            .await
            .map_err(|source| LoadError::S3 { property: property(), source }),
        MetadataSource::Https(url) => {
            https::fetch(fetchers.https, url, fetchers.timeout, validators, fetchers.allow_loopback)
                .await
                .map_err(|source| LoadError::Https { property: property(), source })
        }
    }
}

/// Validates fetched `bytes` from `source` and checks the pins, judging dates against `now`.
pub fn check(
    source: &MetadataSource,
    bytes: &[u8],
    pins: Pins<'_>,
    now: time::OffsetDateTime,
) -> Result<ValidatedMetadata, LoadError> {
    let metadata = validate::validate(bytes, now)
        .map_err(|source_error| LoadError::Invalid { property: source.property(), source: source_error })?;
    pins::check(&metadata, pins.document_sha256, pins.trusted_certificates)?;
    for warning in &metadata.warnings {
        tracing::warn!(entity_id = %metadata.entity_id, "{warning}");
    }
    Ok(metadata)
}

/// Fetches (unconditionally), validates and pin-checks the document from `source`.
pub async fn load(
    source: &MetadataSource,
    pins: Pins<'_>,
    fetchers: &Fetchers<'_>,
    now: time::OffsetDateTime,
) -> Result<ValidatedMetadata, LoadError> {
    match fetch(source, fetchers, None).await? {
        Fetched::Document { bytes, .. } => check(source, &bytes, pins, now),
        // Unreachable by `fetch`'s contract (no validators, no 304); an empty body is refused.
        Fetched::NotModified => check(source, &[], pins, now),
    }
}
