//! What the validator's tests share: the fixtures, the real-IdP corpus, a pinned "now" on either
//! side of the corpus's dates, and small edits of a fixture.

use time::OffsetDateTime;

use super::{validate, MetadataError};
use crate::datetime::parse_xs_date_time;

pub const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/idp-metadata");
pub const MINIMAL: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/idp-minimal.xml"));
pub const EXPIRED_CERT: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/idp-expired-cert.xml"));
pub const SP_ONLY: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/sp-only.xml"));
/// `openssl x509 -fingerprint -sha256` of the certificate in idp-minimal.xml.
pub const MINIMAL_CERT_SHA256: &str = "1a81ead0053bf7ff5d444ea44f0fc6f0c71dd80ad3aed2119ba9d51bf2ac5360";

/// A timestamp written as an xs:dateTime, as the tests pin "now" and compare dates.
pub fn ts(value: &str) -> OffsetDateTime {
    parse_xs_date_time(value).expect("test timestamp")
}

/// The machine date when the corpus was checked; after Google's validUntil.
pub fn after() -> OffsetDateTime {
    ts("2026-11-23T00:00:00Z")
}

/// Before Google's validUntil (2026-06-22).
pub fn before() -> OffsetDateTime {
    ts("2026-01-01T00:00:00Z")
}

/// Every document of the corpus (`../shared/idp-metadata/SOURCES.md`), each with a verdict here.
pub const CORPUS_FILES: [&str; 6] = [
    "adfs2-federationmetadata.xml",
    "google-workspace-edited.xml",
    "okta-dev.xml",
    "shibboleth-idp-generated.xml",
    "shibboleth-idp-v2-msidlab.xml",
    "testshib-entities-aggregate.xml",
];

/// Reads a corpus file, or says why the test is skipped (a user's clone has no ../shared).
/// CI always has it beside the clone: there (`CI=true`) a missing corpus fails the test.
pub fn corpus(name: &str) -> Option<Vec<u8>> {
    let dir = std::path::Path::new(CORPUS_DIR);
    if !dir.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the real-IdP corpus {CORPUS_DIR} is missing"
        );
        eprintln!("skipped: ../shared/idp-metadata not present ({CORPUS_DIR})");
        return None;
    }
    Some(std::fs::read(dir.join(name)).expect("corpus file listed in SOURCES.md"))
}

/// Replaces a fragment of a fixture, failing loudly if the fixture no longer contains it.
pub fn edit(document: &str, from: &str, to: &str) -> String {
    assert!(document.contains(from), "fixture lacks {from:?}");
    document.replacen(from, to, 1)
}

pub fn key_descriptor(document: &str) -> &str {
    let start = document.find("<md:KeyDescriptor").expect("KeyDescriptor");
    let end = document.find("</md:KeyDescriptor>").expect("KeyDescriptor end");
    &document[start..end + "</md:KeyDescriptor>".len()]
}

pub fn certificate_base64(document: &str) -> String {
    let start = document.find("<ds:X509Certificate>").expect("certificate");
    let end = document.find("</ds:X509Certificate>").expect("certificate end");
    document[start + "<ds:X509Certificate>".len()..end].to_owned()
}

pub fn refuse(document: &str, now: OffsetDateTime) -> MetadataError {
    validate(document.as_bytes(), now).expect_err("document must be refused")
}
