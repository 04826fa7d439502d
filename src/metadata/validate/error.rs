//! Why a metadata document was refused, in sentences a CloudFormation user can act on, and how
//! those sentences quote what they found in the document.

use time::OffsetDateTime;

use crate::datetime::format_timestamp;

/// How many entityIDs of an aggregate a message lists before it says "and N more".
const MAX_LISTED_ENTITIES: usize = 10;
/// How many characters of a value taken from the document a message quotes.
const MAX_QUOTED_CHARS: usize = 200;

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

/// Shortens a value taken from the document so one odd attribute cannot fill a Reason.
pub(super) fn quote(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

pub(super) fn describe_name(namespace: Option<&str>, name: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_message_lists_a_bounded_number_of_entity_ids() {
        let ids: Vec<String> = (0..25).map(|i| format!("https://idp{i}.example.org/")).collect();
        let message = MetadataError::Aggregate { entity_count: 25, idp_entity_ids: ids }.to_string();
        assert!(message.contains("https://idp9.example.org/, and 15 more"), "{message}");
        assert!(!message.contains("idp10."), "{message}");
    }
}
