//! Which ResponseURLs the function will PUT to.
//!
//! A custom-resource event is only as trustworthy as whoever can invoke the function. To keep the
//! function from becoming a request-forwarding service (SSRF), a response goes only to an `https://`
//! URL on an AWS S3 host — where CloudFormation's presigned response URLs live — or to the origin of
//! `AWS_ENDPOINT_URL` (a local emulator). Everything else is refused before any work is done.

use std::fmt;

use thiserror::Error;
use url::Url;

/// A ResponseURL that passed the allow-list. Its `Display` hides the presigned query string, which
/// is a bearer credential for the response object.
#[derive(Clone, PartialEq)]
pub struct ResponseUrl(Url);

/// Why a ResponseURL was refused. Never carries the query string.
#[derive(Debug, Error, PartialEq)]
pub enum ResponseUrlError {
    #[error("the event has no ResponseURL; nothing can be answered")]
    Missing,
    #[error("ResponseURL is not a URL")]
    Malformed,
    #[error("ResponseURL {0} is not https:// on an AWS S3 host (*.amazonaws.com, *.amazonaws.com.cn) nor the origin of AWS_ENDPOINT_URL; the event is refused")]
    NotAllowed(String),
}

impl ResponseUrl {
    /// Accepts `raw` when it is an S3 presigned-URL host or the emulator's origin.
    pub fn parse(raw: &str, endpoint: Option<&Url>) -> Result<ResponseUrl, ResponseUrlError> {
        let url = Url::parse(raw).map_err(|_| ResponseUrlError::Malformed)?;
        let from_emulator = endpoint.is_some_and(|e| e.origin() == url.origin());
        let on_s3 = url.scheme() == "https"
            && url.username().is_empty()
            && url.password().is_none()
            && url.port().is_none()
            && url.host_str().is_some_and(is_s3_host);
        if from_emulator || on_s3 {
            Ok(ResponseUrl(url))
        } else {
            Err(ResponseUrlError::NotAllowed(crate::redact::url(&url)))
        }
    }

    /// The full URL, query included: only for the HTTP client.
    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::redact::url(&self.0))
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseUrl({self})")
    }
}

/// True for S3 endpoints in every partition: `s3.amazonaws.com`, `s3.REGION.amazonaws.com`,
/// `s3-REGION.amazonaws.com`, `s3-external-1.amazonaws.com`, `s3.dualstack.REGION.amazonaws.com`,
/// `s3-fips.REGION.amazonaws.com`, `s3.REGION.amazonaws.com.cn`, each optionally preceded by a
/// virtual-hosted bucket name. Other `*.amazonaws.com` hosts whose names a customer can choose
/// (load balancers, API Gateway) do not match.
pub fn is_s3_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let Some(rest) = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn")) else {
        return false;
    };
    let labels: Vec<&str> = rest.split('.').collect();
    let is_s3_label = |l: &str| l == "s3" || l == "s3-fips" || l.strip_prefix("s3-").is_some_and(is_region_like);
    match labels.as_slice() {
        [.., last] if *last == "s3" || last.strip_prefix("s3-").is_some_and(is_region_like) => true,
        [.., s3, "dualstack", region] if is_s3_label(s3) && is_region_like(region) => true,
        [.., s3, region] if is_s3_label(s3) && is_region_like(region) => true,
        _ => false,
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `external-1`: lowercase words and
/// hyphens ending in a number.
fn is_region_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 2
        && parts.last().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "?X-Amz-Signature=secret&X-Amz-Credential=AKIA";

    #[test]
    fn cloudformation_response_hosts_in_every_partition_are_accepted() {
        for host in [
            "cloudformation-custom-resource-response-useast1.s3.amazonaws.com",
            "cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com",
            "cloudformation-custom-resource-response-eucentral1.s3.eu-central-1.amazonaws.com",
            "bucket.s3.dualstack.ap-south-1.amazonaws.com",
            "s3.amazonaws.com",
            "s3-external-1.amazonaws.com",
            "cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn",
            "bucket.s3-fips.us-gov-west-1.amazonaws.com",
            "my.dotted.bucket.s3.us-east-1.amazonaws.com",
        ] {
            let raw = format!("https://{host}/arn%3Aaws%3Acloudformation/stack/x{Q}");
            assert!(ResponseUrl::parse(&raw, None).is_ok(), "{host} should be accepted");
        }
    }

    #[test]
    fn other_hosts_schemes_and_tricks_are_refused() {
        for raw in [
            "http://bucket.s3.amazonaws.com/k",
            "https://169.254.169.254/latest/meta-data/",
            "https://s3-evil.us-east-1.elb.amazonaws.com/k",
            "https://abc123.execute-api.us-east-1.amazonaws.com/k",
            "https://s3.amazonaws.com.evil.example/k",
            "https://evil.example/?x=.s3.amazonaws.com",
            "https://user:pw@bucket.s3.amazonaws.com/k",
            "https://bucket.s3.amazonaws.com:8443/k",
            "file:///etc/passwd",
            "https://localhost:9001/2018-06-01/runtime/invocation/next",
        ] {
            assert!(
                matches!(ResponseUrl::parse(raw, None), Err(ResponseUrlError::NotAllowed(_))),
                "{raw} should be refused"
            );
        }
        assert_eq!(ResponseUrl::parse("not a url", None), Err(ResponseUrlError::Malformed));
    }

    #[test]
    fn the_emulator_origin_is_accepted_only_with_its_exact_port() {
        let endpoint = Url::parse("http://127.0.0.1:5000").unwrap();
        assert!(ResponseUrl::parse("http://127.0.0.1:5000/bucket/key?sig=1", Some(&endpoint)).is_ok());
        assert!(ResponseUrl::parse("http://127.0.0.1:5001/bucket/key", Some(&endpoint)).is_err());
        assert!(ResponseUrl::parse("http://localhost:5000/bucket/key", Some(&endpoint)).is_err());
    }

    #[test]
    fn display_and_errors_never_show_the_query_string() {
        let url = ResponseUrl::parse(&format!("https://b.s3.amazonaws.com/key{Q}"), None).unwrap();
        assert_eq!(url.to_string(), "https://b.s3.amazonaws.com/key?…");
        assert!(!format!("{url:?}").contains("secret"));
        let err = ResponseUrl::parse(&format!("https://evil.example/key{Q}"), None).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(err.to_string().contains("https://evil.example/key?…"), "{err}");
    }
}
