//! Integrity pins: the document's SHA-256 (`MetadataSha256`) and the signing certificates'
//! fingerprints (`TrustedCertificateSha256`). With either, a team can read metadata from a shared
//! bucket without trusting everyone who can write to it.

use thiserror::Error;

use super::validate::ValidatedMetadata;

/// A pin that is malformed or does not match.
#[derive(Debug, Error, PartialEq)]
pub enum PinError {
    #[error("{property} {value:?} is not a SHA-256 in hex (64 hex digits; case, colons and spaces are ignored); compute it with `sha256sum` or `openssl dgst -sha256`")]
    Malformed { property: &'static str, value: String },
    #[error("MetadataSha256: the document's SHA-256 is {actual}, not the pinned {expected}; if the new document is the one you want, put its SHA-256 in MetadataSha256, else find out who changed it")]
    DocumentMismatch { expected: String, actual: String },
    #[error("TrustedCertificateSha256: none of the document's signing certificates ({actual}) is pinned; if the IdP rotated its certificate, add the new fingerprint to TrustedCertificateSha256")]
    CertificateMismatch { actual: String },
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
        let found = metadata.signing_certificates.iter().any(|c| pins.contains(&c.sha256_hex));
        if !found {
            let actual =
                metadata.signing_certificates.iter().map(|c| c.sha256_hex.as_str()).collect::<Vec<_>>().join(", ");
            return Err(PinError::CertificateMismatch { actual });
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

    #[test]
    fn a_malformed_pin_names_its_property() {
        let err = normalise("TrustedCertificateSha256", "abc").unwrap_err().to_string();
        assert!(err.starts_with("TrustedCertificateSha256 \"abc\""), "{err}");
        assert!(normalise("MetadataSha256", &"g".repeat(64)).is_err());
    }
}
