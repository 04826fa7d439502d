//! Reads a metadata document from S3 — in practice the organisation's metadata bucket.
//!
//! The size cap is enforced on the bytes as the body streams ([`super::body`]), so an oversized or
//! endless object is refused after at most the cap, never read whole; the whole download is
//! bounded in time.

use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use thiserror::Error;

use super::body::{self, ReadError};
use super::source::S3Location;
use super::validate::MAX_DOCUMENT_CHARS;
use super::{Fetched, Validators, MAX_DOCUMENT_BYTES};

/// Why the object could not be read; each message says what to check.
#[derive(Debug, Error, PartialEq)]
pub enum FetchError {
    #[error("the object does not exist (NoSuchKey); check the key, or upload the document first")]
    NoSuchKey,
    #[error("that version of the object does not exist ({0}); check the versionId")]
    NoSuchVersion(String),
    #[error("the bucket does not exist (NoSuchBucket); check the bucket name and that it is in this partition")]
    NoSuchBucket,
    #[error("access denied reading the object (AccessDenied); the function's execution role needs s3:GetObject (and s3:GetObjectVersion with versionId) on it, and the bucket policy must let this account's organisation read it. S3 also answers AccessDenied for a missing key when the reader may not list the bucket")]
    AccessDenied,
    #[error("the object is larger than IAM's limit: it has more than {MAX_DOCUMENT_BYTES} bytes, and IAM takes at most {MAX_DOCUMENT_CHARS} characters; a SAML metadata document for one IdP is a few kilobytes — check that this is the right object")]
    TooLarge,
    #[error(
        "S3 did not deliver the object within {0:?}; check the bucket's Region and the function's network path to S3"
    )]
    TimedOut(Duration),
    #[error("S3 GetObject failed: {0}")]
    Other(String),
}

/// Downloads the object at `location`, refusing it as soon as it exceeds IAM's size limit. With
/// an ETag from an earlier read, the GET is conditional and an unchanged object is
/// [`Fetched::NotModified`] (S3 answers 304 and sends no body).
pub async fn fetch(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    timeout: Duration,
    validators: Option<&Validators>,
) -> Result<Fetched, FetchError> {
    tokio::time::timeout(timeout, fetch_unbounded(client, location, validators))
        .await
        .map_err(|_| FetchError::TimedOut(timeout))?
}

async fn fetch_unbounded(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    validators: Option<&Validators>,
) -> Result<Fetched, FetchError> {
    let result = client
        .get_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .set_version_id(location.version_id.clone())
        .set_if_none_match(validators.and_then(|v| v.etag.clone()))
        .send()
        .await;
    if let Err(err) = &result {
        if err.raw_response().is_some_and(|r| r.status().as_u16() == 304) {
            return Ok(Fetched::NotModified);
        }
    }
    let output = result.map_err(|err| match err.code() {
        Some("NoSuchKey") => FetchError::NoSuchKey,
        Some("NoSuchBucket") => FetchError::NoSuchBucket,
        Some("AccessDenied") => FetchError::AccessDenied,
        Some(code @ ("NoSuchVersion" | "InvalidArgument")) => FetchError::NoSuchVersion(code.to_string()),
        // The SDK's text may name the request's URL: shown only through the redactor.
        _ => FetchError::Other(crate::redact::text(&crate::aws::describe_error(&err))),
    })?;
    let validators = Validators { etag: output.e_tag().map(str::to_string), last_modified: None };
    let declared = output.content_length().and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0);
    let chunks = futures_util::stream::unfold(output.body, |mut body| async move {
        let chunk = body.next().await?;
        Some((chunk, body))
    });
    let bytes = body::read_capped(declared, chunks, MAX_DOCUMENT_BYTES).await.map_err(|e| match e {
        ReadError::TooLarge => FetchError::TooLarge,
        ReadError::Body(e) => FetchError::Other(crate::redact::text(&format!("reading the object's body failed: {e}"))),
    })?;
    Ok(Fetched::Document { bytes, validators })
}
