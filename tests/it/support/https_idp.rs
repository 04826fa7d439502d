//! A tiny HTTPS "IdP" on 127.0.0.1 for the metadata tests: a certificate from its own test CA
//! (which the function trusts only through the test-only `SAMLFED_TEST_CA_PEM` setting), an ETag
//! for conditional GETs, and the misbehaviours a real endpoint can show.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// What the server has seen and serves; shared with the test.
#[derive(Default)]
pub struct IdpState {
    pub document: Vec<u8>,
    pub etag: String,
    /// (path, If-None-Match) of every request, in order.
    pub requests: Vec<(String, Option<String>)>,
}

pub struct HttpsIdp {
    pub port: u16,
    pub ca_pem: PathBuf,
    pub state: Arc<Mutex<IdpState>>,
    /// Bytes of `/huge` (or `/huge-continuation`) actually written before the client went away.
    pub huge_bytes_sent: Arc<AtomicUsize>,
    /// TCP connections accepted (a refused fetch must open none).
    pub connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpsIdp {
    pub async fn start(document: impl Into<Vec<u8>>) -> HttpsIdp {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "samlfed test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let leaf_params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("leaf params");
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf cert");

        let config = tokio_rustls::rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let ca_pem = std::env::temp_dir().join(format!("samlfed-test-ca-{}-{port}.pem", std::process::id()));
        std::fs::write(&ca_pem, ca_cert.pem()).expect("write CA");

        let document = document.into();
        let state = Arc::new(Mutex::new(IdpState { etag: etag_of(&document), document, requests: Vec::new() }));
        let huge_bytes_sent = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (st, huge, conns) = (state.clone(), huge_bytes_sent.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                conns.fetch_add(1, Ordering::SeqCst);
                let (acceptor, st, huge) = (acceptor.clone(), st.clone(), huge.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve(tls, port, &st, &huge).await;
                    }
                });
            }
        });
        HttpsIdp { port, ca_pem, state, huge_bytes_sent, connections, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// Publishes a new document (a new ETag).
    pub fn publish(&self, document: impl Into<Vec<u8>>) {
        let mut state = self.state.lock().expect("lock");
        state.document = document.into();
        state.etag = etag_of(&state.document);
    }

    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().expect("lock").requests.clone()
    }
}

impl Drop for HttpsIdp {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.ca_pem);
    }
}

fn etag_of(document: &[u8]) -> String {
    format!("\"{}\"", &super::sha256_hex(document)[..16])
}

async fn serve(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    port: u16,
    state: &Mutex<IdpState>,
    huge: &AtomicUsize,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let if_none_match = head.lines().find_map(|l| {
        l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("if-none-match")).map(|(_, v)| v.trim().to_string())
    });
    let (document, etag) = {
        let mut s = state.lock().expect("lock");
        s.requests.push((path.clone(), if_none_match.clone()));
        (s.document.clone(), s.etag.clone())
    };
    let redirect = |to: String| {
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
    };
    // A query string (a token some IdPs want) does not change what a path serves.
    let response: Vec<u8> = match path.split('?').next().unwrap_or_default() {
        "/metadata.xml" if if_none_match.as_deref() == Some(etag.as_str()) => {
            format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n").into_bytes()
        }
        "/metadata.xml" => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/samlmetadata+xml\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                document.len()
            )
            .into_bytes();
            r.extend_from_slice(&document);
            r
        }
        "/redirect" => redirect("/metadata.xml".into()),
        "/redirect-to-http" => redirect(format!("http://localhost:{port}/metadata.xml")),
        "/redirect-to-metadata-service" => redirect("https://169.254.169.254/latest/meta-data/".into()),
        "/loop" => redirect("/loop".into()),
        "/missing" => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        "/broken" => b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        "/huge" => {
            // No Content-Length: the client must stop by counting what it reads.
            let _ =
                tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n").await;
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..400 {
                // 400 × 64 KiB = 26 MB, well past the 10,000,000-character cap.
                if tls.write_all(&chunk).await.is_err() {
                    return;
                }
                huge.fetch_add(chunk.len(), Ordering::SeqCst);
            }
            let _ = tls.shutdown().await;
            return;
        }
        "/huge-continuation" => {
            // No Content-Length, and not one character: every byte is a UTF-8 continuation byte
            // (0x80), so only a cap on bytes stops the client. 3,200 × 64 KiB = 210 MB.
            let _ =
                tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n").await;
            let chunk = vec![0x80u8; 64 * 1024];
            for _ in 0..3200 {
                if tls.write_all(&chunk).await.is_err() {
                    return;
                }
                huge.fetch_add(chunk.len(), Ordering::SeqCst);
            }
            let _ = tls.shutdown().await;
            return;
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = tls.write_all(&response).await;
    let _ = tls.shutdown().await;
}
