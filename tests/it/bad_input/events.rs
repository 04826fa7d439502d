//! Events CloudFormation never sends: JSON that is not an object, events missing a field or with a
//! RequestType of the wrong type or value, ResponseURLs off the allow-list (and how an allowed one
//! is shown), and the rollback Delete after an unknown resource type. Those that cannot be answered
//! honestly (no usable ResponseURL) are refused: no AWS call, no PUT, and the URL is never
//! contacted — proven with a listener that counts connections.
//!
//! Hand-written events, and why: malformed and forged events are what CloudFormation never sends;
//! only a direct invoker holding `lambda:InvokeFunction` can send them.

use serde_json::{json, Value};

use super::{assert_failed_once, LOGICAL_ID};
use crate::support::fault_proxy::ConnectionCounter;
use crate::support::harness::Harness;
use crate::support::idp_metadata;

/// A change made to an event.
type Change = Box<dyn Fn(&mut Value)>;

#[tokio::test(flavor = "multi_thread")]
async fn malformed_events_are_answered_failed_with_their_identifiers() {
    let h = Harness::start().await;
    let mut event = h.create("IdentityProvider", json!({"Name": "Okta"})).await;
    event["RequestType"] = json!("Upsert");
    let response = h.run(&event).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(response["RequestId"], event["RequestId"]);
    assert!(
        response["Reason"].as_str().unwrap().contains("not a valid CloudFormation custom-resource request"),
        "{response}"
    );

    let mut event = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
    event["StackId"] = json!("arn:aws:cloudformation:us-east-1:999999999999:stack/elsewhere/guid");
    let response = h.run(&event).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("not in this function's account 123456789012"), "{response}");
    assert!(h.provider_names().await.is_empty(), "a stack of another account gets nothing");

    let mut event = h.create("IdentityProvider", json!({"Name": "Okta"})).await;
    event.as_object_mut().unwrap().remove("ResponseURL");
    assert_eq!(h.invoke(&event).await["Status"], "REFUSED", "no ResponseURL: nothing can be answered");
    assert!(h.function_calls().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn events_that_are_not_json_objects_are_refused_without_any_call() {
    // Lambda's Invoke API itself rejects a payload that is not JSON (InvalidRequestContentException),
    // so the nearest a function can get is JSON that is not an object, or an unusable ResponseURL.
    let h = Harness::start().await;
    let cases =
        [json!("not json"), json!([1, 2]), json!(42), json!(null), json!(true), json!({}), json!({"ResponseURL": 7})];
    for payload in cases {
        let summary = h.invoke(&payload).await;
        assert_eq!(summary["Status"], "REFUSED", "{payload}: {summary}");
        assert!(h.function_calls().await.is_empty(), "no AWS call for {payload}");
        assert_eq!(h.response_puts().await, 0, "nothing PUT for {payload}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_missing_a_field_are_answered_failed_naming_it() {
    let h = Harness::start().await;
    let props = json!({"Name": "Okta", "MetadataDocument": idp_metadata()});
    let cases: Vec<(&str, &str, Change, &str)> = vec![
        (
            "Create",
            "remove RequestType",
            Box::new(|e| drop(e.as_object_mut().unwrap().remove("RequestType"))),
            "RequestType",
        ),
        ("Create", "remove StackId", Box::new(|e| drop(e.as_object_mut().unwrap().remove("StackId"))), "StackId"),
        ("Create", "empty StackId", Box::new(|e| e["StackId"] = json!("")), "StackId"),
        ("Create", "remove RequestId", Box::new(|e| drop(e.as_object_mut().unwrap().remove("RequestId"))), "RequestId"),
        (
            "Create",
            "remove LogicalResourceId",
            Box::new(|e| drop(e.as_object_mut().unwrap().remove("LogicalResourceId"))),
            "LogicalResourceId",
        ),
        (
            "Create",
            "remove ResourceType",
            Box::new(|e| drop(e.as_object_mut().unwrap().remove("ResourceType"))),
            "ResourceType",
        ),
        (
            "Create",
            "ResourceProperties a string",
            Box::new(|e| e["ResourceProperties"] = json!("Name=Okta")),
            "ResourceProperties",
        ),
        ("Update", "no PhysicalResourceId", Box::new(|e| e["OldResourceProperties"] = json!({})), "PhysicalResourceId"),
        (
            "Update",
            "OldResourceProperties a list",
            Box::new(|e| {
                e["PhysicalResourceId"] = json!(Harness::provider_arn("Okta"));
                e["OldResourceProperties"] = json!([1]);
            }),
            "OldResourceProperties",
        ),
        ("Delete", "no PhysicalResourceId", Box::new(|_| {}), "PhysicalResourceId"),
    ];
    for (request_type, what, change, phrase) in cases {
        let original = h.event(request_type, "Custom::SAMLProvider", LOGICAL_ID, props.clone()).await;
        let mut event = original.clone();
        change(&mut event);
        let response = assert_failed_once(&h, &event, &original, &[phrase]).await;
        assert!(h.function_calls().await.is_empty(), "{what}: no AWS call at all");
        if event.get("RequestId").is_some() {
            assert_eq!(response["RequestId"], event["RequestId"], "{what}: the identifiers it had are echoed");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_type_of_the_wrong_type_or_value_is_named_in_the_reason() {
    let h = Harness::start().await;
    for bad in [json!(7), json!("Upsert"), json!(["Create"])] {
        let original = h.event("Create", "Custom::SAMLProvider", LOGICAL_ID, json!({"Name": "Okta"})).await;
        let mut event = original.clone();
        event["RequestType"] = bad;
        assert_failed_once(&h, &event, &original, &["RequestType", "Create, Update or Delete"]).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn response_urls_off_the_allow_list_are_refused_and_never_contacted() {
    let h = Harness::start().await;
    let listener = ConnectionCounter::start();
    let port = listener.port;
    let emulator_port = h.emulator.port;
    let urls = [
        format!("http://127.0.0.1:{port}/cfn-custom-resource-responses/key?X-Amz-Signature=abc"),
        format!("https://127.0.0.1:{port}/cfn-custom-resource-responses/key"),
        format!("http://localhost:{emulator_port}/cfn-custom-resource-responses/key"),
        format!("http://127.0.0.1:{port}/#.s3.amazonaws.com"),
        format!("https://bucket.s3.amazonaws.com@127.0.0.1:{port}/key"),
        format!("http://[::1]:{emulator_port}/cfn-custom-resource-responses/key"),
        "ftp://bucket.s3.amazonaws.com/key".to_string(),
    ];
    for url in urls {
        let mut event = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": idp_metadata()})).await;
        event["ResponseURL"] = json!(url);
        let summary = h.invoke(&event).await;
        assert_eq!(summary["Status"], "REFUSED", "{url}: {summary}");
        assert!(!summary.to_string().contains("X-Amz-Signature=abc"), "the query string is not echoed: {summary}");
        assert!(h.function_calls().await.is_empty(), "{url}: no AWS call");
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(listener.connections(), 0, "no refused URL was ever contacted");
    assert_eq!(h.response_puts().await, 0);
    assert!(h.provider_names().await.is_empty());
}

/// Regression (found by the `event_parse` fuzz target, a false alarm of its first property): a
/// ResponseURL without a query string is shown with its whole path, and one with a query never
/// shows it — whatever the path looks like.
#[test]
fn a_response_url_is_shown_without_its_query_whatever_its_path() {
    use samlfed::cfn::response_url::ResponseUrl;
    let seed =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/event_parse/no-query-signature-in-path.json"))
            .expect("the fuzz regression seed");
    let event: Value = serde_json::from_slice(&seed).unwrap();
    let raw = event["ResponseURL"].as_str().unwrap();
    let shown = ResponseUrl::parse(raw, None).expect("an S3 host").to_string();
    assert_eq!(shown, raw, "no query: nothing hidden, nothing added");
    let with_query = format!("{raw}?X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=f00d");
    let shown = ResponseUrl::parse(&with_query, None).unwrap().to_string();
    assert_eq!(shown, format!("{raw}?…"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollback_delete_after_an_unknown_resource_type_is_success() {
    let h = Harness::start().await;
    let create = h.event("Create", "Custom::SAMLProviderr", LOGICAL_ID, json!({"Name": "Okta"})).await;
    let failed = assert_failed_once(&h, &create, &create, &["unknown ResourceType"]).await;
    let mut delete = h.event("Delete", "Custom::SAMLProviderr", LOGICAL_ID, json!({"Name": "Okta"})).await;
    delete["PhysicalResourceId"] = failed["PhysicalResourceId"].clone();
    h.emulator.clear_calls().await;
    let response = h.run(&delete).await;
    // FAILED here leaves the stack in ROLLBACK_FAILED (or DELETE_FAILED) over a resource never made.
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert!(h.function_calls().await.is_empty());
}
