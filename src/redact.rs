//! URLs as people may see them — in a Reason, a log line, the CLI's output — without the
//! credentials a URL can carry.
//!
//! A `MetadataUrl` may hold a user name and password (`https://user:pw@host/…`), a token in its
//! query (`?token=…`, a presigned `X-Amz-Signature=…`) or in its fragment. Wherever a URL is shown,
//! it goes through this module, and
//!
//! - userinfo becomes `…@`;
//! - a query becomes `?…`, except on `s3://` URLs: there `versionId=VALUE` stays (it names the
//!   object version the user chose and is no secret) and every other parameter shows its name only
//!   (`X-Amz-Signature=…`), so a Reason can still say which parameter is not allowed;
//! - a fragment becomes `#…`.
//!
//! [`url`](fn@url) shows a parsed URL, [`url_str`] a URL as written (also one that does not parse, for
//! the Reason that refuses it), [`text`] every URL inside a message from elsewhere (an HTTP
//! library's error names the URL it failed on).

use std::fmt::Write as _;

use url::Url;

/// What stands in for a hidden part.
const HIDDEN: &str = "…";

/// A parsed URL for display: scheme, host, port and path; userinfo, query and fragment hidden as
/// the module says.
pub fn url(url: &Url) -> String {
    let mut shown = format!("{}:", url.scheme());
    if url.has_authority() {
        shown.push_str("//");
        if !url.username().is_empty() || url.password().is_some() {
            shown.push_str(HIDDEN);
            shown.push('@');
        }
        shown.push_str(url.host_str().unwrap_or_default());
        if let Some(port) = url.port() {
            let _ = write!(shown, ":{port}");
        }
    }
    shown.push_str(url.path());
    if let Some(query) = url.query() {
        shown.push('?');
        shown.push_str(&query_shown(url.scheme(), query));
    }
    if url.fragment().is_some() {
        shown.push('#');
        shown.push_str(HIDDEN);
    }
    shown
}

/// A URL as the user wrote it, for display — also one that does not parse.
///
/// Without a parser's help, everything up to the last `@` before the query is taken for userinfo
/// (a password may hold a `/`), so a malformed URL never shows part of a password. On `s3://`
/// URLs, whose keys may hold `@`, only an `@` in the bucket part counts — a bucket name can hold
/// neither `@` nor `:`.
pub fn url_str(raw: &str) -> String {
    let (scheme, rest) = match raw.find("://") {
        Some(i) if is_scheme(&raw[..i]) => (&raw[..i], &raw[i + 3..]),
        _ => ("", raw),
    };
    let s3 = scheme.eq_ignore_ascii_case("s3");
    let (before, tail) = rest.split_at(rest.find(['?', '#']).unwrap_or(rest.len()));
    let authority = &before[..before.find(['/', '\\']).unwrap_or(before.len())];
    let userinfo_end = if s3 && !authority.contains(':') { authority.rfind('@') } else { before.rfind('@') };

    let mut shown = String::with_capacity(raw.len());
    if !scheme.is_empty() {
        shown.push_str(scheme);
        shown.push_str("://");
    }
    match userinfo_end {
        Some(at) => {
            shown.push_str(HIDDEN);
            shown.push_str(&before[at..]);
        }
        None => shown.push_str(before),
    }
    let (query, fragment) = match tail.strip_prefix('?') {
        Some(rest) => match rest.split_once('#') {
            Some((query, _)) => (Some(query), true),
            None => (Some(rest), false),
        },
        None => (None, !tail.is_empty()),
    };
    if let Some(query) = query {
        shown.push('?');
        shown.push_str(&query_shown(scheme, query));
    }
    if fragment {
        shown.push('#');
        shown.push_str(HIDDEN);
    }
    shown
}

/// `message` with every `scheme://…` in it shown as [`url_str`] shows it.
pub fn text(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("://") {
        let bytes = rest.as_bytes();
        let mut start = i;
        while start > 0 && is_scheme_byte(bytes[start - 1]) {
            start -= 1;
        }
        let after = i + 3;
        let end =
            rest[after..].find(|c: char| c.is_whitespace() || "\"'<>`".contains(c)).map_or(rest.len(), |j| after + j);
        // Punctuation that ends a sentence or closes a parenthesis is not part of the URL.
        let mut url_end = end;
        while url_end > after && matches!(bytes[url_end - 1], b')' | b',' | b'.' | b';' | b':') {
            url_end -= 1;
        }
        out.push_str(&rest[..start]);
        out.push_str(&url_str(&rest[start..url_end]));
        rest = &rest[url_end..];
    }
    out.push_str(rest);
    out
}

/// The query as shown: see the module's rules.
fn query_shown(scheme: &str, query: &str) -> String {
    if !scheme.eq_ignore_ascii_case("s3") {
        return HIDDEN.to_string();
    }
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("versionId", value)) if is_plain(value) => pair.to_string(),
            Some((name, _)) if is_parameter_name(name) => format!("{name}={HIDDEN}"),
            _ => HIDDEN.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_scheme(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && s.bytes().all(is_scheme_byte)
}

fn is_scheme_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

/// A parameter name worth showing: short, and made of the characters names are made of.
fn is_parameter_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A versionId value that can be shown as is.
fn is_plain(value: &str) -> bool {
    (1..=1024).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'&' | b'#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRETS: [&str; 3] = ["hunter2", "TOKEN", "SIG"];

    fn assert_hidden(shown: &str) {
        for secret in SECRETS {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn a_parsed_url_shows_no_userinfo_query_or_fragment() {
        let parsed = Url::parse("https://alice:hunter2@idp.example.com:8443/app/metadata?token=TOKEN#TOKEN").unwrap();
        assert_eq!(url(&parsed), "https://…@idp.example.com:8443/app/metadata?…#…");
        let parsed = Url::parse("https://hunter2@[::1]/m@x").unwrap();
        assert_eq!(url(&parsed), "https://…@[::1]/m@x");
        let parsed = Url::parse("https://idp.example.com/saml/metadata/ABC").unwrap();
        assert_eq!(url(&parsed), "https://idp.example.com/saml/metadata/ABC");
        let parsed = Url::parse("s3://bucket/k.xml?versionId=3HL4kq.Xd3&X-Amz-Signature=SIG").unwrap();
        assert_eq!(url(&parsed), "s3://bucket/k.xml?versionId=3HL4kq.Xd3&X-Amz-Signature=…");
        let parsed = Url::parse("http://127.0.0.1:9/cfn-responses/k?X-Amz-Signature=SIG").unwrap();
        assert_eq!(url(&parsed), "http://127.0.0.1:9/cfn-responses/k?…");
    }

    #[test]
    fn a_url_as_written_shows_no_userinfo_query_or_fragment_even_when_malformed() {
        for (raw, shown) in [
            ("https://alice:hunter2@idp.example.com/m?token=TOKEN", "https://…@idp.example.com/m?…"),
            ("https://alice:hun/ter2@idp.example.com/m", "https://…@idp.example.com/m"),
            ("https://alice:hunter2@/m?token=TOKEN", "https://…@/m?…"),
            ("HTTP://alice:hunter2@idp.example.com:99999/m#TOKEN", "HTTP://…@idp.example.com:99999/m#…"),
            ("https:alice:hunter2@idp.example.com/m", "…@idp.example.com/m"),
            ("ftp://idp.example.com/m?TOKEN", "ftp://idp.example.com/m?…"),
            ("/etc/passwd", "/etc/passwd"),
            ("s3://bucket/users/a@b.com/m.xml?versionId=v1", "s3://bucket/users/a@b.com/m.xml?versionId=v1"),
            (
                "s3://alice:hunter2@bucket/k?versionId=v1&X-Amz-Signature=SIG",
                "s3://…@bucket/k?versionId=v1&X-Amz-Signature=…",
            ),
            ("s3://alice:hun/ter2@bucket/k", "s3://…@bucket/k"),
            ("S3://bucket/k?X-Amz-Credential=SIG&acl&TOKEN%20x=1", "S3://bucket/k?X-Amz-Credential=…&…&…"),
            ("s3://bucket/k?versionId=v1#TOKEN", "s3://bucket/k?versionId=v1#…"),
        ] {
            assert_eq!(url_str(raw), shown, "{raw}");
            assert_hidden(&url_str(raw));
        }
    }

    #[test]
    fn urls_inside_a_message_are_redacted_and_the_rest_kept() {
        let message = "error sending request for url (https://alice:hunter2@idp.example.com/m?token=TOKEN): \
                       connection refused; see https://docs.example.com/help.";
        assert_eq!(
            text(message),
            "error sending request for url (https://…@idp.example.com/m?…): connection refused; see \
             https://docs.example.com/help."
        );
        assert_eq!(text("no URL here"), "no URL here");
        assert_eq!(text("\"s3://b/k?X-Amz-Signature=SIG\""), "\"s3://b/k?X-Amz-Signature=…\"");
        assert_hidden(&text("a://b://hunter2@c?TOKEN ://x?SIG"));
    }
}
