//! Reads a metadata document from an IdP's HTTPS endpoint — where every IdP publishes it.
//!
//! The function runs with AWS credentials next to endpoints that must never be fetched on an
//! event's say-so (the Lambda Runtime API on loopback, credential and metadata services on
//! link-local addresses). So every address is checked *after* DNS resolution, on each redirect
//! too: loopback, link-local, unspecified and multicast addresses are refused whatever the name
//! resolves to. Private ranges stay allowed, for a function in a VPC reaching an internal AD FS.
//! Certificates are validated (rustls); plain http is refused, also as a redirect target; at most
//! three redirects; the size cap is enforced on the bytes as the body streams ([`super::body`]).
//!
//! No proxy, whatever the environment says: reqwest would otherwise take `HTTPS_PROXY` /
//! `ALL_PROXY` and hand the host name to the proxy, which resolves and connects on its own —
//! past the address check, to whatever the name resolves to from there.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;
use thiserror::Error;
use url::Url;

use super::body::{self, ReadError};
use super::validate::MAX_DOCUMENT_CHARS;
use super::{Fetched, Validators, MAX_DOCUMENT_BYTES};
use crate::settings::Settings;

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 3;

/// Why the document could not be fetched; each message says what to check.
#[derive(Debug, Error, PartialEq)]
pub enum HttpsError {
    #[error("the host name {0} does not resolve (DNS); check the URL, and that the function can resolve public names (a function in a VPC needs a resolver and a route out)")]
    Dns(String),
    #[error("{host} resolves only to {addresses}, which the function never fetches (loopback, link-local and metadata-service addresses are refused); use the IdP's public or private-network address")]
    ForbiddenAddress { host: String, addresses: String },
    #[error(
        "the TLS handshake failed ({0}); the server must present a certificate valid for its name from a public CA"
    )]
    Tls(String),
    #[error(
        "could not connect ({0}); check that the IdP is reachable from the function (VPC routes, security groups, NAT)"
    )]
    Connect(String),
    #[error("the server did not deliver the document within {0:?}; check the IdP's availability")]
    TimedOut(Duration),
    #[error("the server answered HTTP {0}; check the URL (metadata URLs often carry a tenant or application id)")]
    Status(u16),
    #[error("the server redirected to {0}, which is not https; use the final https:// URL")]
    RedirectNotHttps(String),
    #[error("the server redirected more than {MAX_REDIRECTS} times; use the final URL")]
    TooManyRedirects,
    #[error("the document is larger than IAM's limit: the server announced or sent more than {MAX_DOCUMENT_BYTES} bytes, and IAM takes at most {MAX_DOCUMENT_CHARS} characters; check that the URL is the IdP's metadata (one IdP's metadata is a few kilobytes)")]
    TooLarge,
    #[error("the request failed: {0}")]
    Other(String),
}

/// The HTTPS client for metadata, built once at cold start. `SAMLFED_TEST_CA_PEM` (test-only)
/// makes it trust exactly that CA instead of the public ones; `SAMLFED_TEST_ALLOW_LOOPBACK`
/// (test-only) lets it fetch from 127.0.0.1 — there is no setting that accepts invalid
/// certificates.
pub fn client(settings: &Settings) -> Result<reqwest::Client, String> {
    let allow_loopback = settings.test_allow_loopback;
    // A test CA replaces the system roots, which a shared TLS configuration could not.
    let builder = match settings.test_ca_pem {
        Some(_) => crate::tls::reqwest_builder_with_own_roots(),
        None => crate::tls::reqwest_builder(),
    };
    let mut builder = builder
        // Never a proxy from HTTPS_PROXY / ALL_PROXY: the address check must see every address.
        .no_proxy()
        .https_only(true)
        // The whole fetch, body included, is bounded by `fetch`'s own timeout.
        .connect_timeout(Duration::from_secs(5))
        .dns_resolver(Arc::new(GuardedResolver { allow_loopback }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(HttpsError::TooManyRedirects);
            }
            let url = attempt.url();
            if url.scheme() != "https" {
                let shown = crate::redact::url(url);
                return attempt.error(HttpsError::RedirectNotHttps(shown));
            }
            match literal_address_check(url, allow_loopback) {
                Err(e) => attempt.error(e),
                Ok(()) => attempt.follow(),
            }
        }));
    if let Some(path) = &settings.test_ca_pem {
        let pem = std::fs::read(path).map_err(|e| format!("SAMLFED_TEST_CA_PEM {}: {e}", path.display()))?;
        let ca =
            reqwest::Certificate::from_pem(&pem).map_err(|e| format!("SAMLFED_TEST_CA_PEM {}: {e}", path.display()))?;
        builder = builder.tls_certs_only([ca]);
    }
    builder.build().map_err(|e| format!("cannot build the HTTPS metadata client: {e}"))
}

/// Fetches `url`, conditionally when `validators` are given (a 304 is [`Fetched::NotModified`]).
pub async fn fetch(
    client: &reqwest::Client,
    url: &Url,
    timeout: Duration,
    validators: Option<&Validators>,
    allow_loopback: bool,
) -> Result<Fetched, HttpsError> {
    literal_address_check(url, allow_loopback)?;
    tokio::time::timeout(timeout, fetch_unbounded(client, url, validators))
        .await
        .map_err(|_| HttpsError::TimedOut(timeout))?
}

async fn fetch_unbounded(
    client: &reqwest::Client,
    url: &Url,
    validators: Option<&Validators>,
) -> Result<Fetched, HttpsError> {
    let mut request = client.get(url.clone());
    if let Some(v) = validators {
        if let Some(etag) = &v.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &v.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
    }
    let response = request.send().await.map_err(|e| classify(&e))?;
    match response.status() {
        // A 304 only answers a conditional request; to an unconditional one it is a server fault.
        StatusCode::NOT_MODIFIED if validators.is_some() => return Ok(Fetched::NotModified),
        status if !status.is_success() => return Err(HttpsError::Status(status.as_u16())),
        _ => {}
    }
    let header = |name| {
        response.headers().get(name).and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok()).map(str::to_string)
    };
    let validators = Validators { etag: header(ETAG), last_modified: header(LAST_MODIFIED) };
    let declared = response.content_length();
    let chunks = futures_util::stream::unfold(response, |mut response| async move {
        let chunk = response.chunk().await.transpose()?;
        Some((chunk, response))
    });
    let bytes = body::read_capped(declared, chunks, MAX_DOCUMENT_BYTES).await.map_err(|e| match e {
        ReadError::TooLarge => HttpsError::TooLarge,
        ReadError::Body(e) => classify(&e),
    })?;
    Ok(Fetched::Document { bytes, validators })
}

/// Turns reqwest's error into ours, looking through its source chain for our own refusals (from
/// the resolver and the redirect policy). reqwest's own text names the URL, userinfo and query
/// included, so what is shown of it goes through [`crate::redact::text`].
fn classify(err: &reqwest::Error) -> HttpsError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut chain = Vec::new();
    while let Some(e) = source {
        if let Some(ours) = e.downcast_ref::<HttpsError>() {
            return clone_error(ours);
        }
        chain.push(e.to_string());
        source = e.source();
    }
    let detail = crate::redact::text(&chain.last().cloned().unwrap_or_default());
    if err.is_timeout() {
        HttpsError::Connect("timed out connecting".into())
    } else if chain
        .iter()
        .any(|c| c.contains("certificate") || c.contains("handshake") || c.to_ascii_lowercase().contains("tls"))
    {
        HttpsError::Tls(detail)
    } else if err.is_connect() {
        HttpsError::Connect(detail)
    } else if err.is_redirect() {
        HttpsError::TooManyRedirects
    } else {
        HttpsError::Other(if err.is_body() { "the connection broke while reading the body".into() } else { detail })
    }
}

fn clone_error(e: &HttpsError) -> HttpsError {
    match e {
        HttpsError::Dns(h) => HttpsError::Dns(h.clone()),
        HttpsError::ForbiddenAddress { host, addresses } => {
            HttpsError::ForbiddenAddress { host: host.clone(), addresses: addresses.clone() }
        }
        HttpsError::RedirectNotHttps(u) => HttpsError::RedirectNotHttps(u.clone()),
        HttpsError::TooManyRedirects => HttpsError::TooManyRedirects,
        other => HttpsError::Other(other.to_string()),
    }
}

/// A URL whose host is an IP literal never reaches the resolver: check it here.
fn literal_address_check(url: &Url, allow_loopback: bool) -> Result<(), HttpsError> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if address_allowed(ip, allow_loopback) {
        Ok(())
    } else {
        Err(HttpsError::ForbiddenAddress { host: ip.to_string(), addresses: ip.to_string() })
    }
}

/// May the function connect to `ip`? Loopback only with the test-only setting; link-local
/// (169.254.0.0/16 — instance metadata, ECS/Lambda credential endpoints — and fe80::/10), AWS's
/// fd00:ec2::/32 service addresses, unspecified, broadcast and multicast never.
pub fn address_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                allow_loopback
            } else {
                !(v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast())
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return address_allowed(IpAddr::V4(v4), allow_loopback);
            }
            let segments = v6.segments();
            if v6.is_loopback() {
                allow_loopback
            } else {
                let link_local = segments[0] & 0xffc0 == 0xfe80;
                let aws_services = segments[0] == 0xfd00 && segments[1] == 0x0ec2;
                !(link_local || aws_services || v6.is_unspecified() || v6.is_multicast())
            }
        }
    }
}

/// Resolves with the system resolver, then drops every address [`address_allowed`] refuses.
struct GuardedResolver {
    allow_loopback: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Box::new(HttpsError::Dns(host.clone())) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            let allowed: Vec<SocketAddr> =
                resolved.iter().filter(|a| address_allowed(a.ip(), allow_loopback)).copied().collect();
            if allowed.is_empty() {
                let addresses = resolved.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
                let refused = if resolved.is_empty() {
                    HttpsError::Dns(host)
                } else {
                    HttpsError::ForbiddenAddress { host, addresses }
                };
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_loopback_addresses_are_refused_private_ones_allowed() {
        let refused = [
            "169.254.169.254",
            "169.254.170.2",
            "127.0.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "224.0.0.1",
        ];
        for ip in refused {
            assert!(!address_allowed(ip.parse().unwrap(), false), "{ip} must be refused");
        }
        for ip in
            ["10.0.0.5", "172.16.1.1", "192.168.1.10", "100.64.0.1", "52.94.236.248", "2600:1f18::1", "fd12:3456::1"]
        {
            assert!(address_allowed(ip.parse().unwrap(), false), "{ip} must be allowed");
        }
        assert!(address_allowed("127.0.0.1".parse().unwrap(), true), "loopback only with the test-only setting");
        assert!(!address_allowed("169.254.169.254".parse().unwrap(), true), "link-local never");
    }

    #[test]
    fn ip_literal_urls_are_checked_before_any_request() {
        let url = Url::parse("https://169.254.169.254/latest/meta-data/").unwrap();
        assert!(matches!(literal_address_check(&url, true), Err(HttpsError::ForbiddenAddress { .. })));
        let url = Url::parse("https://[::1]:8443/m.xml").unwrap();
        assert!(literal_address_check(&url, false).is_err());
        assert!(literal_address_check(&Url::parse("https://idp.example.com/m.xml").unwrap(), false).is_ok());
    }
}
