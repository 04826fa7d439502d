//! Bad input gets a FAILED answer whose Reason names the property and the fix — and IAM is left
//! exactly as it was (no IAM call at all).
//!
//! Hand-written properties, and why: bad input is what the project's template cannot render (its
//! parameters' patterns refuse it); a user's own template, or a direct invoker, can send it.

mod support;

use serde_json::{json, Value};
use support::harness::Harness;
use support::idp_metadata;

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

#[tokio::test(flavor = "multi_thread")]
async fn property_errors_name_the_property_and_change_nothing() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"Name": "Okta", "MetadataUrl": url, "Colour": "blue"}),
            vec!["unknown field `Colour`", "fix the resource's Properties"],
        ),
        (json!({"MetadataUrl": url}), vec!["missing field `Name`"]),
        // CloudFormation sends a number as a string (a valid Name), but a list stays a list.
        (json!({"Name": ["Okta"], "MetadataUrl": url}), vec!["invalid type", "Properties"]),
        (json!({"Name": "has space", "MetadataUrl": url}), vec!["Name \"has space\"", "1 to 128"]),
        (json!({"Name": "x".repeat(129), "MetadataUrl": url}), vec!["Name", "1 to 128"]),
        (
            json!({"Name": "Okta", "MetadataUrl": url, "MetadataDocument": idp_metadata()}),
            vec!["both set", "exactly one"],
        ),
        (json!({"Name": "Okta"}), vec!["neither MetadataUrl nor MetadataDocument"]),
        (json!({"Name": "Okta", "MetadataUrl": "s3://org-idp-metadata"}), vec!["MetadataUrl", "s3://BUCKET/KEY"]),
        (
            json!({"Name": "Okta", "MetadataUrl": "ftp://idp.example.com/metadata"}),
            vec!["MetadataUrl", "only https:// and s3://"],
        ),
        (
            json!({"Name": "Okta", "MetadataUrl": "https://user:pw@idp.example.com/m"}),
            vec!["MetadataUrl", "user name or password"],
        ),
        (
            json!({"Name": "Okta", "MetadataUrl": "http://idp.example.com/metadata"}),
            vec!["MetadataUrl", "plain http://"],
        ),
        (json!({"Name": "Okta", "MetadataUrl": url, "MetadataSha256": "abc"}), vec!["MetadataSha256", "64 hex digits"]),
        (
            json!({"Name": "Okta", "MetadataUrl": url, "Tags": [{"Key": "aws:x", "Value": "v"}]}),
            vec!["Tags", "reserved prefix"],
        ),
        (
            json!({"Name": "Okta", "MetadataUrl": url, "Tags": [{"Key": "k", "Value": "v".repeat(257)}]}),
            vec!["Tags", "at most 256"],
        ),
        (
            json!({"Name": "Okta", "MetadataUrl": url, "Tags": (0..49).map(|i| json!({"Key": format!("k{i}"), "Value": "v"})).collect::<Vec<_>>()}),
            vec!["Tags", "49 tags", "at most 48"],
        ),
        (json!({"Name": "Okta", "MetadataUrl": url, "Tags": [{"Key": "k"}]}), vec!["missing field `Value`"]),
    ];
    for (props, phrases) in cases {
        assert_refused(&h, props, &phrases).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn source_errors_name_the_url_and_what_to_check() {
    let h = Harness::start().await;
    let missing_key = format!("s3://{}/metadata/absent.xml", support::harness::METADATA_BUCKET);
    assert_refused(
        &h,
        json!({"Name": "Okta", "MetadataUrl": missing_key}),
        &["MetadataUrl s3://", "NoSuchKey", "check the key"],
    )
    .await;
    assert_refused(&h, json!({"Name": "Okta", "MetadataUrl": "s3://no-such-bucket-here/idp.xml"}), &["NoSuchBucket"])
        .await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    assert_refused(&h, json!({"Name": "Okta", "MetadataUrl": format!("{url}?versionId=nope")}), &["versionId"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_that_are_not_idp_metadata_are_refused_before_iam() {
    let h = Harness::start().await;
    let padding = format!("<!-- {} -->", "p".repeat(1200));
    let sp_metadata =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/sp-only.xml")).unwrap();
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("empty.xml", Vec::new(), vec!["empty"]),
        ("not-xml.xml", format!("this is not xml {padding}").into_bytes(), vec!["not well-formed XML"]),
        (
            "dtd.xml",
            format!("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>{padding}").into_bytes(),
            vec!["DOCTYPE"],
        ),
        (
            "bomb.xml",
            format!("<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><l>&b;</l>{padding}").into_bytes(),
            vec!["DOCTYPE"],
        ),
        ("sp.xml", sp_metadata.into_bytes(), vec!["service-provider metadata"]),
        ("latin1.xml", {
            let mut doc = idp_metadata().into_bytes();
            doc.extend_from_slice(b"<!-- caf\xe9 -->");
            doc
        }, vec!["not valid UTF-8"]),
        ("oversized.xml", {
            let mut doc = idp_metadata().into_bytes();
            doc.resize(10_000_001, b' ');
            doc
        }, vec!["larger than IAM's limit"]),
    ];
    for (key, body, phrases) in cases {
        let (url, _) = h.put_metadata(&format!("metadata/{key}"), body).await;
        let mut expected = vec!["MetadataUrl s3://"];
        expected.extend(phrases);
        assert_refused(&h, json!({"Name": "Okta", "MetadataUrl": url}), &expected).await;
    }
    // The inline source names its property, and never echoes the document.
    assert_refused(&h, json!({"Name": "Okta", "MetadataDocument": "<x/>"}), &["MetadataDocument"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_sha256_that_does_not_match_is_refused() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let wrong = "0".repeat(64);
    assert_refused(
        &h,
        json!({"Name": "Okta", "MetadataUrl": url, "MetadataSha256": wrong}),
        &["MetadataSha256", "not the pinned"],
    )
    .await;
    let right = support::sha256_hex(idp_metadata().as_bytes()).to_uppercase();
    let response = h
        .run(&h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": url, "MetadataSha256": right})).await)
        .await;
    assert_eq!(response["Status"], "SUCCESS", "a matching pin (any case) passes: {response}");
}

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
