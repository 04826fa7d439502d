//! `Custom::SAMLProvider` lifecycles against the local emulator: an event in, the response
//! CloudFormation would read and the IAM state out.
//!
//! Hand-written properties, and why: these are the resource type's contract for any template —
//! `Tags`, an inline `MetadataDocument`, foreign providers of the same name, exact AWS call counts
//! — which the project's own template never renders. What that template renders, and the
//! lifecycle it drives, is in `template_events.rs`. The harness still shapes every event as
//! CloudFormation does (scalars as strings, `ServiceToken` present).

mod support;

use std::time::{Duration, Instant};

use lambda_runtime::LambdaEvent;
use samlfed::cfn::handler::{handle, Deps};
use serde_json::{json, Value};
use support::harness::{tags_of, Harness, STACK_ID};
use support::{idp_metadata, idp_metadata_variant, sha256_hex};

const LOGICAL_ID: &str = "IdentityProvider";

async fn harness_with_metadata() -> (Harness, String) {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    (h, url)
}

fn assert_success(response: &Value) {
    assert_eq!(response["Status"], "SUCCESS", "response: {response}");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_makes_the_provider_with_ownership_tags_and_reports_its_data() {
    let (h, url) = harness_with_metadata().await;
    let event = h
        .create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url, "Tags": [{"Key": "team", "Value": "platform"}]}))
        .await;
    let response = h.run(&event).await;

    assert_success(&response);
    let arn = Harness::provider_arn("Okta");
    assert_eq!(response["PhysicalResourceId"], arn);
    assert_eq!(response["RequestId"], event["RequestId"]);
    assert_eq!(response["StackId"], STACK_ID);
    assert_eq!(response["LogicalResourceId"], LOGICAL_ID);
    let data = &response["Data"];
    assert_eq!(data["Arn"], arn);
    assert_eq!(data["Name"], "Okta");
    assert_eq!(data["EntityId"], "https://idp.example.com/saml2/idp");
    assert_eq!(data["MetadataSha256"], sha256_hex(idp_metadata().as_bytes()));
    assert_eq!(data["SigningCertificateNotAfter"], "2045-01-01T00:00:00Z");
    let provider = h.provider("Okta").await.expect("provider exists in IAM");
    assert_eq!(data["Uuid"].as_str(), provider.saml_provider_uuid(), "Uuid is IAM's SAMLProviderUUID");
    assert_eq!(provider.saml_metadata_document(), Some(idp_metadata().as_str()));
    assert_eq!(
        tags_of(&provider),
        vec![
            format!("samlfed:logical-id={LOGICAL_ID}"),
            format!("samlfed:stack-id={STACK_ID}"),
            "team=platform".into()
        ]
    );
    assert!(!response.to_string().contains("<EntityDescriptor"), "the document is never echoed");
    // The minimum: the origin check, one S3 read, one create, one read-back for the UUID. No listing.
    let calls = h.function_calls().await;
    assert_eq!(
        calls,
        ["cloudformation:DescribeStackResource", "s3:GetObject", "iam:CreateSAMLProvider", "iam:GetSAMLProvider"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_from_an_inline_document_needs_no_s3_read() {
    let h = Harness::start().await;
    let response =
        h.run(&h.create(LOGICAL_ID, json!({"Name": "Inline", "MetadataDocument": idp_metadata()})).await).await;
    assert_success(&response);
    assert_eq!(h.provider_names().await, ["Inline"]);
    assert_eq!(
        h.function_calls().await,
        ["cloudformation:DescribeStackResource", "iam:CreateSAMLProvider", "iam:GetSAMLProvider"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_with_a_new_object_version_updates_the_provider_in_place() {
    let (h, url) = harness_with_metadata().await;
    let created = h.run(&h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await).await;
    let uuid_before = created["Data"]["Uuid"].clone();
    let rotated = idp_metadata_variant("https://idp.example.org/saml/rotated");
    let (_, version) = h.put_metadata("metadata/idp.xml", rotated.clone()).await;

    let new_props = json!({"Name": "Okta", "MetadataUrl": format!("{url}?versionId={version}")});
    let event = h
        .update(LOGICAL_ID, &Harness::provider_arn("Okta"), new_props, json!({"Name": "Okta", "MetadataUrl": url}))
        .await;
    let response = h.run(&event).await;

    assert_success(&response);
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"), "same provider, updated in place");
    assert_eq!(response["Data"]["EntityId"], "https://idp.example.org/saml/rotated");
    assert_eq!(response["Data"]["Uuid"], uuid_before, "the provider was not re-created");
    assert_eq!(h.provider("Okta").await.unwrap().saml_metadata_document(), Some(rotated.as_str()));
    let calls = h.iam_calls().await;
    assert_eq!(calls, ["iam:GetSAMLProvider", "iam:UpdateSAMLProvider"], "no delete, no create, no tag calls");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_of_tags_only_changes_tags_and_keeps_tags_others_added() {
    let (h, url) = harness_with_metadata().await;
    let old =
        json!({"Name": "Okta", "MetadataUrl": url, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]});
    h.run(&h.create(LOGICAL_ID, old.clone()).await).await;
    let tag = aws_sdk_iam::types::Tag::builder().key("added-by-security").value("yes").build().unwrap();
    h.iam.tag_saml_provider().saml_provider_arn(Harness::provider_arn("Okta")).tags(tag).send().await.unwrap();
    h.emulator.clear_calls().await;

    let new =
        json!({"Name": "Okta", "MetadataUrl": url, "Tags": [{"Key": "a", "Value": "10"}, {"Key": "c", "Value": "3"}]});
    let response = h.run(&h.update(LOGICAL_ID, &Harness::provider_arn("Okta"), new, old).await).await;

    assert_success(&response);
    let tags = tags_of(&h.provider("Okta").await.unwrap());
    assert_eq!(
        tags,
        [
            "a=10",
            "added-by-security=yes",
            "c=3",
            &format!("samlfed:logical-id={LOGICAL_ID}"),
            &format!("samlfed:stack-id={STACK_ID}")
        ]
    );
    assert_eq!(h.iam_calls().await, ["iam:GetSAMLProvider", "iam:TagSAMLProvider", "iam:UntagSAMLProvider"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_name_creates_a_replacement_and_the_cleanup_delete_removes_the_old_one() {
    let (h, url) = harness_with_metadata().await;
    h.run(&h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await).await;

    let update = h
        .update(
            LOGICAL_ID,
            &Harness::provider_arn("Okta"),
            json!({"Name": "Okta-v2", "MetadataUrl": url}),
            json!({"Name": "Okta", "MetadataUrl": url}),
        )
        .await;
    let response = h.run(&update).await;
    assert_success(&response);
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta-v2"));
    assert_eq!(h.provider_names().await, ["Okta", "Okta-v2"], "both exist until CloudFormation's cleanup");

    let cleanup =
        h.delete(LOGICAL_ID, &Harness::provider_arn("Okta"), json!({"Name": "Okta", "MetadataUrl": url})).await;
    assert_success(&h.run(&cleanup).await);
    assert_eq!(h.provider_names().await, ["Okta-v2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_removes_our_provider_and_a_second_delete_still_succeeds() {
    let (h, url) = harness_with_metadata().await;
    let props = json!({"Name": "Okta", "MetadataUrl": url});
    h.run(&h.create(LOGICAL_ID, props.clone()).await).await;
    h.emulator.clear_calls().await;

    let delete = h.delete(LOGICAL_ID, &Harness::provider_arn("Okta"), props.clone()).await;
    let response = h.run(&delete).await;
    assert_success(&response);
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"));
    assert!(h.provider_names().await.is_empty());
    assert_eq!(h.iam_calls().await, ["iam:GetSAMLProvider", "iam:DeleteSAMLProvider"]);

    // Lambda's async retry delivers the same Delete again: NoSuchEntity is success.
    let again = h.run(&delete).await;
    assert_success(&again);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_leaves_a_foreign_provider_alone() {
    let h = Harness::start().await;
    h.create_foreign_provider("Corp", &idp_metadata()).await;
    let response = h.run(&h.delete(LOGICAL_ID, &Harness::provider_arn("Corp"), json!({"Name": "Corp"})).await).await;
    assert_success(&response);
    assert_eq!(h.provider_names().await, ["Corp"], "not ours: never deleted");
    assert_eq!(h.iam_calls().await, ["iam:GetSAMLProvider"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_of_our_own_name_from_another_stack_is_left_alone() {
    let (h, url) = harness_with_metadata().await;
    h.run(&h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await).await;
    let mut delete = h.delete("SomeOtherResource", &Harness::provider_arn("Okta"), json!({"Name": "Okta"})).await;
    assert_success(&h.run(&delete).await);
    delete["StackId"] = json!("arn:aws:cloudformation:us-east-1:123456789012:stack/other/guid");
    delete["LogicalResourceId"] = json!(LOGICAL_ID);
    assert_success(&h.run(&delete).await);
    assert_eq!(h.provider_names().await, ["Okta"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn create_over_a_foreign_provider_fails_and_the_rollback_delete_keeps_it() {
    let (h, url) = harness_with_metadata().await;
    let theirs = idp_metadata_variant("https://theirs.example.org");
    h.create_foreign_provider("Okta", &theirs).await;

    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await;
    let response = h.run(&create).await;
    assert_eq!(response["Status"], "FAILED");
    let reason = response["Reason"].as_str().unwrap();
    assert!(
        reason.contains("Name") && reason.contains("already exists") && reason.contains("Choose another Name"),
        "{reason}"
    );
    let physical_id = response["PhysicalResourceId"].as_str().unwrap().to_string();
    assert!(!physical_id.starts_with("arn:"), "the failed Create names no provider: {physical_id}");

    // CloudFormation rolls back with a Delete of the id we returned.
    h.emulator.clear_calls().await;
    let rollback = h.run(&h.delete(LOGICAL_ID, &physical_id, json!({"Name": "Okta", "MetadataUrl": url})).await).await;
    assert_success(&rollback);
    assert!(h.iam_calls().await.is_empty(), "the rollback Delete made no IAM call");
    let provider = h.provider("Okta").await.expect("the foreign provider survives");
    assert_eq!(provider.saml_metadata_document(), Some(theirs.as_str()), "and was not modified");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_create_converges_to_the_same_provider_and_answer() {
    let (h, url) = harness_with_metadata().await;
    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await;
    let first = h.run(&create).await;
    let second = h.run(&create).await;
    assert_success(&first);
    assert_success(&second);
    assert_eq!(first["PhysicalResourceId"], second["PhysicalResourceId"]);
    assert_eq!(first["Data"], second["Data"]);
    assert_eq!(h.provider_names().await, ["Okta"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operation_past_the_deadline_is_answered_failed_and_delete_still_cleans_up() {
    let (h, url) = harness_with_metadata().await;
    // AWS that accepts connections and never answers: the S3 read hangs until the guard stops it.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging = Deps {
        clients: samlfed::aws::AwsClients {
            // CloudFormation answers the origin check; everything after it hangs.
            cloudformation: h.deps.clients.cloudformation.clone(),
            ..support::harness::clients_for(&format!("http://{}", black_hole.local_addr().unwrap()), "123456789012")
                .await
        },
        ..h.deps.clone()
    };
    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await;
    h.emulator.record_operation(&create).await;
    let remaining = Duration::from_secs(3);
    let started = Instant::now();
    let summary = handle(&hanging, LambdaEvent::new(create.clone(), Harness::context(remaining))).await.unwrap();
    assert!(started.elapsed() < remaining, "answered before the deadline, after {:?}", started.elapsed());
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "the operation had most of its time: {:?}",
        started.elapsed()
    );
    assert_eq!(summary["Delivered"], true);
    let response = h.response(&create).await.expect("answered");
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("Lambda deadline"), "{response}");
    // The id is the planned ARN, so the rollback Delete can clean up whatever a stopped Create made:
    // here, a provider that a retry of the same Create then made.
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"));
    assert_success(&h.run(&create).await);
    let rollback = h.run(&h.delete(LOGICAL_ID, &Harness::provider_arn("Okta"), json!({})).await).await;
    assert_success(&rollback);
    assert!(h.provider_names().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_for_a_non_aws_response_url_is_refused_without_any_call() {
    let (h, url) = harness_with_metadata().await;
    let mut event = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await;
    event["ResponseURL"] = json!("https://169.254.169.254/latest/meta-data/iam/security-credentials/?x=1");
    let summary = h.invoke(&event).await;
    assert_eq!(summary["Status"], "REFUSED");
    assert!(h.function_calls().await.is_empty(), "no AWS call, nothing fetched");
    assert!(h.response(&event).await.is_none(), "nothing PUT");
    assert!(h.provider_names().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_resource_type_is_answered_failed() {
    let h = Harness::start().await;
    let event = h.event("Create", "Custom::Nope", LOGICAL_ID, json!({"Name": "x"})).await;
    let response = h.run(&event).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("Custom::SAMLProvider"), "{response}");
    assert!(h.iam_calls().await.is_empty());
}
