//! Logging as the function's `LoggingConfig` asks for it, with one promise kept at every level:
//! no secret reaches the logs.
//!
//! Our own code logs nothing secret at any level (the ResponseURL's query is hidden, documents
//! are never logged). Dependencies do, but only at TRACE: lambda_runtime writes each raw event
//! (the presigned ResponseURL is a bearer credential for the stack's answer) and the SDK writes
//! HTTP bodies (whole metadata documents). So samlfed's own targets log at the level asked for,
//! and every other target at most at [`DEPENDENCY_CEILING`]: `LogLevel: TRACE` in the template
//! shows samlfed's trace, never a dependency's.
//!
//! Lambda filters the JSON lines it receives by their `level` field, and a line whose `level` or
//! RFC 3339 `timestamp` is missing or invalid counts as INFO
//! (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html>). So
//! every JSON line carries both: [`init`] keeps tracing's timestamp in JSON, and lines written
//! beside tracing (the metrics of [`crate::metrics`]) take their level from
//! [`always_delivered_level`]. [`lambda_sends`] is that documented rule, for tests.

use std::str::FromStr;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The most a dependency may log: DEBUG shows connections, retries and timings, never bodies or
/// raw events (proven by `tests/it/logs.rs` at every level).
pub const DEPENDENCY_CEILING: LevelFilter = LevelFilter::DEBUG;

/// The targets that log at the level asked for: the library and the Lambda binary.
const OWN_TARGETS: [&str; 2] = ["samlfed", "bootstrap"];

/// The level asked for: `AWS_LAMBDA_LOG_LEVEL` (what `LoggingConfig.ApplicationLogLevel` sets),
/// else `RUST_LOG` as a plain level, else INFO. Lambda's FATAL is ERROR here (tracing has no
/// FATAL); anything unreadable is INFO, so a typo never silences errors.
pub fn requested_level(lambda_level: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    let asked = lambda_level.or(rust_log).map(str::trim).unwrap_or("INFO");
    if asked.eq_ignore_ascii_case("fatal") {
        return LevelFilter::ERROR;
    }
    LevelFilter::from_str(asked).unwrap_or(LevelFilter::INFO)
}

/// Which events are written: samlfed's at `level`, everyone else's at `level` but never above
/// [`DEPENDENCY_CEILING`].
pub fn filter(level: LevelFilter) -> Targets {
    OWN_TARGETS
        .iter()
        .fold(Targets::new(), |targets, target| targets.with_target(*target, level))
        .with_default(level.min(DEPENDENCY_CEILING))
}

/// Installs the process-wide subscriber on stdout, JSON lines when `AWS_LAMBDA_LOG_FORMAT` is
/// JSON (as Lambda's advanced logging controls expect), text otherwise. Call once, first thing.
pub fn init() {
    let level = requested_level(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter(level));
    if json {
        registry.with(json_layer(std::io::stdout)).init();
    } else {
        // Lambda stamps text lines itself, and does not filter them by level.
        registry
            .with(tracing_subscriber::fmt::layer().with_target(false).without_time().with_writer(std::io::stdout))
            .init();
    }
}

/// One JSON object per line, with `level` and an RFC 3339 `timestamp` (tracing's default timer:
/// UTC, microseconds). Without the timestamp Lambda would take every line for INFO and drop our
/// warnings and errors whenever the function's ApplicationLogLevel is WARN or stricter.
fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer().with_target(false).with_writer(writer).json()
}

/// Lambda's application log levels (`LoggingConfig.ApplicationLogLevel`, `AWS_LAMBDA_LOG_LEVEL`),
/// from the most detail (TRACE) to the least (FATAL). At a setting, Lambda sends the lines of
/// that level and of less detail: at WARN, WARN, ERROR and FATAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LambdaLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LambdaLevel {
    /// Every level, as the template's `LogLevel` parameter allows them.
    pub const ALL: [LambdaLevel; 6] = [
        LambdaLevel::Trace,
        LambdaLevel::Debug,
        LambdaLevel::Info,
        LambdaLevel::Warn,
        LambdaLevel::Error,
        LambdaLevel::Fatal,
    ];

    /// The level named `name`, in any case; `None` for anything else.
    pub fn parse(name: &str) -> Option<LambdaLevel> {
        LambdaLevel::ALL.into_iter().find(|level| level.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// The name Lambda uses.
    pub fn as_str(self) -> &'static str {
        match self {
            LambdaLevel::Trace => "TRACE",
            LambdaLevel::Debug => "DEBUG",
            LambdaLevel::Info => "INFO",
            LambdaLevel::Warn => "WARN",
            LambdaLevel::Error => "ERROR",
            LambdaLevel::Fatal => "FATAL",
        }
    }

    /// True when Lambda, filtering at this setting, sends a line of level `line`.
    pub fn sends(self, line: LambdaLevel) -> bool {
        line >= self
    }
}

/// The level for a line that must reach CloudWatch at every setting — a metric, whose log line
/// is the only way it is published. `setting` is `AWS_LAMBDA_LOG_LEVEL`. INFO (a metric is an
/// ordinary event, and INFO is the default setting) unless the function filters out INFO, then
/// the setting itself: the least severe level that still passes, so a metric never claims more
/// than it must. A setting that cannot be read gets FATAL, which passes every filter.
pub fn always_delivered_level(setting: Option<&str>) -> LambdaLevel {
    match setting.map(str::trim).filter(|s| !s.is_empty()) {
        None => LambdaLevel::Info,
        Some(name) => LambdaLevel::parse(name).map_or(LambdaLevel::Fatal, |level| level.max(LambdaLevel::Info)),
    }
}

/// The level Lambda gives one JSON log line, as documented: its `level` field when that is a
/// valid level and the line has a valid RFC 3339 `timestamp`; INFO otherwise (no `level`, an
/// invalid one, no or an invalid timestamp, not a JSON object).
pub fn lambda_level_of(line: &str) -> LambdaLevel {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(line) else {
        return LambdaLevel::Info;
    };
    let timestamp_valid = fields
        .get("timestamp")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok());
    let level = fields.get("level").and_then(serde_json::Value::as_str).and_then(LambdaLevel::parse);
    match level {
        Some(level) if timestamp_valid => level,
        _ => LambdaLevel::Info,
    }
}

/// True when Lambda, filtering the function's application logs at `setting`, sends `line` to
/// CloudWatch Logs (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html>).
pub fn lambda_sends(setting: LambdaLevel, line: &str) -> bool {
    setting.sends(lambda_level_of(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn the_lambda_level_wins_then_rust_log_then_info() {
        assert_eq!(requested_level(Some("DEBUG"), Some("error")), LevelFilter::DEBUG);
        assert_eq!(requested_level(None, Some("warn")), LevelFilter::WARN);
        assert_eq!(requested_level(None, None), LevelFilter::INFO);
        assert_eq!(requested_level(Some("FATAL"), None), LevelFilter::ERROR);
        assert_eq!(requested_level(Some("loud"), None), LevelFilter::INFO);
    }

    fn enabled(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn at_trace_only_our_own_targets_trace() {
        let f = filter(LevelFilter::TRACE);
        assert!(enabled(&f, "samlfed::cfn::handler", Level::TRACE));
        assert!(enabled(&f, "bootstrap", Level::TRACE));
        assert!(!enabled(&f, "lambda_runtime::layers::api_response", Level::TRACE));
        assert!(!enabled(&f, "aws_smithy_runtime::client::http", Level::TRACE));
        assert!(enabled(&f, "aws_smithy_runtime::client::http", Level::DEBUG));
    }

    /// Lambda's documented rule: a line is sent at its own level or a setting of more detail; a
    /// line without a valid level or RFC 3339 timestamp counts as INFO
    /// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
    #[test]
    fn lambda_reads_a_lines_level_only_with_a_valid_timestamp() {
        let ts = "2024-11-02T16:51:31.587199Z";
        assert_eq!(lambda_level_of(&format!(r#"{{"level":"debug","timestamp":"{ts}"}}"#)), LambdaLevel::Debug);
        assert_eq!(lambda_level_of(&format!(r#"{{"level":"FATAL","timestamp":"{ts}"}}"#)), LambdaLevel::Fatal);
        assert_eq!(lambda_level_of(r#"{"level":"ERROR"}"#), LambdaLevel::Info, "no timestamp");
        assert_eq!(lambda_level_of(r#"{"level":"ERROR","timestamp":"yesterday"}"#), LambdaLevel::Info);
        assert_eq!(lambda_level_of(&format!(r#"{{"level":"LOUD","timestamp":"{ts}"}}"#)), LambdaLevel::Info);
        assert_eq!(lambda_level_of(&format!(r#"{{"timestamp":"{ts}"}}"#)), LambdaLevel::Info, "no level");
        assert_eq!(lambda_level_of("plain text"), LambdaLevel::Info);
        let warn = format!(r#"{{"level":"WARN","timestamp":"{ts}"}}"#);
        assert!(lambda_sends(LambdaLevel::Info, &warn) && lambda_sends(LambdaLevel::Warn, &warn));
        assert!(!lambda_sends(LambdaLevel::Error, &warn) && !lambda_sends(LambdaLevel::Fatal, &warn));
    }

    #[test]
    fn a_line_that_must_always_arrive_is_info_unless_the_filter_is_stricter() {
        assert_eq!(always_delivered_level(None), LambdaLevel::Info);
        assert_eq!(always_delivered_level(Some("TRACE")), LambdaLevel::Info);
        assert_eq!(always_delivered_level(Some("debug")), LambdaLevel::Info);
        assert_eq!(always_delivered_level(Some("WARN")), LambdaLevel::Warn);
        assert_eq!(always_delivered_level(Some("FATAL")), LambdaLevel::Fatal);
        assert_eq!(always_delivered_level(Some("verbose")), LambdaLevel::Fatal, "unreadable: passes every filter");
        for setting in LambdaLevel::ALL {
            assert!(setting.sends(always_delivered_level(Some(setting.as_str()))), "{setting:?}");
        }
    }

    /// Our JSON lines carry what Lambda needs to read their level: the `level` itself and an
    /// RFC 3339 `timestamp`.
    #[test]
    fn json_lines_carry_a_level_and_a_timestamp_lambda_can_read() {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber =
            tracing_subscriber::registry().with(filter(LevelFilter::WARN)).with(json_layer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "samlfed::test", "a warning");
            tracing::error!(target: "samlfed::test", "an error");
        });
        let output = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let levels: Vec<LambdaLevel> = output.lines().map(lambda_level_of).collect();
        assert_eq!(levels, [LambdaLevel::Warn, LambdaLevel::Error], "{output}");
    }

    #[test]
    fn below_the_ceiling_everyone_logs_at_the_level_asked_for() {
        let f = filter(LevelFilter::WARN);
        assert!(enabled(&f, "aws_config", Level::WARN));
        assert!(!enabled(&f, "aws_config", Level::INFO));
        assert!(!enabled(&f, "samlfed", Level::INFO));
    }
}
