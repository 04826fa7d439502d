//! Bad input — every bad event, property or document — is answered once, FAILED, with a Reason
//! naming the property and the fix, and IAM is left exactly as it was (no IAM call at all). Events
//! that cannot be answered honestly (no usable ResponseURL) are refused instead: no AWS call, no
//! PUT, and the URL is never contacted. By subject: [`events`], [`properties`], [`documents`]; the
//! role's own trust and policy cases live in `saml_role`.
//!
//! Hand-written events and properties, and why: bad input is what the project's template cannot
//! render (its parameters' patterns refuse it), and malformed and forged events are what
//! CloudFormation never sends; a user's own template, or a direct invoker holding
//! `lambda:InvokeFunction`, can send them. The wrong-type cases keep their JSON types
//! (`Harness::forged_event`), as only a direct invoker can send them.

mod documents;
mod events;
mod properties;

use serde_json::{json, Value};

use crate::support::fault_proxy::{clients_via, Fault, FaultProxy, Match};
use crate::support::harness::{Harness, FUNCTION_KEY};
use crate::support::idp_metadata;

const LOGICAL_ID: &str = "IdentityProvider";
const ROLE: &str = "Custom::SAMLRole";
const NOTHING_CREATED: &str = samlfed::cfn::dispatch::NOTHING_CREATED_PREFIX;

/// Sends a Create with `props`, expects FAILED naming each of `phrases`, and no IAM call.
async fn assert_refused(h: &Harness, props: Value, phrases: &[&str]) {
    h.emulator.clear_calls().await;
    let event = h.create("IdentityProvider", props.clone()).await;
    let response = h.run(&event).await;
    assert_eq!(response["Status"], "FAILED", "{props}: {response}");
    let reason = response["Reason"].as_str().expect("a Reason");
    for phrase in phrases {
        assert!(reason.contains(phrase), "Reason for {props} should contain {phrase:?}: {reason}");
    }
    assert!(h.iam_calls().await.is_empty(), "no IAM call for {props}");
    assert!(h.provider_names().await.is_empty(), "IAM unchanged for {props}");
    let physical_id = response["PhysicalResourceId"].as_str().unwrap();
    assert!(physical_id.starts_with("samlfed:nothing-created:"), "the rollback Delete must be a no-op: {physical_id}");
}

/// Answered once, FAILED, the Reason holding every phrase, no IAM call, IAM unchanged.
async fn assert_failed_once(h: &Harness, event: &Value, response_key_event: &Value, phrases: &[&str]) -> Value {
    let providers_before = h.provider_names().await;
    h.emulator.clear_calls().await;
    let summary = h.invoke(event).await;
    assert_eq!(summary["Delivered"], true, "{event}: {summary}");
    assert_eq!(h.response_puts().await, 1, "exactly one response for {event}");
    let response = h.response(response_key_event).await.expect("answered");
    assert_eq!(response["Status"], "FAILED", "{event}: {response}");
    let reason = response["Reason"].as_str().expect("a Reason");
    for phrase in phrases {
        assert!(reason.contains(phrase), "Reason should contain {phrase:?}: {reason}");
    }
    assert!(h.iam_calls().await.is_empty(), "no IAM call for {event}");
    assert_eq!(h.provider_names().await, providers_before, "IAM unchanged");
    response
}

/// A Create of `resource_type` with `props` that must be refused naming `phrases`.
///
/// The properties go as written, JSON types included: a caller holding `lambda:InvokeFunction`
/// can send a number, a boolean or null where CloudFormation would send a string.
async fn assert_create_refused(h: &Harness, resource_type: &str, props: Value, phrases: &[&str]) {
    let event = h.forged_event("Create", resource_type, LOGICAL_ID, props).await;
    let response = assert_failed_once(h, &event, &event, phrases).await;
    let physical_id = response["PhysicalResourceId"].as_str().unwrap();
    assert!(physical_id.starts_with(NOTHING_CREATED), "the rollback Delete must be a no-op: {physical_id}");
}

/// A Create of a `Custom::SAMLProvider` from the document `body` in S3, refused naming `phrases`
/// (and the MetadataUrl).
async fn assert_document_refused(h: &Harness, key: &str, body: impl Into<Vec<u8>>, phrases: &[&str]) {
    let (url, _) = h.put_metadata(&format!("metadata/{key}"), body).await;
    let mut expected = vec!["MetadataUrl s3://"];
    expected.extend_from_slice(phrases);
    assert_create_refused(h, "Custom::SAMLProvider", json!({"Name": "Okta", "MetadataUrl": url}), &expected).await;
}

/// Padding that keeps a small variant above IAM's 1000-character minimum.
fn padding() -> String {
    format!("\n<!-- {} -->\n", "padding ".repeat(150))
}

/// The fixture with `from` replaced by `to` (which must occur), padded.
fn fixture_with(from: &str, to: &str) -> String {
    let doc = idp_metadata();
    assert!(doc.contains(from), "the fixture contains {from:?}");
    format!("{}{}", doc.replacen(from, to, 1), padding())
}

/// A harness whose S3 reads go through a fault proxy that floods the body.
async fn flooded(fault: Fault) -> (Harness, FaultProxy, samlfed::cfn::handler::Deps) {
    let h = Harness::start().await;
    let proxy = FaultProxy::start(Some(&h.emulator.endpoint()));
    proxy.inject(Match::S3Get, [fault]);
    let deps =
        samlfed::cfn::handler::Deps { clients: clients_via(&proxy.endpoint(), FUNCTION_KEY).await, ..h.deps.clone() };
    (h, proxy, deps)
}
