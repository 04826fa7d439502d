//! The document as text, before any XML is parsed: not empty, UTF-8 (a leading byte-order mark
//! removed, as IAM should receive it), within IAM's bounds counted in characters, and not a web
//! page.

use super::MetadataError;

/// IAM's bounds for SAMLMetadataDocument, in characters.
///
/// IAM refuses anything shorter, so catching it here gives a Reason that names the real cause.
pub const MIN_DOCUMENT_CHARS: usize = 1_000;
/// IAM's upper bound for SAMLMetadataDocument, in characters; fetchers cap the bytes they read at
/// the same number ([`crate::metadata::MAX_DOCUMENT_BYTES`]).
pub const MAX_DOCUMENT_CHARS: usize = 10_000_000;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The document's text as IAM should receive it: the input as UTF-8, a leading UTF-8 BOM
/// removed — or why it cannot be.
pub(super) fn decode(document: &[u8]) -> Result<&str, MetadataError> {
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
    Ok(text)
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

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha256};

    use super::super::test_support::*;
    use super::super::validate;
    use super::*;
    use crate::metadata::validate::xml::MD_NS;

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
    fn html_page_is_refused_as_such() {
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><title>Sign in</title></head><body>{}</body></html>",
            "<p>Please sign in to continue.<br></p>\n".repeat(40)
        );
        let err = refuse(&page, after());
        assert_eq!(err, MetadataError::HtmlPage);
        assert!(err.to_string().contains("HTML page"));
    }
}
