//! The real `bootstrap` binary, driven through a Lambda Runtime API as Lambda drives it.

mod support;

use std::time::Duration;

use serde_json::json;
use support::function::Function;
use support::harness::{Harness, FUNCTION_ARN};
use support::idp_metadata;
use support::runtime_api::{Outcome, RuntimeApi};

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_create_refuses_a_foreign_url_and_goes_on_to_delete() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let mut api = RuntimeApi::start(FUNCTION_ARN);
    let function = Function::start(&api, &h.emulator.endpoint(), &[]);

    let create = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": url})).await;
    h.emulator.record_operation(&create).await;
    let outcome = tokio::task::block_in_place(|| api.invoke(&create, Duration::from_secs(30)));
    assert_eq!(outcome, Outcome::Response(json!({"Status": "SUCCESS", "Delivered": true})));
    let response = h.response(&create).await.expect("answered");
    assert_eq!(response["Status"], "SUCCESS");
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"));
    assert_eq!(h.provider_names().await, ["Okta"]);

    let mut refused = h.create("Other", json!({"Name": "Other", "MetadataUrl": url})).await;
    refused["ResponseURL"] = json!("http://127.0.0.1:9/steal?token=secret");
    let outcome = tokio::task::block_in_place(|| api.invoke(&refused, Duration::from_secs(30)));
    assert!(matches!(&outcome, Outcome::Response(v) if v["Status"] == "REFUSED"), "{outcome:?}");

    let delete = h.delete("IdentityProvider", &Harness::provider_arn("Okta"), json!({"Name": "Okta"})).await;
    h.emulator.record_operation(&delete).await;
    let outcome = tokio::task::block_in_place(|| api.invoke(&delete, Duration::from_secs(30)));
    assert_eq!(outcome, Outcome::Response(json!({"Status": "SUCCESS", "Delivered": true})));
    assert_eq!(h.response(&delete).await.expect("answered")["Status"], "SUCCESS");
    assert!(h.provider_names().await.is_empty());
    drop(function);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_configuration_is_still_answered_failed() {
    let h = Harness::start().await;
    let mut api = RuntimeApi::start(FUNCTION_ARN);
    let _function = Function::start(&api, &h.emulator.endpoint(), &[("SAMLFED_RESPONSE_TIMEOUT_MS", "soon")]);
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let create = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": url})).await;
    let outcome = tokio::task::block_in_place(|| api.invoke(&create, Duration::from_secs(30)));
    assert_eq!(outcome, Outcome::Response(json!({"Status": "FAILED", "Delivered": true})));
    let response = h.response(&create).await.expect("answered");
    assert_eq!(response["Status"], "FAILED");
    let reason = response["Reason"].as_str().unwrap();
    assert!(reason.contains("failed to initialise") && reason.contains("SAMLFED_RESPONSE_TIMEOUT_MS"), "{reason}");
    assert!(h.function_calls().await.is_empty() && h.provider_names().await.is_empty(), "nothing was done");
}
