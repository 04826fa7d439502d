//! Where a metadata document comes from, as written in the `MetadataUrl` / `MetadataDocument`
//! properties.

use std::fmt;

use thiserror::Error;

/// An S3 object, optionally pinned to one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

/// The one metadata source a provider reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataSource {
    S3(S3Location),
    /// The IdP's own metadata endpoint.
    Https(url::Url),
    Inline(String),
}

/// The properties do not name exactly one usable source. The URL in a message is always shown by
/// [`crate::redact::url_str`]: a refused URL's password or token is no more shown than an
/// accepted one's.
#[derive(Debug, Error, PartialEq)]
pub enum SourceError {
    #[error("MetadataUrl and MetadataDocument are both set; give exactly one of them")]
    Both,
    #[error("neither MetadataUrl nor MetadataDocument is set; give exactly one (MetadataUrl: s3://BUCKET/KEY)")]
    Neither,
    #[error("MetadataUrl {0:?} is not a valid s3:// URL: {1}; write it as s3://BUCKET/KEY or s3://BUCKET/KEY?versionId=VERSION")]
    MalformedS3(String, &'static str),
    #[error("MetadataUrl {0:?} is not a valid https:// URL: {1}; use the IdP's metadata URL as it publishes it")]
    MalformedHttps(String, &'static str),
    #[error("MetadataUrl {0:?}: only https:// and s3:// URLs are accepted; plain http:// is refused because anyone on the path could replace the metadata — use the IdP's https:// URL, or upload the document and use s3://BUCKET/KEY")]
    UnsupportedScheme(String),
}

impl MetadataSource {
    /// Chooses the source from the two mutually exclusive properties.
    pub fn from_properties(
        metadata_url: Option<&str>,
        metadata_document: Option<&str>,
    ) -> Result<MetadataSource, SourceError> {
        match (metadata_url, metadata_document) {
            (Some(_), Some(_)) => Err(SourceError::Both),
            (None, None) => Err(SourceError::Neither),
            (None, Some(document)) => Ok(MetadataSource::Inline(document.to_string())),
            (Some(url), None) => parse_url(url),
        }
    }

    /// The property and value a Reason should name, e.g. `MetadataUrl s3://b/k` — never the
    /// inline document itself, nor an https URL's query ([`crate::redact::url`]). An S3 location
    /// is shown whole: its only query is the versionId, which is no secret.
    pub fn property(&self) -> String {
        match self {
            MetadataSource::S3(location) => format!("MetadataUrl {location}"),
            MetadataSource::Https(url) => format!("MetadataUrl {}", crate::redact::url(url)),
            MetadataSource::Inline(_) => "MetadataDocument".to_string(),
        }
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)?;
        if let Some(version) = &self.version_id {
            write!(f, "?versionId={version}")?;
        }
        Ok(())
    }
}

fn parse_url(url: &str) -> Result<MetadataSource, SourceError> {
    let bad = |why: &'static str| SourceError::MalformedS3(crate::redact::url_str(url), why);
    let Some(rest) = url.strip_prefix("s3://") else {
        let lower = url.to_ascii_lowercase();
        return if lower.starts_with("https://") {
            parse_https(url)
        } else if lower.starts_with("s3://") {
            Err(bad("the scheme must be lowercase s3://"))
        } else {
            Err(SourceError::UnsupportedScheme(crate::redact::url_str(url)))
        };
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let (bucket, key) = path.split_once('/').ok_or_else(|| bad("there is no /KEY after the bucket"))?;
    if !is_bucket_name(bucket) {
        return Err(bad("the bucket name must be 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"));
    }
    if key.is_empty() {
        return Err(bad("the object key is empty"));
    }
    if key.chars().count() > 1024 {
        return Err(bad("the object key is longer than S3's 1024 characters"));
    }
    let version_id = match query {
        None => None,
        Some(query) => match query.strip_prefix("versionId=") {
            Some(v) if !v.is_empty() && !v.contains(['&', '=']) => Some(v.to_string()),
            _ => return Err(bad("the only query parameter allowed is versionId=VERSION")),
        },
    };
    Ok(MetadataSource::S3(S3Location { bucket: bucket.to_string(), key: key.to_string(), version_id }))
}

fn parse_https(url: &str) -> Result<MetadataSource, SourceError> {
    let bad = |why: &'static str| SourceError::MalformedHttps(crate::redact::url_str(url), why);
    let parsed = url::Url::parse(url).map_err(|_| bad("it does not parse as a URL"))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("it carries a user name or password, which would end up in logs"));
    }
    Ok(MetadataSource::Https(parsed))
}

fn is_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(url: &str) -> Result<MetadataSource, SourceError> {
        MetadataSource::from_properties(Some(url), None)
    }

    #[test]
    fn s3_urls_with_and_without_version_are_read() {
        assert_eq!(
            s3("s3://org-idp-metadata/metadata/okta.xml?versionId=3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY").unwrap(),
            MetadataSource::S3(S3Location {
                bucket: "org-idp-metadata".into(),
                key: "metadata/okta.xml".into(),
                version_id: Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into())
            })
        );
        let source = s3("s3://my.bucket/a b/c.xml").unwrap();
        assert_eq!(source.property(), "MetadataUrl s3://my.bucket/a b/c.xml");
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        for (url, phrase) in [
            ("s3://bucket", "no /KEY"),
            ("s3://bucket/", "key is empty"),
            ("s3://Bucket/k", "bucket name"),
            ("s3://b/k", "bucket name"),
            ("s3://bucket/k?versionId=", "versionId"),
            ("s3://bucket/k?acl", "versionId"),
            ("S3://bucket/k", "lowercase"),
        ] {
            let err = s3(url).unwrap_err().to_string();
            assert!(err.contains(phrase) && err.contains("MetadataUrl"), "{url}: {err}");
        }
        let https = s3("https://portal.sso.eu-west-1.amazonaws.com/saml/metadata/ABC?tenant=x").unwrap();
        assert_eq!(https.property(), "MetadataUrl https://portal.sso.eu-west-1.amazonaws.com/saml/metadata/ABC?…");
        assert!(matches!(s3("https://user:pw@idp.example.com/m"), Err(SourceError::MalformedHttps(..))));
        assert!(matches!(s3("http://idp.example.com/metadata"), Err(SourceError::UnsupportedScheme(_))));
        assert!(matches!(s3("/etc/passwd"), Err(SourceError::UnsupportedScheme(_))));
    }

    #[test]
    fn a_refused_url_shows_neither_its_password_nor_its_token() {
        for url in [
            "https://alice:hunter2@idp.example.com/m?token=TOKEN",
            "https://hunter2@idp.example.com/m?token=TOKEN#TOKEN",
            "https://alice:hunter2@/m?token=TOKEN",
            "https://alice:hunter2@idp.example.com:99999/m?token=TOKEN",
            "http://alice:hunter2@idp.example.com/m?token=TOKEN",
            "file:///etc/passwd?token=TOKEN",
            "s3://alice:hunter2@bucket/k?versionId=v1&X-Amz-Signature=TOKEN",
            "s3://bucket/k?versionId=v1&X-Amz-Security-Token=TOKEN",
            "s3://bucket/k?X-Amz-Signature=TOKEN",
            "S3://alice:hunter2@bucket/k?X-Amz-Signature=TOKEN",
        ] {
            let err = s3(url).unwrap_err().to_string();
            assert!(err.contains("MetadataUrl") && !err.contains("hunter2") && !err.contains("TOKEN"), "{url}: {err}");
        }
        let err = s3("s3://bucket/k?versionId=v1&X-Amz-Signature=TOKEN").unwrap_err().to_string();
        assert!(err.contains("\"s3://bucket/k?versionId=v1&X-Amz-Signature=…\""), "{err}");
        let err = s3("https://alice:hunter2@idp.example.com/m?token=TOKEN").unwrap_err().to_string();
        assert!(err.contains("\"https://…@idp.example.com/m?…\""), "{err}");
    }

    #[test]
    fn exactly_one_source_is_required() {
        assert_eq!(MetadataSource::from_properties(Some("s3://b1b/k"), Some("<x/>")), Err(SourceError::Both));
        assert_eq!(MetadataSource::from_properties(None, None), Err(SourceError::Neither));
        assert_eq!(MetadataSource::from_properties(None, Some("<x/>")).unwrap().property(), "MetadataDocument");
    }
}
