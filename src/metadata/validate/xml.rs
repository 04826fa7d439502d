//! The document as XML: parsed with DTDs refused (no entity expansion, no external entity ever
//! fetched) and within bounds on nodes, attributes and namespace declarations far above any one
//! IdP's metadata; elements matched on (namespace, local name), never on prefixes.

use super::MetadataError;

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

/// The SAML 2.0 metadata namespace.
pub(super) const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// The XML Signature namespace, where `X509Certificate` lives.
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The document parsed, or why it cannot be: markup over the bounds, a DTD, not well-formed.
pub(super) fn parse(text: &str) -> Result<roxmltree::Document<'_>, MetadataError> {
    check_markup_bounds(text)?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, options).map_err(parse_error)
}

/// An element named `name` in the SAML 2.0 metadata namespace.
pub(super) fn is_md(node: &roxmltree::Node<'_, '_>, name: &str) -> bool {
    is_element(node, MD_NS, name)
}

/// An element named `name` in the XML Signature namespace.
pub(super) fn is_ds(node: &roxmltree::Node<'_, '_>, name: &str) -> bool {
    is_element(node, DS_NS, name)
}

fn is_element(node: &roxmltree::Node<'_, '_>, namespace: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(namespace)
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::validate;
    use super::*;

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
}
