//! One TLS stack for every HTTPS connection the function makes: rustls with ring. The SDK's
//! client and the reqwest clients (response PUTs, HTTPS metadata) share it, so one crypto
//! library is linked, and the smaller one: ring instead of aws-lc-rs took 0.7 MB off the x86_64
//! binary (9.27 to 8.54 MB), which is zip size and cold start.

use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The SDK's HTTP client: hyper and rustls (ring), the system's root certificates.
pub fn sdk_http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// A reqwest builder whose TLS is rustls with ring. reqwest (feature `rustls-no-provider`) uses
/// rustls's process-wide provider and would panic without one; this installs ring's first.
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    // An error only means a provider is installed already (an earlier call did it).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
