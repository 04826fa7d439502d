//! What the function logs never carries a secret: a full lifecycle through the real `bootstrap`
//! binary, with its stdout and stderr captured, at each application log level a template's
//! `LoggingConfig` may set, must show no secret key or session token, no presigned query string
//! (X-Amz-Signature / X-Amz-Credential values), and no metadata document.

use std::time::Duration;

use samlfed::logging::{lambda_level_of, lambda_sends, LambdaLevel};
use serde_json::{json, Value};

use crate::support;
use crate::support::function::{Function, Outcome, SECRET_KEY, SESSION_TOKEN};
use crate::support::harness::Harness;
use crate::support::{idp_metadata, idp_metadata_variant};

/// A line of the fixture's certificate: if it shows, a document was logged.
const CERTIFICATE_LINE: &str = "AQEAqUd6kJWapG848Cf5Z8T52Yec5tx3etm19BApuokWktmEASYUFd";

/// The values of the presigned query parameters that must never be logged, raw and decoded.
fn presigned_secrets(event: &Value) -> Vec<String> {
    let url = url::Url::parse(event["ResponseURL"].as_str().unwrap()).unwrap();
    let mut secrets = Vec::new();
    for (key, value) in url.query_pairs() {
        if matches!(key.as_ref(), "X-Amz-Signature" | "X-Amz-Credential" | "X-Amz-Security-Token") {
            secrets.push(value.to_string());
        }
    }
    for pair in url.query().unwrap_or("").split('&') {
        if let Some((key, raw)) = pair.split_once('=') {
            if matches!(key, "X-Amz-Signature" | "X-Amz-Credential" | "X-Amz-Security-Token") {
                secrets.push(raw.to_string());
            }
        }
    }
    assert!(secrets.len() >= 2, "the ResponseURL is presigned: {url}");
    secrets
}

struct Lifecycle {
    output: String,
    secrets: Vec<String>,
    documents: Vec<String>,
}

/// Create, Update (new metadata), a role's Create and Delete, a bad document, a refused event,
/// an undeliverable response, Delete — through the binary at `level`.
async fn lifecycle(level: &str) -> Lifecycle {
    let h = Harness::start().await;
    let function =
        Function::start(&h.emulator, 30, &[("AWS_LAMBDA_LOG_LEVEL", level), ("SAMLFED_RESPONSE_ATTEMPTS", "2")]).await;
    let rotated = idp_metadata_variant("https://idp.example.org/rotated");
    let (url, _) = h.put_metadata("metadata/idp.xml", idp_metadata()).await;
    let (_, version) = h.put_metadata("metadata/idp.xml", rotated.clone()).await;
    let arn = Harness::provider_arn("Okta");
    let old = json!({"Name": "Okta", "MetadataUrl": url});
    let new = json!({"Name": "Okta", "MetadataUrl": format!("{url}?versionId={version}"), "Tags": [{"Key": "team", "Value": "platform"}]});
    let role = json!({"RoleName": "CorpReadOnly", "ProviderArn": arn, "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]});
    let mut bad_document = idp_metadata();
    bad_document.insert_str(0, "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>");

    let mut events = vec![
        ("SUCCESS", h.create("IdentityProvider", old.clone()).await),
        ("SUCCESS", h.update("IdentityProvider", &arn, new.clone(), old).await),
        ("SUCCESS", h.event("Create", "Custom::SAMLRole", "Role", role.clone()).await),
        ("FAILED", h.create("Broken", json!({"Name": "Broken", "MetadataDocument": bad_document})).await),
    ];
    let mut role_delete = h.event("Delete", "Custom::SAMLRole", "Role", role).await;
    role_delete["PhysicalResourceId"] = json!(format!("arn:aws:iam::{}:role/CorpReadOnly", support::harness::ACCOUNT));
    events.push(("SUCCESS", role_delete));
    events.push(("SUCCESS", h.delete("IdentityProvider", &arn, new).await));

    let mut secrets = Vec::new();
    for (status, event) in &events {
        secrets.extend(presigned_secrets(event));
        function.serve(&h.emulator, event, status).await;
    }
    // A refused event: a foreign ResponseURL carrying a presigned-looking query.
    let mut refused = h.create("Stolen", json!({"Name": "Stolen", "MetadataDocument": idp_metadata()})).await;
    secrets.extend(presigned_secrets(&refused));
    let stolen = refused["ResponseURL"].as_str().unwrap().replace(&h.emulator.endpoint(), "http://127.0.0.1:9");
    refused["ResponseURL"] = json!(stolen);
    let outcome = function.invoke(&refused).await;
    assert!(matches!(&outcome, Outcome::Response(v) if v["Status"] == "REFUSED"), "{outcome:?}");
    // An answer that cannot be delivered (the response bucket does not exist: 404, final).
    let mut lost = h.delete("Lost", &arn, json!({})).await;
    secrets.extend(presigned_secrets(&lost));
    let misdirected =
        lost["ResponseURL"].as_str().unwrap().replace("/cfn-custom-resource-responses/", "/no-such-bucket/");
    lost["ResponseURL"] = json!(misdirected);
    h.emulator.record_operation(&lost).await;
    let outcome = function.invoke(&lost).await;
    assert_eq!(outcome, Outcome::Response(json!({"Status": "SUCCESS", "Delivered": false})));

    let output = function.stop().await;
    Lifecycle { output, secrets, documents: vec![idp_metadata(), rotated] }
}

/// The checks every level must pass.
fn assert_nothing_secret(run: &Lifecycle, level: &str) {
    let output = &run.output;
    assert!(output.contains("refused the event"), "the function logged at {level}:\n{output}");
    let mut leaks = Vec::new();
    for (what, needle) in [("the secret access key", SECRET_KEY), ("the session token", SESSION_TOKEN)] {
        if output.contains(needle) {
            leaks.push(what.to_string());
        }
    }
    for secret in &run.secrets {
        if output.contains(secret.as_str()) {
            leaks.push(format!("a presigned query value {secret:?}"));
        }
    }
    for marker in ["X-Amz-Signature", "X-Amz-Credential", "x-amz-signature", "X-Amz-Security-Token"] {
        if output.contains(marker) {
            leaks.push(format!("a presigned query parameter ({marker})"));
        }
    }
    for document in &run.documents {
        if output.contains(document.as_str()) {
            leaks.push("a whole metadata document".to_string());
        }
    }
    for marker in [CERTIFICATE_LINE, "EntityDescriptor xmlns", "<md:EntityDescriptor", "file:///etc/passwd"] {
        if output.contains(marker) {
            leaks.push(format!("metadata content ({marker})"));
        }
    }
    let lines_with =
        |needle: &str| output.lines().filter(|l| l.contains(needle)).take(3).collect::<Vec<_>>().join("\n");
    assert!(
        leaks.is_empty(),
        "at AWS_LAMBDA_LOG_LEVEL={level} the logs show {leaks:?}; e.g.\n{}",
        lines_with(SESSION_TOKEN) + &lines_with(CERTIFICATE_LINE) + &lines_with("X-Amz-")
    );
}

/// With `AWS_LAMBDA_LOG_FORMAT=JSON`, every line the function writes is a JSON object.
fn assert_json_lines(run: &Lifecycle) {
    for line in run.output.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("emulator:")) {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value.is_object(), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_lifecycle_logs_no_secret_no_presigned_query_and_no_document_at_info() {
    let run = lifecycle("INFO").await;
    assert_nothing_secret(&run, "INFO");
    assert_json_lines(&run);
    // The refused event and the undeliverable answer are logged, with the URL's query hidden.
    assert!(run.output.contains("answered CloudFormation"), "{}", run.output);
    assert!(run.output.contains("refused the event") && run.output.contains("?…"), "{}", run.output);
    assert!(run.output.contains("could not deliver the answer"), "{}", run.output);
    // Each answer says where its time went: the Create's S3 and IAM calls and the PUT are AWS time.
    let answers: Vec<Value> = run
        .output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "answered CloudFormation")
        .collect();
    assert!(answers.len() >= 6, "{}", run.output);
    for answer in &answers {
        let (aws, own) = (answer["fields"]["aws_ms"].as_f64(), answer["fields"]["own_ms"].as_f64());
        assert!(aws.is_some_and(|ms| ms > 0.0) && own.is_some_and(|ms| ms >= 0.0), "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_lifecycle_logs_no_secret_at_warn_either() {
    let run = lifecycle("WARN").await;
    assert_nothing_secret(&run, "WARN");
    assert_json_lines(&run);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_lifecycle_logs_no_secret_at_debug() {
    let run = lifecycle("DEBUG").await;
    assert_nothing_secret(&run, "DEBUG");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_lifecycle_logs_no_secret_at_trace() {
    let run = lifecycle("TRACE").await;
    assert_nothing_secret(&run, "TRACE");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sdk_operation_is_counted_as_aws_time() {
    let h = Harness::start().await;
    assert_eq!(h.deps.clients.aws_time.take(), Duration::ZERO);
    h.deps.clients.iam.list_saml_providers().send().await.expect("IAM answers");
    let iam = h.deps.clients.aws_time.take();
    h.deps.clients.s3.list_buckets().send().await.expect("S3 answers");
    let s3 = h.deps.clients.aws_time.take();
    assert!(iam > Duration::ZERO && s3 > Duration::ZERO, "IAM {iam:?}, S3 {s3:?}");
    assert_eq!(h.deps.clients.aws_time.take(), Duration::ZERO, "taken means started again");
}

/// With `LogFormat: JSON`, Lambda sends only the lines at the function's ApplicationLogLevel or
/// less detail, and reads a line without a valid `level` or RFC 3339 `timestamp` as INFO
/// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html). At
/// every level the template's `LogLevel` allows, the real binary writes the certificate-expiry
/// metric (an EMF line, its only way to CloudWatch) with a level Lambda sends at that setting,
/// and every line it writes is read by Lambda at the level it declares.
#[tokio::test(flavor = "multi_thread")]
async fn the_certificate_expiry_metric_reaches_cloudwatch_at_every_log_level() {
    let h = Harness::start().await;
    for setting in LambdaLevel::ALL {
        let function = Function::start(&h.emulator, 30, &[("AWS_LAMBDA_LOG_LEVEL", setting.as_str())]).await;
        let name = format!("Okta-{}", setting.as_str());
        let event = h.create(&name, json!({"Name": name, "MetadataDocument": idp_metadata()})).await;
        function.serve(&h.emulator, &event, "SUCCESS").await;
        let output = function.stop().await;
        let metrics: Vec<&str> = output.lines().filter(|l| l.contains(r#""_aws""#)).collect();
        assert_eq!(metrics.len(), 1, "one metric line at {setting:?}:\n{output}");
        let metric: Value = serde_json::from_str(metrics[0]).expect("the metric line is JSON");
        assert_eq!(metric["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "DaysToCertificateExpiry");
        assert_eq!(metric["ProviderName"], name.as_str());
        assert!(
            lambda_sends(setting, metrics[0]),
            "at ApplicationLogLevel {setting:?} Lambda reads the metric line as {:?} and drops it: {}",
            lambda_level_of(metrics[0]),
            metrics[0]
        );
        for line in output.lines().filter(|l| l.starts_with('{')) {
            let declared =
                serde_json::from_str::<Value>(line).ok().and_then(|v| v["level"].as_str().and_then(LambdaLevel::parse));
            let declared = declared.unwrap_or_else(|| panic!("a JSON line without a level Lambda knows: {line}"));
            assert_eq!(lambda_level_of(line), declared, "Lambda would not read this line's level: {line}");
        }
    }
}
