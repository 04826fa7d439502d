//! `samlfed check`: the Lambda's own metadata checks, run before an upload rather than after a
//! thousand stacks have failed.
//!
//! The verdict comes from exactly the code a `Custom::SAMLProvider` runs —
//! [`crate::metadata::validate::validate`] and [`crate::metadata::pins::check`] — on the bytes the
//! Lambda would get: a local file, or a `MetadataUrl` (`s3://`, `https://`) read by the Lambda's
//! own fetchers ([`crate::metadata::fetch`]: same size cap, same timeout). What the CLI adds is the
//! presentation: every certificate with its days left, warnings, and each problem found.

use std::io::Read as _;
use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

use super::{exit, thousands, CliError, Output, Style};
use crate::aws::AwsClients;
use crate::datetime::format_timestamp;
use crate::metadata::https::HttpsError;
use crate::metadata::pins::{self, PinError};
use crate::metadata::s3::FetchError;
use crate::metadata::source::MetadataSource;
use crate::metadata::validate::{self, ValidatedMetadata};
use crate::metadata::{self, Fetchers, LoadError, MAX_DOCUMENT_BYTES};
use crate::settings::Settings;

/// Arguments of `samlfed check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The metadata document: a file (`-` for stdin), s3://BUCKET/KEY[?versionId=V], or https://URL.
    #[arg(value_name = "FILE | s3://… | https://…")]
    pub source: String,

    /// Pin the document's SHA-256, as the `MetadataSha256` property does (hex; case, colons and
    /// spaces ignored).
    #[arg(long = "sha256", value_name = "HEX", value_parser = document_pin)]
    pub sha256: Option<String>,

    /// Pin a signing certificate's SHA-256 fingerprint, as `TrustedCertificateSha256` does; repeat
    /// for several (at least one must match).
    #[arg(long = "trusted-cert-sha256", value_name = "HEX", value_parser = certificate_pin)]
    pub trusted_cert_sha256: Vec<String>,

    /// Judge validUntil and certificate dates as of this time (RFC 3339, e.g.
    /// 2027-01-01T00:00:00Z) instead of now: "will this still be accepted next quarter?".
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub at: Option<OffsetDateTime>,

    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

fn document_pin(value: &str) -> Result<String, String> {
    pins::normalise("MetadataSha256", value).map_err(|e| e.to_string())
}

fn certificate_pin(value: &str) -> Result<String, String> {
    pins::normalise("TrustedCertificateSha256", value).map_err(|e| e.to_string())
}

fn parse_time(value: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{value:?} is not an RFC 3339 time such as 2027-01-01T00:00:00Z ({e})"))
}

/// Where the document comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentSource {
    /// A local file; `-` is stdin.
    File(PathBuf),
    /// A `MetadataUrl` (`s3://…` or `https://…`), parsed by the Lambda's own parser.
    Url(MetadataSource),
}

impl DocumentSource {
    /// Reads the positional argument: anything with a scheme is a `MetadataUrl`, refused or
    /// accepted by the Lambda's parser with its message; anything else is a path.
    pub fn parse(raw: &str) -> Result<DocumentSource, CliError> {
        if !raw.contains("://") {
            return Ok(DocumentSource::File(PathBuf::from(raw)));
        }
        match MetadataSource::from_properties(Some(raw), None) {
            Ok(source @ (MetadataSource::S3(_) | MetadataSource::Https(_))) => Ok(DocumentSource::Url(source)),
            Ok(MetadataSource::Inline(_)) => Err(CliError::Usage(format!("{raw:?} is not a metadata URL"))),
            Err(e) => Err(CliError::Usage(e.to_string())),
        }
    }

    /// How the report names the source; an https URL's query string is not shown.
    pub fn describe(&self) -> String {
        match self {
            DocumentSource::File(path) if path.as_os_str() == "-" => "stdin".to_string(),
            DocumentSource::File(path) => path.display().to_string(),
            DocumentSource::Url(MetadataSource::Https(url)) => crate::redact::url(url),
            DocumentSource::Url(MetadataSource::S3(location)) => location.to_string(),
            DocumentSource::Url(MetadataSource::Inline(_)) => "MetadataDocument".to_string(),
        }
    }
}

/// The document's bytes, or the size refusal the Lambda would give.
#[derive(Debug)]
pub enum Fetched {
    /// The whole document.
    Bytes(Vec<u8>),
    /// Larger than IAM accepts: refused before reading it all, as the Lambda does.
    TooLarge,
}

/// Reads the document from `source`. URLs go through the Lambda's own fetchers
/// ([`crate::metadata::fetch`]: S3 with the SDK configured as the Lambda's, HTTPS with its
/// client — certificate validation, https-only redirects, address checks — and the same size cap
/// and timeout); only the credentials are the caller's.
pub async fn fetch(source: &DocumentSource, settings: &Settings) -> Result<Fetched, CliError> {
    let url = match source {
        DocumentSource::File(path) => return read_file(path),
        DocumentSource::Url(url) => url,
    };
    let config = crate::aws::loader().load().await;
    let clients = AwsClients::new(&config, settings.endpoint_url.is_some());
    let https = crate::metadata::https::client(settings).map_err(CliError::Usage)?;
    let fetchers = Fetchers {
        s3: &clients.s3,
        https: &https,
        timeout: settings.metadata_timeout,
        allow_loopback: settings.test_allow_loopback,
    };
    match crate::metadata::fetch(url, &fetchers, None).await {
        Ok(metadata::Fetched::Document { bytes, .. }) => Ok(Fetched::Bytes(bytes)),
        // Only a conditional request is answered 304, and this one is not conditional.
        Ok(metadata::Fetched::NotModified) => Ok(Fetched::Bytes(Vec::new())),
        Err(
            LoadError::S3 { source: FetchError::TooLarge, .. } | LoadError::Https { source: HttpsError::TooLarge, .. },
        ) => Ok(Fetched::TooLarge),
        Err(error) => Err(CliError::Fetch(error)),
    }
}

fn read_file(path: &PathBuf) -> Result<Fetched, CliError> {
    let read_error = |source| CliError::ReadFile { path: path.clone(), source };
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().lock().take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut bytes).map_err(read_error)?;
    } else {
        let file = std::fs::File::open(path).map_err(read_error)?;
        file.take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut bytes).map_err(read_error)?;
    }
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Ok(Fetched::TooLarge);
    }
    Ok(Fetched::Bytes(bytes))
}

/// `accept` or `refuse`: what a `Custom::SAMLProvider` would do with this document and these pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The Lambda would send it to IAM.
    Accept,
    /// The Lambda would answer FAILED and change nothing.
    Refuse,
}

/// A `SingleSignOnService` as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    /// Full binding URI.
    pub binding: String,
    /// Where users are sent.
    pub location: String,
}

/// A signing certificate as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    /// Subject DN.
    pub subject: String,
    /// SHA-256 of the DER: the value for `TrustedCertificateSha256`.
    pub sha256: String,
    /// NotAfter, RFC 3339 UTC.
    pub not_after: String,
    /// Whole days from the check time to NotAfter; negative once expired.
    pub days_left: i64,
}

/// One reason the Lambda would refuse the document; the message says how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// The property the Lambda would name: `MetadataDocument`, `MetadataSha256`,
    /// `TrustedCertificateSha256`.
    pub property: &'static str,
    /// The Lambda's own message: what is wrong and what to do.
    pub message: String,
}

/// Everything `check` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// Accept or refuse.
    pub verdict: Verdict,
    /// Where the document came from.
    pub source: String,
    /// The time dates were judged against.
    pub checked_at: String,
    /// Size in bytes, when it was read whole.
    pub size_bytes: Option<usize>,
    /// Lowercase hex SHA-256 of the bytes as read: the value for `MetadataSha256`.
    pub sha256: Option<String>,
    /// The IdP's entityID.
    pub entity_id: Option<String>,
    /// The SSO endpoints, in document order.
    pub sso_endpoints: Vec<Endpoint>,
    /// The distinct signing certificates, in document order.
    pub signing_certificates: Vec<Certificate>,
    /// The earliest validUntil, if any.
    pub valid_until: Option<String>,
    /// What IAM tolerates but a person should know (expired certificate, http endpoint...).
    pub warnings: Vec<String>,
    /// Why it would be refused; empty when accepted.
    pub problems: Vec<Problem>,
}

/// Runs the Lambda's validator and pin checks on `bytes`, judging dates against `now`, and
/// collects every problem: the validator's refusal, and each pin that does not hold.
pub fn check_document(
    source: &str,
    fetched: &Fetched,
    document_pin: Option<&str>,
    certificate_pins: &[String],
    now: OffsetDateTime,
) -> CheckReport {
    let mut report = CheckReport {
        verdict: Verdict::Accept,
        source: source.to_string(),
        checked_at: format_timestamp(now),
        size_bytes: None,
        sha256: None,
        entity_id: None,
        sso_endpoints: Vec::new(),
        signing_certificates: Vec::new(),
        valid_until: None,
        warnings: Vec::new(),
        problems: Vec::new(),
    };
    let bytes = match fetched {
        Fetched::Bytes(bytes) => bytes,
        Fetched::TooLarge => {
            report.verdict = Verdict::Refuse;
            report.problems.push(Problem { property: "MetadataDocument", message: FetchError::TooLarge.to_string() });
            return report;
        }
    };
    report.size_bytes = Some(bytes.len());
    match validate::validate(bytes, now) {
        Ok(metadata) => {
            describe_metadata(&mut report, &metadata, now);
            // Each pin on its own, so both are reported when both fail.
            push_pin_problem(&mut report, pins::check(&metadata, document_pin, &[]));
            push_pin_problem(&mut report, pins::check(&metadata, None, certificate_pins));
        }
        Err(error) => {
            report.problems.push(Problem { property: "MetadataDocument", message: error.to_string() });
            // The document pin does not need a valid document: check it against the bytes'
            // SHA-256 with the same code, so a wrong upload shows both problems at once.
            let digest_only = ValidatedMetadata {
                entity_id: String::new(),
                sha256_hex: sha256_hex(bytes),
                document: String::new(),
                valid_until: None,
                sso_endpoints: Vec::new(),
                signing_certificates: Vec::new(),
                every_certificate: Vec::new(),
                warnings: Vec::new(),
            };
            report.sha256 = Some(digest_only.sha256_hex.clone());
            push_pin_problem(&mut report, pins::check(&digest_only, document_pin, &[]));
        }
    }
    if !report.problems.is_empty() {
        report.verdict = Verdict::Refuse;
    }
    report
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn describe_metadata(report: &mut CheckReport, metadata: &ValidatedMetadata, now: OffsetDateTime) {
    report.sha256 = Some(metadata.sha256_hex.clone());
    report.entity_id = Some(metadata.entity_id.clone());
    report.sso_endpoints = metadata
        .sso_endpoints
        .iter()
        .map(|e| Endpoint { binding: e.binding.clone(), location: e.location.clone() })
        .collect();
    report.signing_certificates = metadata
        .signing_certificates
        .iter()
        .map(|c| Certificate {
            subject: c.subject.clone(),
            sha256: c.sha256_hex.clone(),
            not_after: format_timestamp(c.not_after),
            days_left: (c.not_after - now).whole_days(),
        })
        .collect();
    report.valid_until = metadata.valid_until.map(format_timestamp);
    report.warnings = metadata.warnings.clone();
}

fn push_pin_problem(report: &mut CheckReport, result: Result<(), PinError>) {
    if let Err(error) = result {
        let property = match error {
            PinError::Malformed { property, .. } => property,
            PinError::DocumentMismatch { .. } => "MetadataSha256",
            PinError::CertificateMismatch { .. } => "TrustedCertificateSha256",
        };
        report.problems.push(Problem { property, message: error.to_string() });
    }
}

/// Runs `samlfed check`: fetch, check, print.
pub async fn run(args: &CheckArgs, style: Style) -> Result<Output, CliError> {
    let settings = Settings::from_env()?;
    let source = DocumentSource::parse(&args.source)?;
    let fetched = fetch(&source, &settings).await?;
    let now = args.at.unwrap_or_else(OffsetDateTime::now_utc);
    let report = check_document(&source.describe(), &fetched, args.sha256.as_deref(), &args.trusted_cert_sha256, now);
    let text = if args.json { to_json(&report) } else { render_human(&report, style) };
    let exit_code = match report.verdict {
        Verdict::Accept => exit::OK,
        Verdict::Refuse => exit::NEGATIVE,
    };
    Ok(Output { text, exit_code })
}

/// The report as pretty JSON, with a trailing newline.
pub fn to_json(report: &CheckReport) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST` → `HTTP-POST`: the part people recognise.
fn short_binding(binding: &str) -> &str {
    binding.strip_prefix("urn:oasis:names:tc:SAML:2.0:bindings:").unwrap_or(binding)
}

/// The report for people: facts first, then warnings and problems, then the verdict.
pub fn render_human(report: &CheckReport, style: Style) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    let none = || style.dim("none");
    let size = report.size_bytes.map(|n| format!(" ({} bytes)", thousands(n))).unwrap_or_default();
    line(format!("{:<14}{}{}", "source", report.source, size));
    line(format!("{:<14}{}", "SHA-256", report.sha256.clone().unwrap_or_else(none)));
    line(format!("{:<14}{}", "entity ID", report.entity_id.clone().unwrap_or_else(none)));
    line(format!("{:<14}{}", "validUntil", report.valid_until.clone().unwrap_or_else(none)));
    if report.entity_id.is_some() {
        line(style.bold("SSO endpoints"));
        let width = report.sso_endpoints.iter().map(|e| short_binding(&e.binding).len()).max().unwrap_or(0);
        for endpoint in &report.sso_endpoints {
            line(format!("  {:<width$}  {}", short_binding(&endpoint.binding), endpoint.location));
        }
        line(style.bold("signing certificates"));
        for (i, cert) in report.signing_certificates.iter().enumerate() {
            line(format!("  #{} {}", i + 1, cert.subject));
            line(format!("     SHA-256   {}", cert.sha256));
            let left = match cert.days_left {
                d if d < 0 => style.warn(&format!("expired {} days ago", thousands(d.unsigned_abs() as usize))),
                d if d < 30 => style.warn(&format!("{d} days left")),
                d => format!("{} days left", thousands(d as usize)),
            };
            line(format!("     NotAfter  {} ({left})", cert.not_after));
        }
    }
    if !report.warnings.is_empty() {
        line(style.bold("warnings"));
        for warning in &report.warnings {
            line(format!("  {} {warning}", style.warn("!")));
        }
    }
    if !report.problems.is_empty() {
        line(style.bold("problems"));
        for problem in &report.problems {
            // Pin messages already start with their property.
            let text = if problem.message.starts_with(problem.property) {
                problem.message.clone()
            } else {
                format!("{}: {}", problem.property, problem.message)
            };
            line(format!("  {} {text}", style.bad("✗")));
        }
    }
    let verdict = match report.verdict {
        Verdict::Accept => style.good(&style.bold("ACCEPT")) + " — the Lambda would accept this document",
        Verdict::Refuse => style.bad("REFUSE") + " — the Lambda would refuse this document and change nothing in IAM",
    };
    line(format!("{verdict} (dates judged at {})", report.checked_at));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_told_apart_by_scheme() {
        assert!(matches!(DocumentSource::parse("metadata.xml"), Ok(DocumentSource::File(_))));
        assert!(matches!(
            DocumentSource::parse("s3://org-idp-metadata/idp.xml?versionId=v1"),
            Ok(DocumentSource::Url(MetadataSource::S3(l))) if l.version_id.as_deref() == Some("v1")
        ));
        assert!(matches!(
            DocumentSource::parse("https://idp.example.com/metadata"),
            Ok(DocumentSource::Url(MetadataSource::Https(_)))
        ));
        let err = DocumentSource::parse("http://idp.example.com/metadata").unwrap_err();
        assert!(err.to_string().contains("plain http:// is refused"), "{err}");
        assert_eq!(err.exit_code(), exit::USAGE);
        let err = DocumentSource::parse("s3://bucket").unwrap_err();
        assert!(err.to_string().contains("no /KEY"), "{err}");
    }

    #[test]
    fn https_urls_are_shown_without_their_query() {
        let source = DocumentSource::parse("https://idp.example.com/md?token=secret").unwrap();
        assert_eq!(source.describe(), "https://idp.example.com/md?…");
    }

    #[test]
    fn an_oversized_document_is_refused_like_the_lambda_refuses_it() {
        let report = check_document("big.xml", &Fetched::TooLarge, None, &[], OffsetDateTime::UNIX_EPOCH);
        assert_eq!(report.verdict, Verdict::Refuse);
        assert!(report.problems[0].message.contains("larger than IAM's limit"));
    }

    #[test]
    fn a_document_pin_is_checked_even_when_the_document_is_invalid() {
        let fetched = Fetched::Bytes(b"not xml at all".to_vec());
        let pin = "0".repeat(64);
        let report = check_document("x", &fetched, Some(&pin), &[], OffsetDateTime::UNIX_EPOCH);
        let properties: Vec<&str> = report.problems.iter().map(|p| p.property).collect();
        assert_eq!(properties, ["MetadataDocument", "MetadataSha256"]);
    }
}
