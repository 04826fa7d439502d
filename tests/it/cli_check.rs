//! `samlfed check`, run as people run it: the binary, its output and its exit code, on our fixtures,
//! on the real IdP documents of `../shared/idp-metadata/`, from S3 (the emulator) and over HTTPS.
#![cfg(feature = "cli")]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support;
use crate::support::emulator::samlfed_cli;
use crate::support::sha256_hex;

const FIXTURES: &str = "tests/fixtures/metadata";
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/idp-metadata");
/// The certificate in idp-minimal.xml.
const MINIMAL_CERT_SHA256: &str = "1a81ead0053bf7ff5d444ea44f0fc6f0c71dd80ad3aed2119ba9d51bf2ac5360";

/// Runs the binary from the crate root, so fixture paths (and snapshots) are relative.
fn samlfed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samlfed"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("run samlfed")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(output)))
}

/// The corpus file, or `None` (with a message) where `../shared` is absent, as in a user's clone.
/// CI always has it beside the clone: there (`CI=true`) a missing corpus fails the test.
fn corpus(name: &str) -> Option<String> {
    let path = format!("{CORPUS}/{name}");
    if std::path::Path::new(&path).exists() {
        return Some(path);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but the real-IdP corpus {path} is missing");
    eprintln!("skipped: ../shared/idp-metadata not present ({CORPUS})");
    None
}

#[test]
fn a_good_document_is_accepted_with_everything_people_need() {
    let path = fixture("idp-minimal.xml");
    let out = samlfed(&["check", &path, "--at", "2030-01-01T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let bytes = std::fs::read(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(text.contains(&format!("SHA-256       {}", sha256_hex(&bytes))), "{text}");
    assert!(text.contains("entity ID     https://idp.example.com/saml2/idp"), "{text}");
    assert!(text.contains("HTTP-POST"), "{text}");
    assert!(text.contains(&format!("SHA-256   {MINIMAL_CERT_SHA256}")), "{text}");
    // 2030-01-01 to the certificate's NotAfter 2045-01-01: 15 years and 4 leap days.
    assert!(text.contains("NotAfter  2045-01-01T00:00:00Z (5,479 days left)"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when stdout is not a terminal");
    insta::assert_snapshot!("check_idp_minimal", text);
}

#[test]
fn a_refused_document_exits_1_and_says_why_and_what_to_do() {
    let out = samlfed(&["check", &fixture("sp-only.xml"), "--at", "2030-01-01T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("✗ MetadataDocument: this is service-provider metadata, not IdP metadata"), "{text}");
    assert!(text.contains("Supply the metadata your identity provider publishes"), "{text}");
    insta::assert_snapshot!("check_sp_only", text);
}

#[test]
fn an_expired_certificate_is_a_warning_not_a_refusal() {
    let out = samlfed(&["check", &fixture("idp-expired-cert.xml"), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(report["verdict"], "accept");
    assert!(report["signing_certificates"][0]["days_left"].as_i64().unwrap() < 0);
    let warnings = report["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("expired on 2024-03-01T12:00:00Z")), "{report}");
}

#[test]
fn pins_are_checked_as_the_lambda_checks_them_and_every_failed_pin_is_listed() {
    let path = fixture("idp-minimal.xml");
    let sha = sha256_hex(&std::fs::read(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap());
    let colons: String = MINIMAL_CERT_SHA256
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    let out = samlfed(&["check", &path, "--sha256", &sha, "--trusted-cert-sha256", &colons]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let wrong = "ab".repeat(32);
    let out = samlfed(&["check", &path, "--sha256", &wrong, "--trusted-cert-sha256", &wrong, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["verdict"], "refuse");
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{report}");
    assert_eq!(problems[0]["property"], "MetadataSha256");
    assert!(problems[0]["message"].as_str().unwrap().contains(&sha));
    assert_eq!(problems[1]["property"], "TrustedCertificateSha256");
    assert!(problems[1]["message"].as_str().unwrap().contains(MINIMAL_CERT_SHA256));

    // A second trusted fingerprint that matches is enough.
    let out = samlfed(&["check", &path, "--trusted-cert-sha256", &wrong, "--trusted-cert-sha256", MINIMAL_CERT_SHA256]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn stdin_is_read_with_a_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_samlfed"))
        .args(["check", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let document = support::idp_metadata().into_bytes();
    child.stdin.take().unwrap().write_all(&document).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["source"], "stdin");
    assert_eq!(json(&out)["sha256"], sha256_hex(&document));
}

#[test]
fn usage_errors_exit_2_with_one_line_and_a_hint() {
    for (args, phrase) in [
        (vec!["check", "/nonexistent/metadata.xml"], "cannot read /nonexistent/metadata.xml"),
        (vec!["check", "http://idp.example.com/metadata"], "plain http:// is refused"),
        (vec!["check", "s3://Bucket/key"], "bucket name"),
    ] {
        let out = samlfed(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {err}");
        assert!(lines[0].starts_with("error: ") && lines[0].contains(phrase), "{args:?}: {err}");
        assert!(lines[1].starts_with("  hint: "), "{err}");
        assert!(out.stdout.is_empty());
    }
    // clap's own errors are usage errors too.
    for args in [vec!["check"], vec!["check", "x.xml", "--sha256", "xyz"], vec!["check", "x.xml", "--at", "tomorrow"]] {
        let out = samlfed(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let out = samlfed(&["check", "x.xml", "--sha256", "xyz"]);
    assert!(stderr(&out).contains("MetadataSha256 \"xyz\" is not a SHA-256 in hex"), "{}", stderr(&out));
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [vec!["--help"], vec!["check", "--help"], vec!["rollout", "status", "--help"]] {
        let out = samlfed(&args);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(text.contains("Exit codes:") && text.contains("1  negative verdict"), "{args:?}: {text}");
    }
}

#[test]
fn colour_is_forced_or_left_out_but_never_sent_to_a_pipe_by_default() {
    let path = fixture("sp-only.xml");
    let coloured = samlfed(&["--color", "always", "check", &path]);
    assert!(stdout(&coloured).contains("\x1b[31;1m"), "{}", stdout(&coloured));
    let auto = samlfed(&["check", &path]);
    assert!(!stdout(&auto).contains('\x1b'));
    let no_color = Command::new(env!("CARGO_BIN_EXE_samlfed"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", &path])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&no_color.stdout).contains('\x1b'));
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = samlfed(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = stdout(&out);
        assert!(
            text.contains("samlfed") && text.contains("rollout") && text.contains("trusted-cert-sha256"),
            "{shell}"
        );
    }
    assert_eq!(samlfed(&["completions", "tcsh"]).status.code(), Some(2));
}

// ---- the real-world corpus: the verdicts of ../shared/idp-metadata/SOURCES.md ----

/// "now" for the corpus: after the Google document's validUntil (2026-06-22), as on the machine
/// date SOURCES.md was checked against.
const AFTER: &str = "2026-11-22T00:00:00Z";

#[test]
fn the_real_idp_documents_get_their_documented_verdicts() {
    let expected = [
        ("adfs2-federationmetadata.xml", 0, "http://fs.msidlab7.com/adfs/services/trust"),
        ("okta-dev.xml", 0, "http://www.okta.com/exk8dx3jilpueVzpU0h7"),
        ("google-workspace-edited.xml", 1, "validUntil is 2026-06-22T18:39:53Z"),
        ("shibboleth-idp-v2-msidlab.xml", 0, "https://idp.msidlab13.com/idp/shibboleth"),
        ("shibboleth-idp-generated.xml", 0, "https://idp.example.org/idp/shibboleth"),
        ("testshib-entities-aggregate.xml", 1, "https://idp.testshib.org/idp/shibboleth"),
    ];
    for (name, code, phrase) in expected {
        let Some(path) = corpus(name) else { return };
        let out = samlfed(&["check", &path, "--at", AFTER]);
        assert_eq!(out.status.code(), Some(code), "{name}: {}", stdout(&out));
        assert!(stdout(&out).contains(phrase), "{name}: {}", stdout(&out));
    }
}

#[test]
fn the_corpus_details_match_what_sources_md_describes() {
    let Some(google) = corpus("google-workspace-edited.xml") else { return };
    let before = json(&samlfed(&["check", &google, "--at", "2026-01-01T00:00:00Z", "--json"]));
    assert_eq!(before["verdict"], "accept", "accepted before its validUntil");
    assert_eq!(before["valid_until"], "2026-06-22T18:39:53Z");

    let Some(shibboleth) = corpus("shibboleth-idp-generated.xml") else { return };
    let report = json(&samlfed(&["check", &shibboleth, "--at", AFTER, "--json"]));
    assert_eq!(report["signing_certificates"].as_array().unwrap().len(), 2, "certificates in comments are not counted");

    let Some(adfs) = corpus("adfs2-federationmetadata.xml") else { return };
    let report = json(&samlfed(&["check", &adfs, "--at", AFTER, "--json"]));
    assert_eq!(report["signing_certificates"].as_array().unwrap().len(), 1, "the encryption certificate is not one");
    assert!(report["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("expired")));

    let Some(aggregate) = corpus("testshib-entities-aggregate.xml") else { return };
    let report = json(&samlfed(&["check", &aggregate, "--at", AFTER, "--json"]));
    assert_eq!(report["verdict"], "refuse");
    assert!(report["entity_id"].is_null());
    assert!(report["problems"][0]["message"].as_str().unwrap().contains("EntitiesDescriptor aggregate"));
}

// ---- remote sources, fetched by the Lambda's own fetchers ----

#[tokio::test(flavor = "multi_thread")]
async fn an_s3_document_is_read_like_the_lambda_reads_it() {
    let h = support::harness::Harness::start().await;
    let (url, version) = h.put_metadata("metadata/idp.xml", support::idp_metadata()).await;
    let versioned = format!("{url}?versionId={version}");
    let out = samlfed_cli(&h.emulator.endpoint()).args(["check", &versioned, "--json"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["source"], versioned.as_str());
    assert_eq!(report["sha256"], sha256_hex(support::idp_metadata().as_bytes()));

    let missing = format!("{url}-missing");
    let out = samlfed_cli(&h.emulator.endpoint()).args(["check", &missing]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(3), "could not find out: not a verdict on the document");
    let err = stderr(&out);
    assert!(err.starts_with(&format!("error: MetadataUrl {missing}: the object does not exist (NoSuchKey)")), "{err}");
    assert!(err.contains("hint: this used your own AWS credentials"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_document_is_fetched_with_the_lambdas_client() {
    let idp = support::https_idp::HttpsIdp::start(support::idp_metadata()).await;
    let run = |path: &str| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_samlfed"));
        command
            .args(["check", &idp.url(path), "--json"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SAMLFED_TEST_CA_PEM", &idp.ca_pem)
            .env("SAMLFED_TEST_ALLOW_LOOPBACK", "1")
            .env("SAMLFED_METADATA_TIMEOUT_MS", "3000");
        command
    };
    let out = run("/redirect").output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["entity_id"], "https://idp.example.com/saml2/idp");

    let out = run("/huge").output().await.unwrap();
    assert_eq!(out.status.code(), Some(1), "too large is the Lambda's refusal: {}", stderr(&out));
    assert!(json(&out)["problems"][0]["message"].as_str().unwrap().contains("larger than IAM's limit"));

    let out = run("/missing").output().await.unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("HTTP 404"), "{}", stderr(&out));
}
