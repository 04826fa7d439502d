//! The IdP's certificates: the signing ones of the IDPSSODescriptor, each of which must parse as
//! X.509 (same DER counted once), and every `ds:X509Certificate` of the document by its SHA-256,
//! which `TrustedCertificateSha256` must cover. Certificate dates are reported, never enforced.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use super::error::quote;
use super::xml::{is_ds, is_md};
use super::MetadataError;
use crate::datetime::format_timestamp;

/// Real exports wrap base64 at odd widths, drop padding or leave non-zero trailing bits; the DER
/// check that follows is what decides whether the bytes are a certificate.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// One `ds:X509Certificate` element of the document, by its DER's SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateFingerprint {
    /// Line of the element.
    pub line: u32,
    /// Lowercase hex SHA-256 of the decoded DER; `None` when the element is not base64.
    pub sha256_hex: Option<String>,
}

/// A signing certificate of the IdP, parsed so that pins and expiry can be checked without
/// touching the XML again.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningCertificate {
    /// RFC 4514-ish string from x509-parser, for log lines a person reads.
    pub subject: String,
    /// lowercase hex SHA-256 of the DER (the "fingerprint"), the value `TrustedCertificateSha256` pins.
    pub sha256_hex: String,
    /// When the certificate stops being current; reported, never enforced (IAM ignores it).
    pub not_after: OffsetDateTime,
    /// The certificate itself, for callers that need more than these fields.
    pub der: Vec<u8>,
}

/// The fingerprint of every `ds:X509Certificate` element of the document.
pub(super) fn every_certificate(doc: &roxmltree::Document<'_>) -> Vec<CertificateFingerprint> {
    doc.descendants()
        .filter(|n| is_ds(n, "X509Certificate"))
        .map(|element| CertificateFingerprint {
            line: doc.text_pos_at(element.range().start).row,
            sha256_hex: LENIENT_BASE64
                .decode(certificate_text(element))
                .ok()
                .map(|der| hex::encode(Sha256::digest(&der))),
        })
        .collect()
}

/// The base64 of an `X509Certificate` element: its text nodes only (a comment inside the element
/// is not part of the certificate), whitespace removed.
fn certificate_text(element: roxmltree::Node<'_, '_>) -> String {
    element
        .descendants()
        .filter(roxmltree::Node::is_text)
        .filter_map(|n| n.text())
        .flat_map(str::chars)
        .filter(|c| !c.is_ascii_whitespace())
        .collect()
}

/// The distinct signing certificates of the IDPSSODescriptor, in document order; a document
/// without one, or with one that is not an X.509 certificate, is refused.
pub(super) fn signing_certificates(
    doc: &roxmltree::Document<'_>,
    idp: roxmltree::Node<'_, '_>,
    entity_id: &str,
) -> Result<Vec<SigningCertificate>, MetadataError> {
    let mut certificates: Vec<SigningCertificate> = Vec::new();
    let mut other_uses = Vec::new();
    let mut position = 0;
    for key_descriptor in idp.children().filter(|n| is_md(n, "KeyDescriptor")) {
        match key_descriptor.attribute("use") {
            None | Some("signing") => {}
            Some(other) => {
                if !other_uses.iter().any(|u| u == other) {
                    other_uses.push(other.to_owned());
                }
                continue;
            }
        }
        let elements = key_descriptor
            .children()
            .filter(|n| is_ds(n, "KeyInfo"))
            .flat_map(|k| k.children().filter(|n| is_ds(n, "X509Data")))
            .flat_map(|d| d.children().filter(|n| is_ds(n, "X509Certificate")));
        for element in elements {
            position += 1;
            let certificate = parse_certificate(doc, element, position)?;
            if !certificates.iter().any(|c| c.der == certificate.der) {
                certificates.push(certificate);
            }
        }
    }
    if certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate { entity_id: quote(entity_id), other_uses });
    }
    Ok(certificates)
}

fn parse_certificate(
    doc: &roxmltree::Document<'_>,
    element: roxmltree::Node<'_, '_>,
    position: usize,
) -> Result<SigningCertificate, MetadataError> {
    let line = doc.text_pos_at(element.range().start).row;
    let base64 = certificate_text(element);
    if base64.is_empty() {
        return Err(MetadataError::EmptyCertificate { position, line });
    }
    let der = LENIENT_BASE64.decode(&base64).map_err(|e| {
        let detail = if base64.contains("-----BEGIN") {
            "it includes PEM armour (-----BEGIN CERTIFICATE-----); keep only the base64 between \
             the BEGIN and END lines"
                .to_owned()
        } else {
            describe_base64_error(&e)
        };
        MetadataError::CertificateNotBase64 { position, line, detail }
    })?;
    let not_x509 = |detail: String| MetadataError::CertificateNotX509 { position, line, detail };
    let (rest, certificate) = x509_parser::parse_x509_certificate(&der).map_err(|e| {
        not_x509(match e {
            x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => {
                format!("its {} bytes do not parse as a certificate ({e})", der.len())
            }
            x509_parser::nom::Err::Incomplete(_) => {
                format!("its {} bytes end in the middle of a certificate", der.len())
            }
        })
    })?;
    if !rest.is_empty() {
        return Err(not_x509(format!("{} bytes follow the certificate's DER encoding", rest.len())));
    }
    let subject = certificate.subject().to_string();
    let not_after = certificate.validity().not_after.to_datetime();
    Ok(SigningCertificate { subject, sha256_hex: hex::encode(Sha256::digest(&der)), not_after, der })
}

/// Positions count the base64 characters with whitespace removed, as the decoder saw them.
fn describe_base64_error(error: &base64::DecodeError) -> String {
    match *error {
        base64::DecodeError::InvalidByte(offset, byte) | base64::DecodeError::InvalidLastSymbol(offset, byte) => {
            format!(
                "character {:?} at position {} (not counting whitespace) is not base64",
                char::from(byte),
                offset + 1
            )
        }
        base64::DecodeError::InvalidLength(length) => {
            format!("its {length} base64 characters cannot encode whole bytes, so it is probably truncated")
        }
        base64::DecodeError::InvalidPadding => "its '=' padding is misplaced".to_owned(),
    }
}

/// Certificate dates are reported, not enforced: IAM and SAML practice trust the key, not the dates.
pub(super) fn warn_certificate_dates(
    certificates: &[SigningCertificate],
    now: OffsetDateTime,
    warnings: &mut Vec<String>,
) {
    for certificate in certificates {
        if certificate.not_after < now {
            warnings.push(format!(
                "signing certificate {} (SHA-256 {}) expired on {}; IAM ignores certificate \
                 dates and still trusts its key, but check that the IdP has not moved to a new \
                 signing key.",
                quote(&certificate.subject),
                certificate.sha256_hex,
                format_timestamp(certificate.not_after)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::validate;
    use super::*;

    #[test]
    fn encryption_only_key_is_not_a_signing_certificate() {
        let doc = edit(MINIMAL, "use=\"signing\"", "use=\"encryption\"");
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::NoSigningCertificate {
                entity_id: "https://idp.example.com/saml2/idp".to_owned(),
                other_uses: vec!["encryption".to_owned()],
            }
        );
        let message = err.to_string();
        assert!(message.contains("no signing certificate"), "{message}");
        assert!(message.contains("use=\"encryption\""), "{message}");
    }

    #[test]
    fn certificate_inside_a_comment_is_not_counted() {
        let block = key_descriptor(MINIMAL);
        let doc = edit(MINIMAL, block, &format!("<!-- {block} -->"));
        assert!(matches!(refuse(&doc, after()), MetadataError::NoSigningCertificate { .. }));
    }

    #[test]
    fn certificate_of_a_sibling_sp_descriptor_is_not_counted() {
        let block = key_descriptor(MINIMAL);
        let sp = format!(
            "<md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
             {block}<md:AssertionConsumerService index=\"0\" \
             Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
             Location=\"https://idp.example.com/acs\"/></md:SPSSODescriptor>\n  <md:Organization>"
        );
        let doc = edit(MINIMAL, block, "");
        let doc = edit(&doc, "<md:Organization>", &sp);
        assert!(matches!(refuse(&doc, after()), MetadataError::NoSigningCertificate { .. }));
    }

    #[test]
    fn identical_certificates_are_counted_once() {
        let block = key_descriptor(MINIMAL);
        let unmarked = block.replace(" use=\"signing\"", "");
        let doc = edit(MINIMAL, block, &format!("{block}\n    {unmarked}"));
        let m = validate(doc.as_bytes(), after()).expect("duplicate certificate");
        assert_eq!(m.signing_certificates.len(), 1);
    }

    #[test]
    fn two_distinct_signing_certificates_are_both_kept_in_order() {
        let block = key_descriptor(MINIMAL);
        let other = edit(
            block,
            &certificate_base64(block),
            &certificate_base64(EXPIRED_CERT.replace("X509Certificate>", "ds:X509Certificate>").as_str()),
        );
        let doc = edit(MINIMAL, block, &format!("{other}\n    {block}"));
        let m = validate(doc.as_bytes(), after()).expect("rollover metadata");
        assert_eq!(m.signing_certificates.len(), 2);
        assert_eq!(m.signing_certificates[1].sha256_hex, MINIMAL_CERT_SHA256);
        assert_eq!(m.signing_certificate_not_after(), Some(ts("2045-01-01T00:00:00Z")));
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    }

    #[test]
    fn bad_base64_certificate_is_refused_by_position() {
        let doc = edit(MINIMAL, "<ds:X509Certificate>", "<ds:X509Certificate>MII*not#base64");
        let err = refuse(&doc, after());
        assert!(matches!(err, MetadataError::CertificateNotBase64 { position: 1, line: 14, .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(
                "signing certificate #1 (the X509Certificate element at line 14) is not valid \
                 base64: character '*' at position 4 (not counting whitespace) is not base64"
            ),
            "{message}"
        );
    }

    #[test]
    fn truncated_base64_certificate_is_refused() {
        let base64 = certificate_base64(MINIMAL);
        let compact: String = base64.split_whitespace().collect();
        let doc = edit(MINIMAL, &base64, &compact[..compact.len() - 7]);
        let err = refuse(&doc, after());
        assert!(
            matches!(&err, MetadataError::CertificateNotBase64 { detail, .. }
                if detail.contains("probably truncated")),
            "{err:?}"
        );
    }

    #[test]
    fn pem_armour_inside_the_certificate_gets_a_hint() {
        let base64 = certificate_base64(MINIMAL);
        let doc = edit(MINIMAL, &base64, &format!("-----BEGIN CERTIFICATE-----{base64}-----END CERTIFICATE-----"));
        let err = refuse(&doc, after());
        assert!(matches!(err, MetadataError::CertificateNotBase64 { position: 1, .. }));
        assert!(err.to_string().contains("PEM armour"), "{err}");
    }

    #[test]
    fn base64_of_non_x509_bytes_is_refused_by_position() {
        let block = key_descriptor(MINIMAL);
        let junk =
            base64::engine::general_purpose::STANDARD.encode(b"this is a public key, honestly, not a certificate");
        let second = edit(block, &certificate_base64(block), &junk);
        let doc = edit(MINIMAL, block, &format!("{block}\n    {second}"));
        let err = refuse(&doc, after());
        assert!(matches!(err, MetadataError::CertificateNotX509 { position: 2, .. }), "{err:?}");
        assert!(
            err.to_string().contains(
                "signing certificate #2 (the X509Certificate element at line 39) is not an X.509 certificate"
            ),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_after_the_certificate_are_refused() {
        let base64 = certificate_base64(MINIMAL);
        let mut der = base64::engine::general_purpose::STANDARD
            .decode(base64.split_whitespace().collect::<String>())
            .expect("fixture certificate");
        der.extend_from_slice(b"junk");
        let doc = edit(MINIMAL, &base64, &base64::engine::general_purpose::STANDARD.encode(der));
        let err = refuse(&doc, after());
        assert!(
            matches!(&err, MetadataError::CertificateNotX509 { detail, .. }
                if detail.contains("4 bytes follow")),
            "{err:?}"
        );
    }

    #[test]
    fn empty_certificate_element_is_refused() {
        let doc = edit(MINIMAL, &certificate_base64(MINIMAL), "\n   \n");
        let err = refuse(&doc, after());
        assert_eq!(err, MetadataError::EmptyCertificate { position: 1, line: 14 });
        assert!(err.to_string().contains("is empty"));
    }
}
