//! The bad-input matrix: the parts `tests/bad_input.rs` and `tests/saml_role.rs` do not
//! already cover: every bad event, property or document is answered once, FAILED, with a Reason
//! naming the property and the fix — and IAM is not called at all.
//!
//! Events that cannot be answered honestly (no usable ResponseURL) are refused: no AWS call, no
//! PUT, and the URL is never contacted — proven with a listener that counts connections.
//!
//! Hand-written events, and why: malformed and forged events are what CloudFormation never sends;
//! the wrong-type cases keep their JSON types (`Harness::forged_event`), as only a direct invoker
//! can send them.

mod support;

use base64::Engine as _;
use serde_json::{json, Value};
use support::fault_proxy::{clients_via, ConnectionCounter, Fault, FaultProxy, Match};
use support::harness::{Harness, FUNCTION_KEY};
use support::idp_metadata;

const LOGICAL_ID: &str = "IdentityProvider";
const ROLE: &str = "Custom::SAMLRole";
const NOTHING_CREATED: &str = samlfed::cfn::dispatch::NOTHING_CREATED_PREFIX;

/// A change made to an event.
type Change = Box<dyn Fn(&mut Value)>;

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

// ------------------------------------------------------------------------------ events

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

// -------------------------------------------------------------------------- metadata

#[tokio::test(flavor = "multi_thread")]
async fn documents_that_are_not_one_saml2_idp_are_refused_with_the_reason() {
    let h = Harness::start().await;
    // The real aggregate from ../shared, where it is (CI has it: a missing one fails there).
    let aggregate =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/idp-metadata/testshib-entities-aggregate.xml"));
    assert!(aggregate.is_ok() || std::env::var("CI").as_deref() != Ok("true"), "CI=true but ../shared is missing");
    if aggregate.is_err() {
        eprintln!("skipped the real aggregate: ../shared/idp-metadata not present");
    }
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(idp_metadata().encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let not_x509 =
        base64::engine::general_purpose::STANDARD.encode("this is not a certificate, only some bytes ".repeat(4));
    let mut cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "wrong-root.xml",
            fixture_with("<md:EntityDescriptor", "<md:RoleDescriptor").replace("</md:EntityDescriptor>", "</md:RoleDescriptor>").into_bytes(),
            vec!["root element is", "EntityDescriptor"],
        ),
        (
            "wrong-namespace.xml",
            fixture_with("xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"", "xmlns:md=\"urn:example:not-saml\"").into_bytes(),
            vec!["root element is", "urn:oasis:names:tc:SAML:2.0:metadata"],
        ),
        ("no-entity-id.xml", fixture_with(" entityID=\"https://idp.example.com/saml2/idp\"", "").into_bytes(), vec!["no entityID"]),
        (
            "no-idp.xml",
            {
                let doc = idp_metadata();
                let start = doc.find("<md:IDPSSODescriptor").unwrap();
                let end = doc.find("</md:IDPSSODescriptor>").unwrap() + "</md:IDPSSODescriptor>".len();
                format!("{}<md:AttributeAuthorityDescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:AttributeService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:SOAP\" Location=\"https://idp.example.com/aa\"/></md:AttributeAuthorityDescriptor>{}{}", &doc[..start], &doc[end..], padding()).into_bytes()
            },
            vec!["no IDPSSODescriptor", "AttributeAuthorityDescriptor"],
        ),
        (
            "saml1-only.xml",
            fixture_with("protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"", "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:1.1:protocol\"").into_bytes(),
            vec!["does not list SAML 2.0"],
        ),
        ("no-signing-cert.xml", fixture_with("use=\"signing\"", "use=\"encryption\"").into_bytes(), vec!["no signing certificate", "encryption"]),
        (
            "no-sso.xml",
            fixture_with("<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\"", "<md:ArtifactResolutionService index=\"0\" Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\"")
                .replacen("<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"", "<md:ArtifactResolutionService index=\"1\" Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"", 1)
                .into_bytes(),
            vec!["no SingleSignOnService"],
        ),
        (
            "bad-base64.xml",
            fixture_with("MIIDKDCCAhCgAwIBAgIULKppTdPVThUHdrTfmQY8QC9p+LwwDQYJKoZIhvcNAQEL", "MIIDKDCC!!not*base64!!").into_bytes(),
            vec!["signing certificate #1", "not valid base64"],
        ),
        (
            "not-x509.xml",
            {
                let doc = idp_metadata();
                let start = doc.find("<ds:X509Certificate>").unwrap() + "<ds:X509Certificate>".len();
                let end = doc.find("</ds:X509Certificate>").unwrap();
                format!("{}{not_x509}{}{}", &doc[..start], &doc[end..], padding()).into_bytes()
            },
            vec!["signing certificate #1", "not an X.509 certificate"],
        ),
        (
            "valid-until-past.xml",
            fixture_with("entityID=\"https://idp.example.com/saml2/idp\"", "entityID=\"https://idp.example.com/saml2/idp\" validUntil=\"2020-01-01T00:00:00Z\"").into_bytes(),
            vec!["has expired", "validUntil is 2020-01-01T00:00:00Z"],
        ),
        (
            "valid-until-garbled.xml",
            fixture_with("entityID=\"https://idp.example.com/saml2/idp\"", "entityID=\"https://idp.example.com/saml2/idp\" validUntil=\"next tuesday\"").into_bytes(),
            vec!["validUntil \"next tuesday\"", "xs:dateTime"],
        ),
        (
            "internal-entity.xml",
            format!("<?xml version=\"1.0\"?><!DOCTYPE md:EntityDescriptor [<!ENTITY corp \"Example Corp\">]>{}", fixture_with("<md:OrganizationName xml:lang=\"en\">Example Corp", "<md:OrganizationName xml:lang=\"en\">&corp;").replacen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "", 1)).into_bytes(),
            vec!["DOCTYPE"],
        ),
        (
            "undeclared-entity.xml",
            fixture_with("<md:OrganizationName xml:lang=\"en\">Example Corp", "<md:OrganizationName xml:lang=\"en\">&corp;").into_bytes(),
            vec!["not well-formed XML"],
        ),
        ("utf16.xml", utf16, vec!["UTF-16", "Re-save the file as UTF-8"]),
        (
            "page.html",
            format!("<html><head><title>Sign in</title></head><body>{}</body></html>", "<p>Please sign in.</p>".repeat(60)).into_bytes(),
            vec!["HTML page"],
        ),
        ("short.xml", b"<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>".to_vec(), vec!["fewer than the 1000"]),
    ];
    if let Ok(aggregate) = aggregate {
        cases.push((
            "aggregate.xml",
            aggregate,
            vec!["EntitiesDescriptor aggregate", "https://idp.testshib.org/idp/shibboleth"],
        ));
    }
    for (key, body, phrases) in cases {
        assert_document_refused(&h, key, body, &phrases).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn entities_in_a_document_are_never_fetched() {
    let h = Harness::start().await;
    let listener = ConnectionCounter::start();
    let port = listener.port;
    let body =
        fixture_with("<md:OrganizationName xml:lang=\"en\">Example Corp", "<md:OrganizationName xml:lang=\"en\">&ext;")
            .replacen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "", 1);
    let external = format!("<?xml version=\"1.0\"?><!DOCTYPE md:EntityDescriptor [<!ENTITY ext SYSTEM \"http://127.0.0.1:{port}/xxe\">]>{body}");
    let parameter = format!("<?xml version=\"1.0\"?><!DOCTYPE md:EntityDescriptor [<!ENTITY % dtd SYSTEM \"http://127.0.0.1:{port}/dtd\"> %dtd;]>{body}");
    let public = format!("<?xml version=\"1.0\"?><!DOCTYPE md:EntityDescriptor PUBLIC \"-//X//Y\" \"http://127.0.0.1:{port}/public.dtd\">{}", idp_metadata().replacen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "", 1));
    for (key, document) in [("external.xml", external.clone()), ("parameter.xml", parameter), ("public.xml", public)] {
        assert_document_refused(&h, key, document, &["DOCTYPE", "nothing they reference is fetched"]).await;
    }
    // Inline, too; and the Reason never echoes the document.
    let event = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataDocument": external})).await;
    let response = assert_failed_once(&h, &event, &event, &["MetadataDocument", "DOCTYPE"]).await;
    assert!(
        !response.to_string().contains("X509Certificate") && !response.to_string().contains("127.0.0.1:"),
        "{response}"
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(listener.connections(), 0, "no entity was fetched");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_signing_certificate_is_accepted_and_reported() {
    let h = Harness::start().await;
    let expired =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/idp-expired-cert.xml"))
            .unwrap();
    let (url, _) = h.put_metadata("metadata/legacy.xml", expired).await;
    let response = h.run(&h.create(LOGICAL_ID, json!({"Name": "Legacy", "MetadataUrl": url})).await).await;
    assert_eq!(response["Status"], "SUCCESS", "IAM ignores certificate dates: {response}");
    assert_eq!(response["Data"]["SigningCertificateNotAfter"], "2024-03-01T12:00:00Z", "{response}");
    assert_eq!(h.provider_names().await, ["Legacy"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_certificate_pin_that_matches_nothing_is_refused() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let props = json!({"Name": "Okta", "MetadataUrl": url, "TrustedCertificateSha256": ["AB:".repeat(31) + "AB"]});
    assert_create_refused(
        &h,
        "Custom::SAMLProvider",
        props,
        &["TrustedCertificateSha256", "certificates that are not pinned", "add the new fingerprint"],
    )
    .await;
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

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_metadata_object_is_cut_off_at_iams_limit_not_read_whole() {
    let cap = 200 * 1024 * 1024;
    let (h, proxy, deps) = flooded(Fault::Flood { declared: None, cap }).await;
    let (url, _) = h.put_metadata("metadata/endless.xml", idp_metadata()).await;
    let event = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await;
    h.invoke_with(&deps, &event, std::time::Duration::from_secs(60)).await;
    assert_eq!(h.response_puts().await, 1);
    let response = h.response(&event).await.unwrap();
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("larger than IAM's limit"), "{response}");
    let read = proxy.flooded_bytes();
    assert!(read < 40 * 1024 * 1024, "stopped soon after 10,000,000 characters, not at the {cap}-byte cap: {read}");
    assert!(h.iam_calls().await.is_empty() && h.provider_names().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_metadata_object_declared_too_large_is_refused_before_its_body_is_read() {
    let (h, proxy, deps) = flooded(Fault::Flood { declared: Some(50_000_000), cap: 50_000_000 }).await;
    let (url, _) = h.put_metadata("metadata/huge.xml", idp_metadata()).await;
    let event = h.create(LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url})).await;
    h.invoke_with(&deps, &event, std::time::Duration::from_secs(60)).await;
    let response = h.response(&event).await.unwrap();
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("larger than IAM's limit"), "{response}");
    let read = proxy.flooded_bytes();
    assert!(read < 50_000_000, "refused on Content-Length, not after reading it: {read}");
    assert!(h.iam_calls().await.is_empty());
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
async fn a_document_of_more_xml_nodes_than_any_idp_needs_is_refused_before_it_is_parsed_whole() {
    // 300,000 tiny unknown elements (1.2 MB): each one a parsed node, and unknown elements are
    // otherwise ignored, so nothing but a bound on the parse refuses this document.
    let h = Harness::start().await;
    let many = fixture_with("</md:EntityDescriptor>", &format!("{}</md:EntityDescriptor>", "<a/>".repeat(300_000)));
    assert_document_refused(&h, "many-nodes.xml", many, &["more than 100000 XML nodes", "federation aggregate"]).await;
    // The same many attributes (an element's attributes are compared with each other as they are
    // parsed) and namespace declarations (every element that declares one copies those in scope).
    let attributes: String = (0..5_000).map(|i| format!(" a{i}=\"\"")).collect();
    let wide = fixture_with("<md:Organization>", &format!("<x{attributes}/><md:Organization>"));
    assert_document_refused(&h, "many-attributes.xml", wide, &["more than 1000 attributes on one element"]).await;
    let declarations: String =
        (0..2_000).map(|i| format!("<x xmlns:p{i}=\"urn:x\">")).collect::<String>() + &"</x>".repeat(2_000);
    let nested = fixture_with("<md:Organization>", &format!("{declarations}<md:Organization>"));
    assert_document_refused(&h, "many-namespaces.xml", nested, &["more than 1000 namespace declarations"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_s3_metadata_url_s_userinfo_and_presigned_query_are_never_shown() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let bucket_and_key = url.strip_prefix("s3://").unwrap().to_string();
    let signature = "f00dfeedSIGNATUREVALUE0123456789abcdef";
    let credential = "AKIAEXAMPLECREDENTIAL";
    let password = "hunter2-PASSWORD-VALUE";
    let presigned = format!("X-Amz-Credential={credential}%2F20250101%2Fus-east-1&X-Amz-Signature={signature}");
    let cases: Vec<(String, Vec<&str>)> = vec![
        // Refused as written: presigned-style parameters, userinfo in place of a bucket.
        (format!("s3://{bucket_and_key}?versionId=v1&{presigned}"), vec!["versionId=v1", "X-Amz-Signature=…"]),
        (format!("s3://{bucket_and_key}?{presigned}"), vec!["the only query parameter allowed is versionId"]),
        (format!("s3://alice:{password}@{bucket_and_key}?versionId=v1&{presigned}"), vec!["not a valid s3:// URL"]),
        (format!("S3://alice:{password}@{bucket_and_key}?{presigned}"), vec!["lowercase s3://"]),
        // Read and failed: the versionId stays in the Reason, it is how the user finds the object.
        (format!("s3://{bucket_and_key}?versionId=no-such-version"), vec!["?versionId=no-such-version", "versionId"]),
        (format!("s3://{}/metadata/missing.xml?versionId=v1", bucket_and_key.split('/').next().unwrap()), vec![]),
    ];
    for (url, phrases) in cases {
        let event = h
            .forged_event("Create", "Custom::SAMLProvider", LOGICAL_ID, json!({"Name": "Okta", "MetadataUrl": url}))
            .await;
        let mut expected = vec!["MetadataUrl"];
        expected.extend(phrases);
        let response = assert_failed_once(&h, &event, &event, &expected).await;
        let shown = response.to_string();
        for secret in [signature, credential, password, "hunter2"] {
            assert!(!shown.contains(secret), "{url}: {secret:?} is shown: {shown}");
        }
    }
}
