//! Metadata sources and documents: sources that cannot be read, documents that are not IdP
//! metadata or not one SAML 2.0 IdP, pins that do not match, entities (never fetched), an expired
//! signing certificate (accepted), endless, too large or too many-noded bodies, and an s3:// URL's
//! userinfo and presigned query (never shown). Whatever is refused, nothing reaches IAM.
//!
//! Hand-written properties, and why: a document like these is what the project's template cannot
//! tell from a good one, and what a user's own template, or a direct invoker, can point at.

use base64::Engine as _;
use serde_json::json;

use super::{
    assert_create_refused, assert_document_refused, assert_failed_once, assert_refused, fixture_with, flooded, padding,
    LOGICAL_ID,
};
use crate::support;
use crate::support::fault_proxy::{ConnectionCounter, Fault};
use crate::support::harness::Harness;
use crate::support::idp_metadata;

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
