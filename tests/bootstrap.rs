//! The real `bootstrap` binary, driven through a Lambda Runtime API as Lambda drives it.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;
use support::harness::{Harness, ACCOUNT, FUNCTION_ARN};
use support::idp_metadata;
use support::runtime_api::{Outcome, RuntimeApi};

/// The function process, killed by PID when the test ends.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_function(api: &RuntimeApi, endpoint: &str, extra_env: &[(&str, &str)]) -> Function {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "samlfed")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", ACCOUNT)
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("SAMLFED_DEADLINE_MARGIN_MS", "1500")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in extra_env {
        command.env(k, v);
    }
    Function(command.spawn().expect("start bootstrap"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_create_refuses_a_foreign_url_and_goes_on_to_delete() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let mut api = RuntimeApi::start(FUNCTION_ARN);
    let function = start_function(&api, &h.emulator.endpoint(), &[]);

    let create = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": url})).await;
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
    let _function = start_function(&api, &h.emulator.endpoint(), &[("SAMLFED_RESPONSE_TIMEOUT_MS", "soon")]);
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
