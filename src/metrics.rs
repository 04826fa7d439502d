//! CloudWatch metrics as Embedded Metric Format log lines: one JSON line on stdout, which
//! CloudWatch Logs turns into a metric — no PutMetricData call, no extra permission, no latency.

use serde_json::json;

/// The CloudWatch namespace of every samlfed metric.
pub const NAMESPACE: &str = "samlfed";
/// Days left before the IdP's last current signing certificate expires.
pub const DAYS_TO_CERTIFICATE_EXPIRY: &str = "DaysToCertificateExpiry";
/// A scheduled refresh that could not be applied.
pub const REFRESH_FAILURES: &str = "RefreshFailures";
/// Below this many days the expiry is logged as a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The EMF line for one `metric` of provider `provider_name` at `timestamp_ms`.
pub fn emf_line(provider_name: &str, metric: &str, value: f64, unit: &str, timestamp_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["ProviderName"]],
                "Metrics": [{"Name": metric, "Unit": unit}]
            }]
        },
        "ProviderName": provider_name,
        metric: value
    })
    .to_string()
}

/// Emits `metric` for `provider_name` now.
pub fn emit(provider_name: &str, metric: &str, value: f64, unit: &str) {
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    println!("{}", emf_line(provider_name, metric, value, unit, now_ms));
}

/// Reports how long the IdP's signing certificates stay current: a metric always, a warning log
/// line under [`EXPIRY_WARNING_DAYS`] — an alarm on the metric catches a rotation nobody did.
pub fn certificate_expiry(provider_name: &str, not_after: Option<time::OffsetDateTime>, now: time::OffsetDateTime) {
    let Some(not_after) = not_after else { return };
    let days = (not_after - now).whole_days();
    emit(provider_name, DAYS_TO_CERTIFICATE_EXPIRY, days as f64, "Count");
    if days < EXPIRY_WARNING_DAYS {
        tracing::warn!(provider = provider_name, days, "the IdP's signing certificates expire in {days} days; rotate the IdP's certificate and publish new metadata");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emf_line_declares_its_metric_and_dimension() {
        let line: serde_json::Value =
            serde_json::from_str(&emf_line("CorpIdP", DAYS_TO_CERTIFICATE_EXPIRY, 42.0, "Count", 1_700_000_000_000))
                .unwrap();
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "samlfed");
        assert_eq!(declared["Dimensions"][0][0], "ProviderName");
        assert_eq!(declared["Metrics"][0]["Name"], "DaysToCertificateExpiry");
        assert_eq!(line["ProviderName"], "CorpIdP");
        assert_eq!(line["DaysToCertificateExpiry"], 42.0);
    }
}
