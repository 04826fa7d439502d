//! Integrity pins: the document's SHA-256 (`MetadataSha256`) and the certificates' fingerprints
//! (`TrustedCertificateSha256`). With either, a team can read metadata from a shared bucket
//! without trusting everyone who can write to it.
//!
//! A certificate pin covers the whole document: IAM trusts every certificate in the metadata it
//! is given, so one unpinned certificate beside a pinned one would let whoever added it sign
//! assertions. Every `X509Certificate` element — signing or encryption, in any descriptor — must
//! be pinned; rotating means pinning the new certificate first, then publishing it.

use thiserror::Error;

use super::validate::ValidatedMetadata;

/// A pin that is malformed or does not match.
#[derive(Debug, Error, PartialEq)]
pub enum PinError {
    #[error("{property} {value:?} is not a SHA-256 in hex (64 hex digits; case, colons and spaces are ignored); compute it with `sha256sum` or `openssl dgst -sha256`")]
    Malformed { property: &'static str, value: String },
    #[error("MetadataSha256: the document's SHA-256 is {actual}, not the pinned {expected}; if the new document is the one you want, put its SHA-256 in MetadataSha256, else find out who changed it")]
    DocumentMismatch { expected: String, actual: String },
    #[error("TrustedCertificateSha256: the document holds certificates that are not pinned ({unpinned}); IAM trusts every certificate in the metadata, so every one must be pinned. If the IdP rotated its certificate, add the new fingerprint to TrustedCertificateSha256 first; else find out who changed the metadata")]
    CertificateMismatch { unpinned: String },
}

/// Normalises a hex SHA-256 (`AB:cd ef…` → `abcdef…`) or says why it is not one.
pub fn normalise(property: &'static str, value: &str) -> Result<String, PinError> {
    let hex: String =
        value.chars().filter(|c| *c != ':' && !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(PinError::Malformed { property, value: value.to_string() })
    }
}

/// Checks the pins that are set against a validated document.
pub fn check(
    metadata: &ValidatedMetadata,
    document_sha256: Option<&str>,
    trusted_certificates: &[String],
) -> Result<(), PinError> {
    if let Some(expected) = document_sha256 {
        let expected = normalise("MetadataSha256", expected)?;
        if expected != metadata.sha256_hex {
            return Err(PinError::DocumentMismatch { expected, actual: metadata.sha256_hex.clone() });
        }
    }
    if !trusted_certificates.is_empty() {
        let pins = trusted_certificates
            .iter()
            .map(|p| normalise("TrustedCertificateSha256", p))
            .collect::<Result<Vec<_>, _>>()?;
        let unpinned: Vec<String> = metadata
            .every_certificate
            .iter()
            .filter(|c| !c.sha256_hex.as_ref().is_some_and(|sha| pins.contains(sha)))
            .map(|c| match &c.sha256_hex {
                Some(sha) => format!("sha256 {sha} at line {}", c.line),
                None => format!("the undecodable certificate at line {}", c.line),
            })
            .collect();
        if !unpinned.is_empty() {
            return Err(PinError::CertificateMismatch { unpinned: unpinned.join("; ") });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_case_colons_and_spaces() {
        let colon = "AB:".repeat(31) + "AB";
        assert_eq!(normalise("MetadataSha256", &colon).unwrap(), "ab".repeat(32));
        assert_eq!(normalise("MetadataSha256", &format!(" {} ", "0f".repeat(32))).unwrap(), "0f".repeat(32));
    }

    const MINIMAL: &str = include_str!("../../tests/fixtures/metadata/idp-minimal.xml");
    const EXPIRED: &str = include_str!("../../tests/fixtures/metadata/idp-expired-cert.xml");

    fn first_certificate(document: &str) -> &str {
        let start = document.find("X509Certificate>").expect("certificate") + "X509Certificate>".len();
        &document[start..start + document[start..].find('<').expect("end")]
    }

    fn validated(document: &str) -> ValidatedMetadata {
        super::super::validate::validate(document.as_bytes(), time::OffsetDateTime::now_utc()).expect("valid")
    }

    /// The minimal IdP plus an encryption certificate: the document a writer of the bucket could
    /// publish to slip a second key in beside the pinned one.
    fn with_encryption_certificate() -> String {
        let descriptor = format!(
            r#"<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
            first_certificate(EXPIRED)
        );
        let at = MINIMAL.find("<md:KeyDescriptor").expect("KeyDescriptor");
        format!("{}{descriptor}{}", &MINIMAL[..at], &MINIMAL[at..])
    }

    #[test]
    fn every_certificate_must_be_pinned_not_just_one() {
        let doc = with_encryption_certificate();
        let metadata = validated(&doc);
        assert_eq!(metadata.every_certificate.len(), 2);
        let signing = metadata.signing_certificates[0].sha256_hex.clone();
        let other = metadata.every_certificate.iter().find_map(|c| c.sha256_hex.clone().filter(|s| *s != signing));
        let other = other.expect("the encryption certificate");

        // Before, one matching signing certificate was enough; the added one must refuse it.
        let err = check(&metadata, None, std::slice::from_ref(&signing)).unwrap_err();
        let reason = err.to_string();
        assert!(reason.contains(&other) && !reason.contains(&format!("sha256 {signing}")), "{reason}");
        assert!(reason.starts_with("TrustedCertificateSha256"), "{reason}");
        // Both pinned (the rotation procedure: pin the new certificate first): accepted.
        assert_eq!(check(&metadata, None, &[signing.to_uppercase(), other]), Ok(()));
        // The minimal document with its one certificate pinned: accepted.
        assert_eq!(check(&validated(MINIMAL), None, &[signing]), Ok(()));
    }

    #[test]
    fn a_malformed_pin_names_its_property() {
        let err = normalise("TrustedCertificateSha256", "abc").unwrap_err().to_string();
        assert!(err.starts_with("TrustedCertificateSha256 \"abc\""), "{err}");
        assert!(normalise("MetadataSha256", &"g".repeat(64)).is_err());
    }
}
