//! `Custom::SAMLProvider` lifecycles against the local emulator: an event in, the response
//! CloudFormation would read and the IAM state out.
//!
//! Hand-written properties, and why: these are the resource type's contract for any template —
//! `Tags`, an inline `MetadataDocument`, foreign providers of the same name, exact AWS call counts
//! — which the project's own template never renders. What that template renders, and the
//! lifecycle it drives, is in `template_events.rs`. The harness still shapes every event as
//! CloudFormation does (scalars as strings, `ServiceToken` present).

use std::time::{Duration, Instant};

use lambda_runtime::LambdaEvent;
use samlfed::cfn::handler::{handle, Deps};
use serde_json::{json, Value};

use crate::support;
use crate::support::harness::{tags_of, Harness, STACK_ID};
use crate::support::{idp_metadata, idp_metadata_variant, sha256_hex};

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

// ---------------------------------------------------------------- AdoptExisting (docs/adoption.md)

const OTHER_STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/someone-elses/5a1e0c70-0000-4000-8000-000000000002";

/// Creates a provider the way an administrator following IAM Identity Center's console steps
/// does: no tags at all.
async fn create_by_hand(h: &Harness, name: &str, document: &str) -> String {
    let made = h.iam.create_saml_provider().name(name).saml_metadata_document(document).send().await.unwrap();
    h.emulator.clear_calls().await;
    made.saml_provider_arn().unwrap().to_string()
}

/// The provider's document, UUID and tags: what must not change when it is left untouched.
async fn snapshot(h: &Harness, name: &str) -> (Option<String>, Option<String>, Vec<String>) {
    let provider = h.provider(name).await.expect("the provider exists");
    (
        provider.saml_metadata_document().map(str::to_string),
        provider.saml_provider_uuid().map(str::to_string),
        tags_of(&provider),
    )
}

fn ownership_tags() -> [String; 2] {
    [format!("samlfed:logical-id={LOGICAL_ID}"), format!("samlfed:stack-id={STACK_ID}")]
}

#[tokio::test(flavor = "multi_thread")]
async fn create_over_a_hand_made_provider_fails_naming_adopt_existing_and_leaves_it_untouched() {
    let (h, url) = harness_with_metadata().await;
    let theirs = idp_metadata_variant("https://portal.sso.eu-west-1.amazonaws.com/saml/assertion/made-by-hand");
    create_by_hand(&h, "Okta", &theirs).await;
    let before = snapshot(&h, "Okta").await;

    for adopt in [None, Some("false")] {
        let mut props = json!({"Name": "Okta", "MetadataUrl": url});
        if let Some(value) = adopt {
            props["AdoptExisting"] = json!(value);
        }
        h.emulator.clear_calls().await;
        let response = h.run(&h.create(LOGICAL_ID, props).await).await;
        assert_eq!(response["Status"], "FAILED", "{response}");
        let reason = response["Reason"].as_str().unwrap();
        for phrase in ["Name: ", "already exists", "Choose another Name", "set AdoptExisting to \"true\""] {
            assert!(reason.contains(phrase), "{phrase:?} missing from: {reason}");
        }
        assert!(!response["PhysicalResourceId"].as_str().unwrap().starts_with("arn:"), "{response}");
        assert_eq!(h.iam_calls().await, ["iam:CreateSAMLProvider", "iam:GetSAMLProvider"], "nothing written");
    }
    assert_eq!(snapshot(&h, "Okta").await, before, "document, UUID and (no) tags as they were");
}

#[tokio::test(flavor = "multi_thread")]
async fn adopt_existing_takes_over_a_hand_made_provider_tags_it_ours_and_converges_its_metadata() {
    let (h, url) = harness_with_metadata().await;
    let theirs = idp_metadata_variant("https://portal.sso.eu-west-1.amazonaws.com/saml/assertion/made-by-hand");
    let arn = create_by_hand(&h, "Okta", &theirs).await;
    let uuid_before = h.provider("Okta").await.unwrap().saml_provider_uuid().map(str::to_string);

    let props = json!({"Name": "Okta", "MetadataUrl": url, "AdoptExisting": "true", "Tags": [{"Key": "team", "Value": "platform"}]});
    let create = h.create(LOGICAL_ID, props).await;
    let response = h.run(&create).await;

    assert_success(&response);
    assert_eq!(response["PhysicalResourceId"], arn, "the id a Create returns");
    let data = &response["Data"];
    assert_eq!(data["Adopted"], "true");
    assert_eq!(data["Arn"], arn);
    assert_eq!(data["EntityId"], "https://idp.example.com/saml2/idp", "the stack's metadata, not the hand-made one");
    assert_eq!(data["Uuid"].as_str(), uuid_before.as_deref(), "the same provider: not deleted and re-created");
    let provider = h.provider("Okta").await.unwrap();
    assert_eq!(provider.saml_metadata_document(), Some(idp_metadata().as_str()), "metadata converged");
    let tags = tags_of(&provider);
    assert_eq!(tags.len(), 4, "{tags:?}");
    assert!(tags.iter().any(|t| t.starts_with("samlfed:adopted=20")), "adoption remembered with its time: {tags:?}");
    for tag in ownership_tags().iter().chain([&"team=platform".to_string()]) {
        assert!(tags.contains(tag), "{tag} missing from {tags:?}");
    }
    // The audit trail: one Tag call claims it (CloudTrail: TagSAMLProvider by the function's role).
    assert_eq!(
        h.iam_calls().await,
        ["iam:CreateSAMLProvider", "iam:GetSAMLProvider", "iam:TagSAMLProvider", "iam:UpdateSAMLProvider"]
    );

    // Lambda replays the Create: the provider is ours now; same answer, nothing written.
    h.emulator.clear_calls().await;
    let again = h.run(&create).await;
    assert_success(&again);
    assert_eq!(again["PhysicalResourceId"], response["PhysicalResourceId"]);
    assert_eq!(again["Data"], response["Data"]);
    assert_eq!(h.iam_calls().await, ["iam:CreateSAMLProvider", "iam:GetSAMLProvider"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn adopt_existing_refuses_a_provider_another_stack_manages() {
    let (h, url) = harness_with_metadata().await;
    let theirs = idp_metadata_variant("https://theirs.example.org");
    // Made through samlfed by another stack: it carries that stack's ownership tags.
    let mut other = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": theirs})).await;
    other["StackId"] = json!(OTHER_STACK_ID);
    assert_success(&h.run(&other).await);
    let before = snapshot(&h, "Okta").await;

    h.emulator.clear_calls().await;
    let props = json!({"Name": "Okta", "MetadataUrl": url, "AdoptExisting": "true"});
    let response = h.run(&h.create(LOGICAL_ID, props.clone()).await).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().unwrap();
    for phrase in
        ["Name: ", "managed by another stack", OTHER_STACK_ID, "AdoptExisting never takes over", "left untouched"]
    {
        assert!(reason.contains(phrase), "{phrase:?} missing from: {reason}");
    }
    assert_eq!(h.iam_calls().await, ["iam:CreateSAMLProvider", "iam:GetSAMLProvider"], "nothing written");

    // The rollback Delete of the id we answered touches nothing either.
    let physical_id = response["PhysicalResourceId"].as_str().unwrap().to_string();
    assert!(!physical_id.starts_with("arn:"), "{physical_id}");
    h.emulator.clear_calls().await;
    assert_success(&h.run(&h.delete(LOGICAL_ID, &physical_id, props).await).await);
    assert!(h.iam_calls().await.is_empty());
    assert_eq!(snapshot(&h, "Okta").await, before, "the other stack's provider is as it was");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_leaves_an_adopted_provider_in_place_until_its_adopted_tag_is_removed() {
    let (h, url) = harness_with_metadata().await;
    let arn = create_by_hand(&h, "Okta", &idp_metadata_variant("https://made-by-hand.example.org")).await;
    let props = json!({"Name": "Okta", "MetadataUrl": url, "AdoptExisting": "true"});
    assert_success(&h.run(&h.create(LOGICAL_ID, props.clone()).await).await);

    // Stack deletion, or the rollback of a stack Create that failed later: the provider existed
    // before the stack and stays, still tagged (so a re-created stack finds it its own).
    h.emulator.clear_calls().await;
    let delete = h.delete(LOGICAL_ID, &arn, props.clone()).await;
    assert_success(&h.run(&delete).await);
    assert_eq!(h.provider_names().await, ["Okta"], "an adopted provider is never deleted");
    assert_eq!(h.iam_calls().await, ["iam:GetSAMLProvider"], "read, nothing written");

    // Removing samlfed:adopted by hand hands it over fully: the next Delete removes it.
    h.iam.untag_saml_provider().saml_provider_arn(&arn).tag_keys("samlfed:adopted").send().await.unwrap();
    assert_success(&h.run(&h.delete(LOGICAL_ID, &arn, props).await).await);
    assert!(h.provider_names().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_that_turn_adopt_existing_on_or_off_change_nothing_in_iam() {
    let (h, url) = harness_with_metadata().await;
    let arn = Harness::provider_arn("Okta");
    let off = json!({"Name": "Okta", "MetadataUrl": url, "AdoptExisting": "false"});
    let on = json!({"Name": "Okta", "MetadataUrl": url, "AdoptExisting": "true"});
    let created = h.run(&h.create(LOGICAL_ID, off.clone()).await).await;
    assert_success(&created);
    assert!(created["Data"].get("Adopted").is_none(), "created, not adopted: {created}");

    for (new, old) in [(on.clone(), off.clone()), (off, on)] {
        h.emulator.clear_calls().await;
        let response = h.run(&h.update(LOGICAL_ID, &arn, new, old).await).await;
        assert_success(&response);
        assert_eq!(response["Data"], created["Data"], "same provider, same answer");
        assert_eq!(h.iam_calls().await, ["iam:GetSAMLProvider"], "nothing written");
    }
    assert_eq!(tags_of(&h.provider("Okta").await.unwrap()), ownership_tags(), "no samlfed:adopted");
}

#[tokio::test(flavor = "multi_thread")]
async fn adopt_existing_takes_only_true_or_false() {
    let (h, url) = harness_with_metadata().await;
    create_by_hand(&h, "Okta", &idp_metadata()).await;
    for value in ["yes", "True", "1", ""] {
        h.emulator.clear_calls().await;
        let props = json!({"Name": "Okta", "MetadataUrl": url, "AdoptExisting": value});
        let response = h.run(&h.create(LOGICAL_ID, props).await).await;
        assert_eq!(response["Status"], "FAILED", "{value:?}: {response}");
        let reason = response["Reason"].as_str().unwrap();
        assert!(reason.contains("AdoptExisting: expected \"true\" or \"false\""), "{value:?}: {reason}");
        assert!(h.iam_calls().await.is_empty(), "{value:?}: no IAM call");
    }
    assert!(tags_of(&h.provider("Okta").await.unwrap()).is_empty());
}
