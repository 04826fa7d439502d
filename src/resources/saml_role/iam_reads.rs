//! How `Custom::SAMLRole` lists a role's policies, and the bounded retry for a trust policy that
//! names a provider IAM has not finished creating.

use std::time::Duration;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

use crate::resources::iam::iam_error;
use crate::resources::{OpContext, ResourceError};

/// Attempts for a call IAM may refuse while a just-created provider propagates.
pub(super) const CONSISTENCY_ATTEMPTS: u32 = 5;

/// Managed policies attached to the role (IAM allows at most 20, one page of 100 holds them).
pub(super) async fn attached_policies(name: &str, ctx: &OpContext<'_>) -> Result<Vec<String>, ResourceError> {
    let output = ctx
        .clients
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .max_items(100)
        .send()
        .await
        .map_err(|err| iam_error("ListAttachedRolePolicies", name, &err))?;
    Ok(output.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect())
}

/// Inline policy names of the role, all pages (bounded: IAM caps inline policy size per role).
pub(super) async fn inline_policy_names(name: &str, ctx: &OpContext<'_>) -> Result<Vec<String>, ResourceError> {
    let mut names = Vec::new();
    let mut marker = None;
    for _ in 0..100 {
        let output = ctx
            .clients
            .iam
            .list_role_policies()
            .role_name(name)
            .max_items(100)
            .set_marker(marker)
            .send()
            .await
            .map_err(|err| iam_error("ListRolePolicies", name, &err))?;
        names.extend(output.policy_names().iter().cloned());
        marker = output.marker().map(str::to_string).filter(|_| output.is_truncated());
        if marker.is_none() {
            break;
        }
    }
    Ok(names)
}

/// Runs `call` again while IAM answers MalformedPolicyDocument, which is how it refuses a trust
/// policy naming a provider it has not finished creating. Bounded: [`CONSISTENCY_ATTEMPTS`]
/// attempts with doubling backoff (and the Lambda deadline above it all).
pub(super) async fn with_consistency_retry<T, E, R, F, Fut>(ctx: &OpContext<'_>, call: F) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
{
    let mut backoff = ctx.settings.consistency_backoff;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(err) if err.code() == Some("MalformedPolicyDocument") && attempt < CONSISTENCY_ATTEMPTS => {
                tracing::warn!(attempt, backoff_ms = backoff.as_millis() as u64, "IAM refused the trust policy (MalformedPolicyDocument); the provider may still be propagating, retrying");
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2).min(Duration::from_secs(8));
                attempt += 1;
            }
            result => return result,
        }
    }
}
