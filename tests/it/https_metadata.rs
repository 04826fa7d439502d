//! `MetadataUrl = https://…`: fetched with certificate validation from addresses the function may
//! reach, every failure its own Reason, IAM unchanged unless the document is good.
//!
//! Hand-written properties, and why: each case points `MetadataUrl` at one misbehaving path of
//! the test IdP; the template's `MetadataHttpsUrl` parameter is rendered in `template_events.rs`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use samlfed::cfn::handler::Deps;
use serde_json::{json, Value};

use crate::support::fault_proxy::ConnectionCounter;
use crate::support::function::{Function, Outcome};
use crate::support::harness::Harness;
use crate::support::https_idp::HttpsIdp;
use crate::support::{idp_metadata, sha256_hex};

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

// ------------------------------------------------------------------ hostile streams and secrets

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_of_utf8_continuation_bytes_without_a_length_is_cut_off_at_the_byte_cap() {
    // Not one character in 210 MB: a cap that counts characters never stops reading it.
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    let deps = h.deps_trusting(Some(&idp.ca_pem), true, Duration::from_secs(60));
    let response = run_with(&h, &deps, json!({"Name": "Okta", "MetadataUrl": idp.url("/huge-continuation")})).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("MetadataUrl {}: ", idp.url("/huge-continuation")))
            && reason.contains("larger than IAM's limit")
            && reason.contains("10000000 bytes"),
        "{reason}"
    );
    let sent = idp.huge_bytes_sent.load(Ordering::SeqCst);
    assert!(sent < 20_000_000, "stopped right after the 10,000,000-byte cap, not at the end of the stream: {sent}");
    assert!(h.iam_calls().await.is_empty() && h.provider_names().await.is_empty());
}

/// A password and a token that must never be shown.
const PASSWORD: &str = "hunter2-PASSWORD-VALUE";
const TOKEN: &str = "TOKEN-VALUE-d41d8cd98f00b204";

/// Neither the password nor the token (raw or percent-encoded) appears in `shown`.
fn assert_no_secret(shown: &str, context: &str) {
    for secret in [PASSWORD, TOKEN, "hunter2", "d41d8cd98f00b204"] {
        assert!(!shown.contains(secret), "{context}: {secret:?} is shown in {shown}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_metadata_url_s_userinfo_and_query_never_reach_a_reason_or_a_log_line() {
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let port = idp.port;
    let q = format!("token={TOKEN}&signature={TOKEN}#{TOKEN}");
    let cases = [
        // Refused as written: the userinfo itself, other schemes, no host.
        (format!("https://alice:{PASSWORD}@localhost:{port}/metadata.xml?{q}"), "user name or password"),
        (format!("https://{PASSWORD}@localhost:{port}/metadata.xml?{q}"), "user name or password"),
        (format!("http://alice:{PASSWORD}@localhost:{port}/metadata.xml?{q}"), "plain http:// is refused"),
        (format!("ftp://alice:{PASSWORD}@localhost/metadata.xml?{q}"), "only https:// and s3://"),
        (format!("https://alice:{PASSWORD}@/metadata.xml?{q}"), "not a valid https:// URL"),
        (format!("https://alice:{PASSWORD}@localhost:99999/metadata.xml?{q}"), "not a valid https:// URL"),
        // Fetched and failed.
        (format!("https://localhost:{port}/missing?{q}"), "HTTP 404"),
        (format!("https://localhost:{port}/loop?{q}"), "redirected more than 3 times"),
        (format!("https://localhost:{port}/redirect-to-http?{q}"), "redirected to http://localhost"),
        (format!("https://localhost:{port}/slow?{q}"), "did not deliver the document within"),
        (format!("https://localhost:{port}/huge?{q}"), "larger than IAM's limit"),
        (format!("https://localhost:{closed_port}/metadata.xml?{q}"), "could not connect"),
        (format!("https://169.254.169.254/latest/meta-data/?{q}"), "never fetches"),
    ];
    // Through the real binary, so that its log lines are seen as well as its answers.
    let ca_pem = idp.ca_pem.to_string_lossy().to_string();
    let function = Function::start(
        &h.emulator,
        30,
        &[
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
            ("SAMLFED_TEST_CA_PEM", ca_pem.as_str()),
            ("SAMLFED_TEST_ALLOW_LOOPBACK", "1"),
            ("SAMLFED_METADATA_TIMEOUT_MS", "2000"),
        ],
    )
    .await;
    for (url, phrase) in &cases {
        let event = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": url})).await;
        h.emulator.record_operation(&event).await;
        let outcome = function.invoke(&event).await;
        assert_eq!(outcome, Outcome::Response(json!({"Status": "FAILED", "Delivered": true})), "{url}");
        let response = h.response(&event).await.expect("answered");
        let reason = response["Reason"].as_str().unwrap();
        assert!(reason.contains("MetadataUrl") && reason.contains(phrase), "{url}: {reason}");
        assert_no_secret(&response.to_string(), url);
    }
    // The TLS failure, with the public roots instead of the test CA.
    let public_roots = h.deps_trusting(None, true, Duration::from_secs(2));
    let url = format!("https://localhost:{port}/metadata.xml?{q}");
    let response = run_with(&h, &public_roots, json!({"Name": "Okta", "MetadataUrl": url})).await;
    assert!(response["Reason"].as_str().unwrap().contains("TLS handshake failed"), "{response}");
    assert_no_secret(&response.to_string(), &url);

    let output = function.stop().await;
    assert!(output.contains("answered CloudFormation"), "the function logged:\n{output}");
    assert_no_secret(&output, "the function's log");
    assert!(h.provider_names().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_proxy_in_the_environment_is_never_used_for_metadata() {
    // reqwest honours HTTPS_PROXY by default: the proxy would resolve the name and connect,
    // past the address check. The variables are set for the function's process only.
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    let proxy = ConnectionCounter::start();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let ca_pem = idp.ca_pem.to_string_lossy().to_string();
    let proxies = [("HTTPS_PROXY", proxy_url.as_str()), ("https_proxy", proxy_url.as_str())];

    // Production settings: localhost resolves to 127.0.0.1, which is refused, proxy or not.
    let function =
        Function::start(&h.emulator, 30, &[&proxies[..], &[("SAMLFED_TEST_CA_PEM", ca_pem.as_str())]].concat()).await;
    let event = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": idp.url("/metadata.xml")})).await;
    function.serve(&h.emulator, &event, "FAILED").await;
    let response = h.response(&event).await.expect("answered");
    assert!(response["Reason"].as_str().unwrap().contains("resolves only to 127.0.0.1"), "{response}");
    drop(function);

    // With loopback allowed (test-only), the document is fetched directly, not through the proxy.
    let allowed = [("SAMLFED_TEST_CA_PEM", ca_pem.as_str()), ("SAMLFED_TEST_ALLOW_LOOPBACK", "1")];
    let function = Function::start(&h.emulator, 30, &[&proxies[..], &allowed[..]].concat()).await;
    let event = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": idp.url("/metadata.xml")})).await;
    function.serve(&h.emulator, &event, "SUCCESS").await;
    drop(function);

    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(proxy.connections(), 0, "the proxy was never contacted");
    assert_eq!(idp.requests().len(), 1, "only the allowed fetch reached the IdP: {:?}", idp.requests());
}
