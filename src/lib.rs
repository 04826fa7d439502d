//! samlfed: CloudFormation custom resources that put an organisation's SAML 2.0 identity provider,
//! and the IAM roles that trust it, into an AWS account.
//!
//! The crate is a library with thin binaries on top, so that tests drive exactly the code Lambda runs.
//!
//! - [`cfn`] — the custom-resource protocol: parse the event, refuse what cannot be answered
//!   honestly, run the resource operation under the "always answer" guard, PUT the response.
//! - [`registry`] — the list of resource types the protocol dispatches over, one line each.
//! - [`resources`] — one file per resource type (`Custom::SAMLProvider`, …); each knows IAM, none
//!   knows CloudFormation's wire format.
//! - [`metadata`] — where federation metadata comes from (S3, inline) and the checks it must pass
//!   before IAM sees it.
//! - [`aws`] — SDK configuration and clients, built once per cold start.
//! - [`arn`] — ARNs built from the function's own partition and account.
//! - [`datetime`] — xs:dateTime values read from metadata, and the one shape timestamps are shown in.
//! - [`refresh`] — the scheduled refresh that follows the IdP's certificate rotation.
//! - [`logging`] — the function's logs at the level asked for, dependencies never at TRACE.
//! - [`metrics`] — CloudWatch metrics as Embedded Metric Format log lines.
//! - [`timing`] — each answer's time split into waiting on AWS and samlfed's own work.
//! - [`tls`] — the one TLS stack (rustls with ring) every HTTPS client uses.
//! - [`redact`] — URLs as they may be shown: no user information, no query values but versionId.
//! - [`settings`] — the few knobs (deadline margin, response retries) read from the environment.

pub mod arn;
pub mod aws;
pub mod cfn;
#[cfg(feature = "cli")]
pub mod cli;
pub mod datetime;
pub mod logging;
pub mod metadata;
pub mod metrics;
pub mod redact;
pub mod refresh;
pub mod registry;
pub mod resources;
pub mod settings;
pub mod timing;
pub mod tls;
