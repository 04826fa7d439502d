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

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// IAM's bounds for SAMLMetadataDocument, in characters.
///
/// IAM refuses anything shorter, so catching it here gives a Reason that names the real cause.
pub const MIN_DOCUMENT_CHARS: usize = 1_000;
/// IAM's upper bound for SAMLMetadataDocument, in characters; fetchers cap the bytes they read at
/// the same number ([`super::MAX_DOCUMENT_BYTES`]).
pub const MAX_DOCUMENT_CHARS: usize = 10_000_000;

/// The most XML nodes (elements, text runs, comments) a document may have: roxmltree's
/// `nodes_limit`, enforced as it parses. Real IdP metadata has a few hundred (the largest in the
/// corpus, AD FS's 32 KB export: about 350); an aggregate of thousands of entities is refused
/// anyway. The bound keeps the parser's node table to a few megabytes whatever the document — a
/// 10 MB document of `<a/>` would otherwise be 2.5 million nodes.
pub const MAX_XML_NODES: u32 = 100_000;
/// The most attributes in a document (AD FS's export: about 150), counted before parsing.
pub const MAX_ATTRIBUTES: usize = 100_000;
/// The most attributes on one element (real metadata: a handful), counted before parsing:
/// the parser compares each attribute of an element with the ones before it.
pub const MAX_ATTRIBUTES_PER_ELEMENT: usize = 1_000;
/// The most namespace declarations (`xmlns` in the text, AD FS's export: 91), counted before
/// parsing: each element that declares one gets its own copy of the namespaces in scope.
pub const MAX_NAMESPACE_DECLARATIONS: usize = 1_000;

const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const SAML2_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// How many entityIDs of an aggregate a message lists before it says "and N more".
const MAX_LISTED_ENTITIES: usize = 10;
/// How many characters of a value taken from the document a message quotes.
const MAX_QUOTED_CHARS: usize = 200;

/// Real exports wrap base64 at odd widths, drop padding or leave non-zero trailing bits; the DER
/// check that follows is what decides whether the bytes are a certificate.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

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

/// One `ds:X509Certificate` element of the document, by its DER's SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateFingerprint {
    /// Line of the element.
    pub line: u32,
    /// Lowercase hex SHA-256 of the decoded DER; `None` when the element is not base64.
    pub sha256_hex: Option<String>,
}

/// A `SingleSignOnService` endpoint, kept so operators can see where users will be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoEndpoint {
    /// The SAML binding URI, e.g. `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST`.
    pub binding: String,
    /// The endpoint URL; not checked further because AWS never calls it.
    pub location: String,
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

impl ValidatedMetadata {
    /// the latest NotAfter among the signing certificates (when the last one stops being current)
    ///
    /// With several certificates during a key rollover, the IdP keeps working until the newest
    /// one expires, so that is the date worth alerting on (`SigningCertificateNotAfter`).
    pub fn signing_certificate_not_after(&self) -> Option<OffsetDateTime> {
        self.signing_certificates.iter().map(|c| c.not_after).max()
    }
}

/// Why a metadata document was refused. Each message says what is wrong and how to fix it; the
/// caller prefixes the property that supplied the document.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetadataError {
    /// Zero bytes (or only whitespace) usually means a failed download or an empty S3 object.
    #[error(
        "the metadata document is empty. Supply the IdP's SAML 2.0 metadata XML, as downloaded \
         from the identity provider's admin console or metadata URL."
    )]
    Empty,

    /// UTF-16 is what some Windows tools save by default; it gets its own hint.
    #[error(
        "the metadata document is UTF-16 text (it starts with a UTF-16 byte-order mark), but IAM \
         accepts UTF-8 only. Re-save the file as UTF-8."
    )]
    Utf16,

    /// IAM takes the document as UTF-8 text; anything else would be mangled or refused there.
    #[error(
        "the metadata document is not valid UTF-8 (first invalid byte at offset {offset}), but \
         IAM accepts UTF-8 only. Re-save the file as UTF-8; a Latin-1 or Windows-1252 export is \
         the usual cause."
    )]
    NotUtf8 {
        /// Byte offset of the first invalid byte in the input as given.
        offset: usize,
    },

    /// Below IAM's minimum; usually a truncated file or something that is not metadata at all.
    #[error(
        "the metadata document has {chars} characters, fewer than the 1000 IAM requires. It is \
         probably truncated or not a metadata document; supply the IdP's complete SAML 2.0 \
         metadata XML."
    )]
    TooShort {
        /// Characters counted (not bytes), after removing a UTF-8 byte-order mark.
        chars: usize,
    },

    /// Above IAM's maximum; usually a federation aggregate rather than one IdP's metadata.
    #[error(
        "the metadata document has {chars} characters, more than the 10000000 IAM accepts. A \
         document this large is usually a federation aggregate; extract the one IdP's \
         EntityDescriptor into its own document."
    )]
    TooLong {
        /// Characters counted (not bytes), after removing a UTF-8 byte-order mark.
        chars: usize,
    },

    /// A URL that answers with a web page instead of the metadata is a common mistake.
    #[error(
        "the metadata document is an HTML page, not SAML metadata. The URL probably points at a \
         sign-in or download page; use the IdP's metadata URL or the downloaded XML file itself."
    )]
    HtmlPage,

    /// DTDs are how XXE and entity-expansion attacks get in, and SAML metadata never needs one.
    #[error(
        "the metadata document contains a DOCTYPE declaration. DOCTYPE and entity declarations \
         are not allowed in SAML metadata (they enable external-entity and entity-expansion \
         attacks, and nothing they reference is fetched); remove the <!DOCTYPE ...> and any \
         entity references, or export the metadata from the IdP again."
    )]
    DoctypeNotAllowed,

    /// The parser's own description, with its position, is the most useful pointer.
    #[error(
        "the metadata document is not well-formed XML: {detail} (line {line}, column {column}). \
         Supply the IdP's metadata XML exactly as exported, not an edited copy, a web page or an \
         error response."
    )]
    NotWellFormed {
        /// 1-based line of the error.
        line: u32,
        /// 1-based column of the error.
        column: u32,
        /// The parser's description of the error.
        detail: String,
    },

    /// Far more XML than one IdP's metadata has: refused before (or while) it is parsed, so no
    /// document makes the parser exhaust the function's memory or time.
    #[error(
        "the metadata document has more than {limit} {what}, far more than one IdP's metadata \
         needs, so it is refused rather than parsed whole. A document this large is usually a \
         federation aggregate; extract the one IdP's EntityDescriptor into its own document."
    )]
    TooManyXmlParts {
        /// What there is too much of, e.g. `XML nodes (elements, text and comments)`.
        what: &'static str,
        /// The bound it passed.
        limit: usize,
    },

    /// IAM takes exactly one entity; naming the IdPs inside tells the user which one to extract.
    #[error(
        "the metadata document is an EntitiesDescriptor aggregate of {entity_count} entities, \
         but IAM takes exactly one entity. {}",
        describe_aggregate(.idp_entity_ids)
    )]
    Aggregate {
        /// Number of EntityDescriptor elements inside, at any depth.
        entity_count: usize,
        /// entityIDs of the entities that have an IDPSSODescriptor, in document order.
        idp_entity_ids: Vec<String>,
    },

    /// Anything but a SAML 2.0 EntityDescriptor (SAML 1, WS-Federation, some other XML).
    #[error(
        "the metadata document's root element is {found}, but SAML 2.0 IdP metadata has a root \
         EntityDescriptor in the namespace urn:oasis:names:tc:SAML:2.0:metadata. Supply the IdP's \
         SAML 2.0 metadata."
    )]
    UnexpectedRoot {
        /// The root's local name and namespace, in words.
        found: String,
    },

    /// The entityID is how IAM and the IdP recognise each other; there is no sensible default.
    #[error(
        "the metadata document's EntityDescriptor has no entityID, or an empty one, and IAM \
         identifies the IdP by it. Export the metadata from the IdP again."
    )]
    MissingEntityId,

    /// Users often paste the AWS (service-provider) side's metadata by mistake.
    #[error(
        "this is service-provider metadata, not IdP metadata: entity {entity_id} has an \
         SPSSODescriptor and no IDPSSODescriptor. Supply the metadata your identity provider \
         publishes; it holds the sign-in URL and the signing certificate IAM needs."
    )]
    ServiceProviderMetadata {
        /// The entityID of the service provider.
        entity_id: String,
    },

    /// Metadata of some other role (attribute authority, PDP, ...) cannot sign users in.
    #[error(
        "the metadata document's entity {entity_id} has no IDPSSODescriptor (it contains: \
         {found}), so it does not describe an identity provider. Export the IdP's SAML 2.0 \
         metadata."
    )]
    NoIdpDescriptor {
        /// The entityID of the entity.
        entity_id: String,
        /// Local names of the entity's child elements, comma-separated.
        found: String,
    },

    /// IAM speaks SAML 2.0 only; a SAML 1.1/Shibboleth-1 only IdP cannot federate with it.
    #[error(
        "the IDPSSODescriptor of {entity_id} does not list SAML 2.0 \
         (urn:oasis:names:tc:SAML:2.0:protocol) in protocolSupportEnumeration (found: \
         {protocols}), and IAM supports SAML 2.0 only. Enable SAML 2.0 at the IdP and export its \
         metadata again."
    )]
    NoSaml2Support {
        /// The entityID of the entity.
        entity_id: String,
        /// The protocolSupportEnumeration values found.
        protocols: String,
    },

    /// Metadata past its validUntil is invalid by the SAML metadata specification.
    #[error(
        "the metadata document has expired: the {element} validUntil is {}, which is not after \
         the current time {}. Download fresh metadata from the IdP (and, for a scheduled \
         refresh, make sure the source is being updated).",
        format_timestamp(*.valid_until),
        format_timestamp(*.now)
    )]
    Expired {
        /// `EntityDescriptor` or `IDPSSODescriptor`.
        element: &'static str,
        /// The validUntil found.
        valid_until: OffsetDateTime,
        /// The "now" it was compared with.
        now: OffsetDateTime,
    },

    /// A validUntil nobody can read cannot be honoured, so it is not guessed at.
    #[error(
        "the {element} validUntil \"{value}\" is not an xs:dateTime such as \
         2030-01-01T00:00:00Z. Export the metadata from the IdP again, or correct the attribute."
    )]
    InvalidValidUntil {
        /// `EntityDescriptor` or `IDPSSODescriptor`.
        element: &'static str,
        /// The attribute value (shortened when long).
        value: String,
    },

    /// Without a SingleSignOnService the IdP has no sign-in endpoint to describe.
    #[error(
        "the IDPSSODescriptor of {entity_id} has no SingleSignOnService with both a Binding and \
         a Location{}. Export complete metadata from the IdP; it must publish its SAML 2.0 \
         sign-in endpoint.",
        describe_incomplete(*.incomplete)
    )]
    NoSingleSignOnService {
        /// The entityID of the entity.
        entity_id: String,
        /// SingleSignOnService elements that lacked a Binding or a Location.
        incomplete: usize,
    },

    /// IAM verifies assertions with these keys; without one, no sign-in can ever succeed.
    #[error(
        "the IDPSSODescriptor of {entity_id} has no signing certificate: no KeyDescriptor with \
         use=\"signing\" (or without use) holds a ds:KeyInfo/ds:X509Data/ds:X509Certificate{}. \
         Add the certificate the IdP signs assertions with, or export complete metadata.",
        describe_other_uses(.other_uses)
    )]
    NoSigningCertificate {
        /// The entityID of the entity.
        entity_id: String,
        /// `use` values of the KeyDescriptors that were skipped (e.g. `encryption`).
        other_uses: Vec<String>,
    },

    /// An empty X509Certificate element is a broken export.
    #[error(
        "signing certificate #{position} (the X509Certificate element at line {line}) is empty. \
         Export the metadata from the IdP again."
    )]
    EmptyCertificate {
        /// 1-based position among the signing X509Certificate elements, in document order.
        position: usize,
        /// Line of the X509Certificate element.
        line: u32,
    },

    /// Usually a copy-paste accident: PEM armour, a truncated line, stray characters.
    #[error(
        "signing certificate #{position} (the X509Certificate element at line {line}) is not \
         valid base64: {detail}. Copy the certificate again; the element holds only the base64 \
         of the DER certificate."
    )]
    CertificateNotBase64 {
        /// 1-based position among the signing X509Certificate elements, in document order.
        position: usize,
        /// Line of the X509Certificate element.
        line: u32,
        /// What is wrong with the base64.
        detail: String,
    },

    /// Base64 of something other than a certificate (a public key, a PEM file, random bytes).
    #[error(
        "signing certificate #{position} (the X509Certificate element at line {line}) is not an \
         X.509 certificate: {detail}. Put the IdP's signing certificate (base64 of its DER \
         encoding) there, not a public key or other data."
    )]
    CertificateNotX509 {
        /// 1-based position among the signing X509Certificate elements, in document order.
        position: usize,
        /// Line of the X509Certificate element.
        line: u32,
        /// What the X.509 parser objected to.
        detail: String,
    },
}

/// Checks a metadata document against the rules IAM and SAML impose, before any IAM call.
///
/// `now` is an argument rather than the clock so that validUntil and expiry checks are
/// reproducible in tests and consistent within one request.
pub fn validate(document: &[u8], now: OffsetDateTime) -> Result<ValidatedMetadata, MetadataError> {
    let sha256_hex = hex::encode(Sha256::digest(document));
    let (body, bom_len) = match document.strip_prefix(UTF8_BOM) {
        Some(rest) => (rest, UTF8_BOM.len()),
        None => (document, 0),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(MetadataError::Empty);
    }
    if body.starts_with(b"\xFE\xFF") || body.starts_with(b"\xFF\xFE") {
        return Err(MetadataError::Utf16);
    }
    let text = std::str::from_utf8(body).map_err(|e| MetadataError::NotUtf8 { offset: bom_len + e.valid_up_to() })?;
    let chars = text.chars().count();
    if chars < MIN_DOCUMENT_CHARS {
        return Err(MetadataError::TooShort { chars });
    }
    if chars > MAX_DOCUMENT_CHARS {
        return Err(MetadataError::TooLong { chars });
    }
    if looks_like_html(text) {
        return Err(MetadataError::HtmlPage);
    }

    check_markup_bounds(text)?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(parse_error)?;

    let root = doc.root_element();
    let root_name = root.tag_name();
    match (root_name.namespace(), root_name.name()) {
        (Some(MD_NS), "EntityDescriptor") => {}
        (Some(MD_NS), "EntitiesDescriptor") => return Err(aggregate_error(root)),
        (None | Some("http://www.w3.org/1999/xhtml"), name) if name.eq_ignore_ascii_case("html") => {
            return Err(MetadataError::HtmlPage)
        }
        (namespace, name) => return Err(MetadataError::UnexpectedRoot { found: describe_name(namespace, name) }),
    }

    let entity_id = match root.attribute("entityID") {
        Some(id) if !id.trim().is_empty() => id.to_owned(),
        _ => return Err(MetadataError::MissingEntityId),
    };
    let mut valid_until = check_valid_until(root, "EntityDescriptor", now)?;

    let idp = select_idp_descriptor(root, &entity_id)?;
    let mut warnings = Vec::new();
    if root.children().filter(|n| is_md(n, "IDPSSODescriptor") && supports_saml2(n)).count() > 1 {
        warnings.push(format!(
            "entity {} has more than one IDPSSODescriptor supporting SAML 2.0; only the first was \
             checked.",
            quote(&entity_id)
        ));
    }
    if let Some(idp_until) = check_valid_until(idp, "IDPSSODescriptor", now)? {
        valid_until = Some(valid_until.map_or(idp_until, |t| t.min(idp_until)));
    }

    let sso_endpoints = sso_endpoints(idp, &entity_id, &mut warnings)?;
    warn_plain_http_endpoints(idp, &mut warnings);
    let signing_certificates = signing_certificates(&doc, idp, &entity_id)?;
    warn_certificate_dates(&signing_certificates, now, &mut warnings);
    let every_certificate = every_certificate(&doc);

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

/// The fingerprint of every `ds:X509Certificate` element of the document.
fn every_certificate(doc: &roxmltree::Document<'_>) -> Vec<CertificateFingerprint> {
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

/// RFC 3339 with seconds and `Z`, e.g. 2026-06-22T18:39:53Z — used in CloudFormation Data and Reasons.
///
/// One fixed shape (UTC, no fraction) keeps `Data` values stable across updates and easy to
/// compare in templates and alarms.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    match t.checked_to_offset(UtcOffset::UTC) {
        Some(utc) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second()
        ),
        // Only at the very edge of the representable range; keep the offset rather than panic.
        None => {
            let (oh, om, _) = t.offset().as_hms();
            let sign = if t.offset().is_negative() { '-' } else { '+' };
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                oh.unsigned_abs(),
                om.unsigned_abs()
            )
        }
    }
}

fn is_md(node: &roxmltree::Node<'_, '_>, name: &str) -> bool {
    is_element(node, MD_NS, name)
}

fn is_ds(node: &roxmltree::Node<'_, '_>, name: &str) -> bool {
    is_element(node, DS_NS, name)
}

fn is_element(node: &roxmltree::Node<'_, '_>, namespace: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(namespace)
}

fn supports_saml2(node: &roxmltree::Node<'_, '_>) -> bool {
    node.attribute("protocolSupportEnumeration")
        .is_some_and(|p| p.split_ascii_whitespace().any(|p| p == SAML2_PROTOCOL))
}

/// Shortens a value taken from the document so one odd attribute cannot fill a Reason.
fn quote(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

fn describe_name(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{} in namespace {}", quote(name), quote(ns)),
        None => format!("{} in no namespace", quote(name)),
    }
}

fn describe_aggregate(idp_entity_ids: &[String]) -> String {
    if idp_entity_ids.is_empty() {
        return "None of its entities is an identity provider (none has an IDPSSODescriptor); \
                supply your IdP's own metadata."
            .to_owned();
    }
    let mut listed: Vec<String> = idp_entity_ids.iter().take(MAX_LISTED_ENTITIES).map(|id| quote(id)).collect();
    if idp_entity_ids.len() > MAX_LISTED_ENTITIES {
        listed.push(format!("and {} more", idp_entity_ids.len() - MAX_LISTED_ENTITIES));
    }
    let (noun, that) = if idp_entity_ids.len() == 1 {
        ("entity", "that one EntityDescriptor")
    } else {
        ("entities", "the one EntityDescriptor you want")
    };
    format!(
        "IdP {noun} inside: {}. Extract {that} into its own document (copying the namespace \
         declarations of the EntitiesDescriptor) and supply that.",
        listed.join(", ")
    )
}

fn describe_incomplete(incomplete: usize) -> String {
    match incomplete {
        0 => String::new(),
        1 => " (1 SingleSignOnService lacks one of them)".to_owned(),
        n => format!(" ({n} SingleSignOnService elements lack one of them)"),
    }
}

fn describe_other_uses(other_uses: &[String]) -> String {
    if other_uses.is_empty() {
        return String::new();
    }
    let uses: Vec<String> = other_uses.iter().map(|u| format!("use=\"{}\"", quote(u))).collect();
    format!(" (found only KeyDescriptors with {})", uses.join(", "))
}

/// A URL that answers with a sign-in page instead of metadata deserves its own message rather
/// than "DOCTYPE not allowed" or a parse error.
fn looks_like_html(text: &str) -> bool {
    let mut rest = text.trim_start();
    // Skip an XML declaration and leading comments, as browsers and XHTML pages may have them.
    loop {
        if rest.starts_with("<?") {
            match rest.find("?>") {
                Some(end) => rest = rest[end + 2..].trim_start(),
                None => return false,
            }
        } else if rest.starts_with("<!--") {
            match rest.find("-->") {
                Some(end) => rest = rest[end + 3..].trim_start(),
                None => return false,
            }
        } else {
            break;
        }
    }
    let head: String = rest.chars().take(15).collect::<String>().to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// What the node bound is called in a Reason.
const NODES: &str = "XML nodes (elements, text and comments)";

/// Bounds what roxmltree allocates besides nodes (which `nodes_limit` bounds as it parses), in
/// one pass over the text before parsing: attributes in all and on one element, and namespace
/// declarations. Comments, CDATA sections and processing instructions are skipped as the parser
/// skips them; inside a tag every `=` outside quotes is counted, so the count is never below the
/// parser's.
fn check_markup_bounds(text: &str) -> Result<(), MetadataError> {
    let too_many = |what, limit| Err(MetadataError::TooManyXmlParts { what, limit });
    if text.matches("xmlns").count() > MAX_NAMESPACE_DECLARATIONS {
        return too_many("namespace declarations (xmlns)", MAX_NAMESPACE_DECLARATIONS);
    }
    let bytes = text.as_bytes();
    let skip_to = |from: usize, end: &str| text[from..].find(end).map_or(bytes.len(), |i| from + i + end.len());
    let mut attributes = 0usize;
    let mut i = 0;
    while let Some(offset) = text[i..].find('<') {
        let start = i + offset;
        let rest = &bytes[start..];
        if rest.starts_with(b"<!--") {
            i = skip_to(start + 4, "-->");
        } else if rest.starts_with(b"<![CDATA[") {
            i = skip_to(start + 9, "]]>");
        } else if rest.starts_with(b"<?") {
            i = skip_to(start + 2, "?>");
        } else {
            let mut quote = None;
            let mut on_element = 0usize;
            let mut j = start + 1;
            while j < bytes.len() {
                match (quote, bytes[j]) {
                    (Some(q), b) if b == q => quote = None,
                    (Some(_), _) => {}
                    (None, b @ (b'"' | b'\'')) => quote = Some(b),
                    (None, b'=') => on_element += 1,
                    (None, b'>') => break,
                    (None, _) => {}
                }
                j += 1;
            }
            if on_element > MAX_ATTRIBUTES_PER_ELEMENT {
                return too_many("attributes on one element", MAX_ATTRIBUTES_PER_ELEMENT);
            }
            attributes += on_element;
            if attributes > MAX_ATTRIBUTES {
                return too_many("attributes", MAX_ATTRIBUTES);
            }
            i = j.saturating_add(1).min(bytes.len());
        }
    }
    Ok(())
}

fn parse_error(e: roxmltree::Error) -> MetadataError {
    match e {
        roxmltree::Error::DtdDetected => MetadataError::DoctypeNotAllowed,
        roxmltree::Error::NodesLimitReached => {
            MetadataError::TooManyXmlParts { what: NODES, limit: MAX_XML_NODES as usize }
        }
        roxmltree::Error::AttributesLimitReached => {
            MetadataError::TooManyXmlParts { what: "attributes", limit: MAX_ATTRIBUTES }
        }
        roxmltree::Error::NamespacesLimitReached => {
            MetadataError::TooManyXmlParts { what: "namespace declarations (xmlns)", limit: MAX_NAMESPACE_DECLARATIONS }
        }
        other => {
            let pos = other.pos();
            MetadataError::NotWellFormed { line: pos.row, column: pos.col, detail: other.to_string() }
        }
    }
}

fn aggregate_error(root: roxmltree::Node<'_, '_>) -> MetadataError {
    let entities: Vec<_> = root.descendants().filter(|n| is_md(n, "EntityDescriptor")).collect();
    let idp_entity_ids = entities
        .iter()
        .filter(|e| e.children().any(|c| is_md(&c, "IDPSSODescriptor")))
        .map(|e| e.attribute("entityID").unwrap_or("(no entityID)").to_owned())
        .collect();
    MetadataError::Aggregate { entity_count: entities.len(), idp_entity_ids }
}

fn check_valid_until(
    node: roxmltree::Node<'_, '_>,
    element: &'static str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, MetadataError> {
    let Some(value) = node.attribute("validUntil") else {
        return Ok(None);
    };
    let valid_until =
        parse_xs_date_time(value).ok_or_else(|| MetadataError::InvalidValidUntil { element, value: quote(value) })?;
    if valid_until <= now {
        return Err(MetadataError::Expired { element, valid_until, now });
    }
    Ok(Some(valid_until))
}

fn select_idp_descriptor<'a, 'input>(
    root: roxmltree::Node<'a, 'input>,
    entity_id: &str,
) -> Result<roxmltree::Node<'a, 'input>, MetadataError> {
    let idps: Vec<_> = root.children().filter(|n| is_md(n, "IDPSSODescriptor")).collect();
    if idps.is_empty() {
        if root.children().any(|n| is_md(&n, "SPSSODescriptor")) {
            return Err(MetadataError::ServiceProviderMetadata { entity_id: quote(entity_id) });
        }
        let mut names: Vec<&str> = Vec::new();
        for child in root.children().filter(roxmltree::Node::is_element) {
            let name = child.tag_name().name();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let found = if names.is_empty() { "no child elements".to_owned() } else { quote(&names.join(", ")) };
        return Err(MetadataError::NoIdpDescriptor { entity_id: quote(entity_id), found });
    }
    if let Some(idp) = idps.iter().find(|n| supports_saml2(n)) {
        return Ok(*idp);
    }
    let protocols: Vec<&str> = idps
        .iter()
        .filter_map(|n| n.attribute("protocolSupportEnumeration"))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    Err(MetadataError::NoSaml2Support {
        entity_id: quote(entity_id),
        protocols: if protocols.is_empty() { "nothing".to_owned() } else { quote(&protocols.join(" | ")) },
    })
}

fn sso_endpoints(
    idp: roxmltree::Node<'_, '_>,
    entity_id: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<SsoEndpoint>, MetadataError> {
    let mut endpoints = Vec::new();
    let mut incomplete = 0;
    for (index, sso) in idp.children().filter(|n| is_md(n, "SingleSignOnService")).enumerate() {
        let non_empty = |name| sso.attribute(name).map(str::trim).filter(|v| !v.is_empty());
        match (non_empty("Binding"), non_empty("Location")) {
            (Some(binding), Some(location)) => {
                endpoints.push(SsoEndpoint { binding: binding.to_owned(), location: location.to_owned() })
            }
            (binding, _) => {
                incomplete += 1;
                let missing = if binding.is_none() { "Binding" } else { "Location" };
                warnings.push(format!(
                    "SingleSignOnService #{} of entity {} has no {missing} and is ignored.",
                    index + 1,
                    quote(entity_id)
                ));
            }
        }
    }
    if endpoints.is_empty() {
        return Err(MetadataError::NoSingleSignOnService { entity_id: quote(entity_id), incomplete });
    }
    Ok(endpoints)
}

/// AWS never calls these endpoints, but users' browsers post SAML messages to them.
fn warn_plain_http_endpoints(idp: roxmltree::Node<'_, '_>, warnings: &mut Vec<String>) {
    for endpoint in idp.children().filter(|n| n.is_element() && n.tag_name().namespace() == Some(MD_NS)) {
        for attribute in ["Location", "ResponseLocation"] {
            let Some(url) = endpoint.attribute(attribute) else {
                continue;
            };
            let url = url.trim();
            if url.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://")) {
                warnings.push(format!(
                    "the {} {attribute} {} uses plain http://, so SAML messages to it travel \
                     unencrypted; configure the IdP to publish an https:// endpoint.",
                    endpoint.tag_name().name(),
                    quote(url)
                ));
            }
        }
    }
}

fn signing_certificates(
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
fn warn_certificate_dates(certificates: &[SigningCertificate], now: OffsetDateTime, warnings: &mut Vec<String>) {
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

/// Parses an xs:dateTime (`2026-06-22T18:39:53.000Z`, `...+02:00`, or no zone, which SAML defines
/// as UTC). Years beyond 4 digits, negative years and leap seconds are refused rather than guessed.
fn parse_xs_date_time(value: &str) -> Option<OffsetDateTime> {
    let s = value.trim().as_bytes();
    let number = |from: usize, to: usize| -> Option<u32> {
        let digits = s.get(from..to)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    let separators_ok = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')]
        .iter()
        .all(|&(at, expected)| s.get(at) == Some(&expected));
    if !separators_ok {
        return None;
    }
    let year = i32::try_from(number(0, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(number(5, 7)?).ok()?).ok()?;
    let day = u8::try_from(number(8, 10)?).ok()?;
    let hour = u8::try_from(number(11, 13)?).ok()?;
    let minute = u8::try_from(number(14, 16)?).ok()?;
    let second = u8::try_from(number(17, 19)?).ok()?;

    let mut at = 19;
    let mut nanosecond = 0u32;
    if s.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while s.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let fraction = s.get(start..at)?;
        if fraction.is_empty() {
            return None;
        }
        // Keep nanosecond precision; further digits cannot change a comparison that matters.
        for position in 0..9 {
            let digit = fraction.get(position).map_or(0, |d| u32::from(d - b'0'));
            nanosecond = nanosecond * 10 + digit;
        }
    }
    let offset = match s.get(at..)? {
        b"" | b"Z" => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = i8::try_from(number(at + 1, at + 3)?).ok()?;
            let minutes = i8::try_from(number(at + 4, at + 6)?).ok()?;
            if hours > 14 || minutes > 59 {
                return None;
            }
            let (hours, minutes) = if *sign == b'-' { (-hours, -minutes) } else { (hours, minutes) };
            UtcOffset::from_hms(hours, minutes, 0).ok()?
        }
        _ => return None,
    };

    let date = Date::from_calendar_date(year, month, day).ok()?;
    // xs:dateTime allows 24:00:00 for the first instant of the next day.
    let (date, time) = if hour == 24 && minute == 0 && second == 0 && nanosecond == 0 {
        (date.next_day()?, Time::MIDNIGHT)
    } else {
        (date, Time::from_hms_nano(hour, minute, second, nanosecond).ok()?)
    };
    PrimitiveDateTime::new(date, time).assume_offset(offset).checked_to_offset(UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/idp-metadata");
    const MINIMAL: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/idp-minimal.xml"));
    const EXPIRED_CERT: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/idp-expired-cert.xml"));
    const SP_ONLY: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/sp-only.xml"));
    /// `openssl x509 -fingerprint -sha256` of the certificate in idp-minimal.xml.
    const MINIMAL_CERT_SHA256: &str = "1a81ead0053bf7ff5d444ea44f0fc6f0c71dd80ad3aed2119ba9d51bf2ac5360";

    fn ts(value: &str) -> OffsetDateTime {
        parse_xs_date_time(value).expect("test timestamp")
    }

    /// The machine date when the corpus was checked; after Google's validUntil.
    fn after() -> OffsetDateTime {
        ts("2026-11-23T00:00:00Z")
    }

    /// Before Google's validUntil (2026-06-22).
    fn before() -> OffsetDateTime {
        ts("2026-01-01T00:00:00Z")
    }

    /// Every document of the corpus (`../shared/idp-metadata/SOURCES.md`), each with a verdict here.
    const CORPUS_FILES: [&str; 6] = [
        "adfs2-federationmetadata.xml",
        "google-workspace-edited.xml",
        "okta-dev.xml",
        "shibboleth-idp-generated.xml",
        "shibboleth-idp-v2-msidlab.xml",
        "testshib-entities-aggregate.xml",
    ];

    /// Reads a corpus file, or says why the test is skipped (a user's clone has no ../shared).
    /// CI always has it beside the clone: there (`CI=true`) a missing corpus fails the test.
    fn corpus(name: &str) -> Option<Vec<u8>> {
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
    fn edit(document: &str, from: &str, to: &str) -> String {
        assert!(document.contains(from), "fixture lacks {from:?}");
        document.replacen(from, to, 1)
    }

    fn key_descriptor(document: &str) -> &str {
        let start = document.find("<md:KeyDescriptor").expect("KeyDescriptor");
        let end = document.find("</md:KeyDescriptor>").expect("KeyDescriptor end");
        &document[start..end + "</md:KeyDescriptor>".len()]
    }

    fn certificate_base64(document: &str) -> String {
        let start = document.find("<ds:X509Certificate>").expect("certificate");
        let end = document.find("</ds:X509Certificate>").expect("certificate end");
        document[start + "<ds:X509Certificate>".len()..end].to_owned()
    }

    fn refuse(document: &str, now: OffsetDateTime) -> MetadataError {
        validate(document.as_bytes(), now).expect_err("document must be refused")
    }

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
    fn service_provider_metadata_is_refused() {
        let err = refuse(SP_ONLY, after());
        assert_eq!(
            err,
            MetadataError::ServiceProviderMetadata { entity_id: "https://sp.example.com/saml/metadata".to_owned() }
        );
        assert!(err.to_string().contains("this is service-provider metadata, not IdP metadata"));
    }

    #[test]
    fn entity_without_idp_descriptor_is_refused() {
        let doc = MINIMAL
            .replace("md:IDPSSODescriptor", "md:AuthnAuthorityDescriptor")
            .replace("md:SingleSignOnService", "md:AuthnQueryService");
        let err = refuse(&doc, after());
        assert!(
            matches!(&err, MetadataError::NoIdpDescriptor { found, .. }
                if found == "AuthnAuthorityDescriptor, Organization, ContactPerson"),
            "{err:?}"
        );
        assert!(err.to_string().contains("has no IDPSSODescriptor"));
    }

    #[test]
    fn saml11_only_idp_is_refused() {
        let doc = edit(
            MINIMAL,
            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0\"",
        );
        let err = refuse(&doc, after());
        assert!(
            matches!(&err, MetadataError::NoSaml2Support { protocols, .. }
                if protocols == "urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0"),
            "{err:?}"
        );
        assert!(err.to_string().contains("IAM supports SAML 2.0 only"));
    }

    #[test]
    fn saml2_must_be_a_whole_token_of_protocol_support() {
        let doc = edit(MINIMAL, "urn:oasis:names:tc:SAML:2.0:protocol\"", "urn:oasis:names:tc:SAML:2.0:protocolX\"");
        assert!(matches!(refuse(&doc, after()), MetadataError::NoSaml2Support { .. }));
    }

    #[test]
    fn idp_without_single_sign_on_service_is_refused() {
        let doc = MINIMAL.replace("md:SingleSignOnService", "md:SingleLogoutService");
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::NoSingleSignOnService {
                entity_id: "https://idp.example.com/saml2/idp".to_owned(),
                incomplete: 0
            }
        );
        assert!(err.to_string().contains("no SingleSignOnService"));
    }

    #[test]
    fn single_sign_on_service_without_location_does_not_count() {
        let doc = MINIMAL
            .replace(" Location=\"https://idp.example.com/saml2/sso/redirect\"", "")
            .replace(" Location=\"https://idp.example.com/saml2/sso/post\"", "");
        let err = refuse(&doc, after());
        assert!(matches!(err, MetadataError::NoSingleSignOnService { incomplete: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("2 SingleSignOnService elements lack"));
    }

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

    #[test]
    fn valid_until_in_the_past_is_refused_with_the_date() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"2026-11-01T08:00:00.5+01:00\" entityID=");
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::Expired {
                element: "EntityDescriptor",
                valid_until: ts("2026-11-01T07:00:00.5Z"),
                now: after(),
            }
        );
        assert!(err.to_string().contains("validUntil is 2026-11-01T07:00:00Z"), "{err}");
    }

    #[test]
    fn valid_until_equal_to_now_is_refused() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"2026-11-23T00:00:00Z\" entityID=");
        assert!(matches!(refuse(&doc, after()), MetadataError::Expired { .. }));
    }

    #[test]
    fn valid_until_in_the_future_is_accepted_and_reported() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"2027-01-31T23:59:59Z\" entityID=");
        let m = validate(doc.as_bytes(), after()).expect("future validUntil");
        assert_eq!(m.valid_until, Some(ts("2027-01-31T23:59:59Z")));
    }

    #[test]
    fn valid_until_on_the_idp_descriptor_counts_too() {
        let doc = edit(MINIMAL, "<md:IDPSSODescriptor ", "<md:IDPSSODescriptor validUntil=\"2026-02-01T00:00:00Z\" ");
        let m = validate(doc.as_bytes(), before()).expect("before the descriptor's validUntil");
        assert_eq!(m.valid_until, Some(ts("2026-02-01T00:00:00Z")));
        let err = refuse(&doc, after());
        assert!(matches!(err, MetadataError::Expired { element: "IDPSSODescriptor", .. }), "{err:?}");
    }

    #[test]
    fn earliest_valid_until_is_reported() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"2028-01-01T00:00:00Z\" entityID=");
        let doc = edit(&doc, "<md:IDPSSODescriptor ", "<md:IDPSSODescriptor validUntil=\"2027-06-01T00:00:00Z\" ");
        let m = validate(doc.as_bytes(), after()).expect("both in the future");
        assert_eq!(m.valid_until, Some(ts("2027-06-01T00:00:00Z")));
    }

    #[test]
    fn unparseable_valid_until_is_refused() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"next Tuesday\" entityID=");
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::InvalidValidUntil { element: "EntityDescriptor", value: "next Tuesday".to_owned() }
        );
        assert!(err.to_string().contains("not an xs:dateTime"));
    }

    #[test]
    fn doctype_with_internal_entity_is_refused() {
        let doc = edit(
            MINIMAL,
            "<md:EntityDescriptor ",
            "<!DOCTYPE md:EntityDescriptor [<!ENTITY org \"Example Corp\">]>\n<md:EntityDescriptor ",
        );
        let doc = edit(&doc, ">Example Corp</md:OrganizationName>", ">&org;</md:OrganizationName>");
        let err = refuse(&doc, after());
        assert_eq!(err, MetadataError::DoctypeNotAllowed);
        assert!(err.to_string().contains("DOCTYPE and entity declarations are not allowed"));
    }

    #[test]
    fn billion_laughs_is_refused_without_expansion() {
        let mut dtd = String::from("<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
        for level in 1..=9 {
            let previous = if level == 1 { "lol".to_owned() } else { format!("lol{}", level - 1) };
            dtd.push_str(&format!("<!ENTITY lol{level} \"{}\">\n", format!("&{previous};").repeat(10)));
        }
        dtd.push_str("]>\n");
        let doc = edit(MINIMAL, "<md:EntityDescriptor ", &format!("{dtd}<md:EntityDescriptor "));
        let doc = edit(&doc, ">Example Corp</md:OrganizationName>", ">&lol9;</md:OrganizationName>");
        assert_eq!(refuse(&doc, after()), MetadataError::DoctypeNotAllowed);
    }

    #[test]
    fn external_entity_is_refused_and_nothing_is_read() {
        let doc = edit(
            MINIMAL,
            "<md:EntityDescriptor ",
            "<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<md:EntityDescriptor ",
        );
        let doc = edit(&doc, ">Example Corp</md:OrganizationName>", ">&xxe;</md:OrganizationName>");
        let err = refuse(&doc, after());
        assert_eq!(err, MetadataError::DoctypeNotAllowed);
        let message = err.to_string();
        assert!(message.contains("DOCTYPE"), "{message}");
        assert!(!message.contains("root:"), "{message}");
    }

    #[test]
    fn undeclared_entity_reference_is_not_well_formed() {
        let doc = edit(MINIMAL, ">Example Corp</md:OrganizationName>", ">&org;</md:OrganizationName>");
        let err = refuse(&doc, after());
        assert!(matches!(&err, MetadataError::NotWellFormed { detail, .. } if detail.contains("org")), "{err:?}");
    }

    #[test]
    fn truncated_xml_is_refused_with_the_position() {
        let cut = &MINIMAL[..MINIMAL.len() - 200];
        let err = refuse(cut, after());
        assert!(matches!(err, MetadataError::NotWellFormed { .. }), "{err:?}");
        assert!(err.to_string().contains("not well-formed XML"), "{err}");
    }

    #[test]
    fn text_that_is_not_xml_is_refused() {
        let text = "Service temporarily unavailable. Please try again later.\n".repeat(20);
        let err = refuse(&text, after());
        assert_eq!(err, MetadataError::NotWellFormed { line: 1, column: 1, detail: "unknown token at 1:1".to_owned() });
    }

    #[test]
    fn html_page_is_refused_as_such() {
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><title>Sign in</title></head><body>{}</body></html>",
            "<p>Please sign in to continue.<br></p>\n".repeat(40)
        );
        let err = refuse(&page, after());
        assert_eq!(err, MetadataError::HtmlPage);
        assert!(err.to_string().contains("HTML page"));
    }

    #[test]
    fn empty_document_is_refused() {
        assert_eq!(validate(b"", after()), Err(MetadataError::Empty));
        assert_eq!(validate(b"\xEF\xBB\xBF \n\t", after()), Err(MetadataError::Empty));
        assert!(MetadataError::Empty.to_string().contains("is empty"));
    }

    #[test]
    fn latin1_document_is_refused_as_not_utf8() {
        let doc = edit(MINIMAL, ">Example Corp</md:OrganizationName>", ">Soci\u{e9}t\u{e9}</md:OrganizationName>");
        let offset = doc.find('\u{e9}').expect("accent");
        let latin1: Vec<u8> = doc.chars().map(|c| u8::try_from(u32::from(c)).expect("latin-1")).collect();
        let err = validate(&latin1, after()).expect_err("Latin-1 is refused");
        assert_eq!(err, MetadataError::NotUtf8 { offset });
        assert!(err.to_string().contains("not valid UTF-8"));
    }

    #[test]
    fn utf16_document_is_refused() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in MINIMAL.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let err = validate(&bytes, after()).expect_err("UTF-16 is refused");
        assert_eq!(err, MetadataError::Utf16);
        assert!(err.to_string().contains("UTF-8 only"));
    }

    #[test]
    fn short_document_is_refused_counting_characters_not_bytes() {
        let doc = format!(
            "<md:EntityDescriptor xmlns:md=\"{MD_NS}\" entityID=\"https://idp.example.com/\"><!-- {} --></md:EntityDescriptor>",
            "\u{20ac}".repeat(400)
        );
        assert!(doc.len() >= MIN_DOCUMENT_CHARS);
        let chars = doc.chars().count();
        assert!(chars < MIN_DOCUMENT_CHARS);
        let err = refuse(&doc, after());
        assert_eq!(err, MetadataError::TooShort { chars });
        assert!(err.to_string().contains(&format!("has {chars} characters, fewer than the 1000")));
    }

    #[test]
    fn oversized_document_is_refused_before_parsing() {
        let filler = "x".repeat(MAX_DOCUMENT_CHARS + 1 - MINIMAL.len());
        let doc = edit(MINIMAL, "<md:Organization>", &format!("<!--{filler}-->\n  <md:Organization>"));
        let chars = doc.chars().count();
        assert!(chars > MAX_DOCUMENT_CHARS);
        let err = refuse(&doc, after());
        assert_eq!(err, MetadataError::TooLong { chars });
        assert!(err.to_string().contains(&format!("has {chars} characters, more than the 10000000")));
    }

    // ---- bounds on the parse ----

    #[test]
    fn real_metadata_is_far_below_every_parse_bound() {
        for name in CORPUS_FILES {
            let Some(bytes) = corpus(name) else {
                return;
            };
            let text = std::str::from_utf8(&bytes).unwrap();
            let doc = roxmltree::Document::parse(text).unwrap();
            let nodes = doc.descendants().count();
            let attributes: Vec<usize> = doc.descendants().map(|n| n.attributes().len()).collect();
            let declarations = text.matches("xmlns").count();
            assert!(nodes * 100 < MAX_XML_NODES as usize, "{name}: {nodes} nodes");
            assert!(attributes.iter().sum::<usize>() * 100 < MAX_ATTRIBUTES, "{name}: {attributes:?}");
            assert!(attributes.iter().max().unwrap() * 50 < MAX_ATTRIBUTES_PER_ELEMENT, "{name}");
            assert!(declarations * 10 < MAX_NAMESPACE_DECLARATIONS, "{name}: {declarations} xmlns");
            check_markup_bounds(text).expect(name);
        }
    }

    #[test]
    fn a_document_at_the_node_bound_is_accepted_and_one_node_more_is_refused() {
        let base = roxmltree::Document::parse(MINIMAL).unwrap().descendants().count();
        let with =
            |extra: usize| edit(MINIMAL, "<md:Organization>", &format!("{}<md:Organization>", "<a/>".repeat(extra)));
        let at_bound = with(MAX_XML_NODES as usize - base);
        assert_eq!(roxmltree::Document::parse(&at_bound).unwrap().descendants().count(), MAX_XML_NODES as usize);
        validate(at_bound.as_bytes(), after()).expect("exactly at the bound");
        let err = refuse(&with(MAX_XML_NODES as usize - base + 1), after());
        assert_eq!(err, MetadataError::TooManyXmlParts { what: NODES, limit: MAX_XML_NODES as usize });
        assert!(err.to_string().contains("more than 100000 XML nodes"), "{err}");
    }

    #[test]
    fn attributes_and_namespace_declarations_are_bounded_before_parsing() {
        let attributes = |n: usize| (0..n).map(|i| format!(" a{i}=\"\"")).collect::<String>();
        let with = |markup: &str| edit(MINIMAL, "<md:Organization>", &format!("{markup}<md:Organization>"));
        let per_element =
            MetadataError::TooManyXmlParts { what: "attributes on one element", limit: MAX_ATTRIBUTES_PER_ELEMENT };

        validate(with(&format!("<x{}/>", attributes(1000))).as_bytes(), after()).expect("1000 attributes");
        assert_eq!(refuse(&with(&format!("<x{}/>", attributes(1001))), after()), per_element);
        // Quotes, comments and CDATA sections do not hide attributes from the count.
        let hidden = format!("<!-- ' --><![CDATA[ \" ]]><x q=\">\" r='\"'{}/><!-- ' -->", attributes(1000));
        assert_eq!(refuse(&with(&hidden), after()), per_element);
        // Across elements.
        let many = format!("<x{}/>", attributes(1000)).repeat(101);
        assert_eq!(
            refuse(&with(&many), after()),
            MetadataError::TooManyXmlParts { what: "attributes", limit: MAX_ATTRIBUTES }
        );
        // An `=` in text, a comment or a value is no attribute.
        let text = format!("<x a=\"{}\">{}<!--{}--></x>", "=".repeat(5000), "=".repeat(200_000), "=".repeat(5000));
        validate(with(&text).as_bytes(), after()).expect("= outside tags");

        let declarations =
            |n: usize| (0..n).map(|i| format!("<x xmlns:p{i}=\"urn:x\">")).collect::<String>() + &"</x>".repeat(n);
        let already = MINIMAL.matches("xmlns").count();
        validate(with(&declarations(MAX_NAMESPACE_DECLARATIONS - already)).as_bytes(), after()).expect("1000 xmlns");
        let err = refuse(&with(&declarations(MAX_NAMESPACE_DECLARATIONS - already + 1)), after());
        assert_eq!(
            err,
            MetadataError::TooManyXmlParts {
                what: "namespace declarations (xmlns)",
                limit: MAX_NAMESPACE_DECLARATIONS
            }
        );
        assert!(err.to_string().contains("federation aggregate"), "{err}");
    }

    #[test]
    fn multibyte_document_over_the_limit_in_bytes_but_not_in_characters_is_accepted() {
        let filler = "\u{e9}".repeat(MAX_DOCUMENT_CHARS - MINIMAL.len() - 20);
        let doc = edit(MINIMAL, "<md:Organization>", &format!("<!--{filler}-->\n  <md:Organization>"));
        assert!(doc.len() > MAX_DOCUMENT_CHARS);
        assert!(doc.chars().count() <= MAX_DOCUMENT_CHARS);
        validate(doc.as_bytes(), after()).expect("within IAM's character limit");
    }

    #[test]
    fn byte_order_mark_is_removed_but_hashed() {
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice(MINIMAL.as_bytes());
        let m = validate(&bytes, after()).expect("BOM-prefixed metadata");
        assert_eq!(m.document, MINIMAL);
        assert!(!m.document.starts_with('\u{feff}'));
        assert_eq!(m.sha256_hex, hex::encode(Sha256::digest(&bytes)));
        assert_ne!(m.sha256_hex, hex::encode(Sha256::digest(MINIMAL.as_bytes())));
    }

    #[test]
    fn own_aggregate_lists_only_idp_entity_ids() {
        let idp = MINIMAL.split_once("?>").expect("declaration").1.replace(&format!(" xmlns:md=\"{MD_NS}\""), "");
        let sp = SP_ONLY
            .split_once("?>")
            .expect("declaration")
            .1
            .replace(&format!("xmlns=\"{MD_NS}\" "), "xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" ");
        let doc = format!(
            "<?xml version=\"1.0\"?>\n<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\" Name=\"urn:example:federation\">\n<md:EntitiesDescriptor>{idp}</md:EntitiesDescriptor>\n{sp}\n</md:EntitiesDescriptor>"
        );
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::Aggregate {
                entity_count: 2,
                idp_entity_ids: vec!["https://idp.example.com/saml2/idp".to_owned()],
            }
        );
        let message = err.to_string();
        assert!(message.contains("Extract that one EntityDescriptor"), "{message}");
    }

    #[test]
    fn aggregate_message_lists_a_bounded_number_of_entity_ids() {
        let ids: Vec<String> = (0..25).map(|i| format!("https://idp{i}.example.org/")).collect();
        let message = MetadataError::Aggregate { entity_count: 25, idp_entity_ids: ids }.to_string();
        assert!(message.contains("https://idp9.example.org/, and 15 more"), "{message}");
        assert!(!message.contains("idp10."), "{message}");
    }

    #[test]
    fn root_in_the_wrong_namespace_is_refused_naming_it() {
        let doc = MINIMAL.replace(
            "xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"",
            "xmlns:md=\"urn:oasis:names:tc:SAML:1.0:metadata\"",
        );
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::UnexpectedRoot {
                found: "EntityDescriptor in namespace urn:oasis:names:tc:SAML:1.0:metadata".to_owned()
            }
        );
        assert!(err
            .to_string()
            .contains("root element is EntityDescriptor in namespace urn:oasis:names:tc:SAML:1.0:metadata"));
    }

    #[test]
    fn root_in_no_namespace_is_refused() {
        let doc = EXPIRED_CERT.replacen("xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" ", "", 1);
        let err = refuse(&doc, after());
        assert_eq!(err, MetadataError::UnexpectedRoot { found: "EntityDescriptor in no namespace".to_owned() });
    }

    #[test]
    fn missing_entity_id_is_refused() {
        let doc = edit(MINIMAL, "entityID=\"https://idp.example.com/saml2/idp\"", "entityID=\"  \"");
        let err = refuse(&doc, after());
        assert_eq!(err, MetadataError::MissingEntityId);
        assert!(err.to_string().contains("no entityID"));
    }

    #[test]
    fn namespaces_are_matched_not_prefixes() {
        // Any prefix works when bound to the right namespace...
        let renamed = MINIMAL
            .replace("md:", "saml2md:")
            .replace("xmlns:md=", "xmlns:saml2md=")
            .replace("ds:", "dsig:")
            .replace("xmlns:ds=", "xmlns:dsig=");
        let m = validate(renamed.as_bytes(), after()).expect("other prefixes");
        assert_eq!(m.signing_certificates.len(), 1);
        // ...and a familiar prefix bound elsewhere does not.
        let wrong_ds = MINIMAL.replace(
            "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"",
            "xmlns:ds=\"http://www.w3.org/2009/xmldsig11#\"",
        );
        assert!(matches!(refuse(&wrong_ds, after()), MetadataError::NoSigningCertificate { .. }));
    }

    #[test]
    fn elements_undeclared_into_no_namespace_are_ignored() {
        // With a default namespace, xmlns="" puts a SingleSignOnService in no namespace.
        let doc = EXPIRED_CERT.replace("<SingleSignOnService ", "<SingleSignOnService xmlns=\"\" ");
        assert!(matches!(refuse(&doc, after()), MetadataError::NoSingleSignOnService { .. }));
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

    #[test]
    fn xs_date_time_forms_are_parsed() {
        let utc = |s| parse_xs_date_time(s).map(format_timestamp);
        assert_eq!(utc("2030-01-01T00:00:00.999Z").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(utc("2030-01-01T02:30:00+02:30").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(utc("2029-12-31T19:00:00-05:00").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(utc(" 2030-01-01T00:00:00 ").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(utc("2029-12-31T24:00:00Z").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(parse_xs_date_time("2030-01-01T00:00:00.1234567891Z"), Some(ts("2030-01-01T00:00:00.123456789Z")));
        for bad in [
            "",
            "2030-01-01",
            "2030-01-01 00:00:00Z",
            "2030-13-01T00:00:00Z",
            "2030-02-30T00:00:00Z",
            "2030-01-01T00:00:60Z",
            "2030-01-01T00:00:00.Z",
            "2030-01-01T00:00:00+2:00",
            "2030-01-01T00:00:00+15:00",
            "2030-01-01T24:00:01Z",
            "2030-01-01T00:00:00z",
            "+2030-01-01T00:00:00Z",
            "9999-12-31T23:00:00-14:00",
        ] {
            assert_eq!(parse_xs_date_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps_are_formatted_in_utc_without_fraction() {
        assert_eq!(format_timestamp(ts("2026-06-22T18:39:53.000Z")), "2026-06-22T18:39:53Z");
        let local = ts("2026-06-22T18:39:53.75Z").to_offset(UtcOffset::from_hms(5, 30, 0).expect("offset"));
        assert_eq!(format_timestamp(local), "2026-06-22T18:39:53Z");
    }
}
