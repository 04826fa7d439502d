//! `MetadataUrl = https://…`: fetched with certificate validation from addresses the function may
//! reach, every failure its own Reason, IAM unchanged unless the document is good.
//!
//! Hand-written properties, and why: each case points `MetadataUrl` at one misbehaving path of
//! the test IdP; the template's `MetadataHttpsUrl` parameter is rendered in `template_events.rs`.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use samlfed::cfn::handler::Deps;
use serde_json::{json, Value};
use support::harness::Harness;
use support::https_idp::HttpsIdp;
use support::{idp_metadata, sha256_hex};

async fn run_with(h: &Harness, deps: &Deps, props: Value) -> Value {
    let event = h.create("IdentityProvider", props).await;
    h.invoke_with(deps, &event, Duration::from_secs(60)).await;
    h.response(&event).await.expect("answered")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_metadata_url_creates_the_provider_following_a_redirect_with_pins_checked() {
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    let deps = h.deps_trusting(Some(&idp.ca_pem), true, Duration::from_secs(5));
    let certificate_pin = {
        let validated =
            samlfed::metadata::validate::validate(idp_metadata().as_bytes(), time::OffsetDateTime::now_utc()).unwrap();
        validated.signing_certificates[0].sha256_hex.to_uppercase()
    };
    let props = json!({
        "Name": "Okta",
        "MetadataUrl": idp.url("/redirect"),
        "MetadataSha256": sha256_hex(idp_metadata().as_bytes()),
        "TrustedCertificateSha256": [certificate_pin]
    });
    let response = run_with(&h, &deps, props).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(h.provider("Okta").await.unwrap().saml_metadata_document(), Some(idp_metadata().as_str()));
    let paths: Vec<String> = idp.requests().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/redirect", "/metadata.xml"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_https_failure_has_its_own_reason_and_changes_nothing() {
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    let deps = h.deps_trusting(Some(&idp.ca_pem), true, Duration::from_secs(2));
    let cases = [
        (idp.url("/redirect-to-http"), "redirected to http://localhost"),
        (idp.url("/loop"), "redirected more than 3 times"),
        (idp.url("/missing"), "HTTP 404"),
        (idp.url("/broken"), "HTTP 500"),
        (idp.url("/slow"), "did not deliver the document within"),
        (idp.url("/huge"), "larger than IAM's limit"),
        (idp.url("/redirect-to-metadata-service"), "never fetches"),
        ("https://169.254.169.254/latest/meta-data/".to_string(), "never fetches"),
        (format!("http://localhost:{}/metadata.xml", idp.port), "plain http:// is refused"),
    ];
    for (url, phrase) in cases {
        h.emulator.clear_calls().await;
        let response = run_with(&h, &deps, json!({"Name": "Okta", "MetadataUrl": url})).await;
        assert_eq!(response["Status"], "FAILED", "{url}");
        let reason = response["Reason"].as_str().unwrap();
        assert!(
            reason.contains("MetadataUrl") && reason.contains(phrase),
            "Reason for {url} should contain {phrase:?}: {reason}"
        );
        assert!(h.iam_calls().await.is_empty(), "no IAM call for {url}");
    }
    let sent = idp.huge_bytes_sent.load(Ordering::SeqCst);
    assert!(sent < 20_000_000, "the oversized body was abandoned early, not read whole ({sent} bytes sent)");
    assert!(h.provider_names().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_is_refused_on_the_resolved_address_and_untrusted_certificates_fail_tls() {
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    // Production settings: `localhost` resolves to 127.0.0.1, which is refused before connecting.
    let production = h.deps_trusting(Some(&idp.ca_pem), false, Duration::from_secs(2));
    let response = run_with(&h, &production, json!({"Name": "Okta", "MetadataUrl": idp.url("/metadata.xml")})).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("resolves only to 127.0.0.1"), "{response}");
    assert_eq!(idp.connections.load(Ordering::SeqCst), 0, "no connection was opened");

    // The public roots do not include the test CA: the handshake fails.
    let public_roots = h.deps_trusting(None, true, Duration::from_secs(2));
    let response = run_with(&h, &public_roots, json!({"Name": "Okta", "MetadataUrl": idp.url("/metadata.xml")})).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("TLS handshake failed"), "{response}");
    assert!(h.provider_names().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn pins_that_do_not_match_the_fetched_document_refuse_it() {
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    let deps = h.deps_trusting(Some(&idp.ca_pem), true, Duration::from_secs(5));
    let url = idp.url("/metadata.xml");
    let response =
        run_with(&h, &deps, json!({"Name": "Okta", "MetadataUrl": url, "MetadataSha256": "ab".repeat(32)})).await;
    assert!(response["Reason"].as_str().unwrap().contains("MetadataSha256: the document's SHA-256 is"), "{response}");
    let response =
        run_with(&h, &deps, json!({"Name": "Okta", "MetadataUrl": url, "TrustedCertificateSha256": ["cd".repeat(32)]}))
            .await;
    assert!(
        response["Reason"]
            .as_str()
            .unwrap()
            .contains("TrustedCertificateSha256: the document holds certificates that are not pinned"),
        "{response}"
    );
    assert!(h.provider_names().await.is_empty(), "IAM unchanged");
}
