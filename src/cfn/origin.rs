//! The origin check: act on a custom-resource event only while CloudFormation itself is running
//! an operation of that kind on that very resource.
//!
//! Anyone holding `lambda:InvokeFunction` can send the function any event; the StackId,
//! LogicalResourceId, PhysicalResourceId and ResponseURL in it prove nothing. CloudFormation's own
//! record does: before any AWS change the function asks `DescribeStackResource` (StackId +
//! LogicalResourceId) and, for a Delete whose physical id is no longer the resource's,
//! `DescribeStacks`. What each stack operation shows there, with AWS's sources, is the state
//! model in `docs/security.md`:
//!
//! | event  | allowed when the resource (of the event's ResourceType) shows |
//! |--------|-------------------------------------------------------------------|
//! | Create | `CREATE_IN_PROGRESS` (new stack, or a resource added by an update) |
//! | Update | `UPDATE_IN_PROGRESS` with the event's physical id (updates and update rollbacks) |
//! | Delete | `DELETE_IN_PROGRESS` with the event's physical id (stack deletion, rollback of a failed Create); or, with another physical id or none, the stack in `UPDATE_COMPLETE_CLEANUP_IN_PROGRESS` / `UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS` (the old resource of a replacement, a resource removed from the template) |
//!
//! Anything else is refused: no AWS change, a FAILED answer saying no CloudFormation operation on
//! that resource is in progress, an ERROR log line and the `OriginCheckRefusals` metric. Costs one
//! read call per event, never more than two: a cleanup Delete asks the stack too, and a refusal
//! asks the resource once more first, so a record that lags behind the request it describes does
//! not refuse a real operation.

use std::time::Duration;

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use thiserror::Error;

use super::request::RequestKind;

/// CloudFormation's record of one resource, as `DescribeStackResource` gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub resource_type: String,
    pub status: String,
    /// Empty while a Create has not been answered yet.
    pub physical_id: String,
}

/// What the record says about an event, before any stack-level question.
#[derive(Debug, Clone, PartialEq)]
enum Judgement {
    Allowed,
    /// A Delete of a physical id the resource no longer has (or of a resource the stack no
    /// longer has): allowed only in a cleanup phase, which only the stack's status tells.
    AskStack,
    Refused(String),
}

/// Why an event was refused; the text goes into the FAILED Reason.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Refusal {
    #[error("no CloudFormation operation on {logical_id} is in progress that matches this {request} ({seen}); nothing was changed. Only CloudFormation's own requests are acted on: an event sent by anyone else is refused")]
    NoOperation { logical_id: String, request: &'static str, seen: String },
    #[error("the origin check could not ask CloudFormation about {logical_id} ({error}); nothing was changed. The execution role needs cloudformation:DescribeStackResource and cloudformation:DescribeStacks on its own stack (templates/saml-federation.yaml grants them), or set SAMLFED_ORIGIN_CHECK=off for a template that cannot grant them (see docs/security.md)")]
    Unverifiable { logical_id: String, error: String },
}

/// The statuses CloudFormation's cleanup phases show, during which a replaced or removed
/// resource's old physical id gets its Delete.
pub const CLEANUP_STATUSES: [&str; 2] =
    ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"];

/// How long to wait before asking once more when the record does not show the operation:
/// CloudFormation's record may lag a moment behind the request it sent (AWS documents no
/// read-after-write guarantee for it).
pub const RETRY_AFTER: Duration = Duration::from_millis(700);

/// Is `kind` of `resource_type` what the record `observed` (`None`: no such resource) shows?
fn judge(kind: &RequestKind, resource_type: &str, observed: Option<&Observed>) -> Judgement {
    let seen = |o: &Observed| {
        format!("CloudFormation shows {} {} with physical id {:?}", o.resource_type, o.status, o.physical_id)
    };
    let Some(o) = observed else {
        return match kind {
            RequestKind::Delete { .. } => Judgement::AskStack,
            _ => Judgement::Refused("CloudFormation has no such resource in that stack".into()),
        };
    };
    if o.resource_type != resource_type {
        return Judgement::Refused(seen(o));
    }
    match kind {
        RequestKind::Create if o.status == "CREATE_IN_PROGRESS" => Judgement::Allowed,
        RequestKind::Update { physical_resource_id, .. }
            if o.status == "UPDATE_IN_PROGRESS" && o.physical_id == *physical_resource_id =>
        {
            Judgement::Allowed
        }
        RequestKind::Delete { physical_resource_id }
            if o.status == "DELETE_IN_PROGRESS" && o.physical_id == *physical_resource_id =>
        {
            Judgement::Allowed
        }
        RequestKind::Delete { physical_resource_id } if o.physical_id != *physical_resource_id => Judgement::AskStack,
        _ => Judgement::Refused(seen(o)),
    }
}

/// Asks CloudFormation whether it is running `kind` on `logical_id` of `stack_id`; `Ok` means act.
/// Two read calls at most: the resource, then either the stack (a Delete of another physical id)
/// or, after [`RETRY_AFTER`], the resource once more (a record that may lag).
pub async fn check(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack_id: &str,
    logical_id: &str,
    resource_type: &str,
    kind: &RequestKind,
) -> Result<(), Refusal> {
    let refused =
        |seen: String| Refusal::NoOperation { logical_id: logical_id.to_string(), request: kind.name(), seen };
    let observed = describe_resource(cloudformation, stack_id, logical_id).await?;
    match judge(kind, resource_type, observed.as_ref()) {
        Judgement::Allowed => Ok(()),
        Judgement::AskStack => {
            let status = describe_stack_status(cloudformation, stack_id, logical_id).await?;
            if CLEANUP_STATUSES.contains(&status.as_str()) {
                Ok(())
            } else {
                Err(refused(format!("the stack is {status}, not in a cleanup phase")))
            }
        }
        Judgement::Refused(_) => {
            tokio::time::sleep(RETRY_AFTER).await;
            let observed = describe_resource(cloudformation, stack_id, logical_id).await?;
            match judge(kind, resource_type, observed.as_ref()) {
                Judgement::Allowed => Ok(()),
                // A third call is not made: a Delete that now asks for the stack is refused too.
                Judgement::Refused(seen) => Err(refused(seen)),
                Judgement::AskStack => Err(refused("the resource's record changed while it was read".into())),
            }
        }
    }
}

/// `DescribeStackResource`; `None` when CloudFormation says the stack has no such resource.
async fn describe_resource(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack_id: &str,
    logical_id: &str,
) -> Result<Option<Observed>, Refusal> {
    let unverifiable = |error: String| Refusal::Unverifiable { logical_id: logical_id.to_string(), error };
    match cloudformation.describe_stack_resource().stack_name(stack_id).logical_resource_id(logical_id).send().await {
        Ok(output) => {
            let detail = output.stack_resource_detail().ok_or_else(|| unverifiable("an empty answer".into()))?;
            Ok(Some(Observed {
                resource_type: detail.resource_type().unwrap_or_default().to_string(),
                status: detail.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                physical_id: detail.physical_resource_id().unwrap_or_default().to_string(),
            }))
        }
        // "Resource X does not exist for stack Y": the template no longer has it.
        Err(e) if e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.starts_with("Resource ")) => {
            Ok(None)
        }
        Err(e) => Err(unverifiable(crate::aws::describe_error(&e))),
    }
}

async fn describe_stack_status(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack_id: &str,
    logical_id: &str,
) -> Result<String, Refusal> {
    let unverifiable = |error: String| Refusal::Unverifiable { logical_id: logical_id.to_string(), error };
    let output = cloudformation
        .describe_stacks()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| unverifiable(crate::aws::describe_error(&e)))?;
    let stack = output.stacks().first().ok_or_else(|| unverifiable("no such stack".into()))?;
    Ok(stack.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER: &str = "Custom::SAMLProvider";
    const ARN: &str = "arn:aws:iam::123456789012:saml-provider/Okta";

    fn seen(status: &str, physical_id: &str) -> Observed {
        Observed { resource_type: PROVIDER.into(), status: status.into(), physical_id: physical_id.into() }
    }
    fn update(id: &str) -> RequestKind {
        RequestKind::Update { physical_resource_id: id.into(), old_properties: Default::default() }
    }
    fn delete(id: &str) -> RequestKind {
        RequestKind::Delete { physical_resource_id: id.into() }
    }

    #[test]
    fn each_request_is_allowed_only_by_its_own_operation() {
        assert_eq!(judge(&RequestKind::Create, PROVIDER, Some(&seen("CREATE_IN_PROGRESS", ""))), Judgement::Allowed);
        assert_eq!(judge(&update(ARN), PROVIDER, Some(&seen("UPDATE_IN_PROGRESS", ARN))), Judgement::Allowed);
        assert_eq!(judge(&delete(ARN), PROVIDER, Some(&seen("DELETE_IN_PROGRESS", ARN))), Judgement::Allowed);
        for status in ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"] {
            assert!(matches!(judge(&RequestKind::Create, PROVIDER, Some(&seen(status, ARN))), Judgement::Refused(_)));
        }
        for status in ["CREATE_COMPLETE", "UPDATE_COMPLETE", "CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS"] {
            assert!(matches!(judge(&update(ARN), PROVIDER, Some(&seen(status, ARN))), Judgement::Refused(_)));
        }
        for status in ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_IN_PROGRESS"] {
            assert!(matches!(judge(&delete(ARN), PROVIDER, Some(&seen(status, ARN))), Judgement::Refused(_)));
        }
    }

    #[test]
    fn an_update_of_another_physical_id_or_type_is_refused() {
        let other = "arn:aws:iam::123456789012:saml-provider/Other";
        assert!(matches!(
            judge(&update(other), PROVIDER, Some(&seen("UPDATE_IN_PROGRESS", ARN))),
            Judgement::Refused(_)
        ));
        let role = Observed { resource_type: "Custom::SAMLRole".into(), ..seen("CREATE_IN_PROGRESS", "") };
        assert!(matches!(judge(&RequestKind::Create, PROVIDER, Some(&role)), Judgement::Refused(_)));
        assert!(matches!(judge(&RequestKind::Create, PROVIDER, None), Judgement::Refused(_)));
    }

    mod calls {
        use super::*;
        use aws_sdk_cloudformation::operation::describe_stack_resource::DescribeStackResourceOutput;
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
        use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackResourceDetail, StackStatus};
        use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

        const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/federation/guid";

        fn shows(status: ResourceStatus, physical_id: &str) -> DescribeStackResourceOutput {
            let detail = StackResourceDetail::builder()
                .logical_resource_id("SAMLProvider")
                .resource_type(PROVIDER)
                .resource_status(status)
                .physical_resource_id(physical_id)
                .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
                .build();
            DescribeStackResourceOutput::builder().stack_resource_detail(detail).build()
        }

        fn resource_rule(answers: Vec<DescribeStackResourceOutput>) -> Rule {
            let mut rule = mock!(aws_sdk_cloudformation::Client::describe_stack_resource).sequence();
            for answer in answers {
                rule = rule.output(move || answer.clone());
            }
            rule.build()
        }

        fn stack_rule(status: StackStatus) -> Rule {
            mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(move || {
                let stack = Stack::builder()
                    .stack_name("federation")
                    .stack_status(status.clone())
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .build();
                DescribeStacksOutput::builder().stacks(stack).build()
            })
        }

        /// The cost bound: never more than two read calls, whatever CloudFormation answers.
        #[tokio::test]
        async fn a_refusal_asks_the_resource_once_more_and_no_more() {
            let resource = resource_rule(vec![shows(ResourceStatus::UpdateComplete, ARN); 3]);
            let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&resource]);
            let err = check(&client, STACK, "SAMLProvider", PROVIDER, &update(ARN)).await.unwrap_err();
            assert!(matches!(err, Refusal::NoOperation { .. }), "{err}");
            assert_eq!(resource.num_calls(), 2);
        }

        #[tokio::test]
        async fn a_record_that_lags_is_read_again_before_refusing() {
            let lagging =
                vec![shows(ResourceStatus::UpdateComplete, ARN), shows(ResourceStatus::UpdateInProgress, ARN)];
            let resource = resource_rule(lagging);
            let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&resource]);
            assert_eq!(check(&client, STACK, "SAMLProvider", PROVIDER, &update(ARN)).await, Ok(()));
            assert_eq!(resource.num_calls(), 2);
        }

        #[tokio::test]
        async fn a_cleanup_delete_asks_the_stack_and_nothing_else() {
            let new = "arn:aws:iam::123456789012:saml-provider/Okta2";
            for (status, allowed) in [
                (StackStatus::UpdateCompleteCleanupInProgress, true),
                (StackStatus::UpdateRollbackCompleteCleanupInProgress, true),
                (StackStatus::UpdateComplete, false),
            ] {
                let resource = resource_rule(vec![shows(ResourceStatus::UpdateComplete, new)]);
                let stack = stack_rule(status.clone());
                let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&resource, &stack]);
                let verdict = check(&client, STACK, "SAMLProvider", PROVIDER, &delete(ARN)).await;
                assert_eq!(verdict.is_ok(), allowed, "{status:?}: {verdict:?}");
                assert_eq!(resource.num_calls() + stack.num_calls(), 2, "{status:?}");
            }
        }
    }

    #[test]
    fn a_delete_of_a_replaced_or_removed_resource_asks_the_stack() {
        let new = "arn:aws:iam::123456789012:saml-provider/Okta2";
        assert_eq!(judge(&delete(ARN), PROVIDER, Some(&seen("UPDATE_COMPLETE", new))), Judgement::AskStack);
        assert_eq!(judge(&delete(ARN), PROVIDER, None), Judgement::AskStack);
    }
}
