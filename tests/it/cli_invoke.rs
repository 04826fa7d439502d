//! `samlfed invoke` sends an event with lambda:Invoke to the function the emulator deployed from
//! the real `bootstrap` (`tools/emulator.py --function`, the docs' own set-up) and prints the
//! response CloudFormation would have read.
#![cfg(feature = "cli")]

use std::process::Output;

use serde_json::{json, Value};

use crate::support;
use crate::support::emulator::{samlfed_cli, Emulator};
use crate::support::harness::{clients_for, INSPECTOR_KEY};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/idp-minimal.xml");
const PROVIDER_ARN: &str = "arn:aws:iam::123456789012:saml-provider/CliOkta";

/// An emulator with the function `samlfed` deployed from this build's `bootstrap`.
fn emulator_with_function() -> Emulator {
    Emulator::start_with(&["--function", env!("CARGO_BIN_EXE_bootstrap")])
}

/// Runs `samlfed invoke …` against the emulator, with a clean environment.
async fn invoke(emulator: &Emulator, args: &[&str]) -> Output {
    samlfed_cli(&emulator.endpoint()).arg("invoke").args(args).output().await.expect("run samlfed")
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

async fn provider_exists(emulator: &Emulator) -> bool {
    let iam = clients_for(&emulator.endpoint(), INSPECTOR_KEY).await.iam;
    iam.get_saml_provider().saml_provider_arn(PROVIDER_ARN).send().await.is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_then_delete_through_the_real_binary_prints_each_response() {
    let emulator = emulator_with_function();
    let document = format!("MetadataDocument=@{FIXTURE}");
    let out = invoke(&emulator, &["--create", "--property", "Name=CliOkta", "--property", &document, "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let created = report(&out);
    assert_eq!(
        created["function_result"],
        json!({"kind": "response", "body": {"Status": "SUCCESS", "Delivered": true}})
    );
    assert_eq!(created["function_arn"], "arn:aws:lambda:us-east-1:123456789012:function:samlfed");
    assert_eq!(created["response"]["Status"], "SUCCESS");
    assert_eq!(created["response"]["PhysicalResourceId"], PROVIDER_ARN);
    assert_eq!(created["response"]["Data"]["EntityId"], "https://idp.example.com/saml2/idp");
    assert!(!created["response_url"].as_str().unwrap().contains("X-Amz-Signature"), "the signature is not printed");
    assert!(provider_exists(&emulator).await, "the function created the provider in IAM");

    let out = invoke(&emulator, &["--delete", "--physical-id", PROVIDER_ARN]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("event     Delete Custom::SAMLProvider LocalResource"), "{text}");
    assert!(text.contains("\"Status\": \"SUCCESS\""), "{text}");
    assert!(text.lines().last().is_some_and(|l| l == format!("SUCCESS — PhysicalResourceId {PROVIDER_ARN}")), "{text}");
    assert!(!provider_exists(&emulator).await, "the same stack and logical id own it, so Delete removed it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_request_exits_1_with_the_reason() {
    let emulator = emulator_with_function();
    let out =
        invoke(&emulator, &["--create", "--property", "Name=bad/name", "--property", "MetadataDocument=<x/>"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert!(last.starts_with("FAILED — Name \"bad/name\" is not a valid SAML provider name"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_file_is_sent_with_the_local_response_url() {
    let emulator = emulator_with_function();
    let dir = std::env::temp_dir().join(format!("samlfed-cli-invoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("create.json");
    let event = json!({
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:samlfed",
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/real?X-Amz-Signature=x",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/federation/5a1e0c70-0000-4000-8000-000000000001",
        "RequestId": "from-a-file",
        "ResourceType": "Custom::SAMLProvider",
        "LogicalResourceId": "IdentityProvider",
        "ResourceProperties": {"Name": "CliOkta", "MetadataDocument": support::idp_metadata()}
    });
    std::fs::write(&path, event.to_string()).unwrap();
    let out = invoke(&emulator, &["--event", path.to_str().unwrap(), "--json"]).await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = report(&out);
    assert_eq!(report["request_id"], "from-a-file");
    assert_eq!(report["response"]["RequestId"], "from-a-file");
    assert_eq!(report["response"]["LogicalResourceId"], "IdentityProvider");
    assert!(report["response_url"].as_str().unwrap().starts_with(&emulator.endpoint()), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_that_dies_or_does_not_exist_is_an_error_not_a_hang() {
    // A "function" whose bootstrap exits at once: Lambda answers the invocation with a function error.
    let emulator = Emulator::start_with(&["--function", "/bin/false"]);
    let started = std::time::Instant::now();
    let out = invoke(&emulator, &["--create", "--property", "Name=X", "--json"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let report = report(&out);
    assert_eq!(report["function_result"]["kind"], "error", "{report}");
    assert_eq!(report["function_result"]["body"]["errorType"], "Runtime.ExitError", "{report}");
    assert_eq!(report["response"], Value::Null, "nothing answered CloudFormation");

    let out = invoke(&emulator, &["--create", "--property", "Name=X", "--function-name", "nobody"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("GetFunctionConfiguration") && err.contains("nobody"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn bad_invocations_are_usage_errors() {
    for args in [
        vec!["invoke"],
        vec!["invoke", "--create", "--delete"],
        vec!["invoke", "--delete"],
        vec!["invoke", "--create", "--property", "NoEquals"],
        vec!["invoke", "--create", "--property", "Tags=[not json"],
        vec!["invoke", "--create", "--function", "target/release/bootstrap"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_samlfed"))
            .args(&args)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
