//! Properties of the wrong type or outside IAM's rules, for `Custom::SAMLProvider` and
//! `Custom::SAMLRole` (the role cases `saml_role` does not already cover), each refused naming the
//! property — and the limits themselves, which are accepted.
//!
//! Hand-written properties, and why: bad input is what the project's template cannot render (its
//! parameters' patterns refuse it); a user's own template, or a direct invoker, can send it. The
//! wrong-type cases keep their JSON types (`Harness::forged_event`), as only a direct invoker can
//! send them.

use serde_json::{json, Value};

use super::{assert_create_refused, assert_refused, LOGICAL_ID, ROLE};
use crate::support;
use crate::support::harness::Harness;
use crate::support::idp_metadata;

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

// --------------------------------------------------------------- Custom::SAMLProvider

#[tokio::test(flavor = "multi_thread")]
async fn provider_properties_of_the_wrong_type_or_outside_iams_rules_are_refused() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let base = json!({"Name": "Okta", "MetadataUrl": url});
    let with = |key: &str, value: Value| {
        let mut props = base.clone();
        props[key] = value;
        props
    };
    let tag = |k: &str, v: &str| json!({"Key": k, "Value": v});
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (with("Name", json!("")), vec!["Name \"\"", "1 to 128"]),
        (with("Name", json!("ünï")), vec!["Name", "letters, digits and _ . -"]),
        (with("Name", json!("a/b")), vec!["Name \"a/b\""]),
        (with("Name", json!(true)), vec!["Name", "invalid type"]),
        (with("Name", json!(null)), vec!["Name", "invalid type"]),
        (with("MetadataUrl", json!([url])), vec!["MetadataUrl", "invalid type"]),
        (with("MetadataUrl", json!("s3://Org-Bucket/idp.xml")), vec!["MetadataUrl", "bucket name"]),
        (with("MetadataUrl", json!(format!("{url}?acl"))), vec!["MetadataUrl", "versionId"]),
        (with("MetadataUrl", json!("file:///etc/passwd")), vec!["MetadataUrl"]),
        (json!({"Name": "Okta", "MetadataDocument": 42}), vec!["MetadataDocument", "invalid type"]),
        (with("MetadataSha256", json!(42)), vec!["MetadataSha256", "invalid type"]),
        (with("TrustedCertificateSha256", json!("ab".repeat(32))), vec!["TrustedCertificateSha256", "invalid type"]),
        (with("TrustedCertificateSha256", json!(["xyz"])), vec!["TrustedCertificateSha256", "64 hex digits"]),
        (with("Tags", json!("team=platform")), vec!["Tags", "invalid type"]),
        (with("Tags", json!([{"Key": "n", "Value": 5}])), vec!["Tags[0].Value", "invalid type"]),
        (
            with("Tags", json!([{"Key": "k", "Value": "v", "Colour": "blue"}])),
            vec!["Tags[0]", "unknown field `Colour`"],
        ),
        (with("Tags", json!([tag(&"k".repeat(129), "v")])), vec!["Tags", "129 characters", "1 to 128"]),
        (with("Tags", json!([tag("", "v")])), vec!["Tags", "1 to 128"]),
        (with("Tags", json!([tag("k", "a"), tag("k", "b")])), vec!["Tags", "appears twice"]),
        (with("Tags", json!([tag("k", "a;b")])), vec!["Tags", "contains ';'"]),
        // Tags that would forge our ownership marks, in any case, are refused.
        (with("Tags", json!([tag("samlfed:stack-id", "arn:aws:cloudformation:x")])), vec!["Tags", "reserved prefix"]),
        (with("Tags", json!([tag("SAMLFED:logical-id", "Other")])), vec!["Tags", "reserved prefix"]),
        (with("Tags", json!([tag("AWS:cloudformation:stack-name", "x")])), vec!["Tags", "reserved prefix"]),
        (
            with("Tags", json!((0..51).map(|i| tag(&format!("k{i}"), "v")).collect::<Vec<_>>())),
            vec!["Tags", "51 tags", "at most 48"],
        ),
    ];
    for (props, phrases) in cases {
        assert_create_refused(&h, "Custom::SAMLProvider", props, &phrases).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_limits_themselves_are_accepted() {
    let h = Harness::start().await;
    let name = "N".repeat(128);
    let tags: Vec<Value> = (0..48).map(|i| json!({"Key": format!("k{i}"), "Value": "v".repeat(256)})).collect();
    let props = json!({"Name": name, "MetadataDocument": idp_metadata(), "Tags": tags,
        "MetadataSha256": support::sha256_hex(idp_metadata().as_bytes()).to_uppercase()});
    let response = h.run(&h.create(LOGICAL_ID, props).await).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let provider = h.provider(&name).await.expect("created");
    assert_eq!(provider.tags().len(), 50, "48 of the user's and our 2: IAM's limit exactly");
}

// ------------------------------------------------------------------ Custom::SAMLRole

#[tokio::test(flavor = "multi_thread")]
async fn role_properties_not_yet_covered_are_refused_naming_the_property() {
    let h = Harness::start().await;
    let provider = Harness::provider_arn("CorpIdP");
    let base = json!({"RoleName": "CorpReadOnly", "ProviderArn": provider});
    let with = |key: &str, value: Value| {
        let mut props = base.clone();
        props[key] = value;
        props
    };
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"ProviderArn": provider}), vec!["missing field `RoleName`"]),
        (json!({"RoleName": "CorpReadOnly"}), vec!["missing field `ProviderArn`"]),
        (with("RoleName", json!("")), vec!["RoleName \"\"", "1 to 64"]),
        (with("RoleName", json!(["CorpReadOnly"])), vec!["RoleName", "invalid type"]),
        (with("Path", json!("/sso")), vec!["Path \"/sso\"", "begin and end with /"]),
        (with("Path", json!("//")), vec!["Path \"//\""]),
        (with("Path", json!("/a b/")), vec!["Path \"/a b/\""]),
        (with("Path", json!("/é/")), vec!["Path"]),
        (with("Path", json!(format!("/{}/", "p".repeat(511)))), vec!["Path", "512"]),
        (with("Description", json!("d".repeat(1001))), vec!["Description has 1001 characters", "at most 1000"]),
        (with("MaxSessionDuration", json!(true)), vec!["MaxSessionDuration", "whole number"]),
        (with("MaxSessionDuration", json!(7200.5)), vec!["MaxSessionDuration", "whole number"]),
        (with("MaxSessionDuration", json!(-1)), vec!["MaxSessionDuration", "whole number"]),
        (with("MaxSessionDuration", json!("3599")), vec!["MaxSessionDuration 3599", "3600 to 43200"]),
        (with("MaxSessionDuration", json!(43201)), vec!["MaxSessionDuration 43201", "3600 to 43200"]),
        (with("MaxSessionDuration", json!("")), vec!["MaxSessionDuration", "whole number"]),
        (
            with("ManagedPolicyArns", json!("arn:aws:iam::aws:policy/ReadOnlyAccess")),
            vec!["ManagedPolicyArns", "invalid type"],
        ),
        (
            with(
                "ManagedPolicyArns",
                json!(["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"]),
            ),
            vec!["ManagedPolicyArns", "appears twice"],
        ),
        (
            with("ManagedPolicyArns", json!(["arn:aws-cn:iam::aws:policy/ReadOnlyAccess"])),
            vec!["ManagedPolicyArns", "partition aws"],
        ),
        (
            with("PermissionsBoundary", json!(["arn:aws:iam::aws:policy/ReadOnlyAccess"])),
            vec!["PermissionsBoundary", "invalid type"],
        ),
        (with("Policies", json!({"PolicyName": "p", "PolicyDocument": {}})), vec!["Policies", "invalid type"]),
        (
            with("Policies", json!([{"PolicyName": "has space", "PolicyDocument": {}}])),
            vec!["PolicyName \"has space\""],
        ),
        (
            with("Policies", json!([{"PolicyName": "p".repeat(129), "PolicyDocument": {}}])),
            vec!["PolicyName", "1 to 128"],
        ),
        (
            with(
                "Policies",
                json!([{"PolicyName": "p", "PolicyDocument": {}}, {"PolicyName": "p", "PolicyDocument": {}}]),
            ),
            vec!["PolicyName \"p\" appears twice"],
        ),
        (with("Policies", json!([{"PolicyName": "p"}])), vec!["Policies[0]", "missing field `PolicyDocument`"]),
        (with("Audiences", json!("https://signin.aws.amazon.com/saml")), vec!["Audiences", "invalid type"]),
        (with("Audiences", json!(["  "])), vec!["Audiences", "empty"]),
        (
            with("Tags", json!((0..49).map(|i| json!({"Key": format!("k{i}"), "Value": "v"})).collect::<Vec<_>>())),
            vec!["Tags", "at most 48"],
        ),
        (with("Tags", json!([{"Key": "samlfed:stack-id", "Value": "x"}])), vec!["Tags", "reserved prefix"]),
    ];
    for (props, phrases) in cases {
        assert_create_refused(&h, ROLE, props, &phrases).await;
    }
    assert!(h.iam.list_roles().send().await.unwrap().roles().is_empty(), "IAM unchanged");
}
