//! `samlfed render` prints what the Lambda produces, byte for byte: proven against a role the
//! Lambda's handler creates in the emulator, not against a string written here.
#![cfg(feature = "cli")]

use std::process::{Command, Output};

use samlfed::resources::saml_role::{identity_center_role_attribute, trust_policy};
use serde_json::{json, Value};

use crate::support::harness::{Harness, ACCOUNT};
use crate::support::idp_metadata;

fn samlfed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samlfed")).args(args).output().expect("run samlfed")
}

fn rendered(args: &[&str]) -> Value {
    let mut all = vec!["render", "--json"];
    all.extend_from_slice(args);
    let out = samlfed(&all);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trust_policy_and_attribute_are_byte_identical_to_what_the_lambda_creates() {
    let h = Harness::start().await;
    let provider = h
        .run(&h.create("IdentityProvider", json!({"Name": "CorpIdP", "MetadataDocument": idp_metadata()})).await)
        .await;
    assert_eq!(provider["Status"], "SUCCESS", "{provider}");
    for (path, audiences) in
        [("/", vec![]), ("/sso/", vec!["https://signin.aws.amazon.com/saml", "urn:amazon:webservices"])]
    {
        let role_name = format!("Federated{}", audiences.len());
        let mut props = json!({"RoleName": role_name, "ProviderArn": Harness::provider_arn("CorpIdP"), "Path": path});
        if !audiences.is_empty() {
            props["Audiences"] = json!(audiences);
        }
        let response = h.run(&h.event("Create", "Custom::SAMLRole", &role_name, props).await).await;
        assert_eq!(response["Status"], "SUCCESS", "{response}");
        let role = h.iam.get_role().role_name(&role_name).send().await.expect("role").role.expect("role");
        // IAM returns the document URL-encoded; decoded, it is the exact text the Lambda sent.
        let sent = percent_encoding::percent_decode_str(role.assume_role_policy_document().unwrap_or_default())
            .decode_utf8()
            .expect("UTF-8")
            .into_owned();

        let mut args =
            vec!["--account", ACCOUNT, "--provider-name", "CorpIdP", "--role-name", &role_name, "--path", path];
        for audience in &audiences {
            args.extend(["--audience", audience]);
        }
        let cli = rendered(&args);
        assert_eq!(cli["trust_policy"].as_str(), Some(sent.as_str()), "byte-identical trust policy");
        assert_eq!(cli["identity_center_role_attribute"], response["Data"]["IdentityCenterRoleAttribute"]);
        assert_eq!(cli["role_arn"], response["PhysicalResourceId"]);

        // The human output carries the same two strings on lines of their own, ready to copy.
        let mut human = vec!["render"];
        human.extend_from_slice(&args);
        let text = String::from_utf8(samlfed(&human).stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], sent);
        assert_eq!(Some(lines[3]), response["Data"]["IdentityCenterRoleAttribute"].as_str());
    }
}

#[test]
fn the_output_comes_from_the_resource_types_own_functions() {
    let cli = rendered(&[
        "--account",
        "210987654321",
        "--provider-name",
        "Okta",
        "--role-name",
        "Admin",
        "--partition",
        "aws-us-gov",
    ]);
    let provider = "arn:aws-us-gov:iam::210987654321:saml-provider/Okta";
    let role = "arn:aws-us-gov:iam::210987654321:role/Admin";
    let policy = trust_policy(provider, &["https://signin.amazonaws-us-gov.com/saml".to_string()]).to_string();
    assert_eq!(cli["trust_policy"], policy.as_str());
    assert_eq!(cli["identity_center_role_attribute"], identity_center_role_attribute(provider, role).as_str());
    assert_eq!(cli["audiences"], json!(["https://signin.amazonaws-us-gov.com/saml"]));
}

#[test]
fn what_the_lambda_would_refuse_is_a_usage_error_with_its_message() {
    for (args, phrase) in [
        (vec!["--account", "12345", "--provider-name", "P", "--role-name", "R"], "not a 12-digit AWS account ID"),
        (
            vec!["--account", ACCOUNT, "--provider-name", "P", "--role-name", "R R"],
            "RoleName \"R R\" is not a valid role name",
        ),
        (
            vec!["--account", ACCOUNT, "--provider-name", "P/Q", "--role-name", "R"],
            "Name \"P/Q\" is not a valid SAML provider name",
        ),
        (vec!["--account", ACCOUNT, "--provider-name", "P", "--role-name", "R", "--path", "sso"], "Path \"sso\""),
        (
            vec!["--account", ACCOUNT, "--provider-name", "P", "--role-name", "R", "--audience", " "],
            "Audiences: an audience is empty",
        ),
    ] {
        let mut all = vec!["render"];
        all.extend_from_slice(&args);
        let out = samlfed(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.lines().next().is_some_and(|l| l.starts_with("error: ") && l.contains(phrase)), "{args:?}: {err}");
    }
    let out =
        samlfed(&["render", "--account", ACCOUNT, "--provider-name", "P", "--role-name", "R", "--partition", "aws-xx"]);
    assert_eq!(out.status.code(), Some(2));
}
