//! The metadata validator on arbitrary bytes: it must never panic, and whatever it accepts must
//! satisfy what the rest of the crate relies on (IAM's size bounds, a signing certificate, the
//! SHA-256 of the input as given). Pins are checked against it too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use samlfed::metadata::pins;
use samlfed::metadata::validate::{validate, MAX_DOCUMENT_CHARS, MIN_DOCUMENT_CHARS};
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    // A fixed "now", so a crash reproduces whatever the date.
    let now = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    let Ok(metadata) = validate(data, now) else {
        return;
    };
    let chars = metadata.document.chars().count();
    assert!((MIN_DOCUMENT_CHARS..=MAX_DOCUMENT_CHARS).contains(&chars), "{chars} characters accepted");
    assert!(!metadata.signing_certificates.is_empty(), "accepted without a signing certificate");
    assert!(!metadata.entity_id.is_empty(), "accepted without an entityID");
    assert_eq!(metadata.sha256_hex.len(), 64);
    let first = metadata.signing_certificates[0].sha256_hex.clone();
    assert!(pins::check(&metadata, Some(&metadata.sha256_hex.to_uppercase()), &[first]).is_ok());
    assert!(pins::check(&metadata, Some(&"0".repeat(64)), &[]).is_err());
});
