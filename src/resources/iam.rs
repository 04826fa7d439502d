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

/// A failed IAM call: which operation, on what, and IAM's answer. The shared helpers
/// ([`super::owned`]) return it so that each caller words it as its own error: a Reason for a
/// resource type ([`ResourceError`]), a refresh error for the scheduled refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct IamFailure {
    pub operation: &'static str,
    /// What the Reason names: the provider's ARN, `role NAME`.
    pub target: String,
    /// IAM's error code, e.g. `AccessDenied`.
    pub code: Option<String>,
    /// The code and message as one line ([`crate::aws::describe_error`]).
    pub detail: String,
}

impl IamFailure {
    pub fn of<E, R>(operation: &'static str, target: &str, err: &SdkError<E, R>) -> IamFailure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        IamFailure {
            operation,
            target: target.to_string(),
            code: err.code().map(str::to_string),
            detail: crate::aws::describe_error(err),
        }
    }
}

/// A failed IAM call as a Reason that says what to do about it. `target` names the resource.
pub fn iam_error<E, R>(operation: &'static str, target: &str, err: &SdkError<E, R>) -> ResourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    IamFailure::of(operation, target, err).into()
}

impl From<IamFailure> for ResourceError {
    fn from(failure: IamFailure) -> ResourceError {
        let IamFailure { operation, target, code, detail } = failure;
        ResourceError::Aws(match code.as_deref() {
            Some("LimitExceeded") => format!(
                "IAM {operation} for {target} failed: an IAM quota was reached ({detail}); remove what is no longer used or ask for a quota increase, then retry"
            ),
            // Refused on every attempt of the AccessDenied retry (crate::aws::ACCESS_DENIED_RETRY),
            // which waits out IAM's eventual consistency for a just-created execution role:
            // https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
            code if crate::aws::is_access_denied(code) => {
                let retry = crate::aws::ACCESS_DENIED_RETRY;
                format!(
                    "IAM {operation} for {target} was denied on all {} attempts over {} s ({detail}) — longer than IAM takes to put a new execution role into effect. The function's execution role may not call iam:{operation} on it; grant it in the role's policy (FunctionRole in templates/saml-federation.yaml), then retry the stack operation",
                    retry.attempts_made(),
                    retry.total_wait().as_secs_f64(),
                )
            }
            Some("ConcurrentModification") => format!(
                "IAM {operation} for {target} failed: another change to it was in progress ({detail}); retry the stack operation"
            ),
            Some("InvalidInput" | "ValidationError") => {
                format!("IAM {operation} for {target} refused the request ({detail}); check the resource's properties")
            }
            _ => format!("IAM {operation} for {target} failed after retries: {detail}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::create_saml_provider::CreateSAMLProviderError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn iam_refusal(code: &str, message: &str) -> SdkError<CreateSAMLProviderError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let raw = HttpResponse::new(403u16.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(CreateSAMLProviderError::generic(meta), raw)
    }

    /// An AccessDenied that outlasted the retry names the action, the wait, and the fix.
    #[test]
    fn a_persistent_access_denied_names_the_action_the_wait_and_the_fix() {
        let err = iam_refusal("AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/samlfed/fn is not authorized to perform: iam:CreateSAMLProvider");
        let ResourceError::Aws(reason) =
            iam_error("CreateSAMLProvider", "arn:aws:iam::123456789012:saml-provider/Okta", &err)
        else {
            panic!("an AWS failure")
        };
        for phrase in [
            "IAM CreateSAMLProvider for arn:aws:iam::123456789012:saml-provider/Okta was denied",
            "on all 4 attempts over 7 s",
            "AccessDenied: User: arn:aws:sts::123456789012:assumed-role/samlfed/fn is not authorized",
            "may not call iam:CreateSAMLProvider",
            "grant it in the role's policy",
        ] {
            assert!(reason.contains(phrase), "{phrase:?} missing from: {reason}");
        }
        let ResourceError::Aws(json_style) =
            iam_error("CreateSAMLProvider", "x", &iam_refusal("AccessDeniedException", "no"))
        else {
            panic!("an AWS failure")
        };
        assert!(json_style.contains("on all 4 attempts"), "{json_style}");
    }
}
