//! CloudWatch metrics as Embedded Metric Format log lines: one JSON line on stdout, which
//! CloudWatch Logs turns into a metric — no PutMetricData call, no extra permission, no latency.
//!
//! The line is the metric's only way out, so it must survive both filters on the way:
//! - Lambda's: with `LogFormat: JSON`, Lambda sends only the lines at the function's
//!   `ApplicationLogLevel` or less detail, and a line without a valid `level` (or RFC 3339
//!   `timestamp`) counts as INFO — dropped at WARN, ERROR and FATAL
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html>).
//!   So the line carries a `timestamp` and the level of
//!   [`crate::logging::always_delivered_level`]: INFO, or the setting itself when that is
//!   stricter. Both are extra top-level members, which EMF allows ("The root node MAY contain
//!   any other members",
//!   <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//! - ours ([`crate::logging`]): the line is written straight to stdout, not through `tracing`,
//!   whose filter at WARN and above would hold an INFO event back.

use std::io::Write;

use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::logging::{always_delivered_level, LambdaLevel};

/// The CloudWatch namespace of every samlfed metric.
pub const NAMESPACE: &str = "samlfed";
/// Days left before the IdP's last current signing certificate expires.
pub const DAYS_TO_CERTIFICATE_EXPIRY: &str = "DaysToCertificateExpiry";
/// A scheduled refresh that could not be applied.
pub const REFRESH_FAILURES: &str = "RefreshFailures";
/// A custom-resource event refused by the origin check ([`crate::cfn::origin`]): someone other
/// than CloudFormation invoked the function, per function (dimension `FunctionName`).
pub const ORIGIN_CHECK_REFUSALS: &str = "OriginCheckRefusals";
/// Below this many days the expiry is logged as a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The EMF line for one `metric` with one dimension (`(name, value)`, e.g. `("ProviderName",
/// "CorpIdP")`) at `at`, labelled `level` for Lambda's log-level filter.
pub fn emf_line(
    (dimension, dimension_value): (&str, &str),
    metric: &str,
    value: f64,
    unit: &str,
    at: OffsetDateTime,
    level: LambdaLevel,
) -> String {
    // One instant for both clocks: EMF's epoch milliseconds and Lambda's RFC 3339 timestamp.
    let at = at.replace_nanosecond(at.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(at);
    let timestamp_ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
    json!({
        "level": level.as_str(),
        "timestamp": at.format(&Rfc3339).unwrap_or_default(),
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[dimension]],
                "Metrics": [{"Name": metric, "Unit": unit}]
            }]
        },
        dimension: dimension_value,
        metric: value
    })
    .to_string()
}

/// Emits `metric` for `provider_name` now, on stdout.
pub fn emit(provider_name: &str, metric: &str, value: f64, unit: &str) {
    let setting = lambda_log_level();
    emit_to(
        &mut std::io::stdout(),
        setting.as_deref(),
        ("ProviderName", provider_name),
        metric,
        value,
        unit,
        OffsetDateTime::now_utc(),
    );
}

/// Counts one event refused by the origin check, for an alarm on the function.
pub fn origin_check_refused() {
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let setting = lambda_log_level();
    let now = OffsetDateTime::now_utc();
    emit_to(
        &mut std::io::stdout(),
        setting.as_deref(),
        ("FunctionName", &function),
        ORIGIN_CHECK_REFUSALS,
        1.0,
        "Count",
        now,
    );
}

/// The function's `ApplicationLogLevel`, as Lambda passes it.
fn lambda_log_level() -> Option<String> {
    std::env::var("AWS_LAMBDA_LOG_LEVEL").ok()
}

/// Writes the EMF line for `metric` to `out`, with the level that passes Lambda's filter at
/// `setting` (`AWS_LAMBDA_LOG_LEVEL`). A failed write is ignored (where `println!` would panic):
/// a metric never fails the operation it reports on.
fn emit_to(
    out: &mut dyn Write,
    setting: Option<&str>,
    dimension: (&str, &str),
    metric: &str,
    value: f64,
    unit: &str,
    at: OffsetDateTime,
) {
    let line = emf_line(dimension, metric, value, unit, at, always_delivered_level(setting));
    // One write of the whole line, so no other output lands inside it.
    let _ = out.write_all(format!("{line}\n").as_bytes()).and_then(|()| out.flush());
}

/// Reports how long the IdP's signing certificates stay current: a metric always, a warning log
/// line under [`EXPIRY_WARNING_DAYS`] — an alarm on the metric catches a rotation nobody did.
pub fn certificate_expiry(provider_name: &str, not_after: Option<OffsetDateTime>, now: OffsetDateTime) {
    let setting = lambda_log_level();
    certificate_expiry_to(&mut std::io::stdout(), setting.as_deref(), provider_name, not_after, now);
}

fn certificate_expiry_to(
    out: &mut dyn Write,
    setting: Option<&str>,
    provider_name: &str,
    not_after: Option<OffsetDateTime>,
    now: OffsetDateTime,
) {
    let Some(not_after) = not_after else { return };
    let days = (not_after - now).whole_days();
    emit_to(out, setting, ("ProviderName", provider_name), DAYS_TO_CERTIFICATE_EXPIRY, days as f64, "Count", now);
    if days < EXPIRY_WARNING_DAYS {
        tracing::warn!(provider = provider_name, days, "the IdP's signing certificates expire in {days} days; rotate the IdP's certificate and publish new metadata");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::{self, lambda_level_of, lambda_sends};
    use tracing_subscriber::layer::SubscriberExt;

    /// 2023-11-14T22:13:20.123456Z
    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000).unwrap()
    }

    fn parse(line: &str) -> serde_json::Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// What CloudWatch needs to extract the metric: the `_aws` metadata, its directive, and the
    /// dimension and metric values as root members.
    fn assert_valid_emf(line: &serde_json::Value, metric: &str) {
        assert!(line["_aws"]["Timestamp"].is_i64(), "{line}");
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "samlfed");
        assert_eq!(declared["Dimensions"][0][0], "ProviderName");
        assert_eq!(declared["Metrics"][0]["Name"], metric);
        assert!(line["ProviderName"].is_string() && line[metric].is_number(), "{line}");
    }

    #[test]
    fn the_emf_line_declares_its_metric_and_dimension() {
        let line = parse(&emf_line(
            ("ProviderName", "CorpIdP"),
            DAYS_TO_CERTIFICATE_EXPIRY,
            42.0,
            "Count",
            at(),
            LambdaLevel::Info,
        ));
        assert_valid_emf(&line, DAYS_TO_CERTIFICATE_EXPIRY);
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_123i64);
        assert_eq!(line["timestamp"], "2023-11-14T22:13:20.123Z", "the same instant as _aws.Timestamp");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["ProviderName"], "CorpIdP");
        assert_eq!(line["DaysToCertificateExpiry"], 42.0);
    }

    /// With `LogFormat: JSON`, Lambda drops the lines below the function's ApplicationLogLevel
    /// and counts a line without a valid `level` (or RFC 3339 `timestamp`) as INFO:
    /// https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html.
    /// A metric line without a level was therefore lost at WARN, ERROR and FATAL. At every
    /// level the template's `LogLevel` allows, the line is written — with our own logging filter
    /// at that level in force — and carries a level Lambda sends at that setting.
    #[test]
    fn the_metric_line_reaches_cloudwatch_at_every_log_level_the_template_allows() {
        for setting in LambdaLevel::ALL {
            let ours = logging::filter(logging::requested_level(Some(setting.as_str()), None));
            let mut out = Vec::new();
            tracing::subscriber::with_default(tracing_subscriber::registry().with(ours), || {
                certificate_expiry_to(
                    &mut out,
                    Some(setting.as_str()),
                    "CorpIdP",
                    Some(at() + time::Duration::days(10)),
                    at(),
                );
            });
            let text = String::from_utf8(out).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 1, "one metric line at {setting:?}: {text}");
            assert!(
                lambda_sends(setting, lines[0]),
                "at ApplicationLogLevel {setting:?} Lambda reads the line as {:?} and drops it: {}",
                lambda_level_of(lines[0]),
                lines[0]
            );
            let line = parse(lines[0]);
            assert_valid_emf(&line, DAYS_TO_CERTIFICATE_EXPIRY);
            assert_eq!(line[DAYS_TO_CERTIFICATE_EXPIRY], 10.0);
        }
    }

    #[test]
    fn the_metric_line_claims_no_more_than_info_unless_the_filter_is_stricter() {
        let level_at = |setting: Option<&str>| {
            let mut out = Vec::new();
            emit_to(&mut out, setting, ("ProviderName", "CorpIdP"), REFRESH_FAILURES, 1.0, "Count", at());
            lambda_level_of(std::str::from_utf8(&out).unwrap().trim_end())
        };
        assert_eq!(level_at(None), LambdaLevel::Info);
        assert_eq!(level_at(Some("DEBUG")), LambdaLevel::Info);
        assert_eq!(level_at(Some("ERROR")), LambdaLevel::Error);
        assert_eq!(level_at(Some("FATAL")), LambdaLevel::Fatal);
        assert_eq!(level_at(Some("chatty")), LambdaLevel::Fatal, "an unreadable setting: passes every filter");
    }
}
