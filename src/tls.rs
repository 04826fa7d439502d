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

/// A reqwest builder whose TLS is rustls with ring and the platform's root certificates, read
/// once per process: reqwest would build a verifier per client, and each one reads and parses
/// every system root (about 1.7 ms of the cold start per client).
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    let builder = reqwest_builder_with_own_roots();
    match shared_rustls_config() {
        Some(config) => builder.tls_backend_preconfigured(config),
        None => builder,
    }
}

/// A reqwest builder with rustls and ring that still chooses its own roots (`tls_certs_only`),
/// which a preconfigured TLS backend would ignore. reqwest (feature `rustls-no-provider`) uses
/// rustls's process-wide provider and would panic without one; this installs ring's first.
pub fn reqwest_builder_with_own_roots() -> reqwest::ClientBuilder {
    // An error only means a provider is installed already (an earlier call did it).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// The rustls configuration reqwest would build, made once: the platform verifier (system
/// roots) and HTTP/1.1, the one protocol this reqwest speaks. `None` if the system has no roots;
/// each client then reports that itself.
fn shared_rustls_config() -> Option<rustls::ClientConfig> {
    use rustls_platform_verifier::ConfigVerifierExt;
    static CONFIG: std::sync::OnceLock<Option<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut config = rustls::ClientConfig::with_platform_verifier().ok()?;
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(config)
        })
        .clone()
}
