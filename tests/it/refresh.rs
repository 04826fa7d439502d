//! The scheduled refresh: one conditional fetch; IAM is written only when the content changed,
//! and only for the provider this stack made; unchanged metadata on a warm function costs no IAM
//! call. What is refreshed comes from the function's configuration (as the template sets it), the
//! event `{"Refresh": {}}` only triggers.
//!
//! Hand-written refresh bodies, and why: they vary the source (HTTPS, S3, foreign providers) one
//! at a time. The refresh event the template's `RefreshRule` really sends is rendered and run in
//! `template_events.rs`.

use std::time::Duration;

use lambda_runtime::LambdaEvent;
use samlfed::cfn::handler::{handle, Deps};
use samlfed::refresh::RefreshConfig;
use serde_json::{json, Value};

use crate::support::harness::{Harness, METADATA_BUCKET, STACK_ID};
use crate::support::https_idp::HttpsIdp;
use crate::support::{idp_metadata, idp_metadata_variant, sha256_hex};

/// The function configured to refresh provider `name` from `url` (with an optional document pin),
/// as the template's `SAMLFED_REFRESH_*` environment configures it; the provider must be the one
/// `create_provider` made.
fn configured(deps: &Deps, name: &str, url: &str, metadata_sha256: Option<String>) -> Deps {
    let mut deps = deps.clone();
    deps.settings.refresh = Some(RefreshConfig {
        provider_name: name.into(),
        metadata_url: url.into(),
        metadata_sha256,
        trusted_certificate_sha256: vec![],
        stack_id: STACK_ID.into(),
        logical_id: "IdentityProvider".into(),
    });
    deps
}

/// The scheduled event: `{"Refresh": body}` (`{}` from the template).
async fn trigger(deps: &Deps, body: Value) -> Result<Value, String> {
    handle(deps, LambdaEvent::new(json!({ "Refresh": body }), Harness::context(Duration::from_secs(60))))
        .await
        .map_err(|e| e.to_string())
}

async fn refresh(deps: &Deps) -> Result<Value, String> {
    trigger(deps, json!({})).await
}

async fn create_provider(h: &Harness, deps: &Deps, url: &str) {
    let event = h.create("IdentityProvider", json!({"Name": "Okta", "MetadataUrl": url})).await;
    h.invoke_with(deps, &event, Duration::from_secs(60)).await;
    assert_eq!(h.response(&event).await.unwrap()["Status"], "SUCCESS");
    h.emulator.clear_calls().await;
}

fn document_in_iam(provider: Option<aws_sdk_iam::operation::get_saml_provider::GetSamlProviderOutput>) -> String {
    provider.and_then(|p| p.saml_metadata_document().map(str::to_string)).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn https_refresh_writes_only_changed_metadata_and_a_warm_unchanged_refresh_makes_no_iam_call() {
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    let deps = h.deps_trusting(Some(&idp.ca_pem), true, Duration::from_secs(5));
    let url = idp.url("/metadata.xml");
    create_provider(&h, &deps, &url).await;
    let deps = configured(&deps, "Okta", &url, None);

    // Cold: one GET and IAM's copy compared — same content, no write.
    let first = refresh(&deps).await.unwrap();
    assert_eq!(first["Changed"], false);
    assert_eq!(first["MetadataSha256"], sha256_hex(idp_metadata().as_bytes()));
    assert_eq!(first["SigningCertificateNotAfter"], "2045-01-01T00:00:00Z");
    assert_eq!(h.iam_calls().await, ["iam:GetSAMLProvider"]);

    // Warm and unchanged: a conditional GET answered 304, and no IAM call at all.
    h.emulator.clear_calls().await;
    let second = refresh(&deps).await.unwrap();
    assert_eq!(second["Changed"], false);
    assert!(h.iam_calls().await.is_empty(), "no IAM call for unchanged metadata");
    let last = idp.requests().last().cloned().unwrap();
    assert!(last.1.is_some(), "the second GET was conditional (If-None-Match)");

    // The IdP rotates: the new document is validated and written in place.
    let rotated = idp_metadata_variant("https://idp.example.com/saml2/rotated");
    idp.publish(rotated.clone());
    h.emulator.clear_calls().await;
    let third = refresh(&deps).await.unwrap();
    assert_eq!(third["Changed"], true);
    assert_eq!(h.iam_calls().await, ["iam:GetSAMLProvider", "iam:UpdateSAMLProvider"]);
    assert_eq!(document_in_iam(h.provider("Okta").await), rotated);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_or_unpinned_new_metadata_leaves_the_provider_as_it_was() {
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    let deps = h.deps_trusting(Some(&idp.ca_pem), true, Duration::from_secs(5));
    let url = idp.url("/metadata.xml");
    create_provider(&h, &deps, &url).await;

    idp.publish(format!("<html><body>{}</body></html>", "maintenance ".repeat(100)));
    let error = refresh(&configured(&deps, "Okta", &url, None)).await.unwrap_err();
    assert!(error.contains("refused") && error.contains("left unchanged"), "{error}");

    let rotated = idp_metadata_variant("https://idp.example.com/saml2/rotated");
    idp.publish(rotated);
    let pinned = configured(&deps, "Okta", &url, Some(sha256_hex(idp_metadata().as_bytes())));
    let error = refresh(&pinned).await.unwrap_err();
    assert!(error.contains("MetadataSha256"), "{error}");
    assert!(!h.iam_calls().await.iter().any(|c| c == "iam:UpdateSAMLProvider"));
    assert_eq!(document_in_iam(h.provider("Okta").await), idp_metadata(), "unchanged in IAM");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_never_touches_a_foreign_provider_nor_creates_a_missing_one() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata_variant("https://new.example.com")).await;
    h.create_foreign_provider("Corp", &idp_metadata()).await;
    let error = refresh(&configured(&h.deps, "Corp", &url, None)).await.unwrap_err();
    assert!(error.contains("ownership tags") && error.contains("left untouched"), "{error}");
    assert_eq!(document_in_iam(h.provider("Corp").await), idp_metadata());

    // samlfed's tag keys with another resource's values: another stack's provider, not ours either.
    let other = h.create("OtherProvider", json!({"Name": "Other", "MetadataDocument": idp_metadata()})).await;
    h.invoke_with(&h.deps, &other, Duration::from_secs(60)).await;
    assert_eq!(h.response(&other).await.unwrap()["Status"], "SUCCESS");
    let error = refresh(&configured(&h.deps, "Other", &url, None)).await.unwrap_err();
    assert!(error.contains("ownership tags") && error.contains("left untouched"), "{error}");
    assert_eq!(document_in_iam(h.provider("Other").await), idp_metadata());

    let error = refresh(&configured(&h.deps, "Missing", &url, None)).await.unwrap_err();
    assert!(error.contains("does not exist") && error.contains("never creates"), "{error}");
    assert_eq!(h.provider_names().await, ["Corp", "Other"]);

    // Without a configured refresh (no RefreshSchedule in the template), no event refreshes anything.
    let error = refresh(&h.deps).await.unwrap_err();
    assert!(error.contains("no refresh is configured"), "{error}");
    let error =
        trigger(&h.deps, json!({"ProviderArn": Harness::provider_arn("Corp"), "MetadataUrl": url})).await.unwrap_err();
    assert!(error.contains("no refresh is configured"), "{error}");
    assert_eq!(document_in_iam(h.provider("Corp").await), idp_metadata());
}

/// Before, the refresh took its provider, source and pins from the event: anyone allowed to invoke
/// the function replaced the IdP with a document of their choosing. Now the event only triggers.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_event_naming_another_provider_source_or_pins_changes_nothing() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    create_provider(&h, &h.deps, &url).await;
    let (attacker_url, _) =
        h.put_metadata("metadata/attacker.xml", idp_metadata_variant("https://evil.example.com")).await;
    let deps = configured(&h.deps, "Okta", &url, Some(sha256_hex(idp_metadata().as_bytes())));
    let arn = Harness::provider_arn("Okta");
    for forged in [
        json!({"ProviderArn": arn, "MetadataUrl": attacker_url}),
        json!({"ProviderArn": Harness::provider_arn("Other"), "MetadataUrl": url}),
        json!({"ProviderArn": arn, "MetadataUrl": url, "MetadataSha256": sha256_hex(b"another document")}),
        json!({"ProviderArn": arn, "MetadataUrl": url, "TrustedCertificateSha256": ["00".repeat(32)]}),
    ] {
        h.emulator.clear_calls().await;
        let error = trigger(&deps, forged.clone()).await.unwrap_err();
        assert!(
            error.contains("not this function's configuration") || error.contains("malformed"),
            "{forged}: {error}"
        );
        assert!(h.function_calls().await.is_empty(), "{forged}: nothing fetched, no IAM call");
    }
    assert_eq!(document_in_iam(h.provider("Okta").await), idp_metadata());
    // The configured refresh itself still works.
    assert_eq!(refresh(&deps).await.unwrap()["Changed"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_s3_refresh_uses_a_conditional_get_and_follows_a_new_object_version() {
    let h = Harness::start().await;
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    create_provider(&h, &h.deps, &url).await;
    let deps = configured(&h.deps, "Okta", &url, None);

    assert_eq!(refresh(&deps).await.unwrap()["Changed"], false);
    assert_eq!(h.function_calls().await, ["s3:GetObject", "iam:GetSAMLProvider"]);
    h.emulator.clear_calls().await;
    assert_eq!(refresh(&deps).await.unwrap()["Changed"], false);
    assert_eq!(h.function_calls().await, ["s3:GetObject"], "a 304 from S3, no IAM call");

    let rotated = idp_metadata_variant("https://idp.example.com/saml2/rotated");
    h.s3.put_object()
        .bucket(METADATA_BUCKET)
        .key("metadata/idp.xml")
        .body(rotated.clone().into_bytes().into())
        .send()
        .await
        .unwrap();
    h.emulator.clear_calls().await;
    assert_eq!(refresh(&deps).await.unwrap()["Changed"], true);
    assert_eq!(h.function_calls().await, ["s3:GetObject", "iam:GetSAMLProvider", "iam:UpdateSAMLProvider"]);
    assert_eq!(document_in_iam(h.provider("Okta").await), rotated);
}
