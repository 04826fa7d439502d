//! Validation of SAML 2.0 identity-provider metadata before it reaches IAM.
//!
//! IAM's `CreateSAMLProvider`/`UpdateSAMLProvider` accept almost any XML and fail later, at sign-in,
//! in ways nobody can trace back to the stack. So every document is checked here first, and a
//! failed check changes nothing in IAM. The rules are those of DESIGN.md, "Metadata":
//!
//! - UTF-8 text of 1,000 to 10,000,000 characters (IAM's own bounds);
//! - parsed with DTDs refused, so no entity expansion and no external entity is ever fetched,
//!   and within bounds on XML nodes, attributes and namespace declarations far above any one
//!   IdP's metadata, so no document can make the parser exhaust the function's memory;
//! - root `EntityDescriptor` in the SAML 2.0 metadata namespace with an `entityID` (an
//!   `EntitiesDescriptor` aggregate is refused and the IdP entities inside are named);
//! - `validUntil`, where present, must lie after "now" (which the caller passes in, so tests pin it);
//! - an `IDPSSODescriptor` supporting SAML 2.0, with a `SingleSignOnService` and at least one
//!   signing `X509Certificate` that parses as X.509.
//!
//! Expired certificates and plain-http endpoints are only warnings: IAM ignores certificate dates
//! and never calls the endpoints. Elements are matched on (namespace, local name), never on
//! prefixes, and anything unknown is ignored, as SAML metadata consumers are expected to do.
//!
//! One concept per module: `text` (the bytes as IAM's UTF-8 text), `xml` (the bounded, DTD-free
//! parse and namespace matching), `descriptor` (the EntityDescriptor and its IDPSSODescriptor),
//! `certificates` (the signing certificates and every other X.509 certificate) and `error` (why
//! a document is refused, in words a CloudFormation user can act on). Timestamps are
//! [`crate::datetime`]'s.

mod certificates;
mod descriptor;
mod error;
#[cfg(test)]
mod test_support;
mod text;
mod xml;

use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

pub use certificates::{CertificateFingerprint, SigningCertificate};
pub use descriptor::SsoEndpoint;
pub use error::MetadataError;
pub use text::{MAX_DOCUMENT_CHARS, MIN_DOCUMENT_CHARS};
pub use xml::{MAX_ATTRIBUTES, MAX_ATTRIBUTES_PER_ELEMENT, MAX_NAMESPACE_DECLARATIONS, MAX_XML_NODES};

/// What the rest of the crate needs from a metadata document that passed every check, so that no
/// caller has to parse the XML a second time.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedMetadata {
    /// The IdP's `entityID`, returned as `EntityId` in the resource's `Data`.
    pub entity_id: String,
    /// lowercase hex SHA-256 of the document bytes exactly as given
    ///
    /// This is what `MetadataSha256` pins and what refresh compares, so it must not depend on any
    /// normalisation done here.
    pub sha256_hex: String,
    /// the document as IAM should receive it: the input as UTF-8 text, a leading UTF-8 BOM removed
    pub document: String,
    /// The earliest `validUntil` of the EntityDescriptor and the IDPSSODescriptor, so a refresh
    /// schedule can be checked against it.
    pub valid_until: Option<OffsetDateTime>,
    /// SingleSignOnService of the IDPSSODescriptor, in document order, for the CLI and logs.
    pub sso_endpoints: Vec<SsoEndpoint>,
    /// The distinct signing certificates (same DER counted once), in document order, so that
    /// `TrustedCertificateSha256` can be matched and `SigningCertificateNotAfter` reported.
    pub signing_certificates: Vec<SigningCertificate>,
    /// Every `ds:X509Certificate` element anywhere in the document — signing or encryption, in
    /// any descriptor — in document order. IAM trusts every certificate it finds, so
    /// `TrustedCertificateSha256` must cover each of them ([`super::pins`]).
    pub every_certificate: Vec<CertificateFingerprint>,
    /// sentences for a log line: expired cert, http Location, ...
    ///
    /// Problems that IAM tolerates but an operator should hear about.
    pub warnings: Vec<String>,
}

impl ValidatedMetadata {
    /// the latest NotAfter among the signing certificates (when the last one stops being current)
    ///
    /// With several certificates during a key rollover, the IdP keeps working until the newest
    /// one expires, so that is the date worth alerting on (`SigningCertificateNotAfter`).
    pub fn signing_certificate_not_after(&self) -> Option<OffsetDateTime> {
        self.signing_certificates.iter().map(|c| c.not_after).max()
    }
}

/// Checks a metadata document against the rules IAM and SAML impose, before any IAM call.
///
/// `now` is an argument rather than the clock so that validUntil and expiry checks are
/// reproducible in tests and consistent within one request.
pub fn validate(document: &[u8], now: OffsetDateTime) -> Result<ValidatedMetadata, MetadataError> {
    let sha256_hex = hex::encode(Sha256::digest(document));
    let text = text::decode(document)?;
    let doc = xml::parse(text)?;

    let root = doc.root_element();
    let entity_id = descriptor::entity_id(root)?;
    let mut valid_until = descriptor::check_valid_until(root, "EntityDescriptor", now)?;

    let idp = descriptor::select_idp_descriptor(root, &entity_id)?;
    let mut warnings = Vec::new();
    descriptor::warn_several_idp_descriptors(root, &entity_id, &mut warnings);
    if let Some(idp_until) = descriptor::check_valid_until(idp, "IDPSSODescriptor", now)? {
        valid_until = Some(valid_until.map_or(idp_until, |t| t.min(idp_until)));
    }

    let sso_endpoints = descriptor::sso_endpoints(idp, &entity_id, &mut warnings)?;
    descriptor::warn_plain_http_endpoints(idp, &mut warnings);
    let signing_certificates = certificates::signing_certificates(&doc, idp, &entity_id)?;
    certificates::warn_certificate_dates(&signing_certificates, now, &mut warnings);
    let every_certificate = certificates::every_certificate(&doc);

    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));

    Ok(ValidatedMetadata {
        entity_id,
        sha256_hex,
        document: text.to_owned(),
        valid_until,
        sso_endpoints,
        signing_certificates,
        every_certificate,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha256};

    use super::test_support::*;
    use super::*;
    use crate::datetime::format_timestamp;

    // ---- the real-world corpus (verdicts from ../shared/idp-metadata/SOURCES.md) ----

    #[test]
    fn corpus_adfs2_is_accepted_with_expired_certificate_warning() {
        let Some(bytes) = corpus("adfs2-federationmetadata.xml") else {
            return;
        };
        let m = validate(&bytes, after()).expect("AD FS 2.0 metadata is accepted");
        assert_eq!(m.entity_id, "http://fs.msidlab7.com/adfs/services/trust");
        // use="encryption" is listed first and is not counted; the SPSSODescriptor,
        // RoleDescriptors and the Signature's KeyInfo are not either.
        assert_eq!(m.signing_certificates.len(), 1);
        assert!(!m.sso_endpoints.is_empty());
        assert!(m.valid_until.is_none());
        let expiry = format_timestamp(m.signing_certificates[0].not_after);
        assert!(expiry.starts_with("2017-12-03"), "{expiry}");
        assert!(m.warnings.iter().any(|w| w.contains("expired on 2017-12-03")), "{:?}", m.warnings);
        assert_eq!(m.sha256_hex, hex::encode(Sha256::digest(&bytes)));
        assert_eq!(m.document.as_bytes(), &bytes[..]);
    }

    #[test]
    fn corpus_okta_is_accepted_with_expired_certificate_warning() {
        let Some(bytes) = corpus("okta-dev.xml") else {
            return;
        };
        let m = validate(&bytes, after()).expect("Okta metadata is accepted");
        assert_eq!(m.entity_id, "http://www.okta.com/exk8dx3jilpueVzpU0h7");
        assert_eq!(m.signing_certificates.len(), 1);
        assert_eq!(m.sso_endpoints.len(), 2);
        assert!(m.signing_certificates[0].subject.contains("dev-989848"));
        assert_eq!(m.signing_certificate_not_after().map(format_timestamp), Some("2026-10-06T16:37:15Z".to_owned()));
        assert!(m.warnings.iter().any(|w| w.contains("expired on 2026-10-06")), "{:?}", m.warnings);
    }

    #[test]
    fn corpus_okta_before_certificate_expiry_has_no_warning() {
        let Some(bytes) = corpus("okta-dev.xml") else {
            return;
        };
        let m = validate(&bytes, before()).expect("Okta metadata is accepted");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn corpus_google_is_accepted_before_valid_until() {
        let Some(bytes) = corpus("google-workspace-edited.xml") else {
            return;
        };
        let m = validate(&bytes, before()).expect("Google metadata is accepted before validUntil");
        assert_eq!(m.entity_id, "https://accounts.google.com/o/saml2");
        assert_eq!(m.valid_until, Some(ts("2026-06-22T18:39:53Z")));
        assert_eq!(m.signing_certificates.len(), 1);
        // The two stray SingleLogoutService elements are in no namespace and ignored; only the
        // two md:SingleSignOnService count.
        assert_eq!(
            m.sso_endpoints.iter().map(|e| e.location.as_str()).collect::<Vec<_>>(),
            ["https://accounts.google.com/o/saml2"; 2]
        );
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn corpus_google_is_refused_after_valid_until_with_the_date() {
        let Some(bytes) = corpus("google-workspace-edited.xml") else {
            return;
        };
        let err = validate(&bytes, after()).expect_err("Google metadata past validUntil");
        assert!(matches!(err, MetadataError::Expired { element: "EntityDescriptor", .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("2026-06-22T18:39:53Z"), "{message}");
        assert!(message.contains("2026-11-23T00:00:00Z"), "{message}");
    }

    #[test]
    fn corpus_shibboleth_v2_counts_key_descriptor_without_use_and_deduplicates() {
        let Some(bytes) = corpus("shibboleth-idp-v2-msidlab.xml") else {
            return;
        };
        let m = validate(&bytes, after()).expect("Shibboleth v2 metadata is accepted");
        assert_eq!(m.entity_id, "https://idp.msidlab13.com/idp/shibboleth");
        // The same certificate appears twice in the file.
        assert_eq!(m.signing_certificates.len(), 1);
        assert!(m.signing_certificates[0].subject.contains("*.msidlab13.com"));
        assert!(m.sso_endpoints.iter().any(
            |e| e.binding == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" && e.location.starts_with("https://")
        ));
        assert!(m.warnings.iter().any(|w| w.contains("expired on 2018-02-14")), "{:?}", m.warnings);
    }

    #[test]
    fn corpus_shibboleth_generated_has_two_signing_certificates_not_the_commented_ones() {
        let Some(bytes) = corpus("shibboleth-idp-generated.xml") else {
            return;
        };
        let m = validate(&bytes, after()).expect("Shibboleth v4/v5 metadata is accepted");
        assert_eq!(m.entity_id, "https://idp.example.org/idp/shibboleth");
        assert_eq!(m.signing_certificates.len(), 2);
        assert_ne!(m.signing_certificates[0].sha256_hex, m.signing_certificates[1].sha256_hex);
        assert_eq!(m.valid_until, Some(ts("2030-01-01T00:00:00.999Z")));
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        let last = m.signing_certificate_not_after().expect("certificates");
        assert!(format_timestamp(last).starts_with("2045-"), "{last}");
    }

    #[test]
    fn corpus_testshib_aggregate_is_refused_naming_the_idp() {
        let Some(bytes) = corpus("testshib-entities-aggregate.xml") else {
            return;
        };
        let err = validate(&bytes, after()).expect_err("aggregates are refused");
        assert_eq!(
            err,
            MetadataError::Aggregate {
                entity_count: 2,
                idp_entity_ids: vec!["https://idp.testshib.org/idp/shibboleth".to_owned()],
            }
        );
        let message = err.to_string();
        assert!(message.contains("https://idp.testshib.org/idp/shibboleth"), "{message}");
        assert!(!message.contains("sp.testshib.org"), "{message}");
        assert!(message.contains("exactly one entity"), "{message}");
    }

    #[test]
    fn every_corpus_document_has_a_verdict_here() {
        if corpus("okta-dev.xml").is_none() {
            return;
        }
        for entry in std::fs::read_dir(CORPUS_DIR).expect("corpus dir") {
            let name = entry.expect("entry").file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".xml") {
                assert!(CORPUS_FILES.contains(&name.as_ref()), "no test for {name}");
            }
        }
    }

    // ---- our own fixtures ----

    #[test]
    fn minimal_idp_document_is_accepted() {
        let m = validate(MINIMAL.as_bytes(), after()).expect("minimal IdP metadata");
        assert_eq!(m.entity_id, "https://idp.example.com/saml2/idp");
        assert_eq!(m.document, MINIMAL);
        assert_eq!(m.sha256_hex, hex::encode(Sha256::digest(MINIMAL.as_bytes())));
        assert_eq!(
            m.sso_endpoints,
            vec![
                SsoEndpoint {
                    binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect".to_owned(),
                    location: "https://idp.example.com/saml2/sso/redirect".to_owned(),
                },
                SsoEndpoint {
                    binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST".to_owned(),
                    location: "https://idp.example.com/saml2/sso/post".to_owned(),
                },
            ]
        );
        assert_eq!(m.signing_certificates.len(), 1);
        let cert = &m.signing_certificates[0];
        assert_eq!(cert.sha256_hex, MINIMAL_CERT_SHA256);
        assert_eq!(cert.sha256_hex, hex::encode(Sha256::digest(&cert.der)));
        assert!(cert.subject.contains("CN=idp.example.com"), "{}", cert.subject);
        assert_eq!(cert.not_after, ts("2045-01-01T00:00:00Z"));
        assert_eq!(m.signing_certificate_not_after(), Some(cert.not_after));
        assert_eq!(m.valid_until, None);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn expired_certificate_is_accepted_with_warnings() {
        let m = validate(EXPIRED_CERT.as_bytes(), after()).expect("expired cert is accepted");
        assert_eq!(m.entity_id, "https://legacy-idp.example.com/idp/shibboleth");
        assert_eq!(m.signing_certificates.len(), 1);
        assert_eq!(m.signing_certificate_not_after(), Some(ts("2024-03-01T12:00:00Z")));
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("expired on 2024-03-01T12:00:00Z") && w.contains("idp.example.com (2019 key)")),
            "{:?}",
            m.warnings
        );
        assert!(
            m.warnings.iter().any(|w| w.contains("plain http://")
                && w.contains("http://legacy-idp.example.com/idp/profile/SAML2/POST/SSO")),
            "{:?}",
            m.warnings
        );
        assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
    }

    #[test]
    fn unknown_elements_and_extensions_are_ignored() {
        let doc = edit(
            MINIMAL,
            "<md:NameIDFormat>",
            "<x:Whatever xmlns:x=\"urn:example:unknown\"><x:Deep a=\"1\"/></x:Whatever>\n    \
             <Unqualified xmlns=\"\">text</Unqualified>\n    <md:NameIDFormat>",
        );
        validate(doc.as_bytes(), after()).expect("unknown elements are ignored");
    }
}
