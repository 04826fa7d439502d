//! IAM plumbing shared by the resource types: tag conversion and Reasons for failed calls.

use std::collections::BTreeMap;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

use super::ResourceError;

/// IAM's tags as a map.
pub fn tag_map(tags: &[aws_sdk_iam::types::Tag]) -> BTreeMap<String, String> {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

/// A map of tags as IAM's type.
pub fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_iam::types::Tag>, ResourceError> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ResourceError::Invalid(format!("Tags: {e}")))
        })
        .collect()
}

/// True when the error is IAM's `NoSuchEntity`.
pub fn is_no_such_entity<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code() == Some("NoSuchEntity")
}

/// A failed IAM call as a Reason that says what to do about it. `target` names the resource.
pub fn iam_error<E, R>(operation: &str, target: &str, err: &SdkError<E, R>) -> ResourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = crate::aws::describe_error(err);
    ResourceError::Aws(match err.code() {
        Some("LimitExceeded") if operation == "CreateSAMLProvider" => format!(
            "IAM {operation} for {target} failed: the account has reached IAM's quota of 100 SAML providers ({detail}); delete providers that are no longer used, then retry"
        ),
        Some("LimitExceeded") => format!(
            "IAM {operation} for {target} failed: an IAM quota was reached ({detail}); remove what is no longer used or ask for a quota increase, then retry"
        ),
        Some("AccessDenied" | "AccessDeniedException") => format!(
            "IAM {operation} for {target} failed: the function's execution role may not call iam:{operation} on it ({detail}); grant it in the role's policy"
        ),
        Some("ConcurrentModification") => format!(
            "IAM {operation} for {target} failed: another change to it was in progress ({detail}); retry the stack operation"
        ),
        Some("InvalidInput" | "ValidationError") => {
            format!("IAM {operation} for {target} refused the request ({detail}); check the resource's properties")
        }
        _ => format!("IAM {operation} for {target} failed after retries: {detail}"),
    })
}
