//! The fault matrix: every fault ends in exactly one CloudFormation response with the
//! right Status, and IAM in the right state; a failed Create's rollback Delete never removes a
//! resource that existed before.
//!
//! Faults come from the emulator where it can produce them (NoSuchKey, NoSuchBucket, the 100
//! providers quota, NoSuchEntity) and from `support::fault_proxy` — a proxy in front of the
//! emulator — for the rest (throttling, 5xx, AccessDenied, InvalidInput, ConcurrentModification,
//! slow bodies, response URLs that fail or never answer). A panic is injected with
//! aws-smithy-mocks. Every count below is exact: the proxy logs each attempt, the emulator's call
//! log each response PUT.
//!
//! Hand-written properties, and why: each fault needs the smallest event that reaches the failing
//! call; the events of the project's template are covered in `template_events.rs`.

use std::time::{Duration, Instant};

use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};
use samlfed::cfn::handler::Deps;
use serde_json::{json, Value};

use crate::support;
use crate::support::fault_proxy::{clients_via, refused_port, Fault, FaultProxy, Match};
use crate::support::function::Function;
use crate::support::harness::{tags_of, Harness, FUNCTION_KEY, METADATA_BUCKET};
use crate::support::{idp_metadata, idp_metadata_variant};

const LOGICAL_ID: &str = "IdentityProvider";
const ROLE: &str = "Custom::SAMLRole";
const ROLE_ID: &str = "FederatedRole";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
/// What a Lambda invocation has left in the ordinary case.
const PLENTY: Duration = Duration::from_secs(60);

/// An emulator, a fault proxy in front of it, and the function's dependencies with its AWS
/// clients going through the proxy (response URLs stay on the emulator).
struct Rig {
    h: Harness,
    proxy: FaultProxy,
    deps: Deps,
}

async fn rig() -> Rig {
    let h = Harness::start().await;
    let proxy = FaultProxy::start(Some(&h.emulator.endpoint()));
    let deps = Deps { clients: clients_via(&proxy.endpoint(), FUNCTION_KEY).await, ..h.deps.clone() };
    Rig { h, proxy, deps }
}

/// The metadata a foreign provider holds: not ours, never to be touched.
fn theirs() -> String {
    idp_metadata_variant("https://theirs.example.org/idp")
}

/// Invokes `event` with `deps`; asserts exactly one response reached CloudFormation and returns it.
async fn answered(h: &Harness, deps: &Deps, event: &Value) -> Value {
    h.emulator.clear_calls().await;
    let summary = h.invoke_with(deps, event, PLENTY).await;
    assert_eq!(summary["Delivered"], true, "{summary}");
    assert_eq!(h.response_puts().await, 1, "exactly one response PUT for {}", event["RequestType"]);
    h.response(event).await.expect("answered")
}

fn reason(response: &Value) -> &str {
    response["Reason"].as_str().unwrap_or_else(|| panic!("a Reason in {response}"))
}

fn assert_failed(response: &Value, phrases: &[&str]) {
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = reason(response);
    for phrase in phrases {
        assert!(reason.contains(phrase), "Reason should contain {phrase:?}: {reason}");
    }
}

/// The foreign provider `name` still exists, with its own document and tags.
async fn assert_foreign_intact(h: &Harness, name: &str, document: &str) {
    let provider = h.provider(name).await.unwrap_or_else(|| panic!("the foreign provider {name} was deleted"));
    assert_eq!(provider.saml_metadata_document(), Some(document), "{name} was modified");
    assert_eq!(tags_of(&provider), ["owner=another-team"], "{name}'s tags were modified");
}

/// CloudFormation's rollback of a failed Create: a Delete of the PhysicalResourceId it returned.
/// It must be answered SUCCESS once, and leave the foreign provider `Okta` as it was.
async fn rollback_spares_foreign(r: &Rig, failed: &Value) {
    let physical_id = failed["PhysicalResourceId"].as_str().expect("a PhysicalResourceId");
    let delete = r.h.delete(LOGICAL_ID, physical_id, json!({"Name": "Okta"})).await;
    let response = answered(&r.h, &r.deps, &delete).await;
    assert_eq!(response["Status"], "SUCCESS", "the rollback Delete succeeds: {response}");
    assert!(!r.h.iam_calls().await.iter().any(|c| c.contains("Delete")), "the rollback deleted nothing");
    assert_foreign_intact(&r.h, "Okta", &theirs()).await;
}

/// A Create of `Okta` from S3 (key `metadata/idp.xml`) while a foreign `Okta` exists.
async fn create_over_foreign(r: &Rig) -> Value {
    r.h.create_foreign_provider("Okta", &theirs()).await;
    let (url, _) = r.h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    r.h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await
}

/// A Create of `Okta` from S3 while a foreign provider of another name (`Corp`) exists.
async fn create_beside_foreign(r: &Rig) -> Value {
    r.h.create_foreign_provider("Corp", &theirs()).await;
    let (url, _) = r.h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    r.h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await
}

/// The provider `Okta` exists, is ours, and holds `document`.
async fn assert_ours(h: &Harness, document: &str) {
    let provider = h.provider("Okta").await.expect("Okta exists");
    assert_eq!(provider.saml_metadata_document(), Some(document));
    assert!(tags_of(&provider).iter().any(|t| t.starts_with("samlfed:stack-id=")), "ours: {provider:?}");
}

// ------------------------------------------------------------------------------------- S3

#[tokio::test(flavor = "multi_thread")]
async fn s3_no_such_key_fails_before_iam_and_the_rollback_spares_the_foreign_provider() {
    let r = rig().await;
    r.h.create_foreign_provider("Okta", &theirs()).await;
    let url = format!("s3://{METADATA_BUCKET}/metadata/absent.xml");
    let create = r.h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await;
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(&response, &["MetadataUrl s3://", "NoSuchKey", "upload the document"]);
    assert!(r.h.iam_calls().await.is_empty());
    rollback_spares_foreign(&r, &response).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_no_such_bucket_fails_before_iam_and_the_rollback_spares_the_foreign_provider() {
    let r = rig().await;
    r.h.create_foreign_provider("Okta", &theirs()).await;
    let create =
        r.h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": "s3://no-such-bucket-here/idp.xml"})).await;
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(&response, &["NoSuchBucket", "check the bucket name"]);
    assert!(r.h.iam_calls().await.is_empty());
    rollback_spares_foreign(&r, &response).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_access_denied_names_the_permission_after_the_bounded_retry() {
    let r = rig().await;
    let create = create_over_foreign(&r).await;
    // IAM's eventual consistency: a just-created execution role is refused for a while, so the
    // function asks again (samlfed::aws::ACCESS_DENIED_RETRY) before it gives up.
    let attempts = samlfed::aws::ACCESS_DENIED_RETRY.attempts_made() as usize;
    r.proxy.inject(Match::S3Get, vec![Fault::s3_error(403, "AccessDenied", "Access Denied"); attempts]);
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(&response, &["AccessDenied", "s3:GetObject", "bucket policy"]);
    assert_eq!(r.proxy.count(&Match::S3Get), attempts, "refused on every attempt of the bounded retry");
    assert!(r.h.iam_calls().await.is_empty());
    rollback_spares_foreign(&r, &response).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_503_and_500_are_retried_and_the_create_succeeds() {
    let r = rig().await;
    let create = create_beside_foreign(&r).await;
    r.proxy.inject(
        Match::S3Get,
        [
            Fault::s3_error(503, "SlowDown", "Please reduce your request rate."),
            Fault::s3_error(500, "InternalError", "We encountered an internal error."),
        ],
    );
    let response = answered(&r.h, &r.deps, &create).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(r.proxy.count(&Match::S3Get), 3, "two faults, then the object");
    assert_ours(&r.h, &idp_metadata()).await;
    assert_foreign_intact(&r.h, "Corp", &theirs()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_that_keeps_failing_is_given_up_after_the_bounded_attempts() {
    let r = rig().await;
    let create = create_over_foreign(&r).await;
    r.proxy.inject(Match::S3Get, vec![Fault::s3_error(503, "SlowDown", "Please reduce your request rate."); 10]);
    let started = Instant::now();
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(&response, &["MetadataUrl s3://", "SlowDown"]);
    assert_eq!(r.proxy.count(&Match::S3Get), samlfed::aws::MAX_ATTEMPTS as usize, "bounded by the SDK's attempts");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(r.h.iam_calls().await.is_empty());
    rollback_spares_foreign(&r, &response).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_body_slower_than_the_metadata_timeout_is_abandoned() {
    let mut r = rig().await;
    r.deps.settings.metadata_timeout = Duration::from_millis(800);
    let create = create_over_foreign(&r).await;
    // ~3.3 KB in 64-byte pieces every 100 ms: about five seconds, far past the timeout.
    r.proxy.inject(Match::S3Get, [Fault::SlowBody { chunk: 64, every: Duration::from_millis(100) }]);
    let started = Instant::now();
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(&response, &["MetadataUrl s3://", "did not deliver the object within 800ms"]);
    assert!(started.elapsed() < Duration::from_secs(3), "stopped at the timeout: {:?}", started.elapsed());
    assert!(r.h.iam_calls().await.is_empty());
    rollback_spares_foreign(&r, &response).await;
}

// ------------------------------------------------------------------------------------ IAM

#[tokio::test(flavor = "multi_thread")]
async fn iam_throttling_is_retried_and_the_create_succeeds_once() {
    let r = rig().await;
    let create = create_beside_foreign(&r).await;
    r.proxy.inject(Match::Iam("CreateSAMLProvider"), vec![Fault::iam_error(400, "Throttling", "Rate exceeded"); 2]);
    let response = answered(&r.h, &r.deps, &create).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(r.proxy.count(&Match::Iam("CreateSAMLProvider")), 3);
    assert_eq!(r.h.provider_names().await, ["Corp", "Okta"]);
    assert_ours(&r.h, &idp_metadata()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_throttling_that_never_ends_is_bounded_and_the_rollback_spares_the_foreign_provider() {
    let r = rig().await;
    let create = create_over_foreign(&r).await;
    r.proxy.inject(Match::Iam("CreateSAMLProvider"), vec![Fault::iam_error(400, "Throttling", "Rate exceeded"); 10]);
    let started = Instant::now();
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(&response, &["CreateSAMLProvider", "Throttling"]);
    assert_eq!(r.proxy.count(&Match::Iam("CreateSAMLProvider")), samlfed::aws::MAX_ATTEMPTS as usize);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // The id is the planned ARN — here the foreign provider's — and the rollback must still spare it.
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"));
    rollback_spares_foreign(&r, &response).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_limit_exceeded_at_101_providers_names_the_quota_and_deletes_none_of_the_100() {
    let r = rig().await;
    let document = theirs();
    for i in 0..100 {
        r.h.iam
            .create_saml_provider()
            .name(format!("Team{i:03}"))
            .saml_metadata_document(&document)
            .send()
            .await
            .unwrap();
    }
    let (url, _) = r.h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let create = r.h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await;
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(&response, &["quota of 100 SAML providers", "delete providers that are no longer used"]);
    let physical_id = response["PhysicalResourceId"].as_str().unwrap();
    let rollback = answered(&r.h, &r.deps, &r.h.delete(LOGICAL_ID, physical_id, json!({})).await).await;
    assert_eq!(rollback["Status"], "SUCCESS", "{rollback}");
    let names = r.h.provider_names().await;
    assert_eq!(names.len(), 100, "none of the 100 was deleted, none added");
    assert!(names.iter().all(|n| n.starts_with("Team")));
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_invalid_input_is_not_retried_and_says_to_check_the_properties() {
    let r = rig().await;
    let create = create_over_foreign(&r).await;
    r.proxy.inject(
        Match::Iam("CreateSAMLProvider"),
        [Fault::iam_error(400, "InvalidInput", "SAMLMetadataDocument is invalid")],
    );
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(&response, &["InvalidInput", "check the resource's properties"]);
    assert_eq!(r.proxy.count(&Match::Iam("CreateSAMLProvider")), 1);
    rollback_spares_foreign(&r, &response).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_access_denied_names_the_missing_permission() {
    let r = rig().await;
    let create = create_over_foreign(&r).await;
    let attempts = samlfed::aws::ACCESS_DENIED_RETRY.attempts_made() as usize;
    r.proxy.inject(
        Match::Iam("CreateSAMLProvider"),
        vec![
            Fault::iam_error(403, "AccessDenied", "User is not authorized to perform: iam:CreateSAMLProvider");
            attempts
        ],
    );
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(
        &response,
        &["may not call iam:CreateSAMLProvider", "grant it in the role's policy", "denied on all 4 attempts"],
    );
    assert_eq!(r.proxy.count(&Match::Iam("CreateSAMLProvider")), attempts);
    rollback_spares_foreign(&r, &response).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_stopped_by_iam_errors_after_it_made_the_provider_is_cleaned_by_its_rollback() {
    let r = rig().await;
    let create = create_beside_foreign(&r).await;
    // The provider is created; reading it back fails on every attempt.
    r.proxy.inject(Match::Iam("GetSAMLProvider"), vec![Fault::iam_error(500, "ServiceFailure", "internal failure"); 4]);
    let response = answered(&r.h, &r.deps, &create).await;
    assert_failed(&response, &["GetSAMLProvider", "ServiceFailure"]);
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"), "the id names what was made");
    assert_ours(&r.h, &idp_metadata()).await;
    let rollback =
        answered(&r.h, &r.deps, &r.h.delete(LOGICAL_ID, &Harness::provider_arn("Okta"), json!({})).await).await;
    assert_eq!(rollback["Status"], "SUCCESS", "{rollback}");
    assert_eq!(r.h.provider_names().await, ["Corp"], "ours removed, the foreign one kept");
    assert_foreign_intact(&r.h, "Corp", &theirs()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_concurrent_modification_fails_the_update_unchanged_and_a_replay_converges() {
    let r = rig().await;
    let (url, _) = r.h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let old = json!({"Name": "Okta", "MetadataUrl": url});
    assert_eq!(answered(&r.h, &r.deps, &r.h.create(LOGICAL_ID, old.clone()).await).await["Status"], "SUCCESS");
    let rotated = idp_metadata_variant("https://idp.example.org/rotated");
    let (_, version) = r.h.put_metadata("metadata/idp.xml", rotated.clone()).await;
    let new = json!({"Name": "Okta", "MetadataUrl": format!("{url}?versionId={version}")});
    let update = r.h.update(LOGICAL_ID, &Harness::provider_arn("Okta"), new, old).await;
    r.proxy.inject(
        Match::Iam("UpdateSAMLProvider"),
        [Fault::iam_error(409, "ConcurrentModification", "Another change is in progress")],
    );
    let response = answered(&r.h, &r.deps, &update).await;
    assert_failed(&response, &["ConcurrentModification", "retry the stack operation"]);
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"), "an Update keeps its id");
    assert_eq!(r.proxy.count(&Match::Iam("UpdateSAMLProvider")), 1, "not retried by the SDK");
    assert_ours(&r.h, &idp_metadata()).await;

    let replay = answered(&r.h, &r.deps, &update).await;
    assert_eq!(replay["Status"], "SUCCESS", "{replay}");
    assert_ours(&r.h, &rotated).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_no_such_entity_when_deleting_a_provider_that_just_vanished_is_success() {
    let r = rig().await;
    let create = r.h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
    assert_eq!(answered(&r.h, &r.deps, &create).await["Status"], "SUCCESS");
    r.proxy.inject(Match::Iam("DeleteSAMLProvider"), [Fault::iam_error(404, "NoSuchEntity", "not found")]);
    let delete = r.h.delete(LOGICAL_ID, &Harness::provider_arn("Okta"), json!({})).await;
    let response = answered(&r.h, &r.deps, &delete).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(r.proxy.count(&Match::Iam("DeleteSAMLProvider")), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_no_such_entity_on_update_recreates_the_provider_deleted_outside_cloudformation() {
    let r = rig().await;
    let props = json!({"Name": "Okta", "MetadataDocument": idp_metadata()});
    assert_eq!(answered(&r.h, &r.deps, &r.h.create(LOGICAL_ID, props.clone()).await).await["Status"], "SUCCESS");
    r.h.iam.delete_saml_provider().saml_provider_arn(Harness::provider_arn("Okta")).send().await.unwrap();
    let mut new = props.clone();
    new["Tags"] = json!([{"Key": "team", "Value": "platform"}]);
    let update = r.h.update(LOGICAL_ID, &Harness::provider_arn("Okta"), new, props).await;
    let response = answered(&r.h, &r.deps, &update).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"));
    assert_ours(&r.h, &idp_metadata()).await;
    assert!(tags_of(&r.h.provider("Okta").await.unwrap()).contains(&"team=platform".to_string()));
}

// ---------------------------------------------------------------------------- SAMLRole

/// A harness whose account has the provider `CorpIdP`, made through the function.
async fn rig_with_provider() -> Rig {
    let r = rig().await;
    let create = r.h.create("IdentityProvider", json!({"Name": "CorpIdP", "MetadataDocument": idp_metadata()})).await;
    assert_eq!(answered(&r.h, &r.deps, &create).await["Status"], "SUCCESS");
    r
}

fn role_props(provider: &str) -> Value {
    json!({"RoleName": "CorpReadOnly", "ProviderArn": Harness::provider_arn(provider), "ManagedPolicyArns": [READ_ONLY],
        "Policies": [{"PolicyName": "deny-iam", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}}]})
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{}:role/{name}", support::harness::ACCOUNT)
}

async fn role_event(r: &Rig, request_type: &str, props: Value, physical_id: Option<&str>, old: Option<Value>) -> Value {
    let mut event = r.h.event(request_type, ROLE, ROLE_ID, props).await;
    if let Some(id) = physical_id {
        event["PhysicalResourceId"] = json!(id);
    }
    if let Some(old) = old {
        event["OldResourceProperties"] = old;
    }
    event
}

async fn attached(h: &Harness, role: &str) -> Option<(Vec<String>, Vec<String>)> {
    h.iam.get_role().role_name(role).send().await.ok()?;
    let managed = h.iam.list_attached_role_policies().role_name(role).send().await.unwrap();
    let managed = managed.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect();
    let inline = h.iam.list_role_policies().role_name(role).send().await.unwrap().policy_names().to_vec();
    Some((managed, inline))
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_malformed_policy_document_from_a_just_created_provider_is_retried_on_update() {
    let r = rig_with_provider().await;
    let old = role_props("CorpIdP");
    let created = answered(&r.h, &r.deps, &role_event(&r, "Create", old.clone(), None, None).await).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    // A second provider, just created: IAM refuses trust policies naming it for a moment.
    let create = r.h.create("SecondIdP", json!({"Name": "NewIdP", "MetadataDocument": idp_metadata()})).await;
    assert_eq!(answered(&r.h, &r.deps, &create).await["Status"], "SUCCESS");
    r.proxy.inject(
        Match::Iam("UpdateAssumeRolePolicy"),
        vec![Fault::iam_error(400, "MalformedPolicyDocument", "Invalid principal in policy"); 2],
    );
    let update = role_event(&r, "Update", role_props("NewIdP"), Some(&role_arn("CorpReadOnly")), Some(old)).await;
    let response = answered(&r.h, &r.deps, &update).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(r.proxy.count(&Match::Iam("UpdateAssumeRolePolicy")), 3, "retried past IAM's propagation");
    assert!(response["Data"]["IdentityCenterRoleAttribute"]
        .as_str()
        .unwrap()
        .starts_with(&Harness::provider_arn("NewIdP")));
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_no_such_entity_on_a_role_update_recreates_the_role_deleted_outside_cloudformation() {
    let r = rig_with_provider().await;
    let props = role_props("CorpIdP");
    assert_eq!(
        answered(&r.h, &r.deps, &role_event(&r, "Create", props.clone(), None, None).await).await["Status"],
        "SUCCESS"
    );
    r.h.iam.detach_role_policy().role_name("CorpReadOnly").policy_arn(READ_ONLY).send().await.unwrap();
    r.h.iam.delete_role_policy().role_name("CorpReadOnly").policy_name("deny-iam").send().await.unwrap();
    r.h.iam.delete_role().role_name("CorpReadOnly").send().await.unwrap();
    let update = role_event(&r, "Update", props.clone(), Some(&role_arn("CorpReadOnly")), Some(props)).await;
    let response = answered(&r.h, &r.deps, &update).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(attached(&r.h, "CorpReadOnly").await, Some((vec![READ_ONLY.to_string()], vec!["deny-iam".to_string()])));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_replacement_that_fails_after_iam_made_the_new_role_removes_it_and_keeps_the_old() {
    let r = rig_with_provider().await;
    let old = role_props("CorpIdP");
    assert_eq!(
        answered(&r.h, &r.deps, &role_event(&r, "Create", old.clone(), None, None).await).await["Status"],
        "SUCCESS"
    );
    let mut renamed = old.clone();
    renamed["RoleName"] = json!("CorpReadOnly2");
    // The new role is created; attaching its managed policy fails on every attempt.
    r.proxy
        .inject(Match::Iam("AttachRolePolicy"), vec![Fault::iam_error(500, "ServiceFailure", "internal failure"); 4]);
    let update = role_event(&r, "Update", renamed, Some(&role_arn("CorpReadOnly")), Some(old)).await;
    let response = answered(&r.h, &r.deps, &update).await;
    assert_failed(&response, &["AttachRolePolicy", "ServiceFailure"]);
    assert_eq!(response["PhysicalResourceId"], role_arn("CorpReadOnly"), "the old id stands");
    assert_eq!(attached(&r.h, "CorpReadOnly2").await, None, "the new role was removed again");
    assert_eq!(
        attached(&r.h, "CorpReadOnly").await,
        Some((vec![READ_ONLY.to_string()], vec!["deny-iam".to_string()])),
        "the old role is as it was"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_no_such_entity_while_detaching_during_a_role_delete_still_deletes_the_role() {
    let r = rig_with_provider().await;
    let props = role_props("CorpIdP");
    assert_eq!(
        answered(&r.h, &r.deps, &role_event(&r, "Create", props.clone(), None, None).await).await["Status"],
        "SUCCESS"
    );
    // The policy was detached by someone else between our List and our Detach.
    r.h.iam.detach_role_policy().role_name("CorpReadOnly").policy_arn(READ_ONLY).send().await.unwrap();
    r.proxy.inject(Match::Iam("ListAttachedRolePolicies"), [Fault::Respond {
        status: 200,
        content_type: "text/xml",
        body: format!("<ListAttachedRolePoliciesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListAttachedRolePoliciesResult><IsTruncated>false</IsTruncated><AttachedPolicies><member><PolicyName>ReadOnlyAccess</PolicyName><PolicyArn>{READ_ONLY}</PolicyArn></member></AttachedPolicies></ListAttachedRolePoliciesResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></ListAttachedRolePoliciesResponse>"),
    }]);
    let delete = role_event(&r, "Delete", props, Some(&role_arn("CorpReadOnly")), None).await;
    let response = answered(&r.h, &r.deps, &delete).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert!(r.proxy.log().iter().any(|s| s.label() == "iam:DetachRolePolicy"), "{:?}", r.proxy.log());
    assert_eq!(attached(&r.h, "CorpReadOnly").await, None, "the role is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_create_throttled_to_the_end_spares_a_foreign_role_on_rollback() {
    let r = rig_with_provider().await;
    let trust = samlfed::resources::saml_role::trust_policy(
        &Harness::provider_arn("CorpIdP"),
        &["https://signin.aws.amazon.com/saml".into()],
    );
    r.h.iam
        .create_role()
        .role_name("CorpReadOnly")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    r.proxy.inject(Match::Iam("CreateRole"), vec![Fault::iam_error(400, "Throttling", "Rate exceeded"); 10]);
    let response = answered(&r.h, &r.deps, &role_event(&r, "Create", role_props("CorpIdP"), None, None).await).await;
    assert_failed(&response, &["CreateRole", "Throttling"]);
    let physical_id = response["PhysicalResourceId"].as_str().unwrap().to_string();
    let rollback = answered(&r.h, &r.deps, &role_event(&r, "Delete", json!({}), Some(&physical_id), None).await).await;
    assert_eq!(rollback["Status"], "SUCCESS", "{rollback}");
    assert_eq!(attached(&r.h, "CorpReadOnly").await, Some((vec![], vec![])), "the foreign role is intact");
}

// ------------------------------------------------------------------------ response URL

/// Deps that answer through `proxy` (its origin is the allowed endpoint), with AWS calls going
/// straight to the emulator; and `event` with its ResponseURL moved onto the proxy.
fn via_response_proxy(h: &Harness, proxy_endpoint: &str, event: &Value) -> (Deps, Value) {
    let mut deps = h.deps.clone();
    deps.settings.endpoint_url = Some(url::Url::parse(proxy_endpoint).unwrap());
    deps.settings.response_timeout = Duration::from_millis(300);
    let mut event = event.clone();
    let url = event["ResponseURL"].as_str().unwrap().replace(&h.emulator.endpoint(), proxy_endpoint);
    event["ResponseURL"] = json!(url);
    (deps, event)
}

/// After a response that could not be delivered: the same event again, answered on a working
/// URL, converges to the same id and data, with the IAM state `check` expects.
async fn replay_converges(h: &Harness, event: &Value, physical_id: &str) -> Value {
    let replay = answered(h, &h.deps, event).await;
    assert_eq!(replay["Status"], "SUCCESS", "{replay}");
    assert_eq!(replay["PhysicalResourceId"], physical_id);
    replay
}

#[tokio::test(flavor = "multi_thread")]
async fn response_put_500_then_429_then_200_is_delivered_once() {
    let h = Harness::start().await;
    let proxy = FaultProxy::start(Some(&h.emulator.endpoint()));
    proxy.inject(Match::Put, [Fault::status(500), Fault::status(429)]);
    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
    let (deps, event) = via_response_proxy(&h, &proxy.endpoint(), &create);
    h.emulator.clear_calls().await;
    let summary = h.invoke_with(&deps, &event, PLENTY).await;
    assert_eq!(summary, json!({"Status": "SUCCESS", "Delivered": true}));
    let outcomes: Vec<String> = proxy.log().into_iter().map(|s| s.outcome).collect();
    assert_eq!(outcomes, ["status 500", "status 429", "forwarded"]);
    assert_eq!(h.response_puts().await, 1, "one response reached CloudFormation");
    assert_eq!(h.response(&create).await.unwrap()["Status"], "SUCCESS");
    assert_ours(&h, &idp_metadata()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn response_put_403_is_not_retried_and_a_replay_converges() {
    let h = Harness::start().await;
    let proxy = FaultProxy::start(Some(&h.emulator.endpoint()));
    proxy.inject(Match::Put, vec![Fault::status(403); 5]);
    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
    let (deps, event) = via_response_proxy(&h, &proxy.endpoint(), &create);
    let started = Instant::now();
    let summary = h.invoke_with(&deps, &event, PLENTY).await;
    assert_eq!(summary, json!({"Status": "SUCCESS", "Delivered": false}));
    assert_eq!(proxy.count(&Match::Put), 1, "a 403 is final");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // The provider was made before the answer failed; the same event again converges on it.
    assert_ours(&h, &idp_metadata()).await;
    let replay = replay_converges(&h, &create, &Harness::provider_arn("Okta")).await;
    assert_eq!(h.provider_names().await, ["Okta"]);
    assert!(replay["Data"]["Uuid"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn response_url_refusing_connections_is_tried_a_bounded_number_of_times() {
    let h = Harness::start().await;
    let dead = format!("http://127.0.0.1:{}", refused_port());
    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
    let (deps, event) = via_response_proxy(&h, &dead, &create);
    let started = Instant::now();
    let summary = h.invoke_with(&deps, &event, PLENTY).await;
    assert_eq!(summary, json!({"Status": "SUCCESS", "Delivered": false}));
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_ours(&h, &idp_metadata()).await;
    replay_converges(&h, &create, &Harness::provider_arn("Okta")).await;
    assert_eq!(h.provider_names().await, ["Okta"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn response_url_never_answering_times_out_each_attempt() {
    let h = Harness::start().await;
    let proxy = FaultProxy::start(Some(&h.emulator.endpoint()));
    proxy.inject(Match::Put, vec![Fault::Hang; 10]);
    let props = json!({"Name": "Okta", "MetadataDocument": idp_metadata()});
    assert_eq!(h.run(&h.create(LOGICAL_ID, props.clone()).await).await["Status"], "SUCCESS");
    let delete = h.delete(LOGICAL_ID, &Harness::provider_arn("Okta"), props).await;
    let (deps, event) = via_response_proxy(&h, &proxy.endpoint(), &delete);
    let started = Instant::now();
    let summary = h.invoke_with(&deps, &event, PLENTY).await;
    assert_eq!(summary, json!({"Status": "SUCCESS", "Delivered": false}));
    assert_eq!(proxy.count(&Match::Put), deps.settings.response_attempts as usize);
    // 3 attempts of 300 ms and two short backoffs.
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(h.provider_names().await.is_empty(), "the delete happened");
    // A replayed Delete finds nothing and still answers SUCCESS.
    let replay = answered(&h, &h.deps, &delete).await;
    assert_eq!(replay["Status"], "SUCCESS");
}

#[tokio::test(flavor = "multi_thread")]
async fn response_url_never_answering_is_abandoned_before_the_lambda_deadline() {
    let h = Harness::start().await;
    let proxy = FaultProxy::start(Some(&h.emulator.endpoint()));
    proxy.inject(Match::Put, vec![Fault::Hang; 10]);
    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
    let (mut deps, event) = via_response_proxy(&h, &proxy.endpoint(), &create);
    deps.settings.response_timeout = samlfed::settings::Settings::default().response_timeout; // production: 5 s
    let remaining = Duration::from_secs(2);
    let started = Instant::now();
    let summary = h.invoke_with(&deps, &event, remaining).await;
    assert_eq!(summary["Delivered"], false);
    assert!(started.elapsed() < remaining, "the handler ran past the Lambda deadline: {:?}", started.elapsed());
}

// ------------------------------------------------------------------------------ panic

/// An IAM client whose CreateSAMLProvider panics inside the SDK call: a bug in a dependency.
fn panicking_iam() -> aws_sdk_iam::Client {
    let rule = mock!(aws_sdk_iam::Client::create_saml_provider)
        .then_compute_output(|_| panic!("simulated bug inside the SDK"));
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new("AKID", "secret", None, None, "mock"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(MockResponseInterceptor::new().rule_mode(RuleMode::Sequential).with_rule(&rule))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_during_the_operation_is_still_answered_failed_once() {
    let h = Harness::start().await;
    let mut deps = h.deps.clone();
    deps.clients.iam = panicking_iam();
    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
    let response = answered(&h, &deps, &create).await;
    assert_failed(&response, &["panicked", "simulated bug inside the SDK", "report this"]);
    assert_eq!(
        response["PhysicalResourceId"],
        Harness::provider_arn("Okta"),
        "the planned id, so a Delete can clean up"
    );
    let rollback = answered(&h, &h.deps, &h.delete(LOGICAL_ID, &Harness::provider_arn("Okta"), json!({})).await).await;
    assert_eq!(rollback["Status"], "SUCCESS");
    assert!(h.provider_names().await.is_empty());
}

#[test]
fn the_release_profile_keeps_unwinding_so_a_panic_can_be_answered() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let release = manifest.split("[profile.release]").nth(1).expect("a [profile.release] section");
    let release = release.split("\n[").next().unwrap();
    let panic = release.lines().find(|l| l.trim_start().starts_with("panic")).expect("panic = set explicitly");
    assert_eq!(panic.split('=').nth(1).map(|v| v.trim().trim_matches('"')), Some("unwind"), "{panic}");
}

// --------------------------------------------------------------------------- deadline

#[tokio::test(flavor = "multi_thread")]
async fn a_create_stopped_at_the_deadline_after_iam_made_the_provider_is_cleaned_by_delete() {
    let r = rig().await;
    let create = create_beside_foreign(&r).await;
    r.proxy.inject(Match::Iam("GetSAMLProvider"), [Fault::Hang]);
    let remaining = Duration::from_secs(3);
    let started = Instant::now();
    r.h.emulator.clear_calls().await;
    let summary = r.h.invoke_with(&r.deps, &create, remaining).await;
    assert!(started.elapsed() < remaining, "answered before the deadline: {:?}", started.elapsed());
    assert_eq!(summary, json!({"Status": "FAILED", "Delivered": true}));
    assert_eq!(r.h.response_puts().await, 1);
    let response = r.h.response(&create).await.unwrap();
    assert_failed(&response, &["Lambda deadline"]);
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"));
    assert_ours(&r.h, &idp_metadata()).await;
    let delete = r.h.delete(LOGICAL_ID, &Harness::provider_arn("Okta"), json!({})).await;
    assert_eq!(answered(&r.h, &r.deps, &delete).await["Status"], "SUCCESS");
    assert_eq!(r.h.provider_names().await, ["Corp"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_create_stopped_at_the_deadline_is_cleaned_by_delete() {
    let r = rig_with_provider().await;
    r.proxy.inject(Match::Iam("PutRolePolicy"), [Fault::Hang]);
    let create = role_event(&r, "Create", role_props("CorpIdP"), None, None).await;
    let remaining = Duration::from_secs(3);
    let started = Instant::now();
    r.h.emulator.clear_calls().await;
    let summary = r.h.invoke_with(&r.deps, &create, remaining).await;
    assert!(started.elapsed() < remaining, "{:?}", started.elapsed());
    assert_eq!(summary, json!({"Status": "FAILED", "Delivered": true}));
    assert_eq!(r.h.response_puts().await, 1);
    let response = r.h.response(&create).await.unwrap();
    assert_failed(&response, &["Lambda deadline"]);
    assert_eq!(response["PhysicalResourceId"], role_arn("CorpReadOnly"));
    assert_eq!(attached(&r.h, "CorpReadOnly").await, Some((vec![READ_ONLY.to_string()], vec![])), "half made");
    let delete = role_event(&r, "Delete", json!({}), Some(&role_arn("CorpReadOnly")), None).await;
    assert_eq!(answered(&r.h, &r.deps, &delete).await["Status"], "SUCCESS");
    assert_eq!(attached(&r.h, "CorpReadOnly").await, None);
}

// ----------------------------------------------------------------------------- replays

fn same_answer(first: &Value, second: &Value) {
    for field in ["Status", "PhysicalResourceId", "Data", "LogicalResourceId", "StackId", "RequestId"] {
        assert_eq!(first[field], second[field], "{field}: {first} vs {second}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_provider_update_converges_to_the_same_answer_and_writes_nothing_more() {
    let r = rig().await;
    let (url, _) = r.h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let old = json!({"Name": "Okta", "MetadataUrl": url, "Tags": [{"Key": "a", "Value": "1"}]});
    answered(&r.h, &r.deps, &r.h.create(LOGICAL_ID, old.clone()).await).await;
    let rotated = idp_metadata_variant("https://idp.example.org/rotated");
    let (_, version) = r.h.put_metadata("metadata/idp.xml", rotated.clone()).await;
    let new = json!({"Name": "Okta", "MetadataUrl": format!("{url}?versionId={version}"), "Tags": [{"Key": "b", "Value": "2"}]});
    let update = r.h.update(LOGICAL_ID, &Harness::provider_arn("Okta"), new, old).await;
    let first = answered(&r.h, &r.deps, &update).await;
    let second = answered(&r.h, &r.deps, &update).await;
    assert_eq!(first["Status"], "SUCCESS", "{first}");
    same_answer(&first, &second);
    assert_eq!(r.h.iam_calls().await, ["iam:GetSAMLProvider"], "the replay found nothing to change");
    assert_ours(&r.h, &rotated).await;
    let tags = tags_of(&r.h.provider("Okta").await.unwrap());
    assert!(tags.contains(&"b=2".to_string()) && !tags.contains(&"a=1".to_string()), "{tags:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_role_create_converges_to_the_same_role_and_answer() {
    let r = rig_with_provider().await;
    let create = role_event(&r, "Create", role_props("CorpIdP"), None, None).await;
    let first = answered(&r.h, &r.deps, &create).await;
    let second = answered(&r.h, &r.deps, &create).await;
    assert_eq!(first["Status"], "SUCCESS", "{first}");
    same_answer(&first, &second);
    // The replay meets EntityAlreadyExists, sees the role is ours and converges: nothing is attached
    // twice or removed; the inline policy is put again with the same document (idempotent).
    let calls = r.h.iam_calls().await;
    assert_eq!(calls.iter().filter(|c| *c == "iam:CreateRole").count(), 1, "{calls:?}");
    let writes = ["iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole"];
    assert!(!calls.iter().any(|c| writes.contains(&c.as_str())), "{calls:?}");
    assert_eq!(attached(&r.h, "CorpReadOnly").await, Some((vec![READ_ONLY.to_string()], vec!["deny-iam".to_string()])));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_role_update_converges_to_the_same_role_and_answer() {
    let r = rig_with_provider().await;
    let old = role_props("CorpIdP");
    answered(&r.h, &r.deps, &role_event(&r, "Create", old.clone(), None, None).await).await;
    let mut new = old.clone();
    new["ManagedPolicyArns"] = json!([]);
    new["Description"] = json!("no managed policy");
    let update = role_event(&r, "Update", new, Some(&role_arn("CorpReadOnly")), Some(old)).await;
    let first = answered(&r.h, &r.deps, &update).await;
    let second = answered(&r.h, &r.deps, &update).await;
    assert_eq!(first["Status"], "SUCCESS", "{first}");
    same_answer(&first, &second);
    assert_eq!(r.h.iam_calls().await, ["iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]);
    assert_eq!(attached(&r.h, "CorpReadOnly").await, Some((vec![], vec!["deny-iam".to_string()])));
}

// ------------------------------------------------------------------ replacement / rollback

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_onto_a_foreign_name_fails_and_touches_neither_provider() {
    let r = rig().await;
    let props = json!({"Name": "Okta", "MetadataDocument": idp_metadata()});
    answered(&r.h, &r.deps, &r.h.create(LOGICAL_ID, props.clone()).await).await;
    r.h.create_foreign_provider("Corp", &theirs()).await;
    let update =
        r.h.update(
            LOGICAL_ID,
            &Harness::provider_arn("Okta"),
            json!({"Name": "Corp", "MetadataDocument": idp_metadata()}),
            props,
        )
        .await;
    let response = answered(&r.h, &r.deps, &update).await;
    assert_failed(&response, &["already exists", "Choose another Name"]);
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"), "the old id stands");
    assert_ours(&r.h, &idp_metadata()).await;
    assert_foreign_intact(&r.h, "Corp", &theirs()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_that_fails_after_iam_made_the_new_provider_removes_it_and_keeps_the_old() {
    let r = rig().await;
    let props = json!({"Name": "Okta", "MetadataDocument": idp_metadata()});
    answered(&r.h, &r.deps, &r.h.create(LOGICAL_ID, props.clone()).await).await;
    r.h.create_foreign_provider("Corp", &theirs()).await;
    let renamed = json!({"Name": "Okta2", "MetadataDocument": idp_metadata()});
    let update = r.h.update(LOGICAL_ID, &Harness::provider_arn("Okta"), renamed, props).await;
    // The new provider is created; reading it back fails on every attempt.
    r.proxy.inject(Match::Iam("GetSAMLProvider"), vec![Fault::iam_error(500, "ServiceFailure", "internal failure"); 4]);
    let response = answered(&r.h, &r.deps, &update).await;
    assert_failed(&response, &["GetSAMLProvider", "ServiceFailure"]);
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"), "the old id stands");
    // CloudFormation's rollback Update names the old id only: nothing would ever delete Okta2.
    assert_eq!(r.h.provider_names().await, ["Corp", "Okta"], "the new provider was removed again");
    assert_ours(&r.h, &idp_metadata()).await;
    assert_foreign_intact(&r.h, "Corp", &theirs()).await;
}

// ------------------------------------------------------------------------ init failure

/// The real binary with one environment change; the Create is answered FAILED, once, and IAM is untouched.
async fn cold_start_answers_failed(extra_env: &[(&str, &str)], phrases: &[&str]) {
    let h = Harness::start().await;
    // Belt and braces: whatever the SDK's credential and region chains try, IMDS is on a dead loopback port.
    let imds = format!("http://127.0.0.1:{}", refused_port());
    let mut env = vec![("AWS_EC2_METADATA_DISABLED", "true"), ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.as_str())];
    env.extend_from_slice(extra_env);
    let function = Function::start(&h.emulator, 20, &env).await;
    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
    function.serve(&h.emulator, &create, "FAILED").await;
    assert_eq!(h.response_puts().await, 1);
    let response = h.response(&create).await.unwrap();
    assert_failed(&response, phrases);
    assert!(h.provider_names().await.is_empty());
    drop(function);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cold_start_without_credentials_answers_failed() {
    cold_start_answers_failed(
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", ""), ("AWS_SESSION_TOKEN", "")],
        // The origin check is the first AWS call.
        &["the origin check could not ask CloudFormation", "cloudformation:DescribeStackResource"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cold_start_without_a_region_answers_failed() {
    // Lambda sets both AWS_REGION and AWS_DEFAULT_REGION; the SDK reads either.
    cold_start_answers_failed(
        &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "")],
        &["the origin check could not ask CloudFormation"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cold_start_with_an_unusable_setting_answers_failed_naming_it() {
    cold_start_answers_failed(
        &[("SAMLFED_RESPONSE_ATTEMPTS", "0")],
        &["failed to initialise", "SAMLFED_RESPONSE_ATTEMPTS"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_an_init_failure_the_rollback_delete_of_nothing_is_success() {
    let h = Harness::start().await;
    let mut deps = h.deps.clone();
    deps.init_error = Some("environment variable SAMLFED_RESPONSE_ATTEMPTS=\"0\" is not valid".into());
    let create = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
    let failed = answered(&h, &deps, &create).await;
    assert_failed(&failed, &["failed to initialise"]);
    let physical_id = failed["PhysicalResourceId"].as_str().unwrap();
    assert!(physical_id.starts_with(samlfed::cfn::dispatch::NOTHING_CREATED_PREFIX));
    // CloudFormation rolls back; a FAILED here leaves the stack in ROLLBACK_FAILED over nothing.
    let rollback = answered(&h, &deps, &h.delete(LOGICAL_ID, physical_id, json!({})).await).await;
    assert_eq!(rollback["Status"], "SUCCESS", "{rollback}");
    assert!(h.function_calls().await.is_empty(), "and without any AWS call");
}
