//! The real `bootstrap` binary, driven through a Lambda Runtime API as Lambda drives it.

use serde_json::json;

use crate::support::function::{Function, Outcome};
use crate::support::harness::Harness;
use crate::support::idp_metadata;

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_create_refuses_a_foreign_url_and_goes_on_to_delete() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let function = Function::start(&h.emulator, 30, &[]).await;

    let create = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": url})).await;
    function.serve(&h.emulator, &create, "SUCCESS").await;
    let response = h.response(&create).await.expect("answered");
    assert_eq!(response["Status"], "SUCCESS");
    assert_eq!(response["PhysicalResourceId"], Harness::provider_arn("Okta"));
    assert_eq!(h.provider_names().await, ["Okta"]);

    let mut refused = h.create("Other", json!({"Name": "Other", "MetadataUrl": url})).await;
    refused["ResponseURL"] = json!("http://127.0.0.1:9/steal?token=secret");
    let outcome = function.invoke(&refused).await;
    assert!(matches!(&outcome, Outcome::Response(v) if v["Status"] == "REFUSED"), "{outcome:?}");

    let delete = h.delete("IdentityProvider", &Harness::provider_arn("Okta"), json!({"Name": "Okta"})).await;
    function.serve(&h.emulator, &delete, "SUCCESS").await;
    assert_eq!(h.response(&delete).await.expect("answered")["Status"], "SUCCESS");
    assert!(h.provider_names().await.is_empty());
    drop(function);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_configuration_is_still_answered_failed() {
    let h = Harness::start().await;
    let function = Function::start(&h.emulator, 30, &[("SAMLFED_RESPONSE_TIMEOUT_MS", "soon")]).await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let create = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": url})).await;
    let outcome = function.invoke(&create).await;
    assert_eq!(outcome, Outcome::Response(json!({"Status": "FAILED", "Delivered": true})));
    let response = h.response(&create).await.expect("answered");
    assert_eq!(response["Status"], "FAILED");
    let reason = response["Reason"].as_str().unwrap();
    assert!(reason.contains("failed to initialise") && reason.contains("SAMLFED_RESPONSE_TIMEOUT_MS"), "{reason}");
    assert!(h.function_calls().await.is_empty() && h.provider_names().await.is_empty(), "nothing was done");
}
